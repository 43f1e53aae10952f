//! Subscribers and fan-out on PostgreSQL.

use async_trait::async_trait;
use chrono::Utc;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row as _};

use super::{CHANGES_PER_ROUND, SubscriberStore, decode_error, deliveries, delivery_error};
use crate::domain::subscriber::{AcceptedChange, DeliveryMode, Subscriber};
use crate::store::StoreError;

/// Serialises fan-out across processes so each subscriber's queue is filled in commit order.
const FAN_OUT_LOCK: i64 = 0x6569_5f66_616e;

pub struct PgSubscribers {
    pool: PgPool,
}

impl PgSubscribers {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn subscriber(row: &PgRow) -> Result<Subscriber, StoreError> {
    let delivery: String = row.try_get("delivery")?;
    let filter: Value = row.try_get("filter")?;
    Ok(Subscriber {
        logical_address: row.try_get("logical_address")?,
        url: row.try_get("url")?,
        delivery: DeliveryMode::parse(&delivery)
            .ok_or_else(|| StoreError::Unreadable(format!("delivery mode {delivery}")))?,
        filter: serde_json::from_value(filter).map_err(decode_error)?,
    })
}

async fn upsert(
    executor: impl sqlx::PgExecutor<'_>,
    subscriber: &Subscriber,
    declared_in_config: bool,
) -> Result<bool, StoreError> {
    let filter = serde_json::to_value(&subscriber.filter).map_err(decode_error)?;
    let row = sqlx::query(
        "INSERT INTO subscriber (logical_address, url, delivery, filter, declared_in_config, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) \
         ON CONFLICT (logical_address) DO UPDATE SET url = excluded.url, delivery = excluded.delivery, \
             filter = excluded.filter, declared_in_config = excluded.declared_in_config, updated_at = excluded.updated_at \
         RETURNING (xmax = 0) AS created",
    )
    .bind(&subscriber.logical_address)
    .bind(&subscriber.url)
    .bind(subscriber.delivery.as_str())
    .bind(filter)
    .bind(declared_in_config)
    .bind(Utc::now())
    .fetch_one(executor)
    .await?;
    Ok(row.try_get("created")?)
}

#[async_trait]
impl SubscriberStore for PgSubscribers {
    async fn put(&self, subscriber: &Subscriber) -> Result<bool, StoreError> {
        upsert(&self.pool, subscriber, false).await
    }

    async fn get(&self, logical_address: &str) -> Result<Option<Subscriber>, StoreError> {
        let row = sqlx::query("SELECT logical_address, url, delivery, filter FROM subscriber WHERE logical_address = $1")
            .bind(logical_address)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(subscriber).transpose()
    }

    async fn list(&self) -> Result<Vec<Subscriber>, StoreError> {
        let rows = sqlx::query("SELECT logical_address, url, delivery, filter FROM subscriber ORDER BY logical_address")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(subscriber).collect()
    }

    async fn delete(&self, logical_address: &str) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let deleted = sqlx::query("DELETE FROM subscriber WHERE logical_address = $1")
            .bind(logical_address)
            .execute(&mut *transaction)
            .await?;
        for table in ["delivery", "delivery_pull_point"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE destination = $1"
            )))
            .bind(logical_address)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(deleted.rows_affected() == 1)
    }

    async fn declare(&self, declared: &[Subscriber]) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        let keep: Vec<String> = declared.iter().map(|s| s.logical_address.clone()).collect();
        let gone: Vec<String> = sqlx::query_scalar(
            "DELETE FROM subscriber WHERE declared_in_config AND NOT (logical_address = ANY($1)) RETURNING logical_address",
        )
        .bind(&keep)
        .fetch_all(&mut *transaction)
        .await?;
        for table in ["delivery", "delivery_pull_point"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE destination = ANY($1)"
            )))
            .bind(&gone)
            .execute(&mut *transaction)
            .await?;
        }
        for subscriber in declared {
            upsert(&mut *transaction, subscriber, true).await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn fan_out(&self, max_transactions: usize) -> Result<usize, StoreError> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(FAN_OUT_LOCK)
            .execute(&mut *transaction)
            .await?;
        // The rows stay, fanned out, until the retention job deletes them; the batch is found
        // by primary key, never by scanning what is kept.
        let rows = sqlx::query(
            "UPDATE notification_outbox SET fanned_out_at = $2 WHERE id = ANY(ARRAY( \
                 SELECT id FROM notification_outbox WHERE fanned_out_at IS NULL ORDER BY id LIMIT $1)) \
             RETURNING id, transactions, correlation_id, traceparent",
        )
        .bind(CHANGES_PER_ROUND)
        .bind(Utc::now())
        .fetch_all(&mut *transaction)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut changes = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let transactions: Value = row.try_get("transactions")?;
            let change = AcceptedChange {
                transactions: serde_json::from_value(transactions).map_err(decode_error)?,
                correlation_id: row.try_get("correlation_id")?,
                traceparent: row.try_get("traceparent")?,
            };
            changes.push((id, change));
        }
        // RETURNING does not promise an order; commit order is id order.
        changes.sort_by_key(|(id, _)| *id);
        let changes: Vec<AcceptedChange> = changes.into_iter().map(|(_, c)| c).collect();
        let subscribers = {
            let rows = sqlx::query("SELECT logical_address, url, delivery, filter FROM subscriber ORDER BY logical_address")
                .fetch_all(&mut *transaction)
                .await?;
            rows.iter().map(subscriber).collect::<Result<Vec<_>, _>>()?
        };
        let planned = deliveries(&subscribers, &changes, max_transactions);
        common::delivery::enqueue_postgres(&mut transaction, &planned, Utc::now())
            .await
            .map_err(delivery_error)?;
        transaction.commit().await?;
        Ok(changes.len())
    }
}
