//! Subscribers and fan-out on SQLite.

use async_trait::async_trait;
use chrono::Utc;
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row as _, SqlitePool};

use super::{CHANGES_PER_ROUND, SubscriberStore, decode_error, deliveries, delivery_error};
use crate::domain::subscriber::{AcceptedChange, DeliveryMode, Subscriber};
use crate::store::StoreError;

pub struct SqliteSubscribers {
    pool: SqlitePool,
}

impl SqliteSubscribers {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

fn subscriber(row: &SqliteRow) -> Result<Subscriber, StoreError> {
    let delivery: String = row.try_get("delivery")?;
    let filter: String = row.try_get("filter")?;
    Ok(Subscriber {
        logical_address: row.try_get("logical_address")?,
        url: row.try_get("url")?,
        delivery: DeliveryMode::parse(&delivery)
            .ok_or_else(|| StoreError::Unreadable(format!("delivery mode {delivery}")))?,
        filter: serde_json::from_str(&filter).map_err(decode_error)?,
    })
}

async fn upsert(
    executor: impl sqlx::SqliteExecutor<'_>,
    subscriber: &Subscriber,
    declared_in_config: bool,
) -> Result<bool, StoreError> {
    let filter = serde_json::to_string(&subscriber.filter).map_err(decode_error)?;
    let now = common::db::sqlite_time(Utc::now());
    // The old row's created_at survives a replace; a new row's equals its updated_at.
    let created_at: String = sqlx::query_scalar(
        "INSERT INTO subscriber (logical_address, url, delivery, filter, declared_in_config, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) \
         ON CONFLICT (logical_address) DO UPDATE SET url = excluded.url, delivery = excluded.delivery, \
             filter = excluded.filter, declared_in_config = excluded.declared_in_config, updated_at = excluded.updated_at \
         RETURNING created_at",
    )
    .bind(&subscriber.logical_address)
    .bind(&subscriber.url)
    .bind(subscriber.delivery.as_str())
    .bind(filter)
    .bind(declared_in_config)
    .bind(&now)
    .fetch_one(executor)
    .await?;
    Ok(created_at == now)
}

const SELECT: &str = "SELECT logical_address, url, delivery, filter FROM subscriber";

#[async_trait]
impl SubscriberStore for SqliteSubscribers {
    async fn put(&self, subscriber: &Subscriber) -> Result<bool, StoreError> {
        upsert(&self.pool, subscriber, false).await
    }

    async fn get(&self, logical_address: &str) -> Result<Option<Subscriber>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE logical_address = ?1"
        )))
        .bind(logical_address)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(subscriber).transpose()
    }

    async fn list(&self) -> Result<Vec<Subscriber>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} ORDER BY logical_address"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(subscriber).collect()
    }

    async fn delete(&self, logical_address: &str) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let deleted = sqlx::query("DELETE FROM subscriber WHERE logical_address = ?1")
            .bind(logical_address)
            .execute(&mut *transaction)
            .await?;
        for table in ["delivery", "delivery_pull_point"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE destination = ?1"
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
        let keep = serde_json::to_string(
            &declared
                .iter()
                .map(|s| &s.logical_address)
                .collect::<Vec<_>>(),
        )
        .map_err(decode_error)?;
        for table in ["delivery", "delivery_pull_point"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE destination IN ( \
                     SELECT logical_address FROM subscriber WHERE declared_in_config \
                     AND logical_address NOT IN (SELECT value FROM json_each(?1)))"
            )))
            .bind(&keep)
            .execute(&mut *transaction)
            .await?;
        }
        sqlx::query(
            "DELETE FROM subscriber WHERE declared_in_config AND logical_address NOT IN (SELECT value FROM json_each(?1))",
        )
        .bind(&keep)
        .execute(&mut *transaction)
        .await?;
        for subscriber in declared {
            upsert(&mut *transaction, subscriber, true).await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn fan_out(&self, max_transactions: usize) -> Result<usize, StoreError> {
        let mut transaction = self.pool.begin().await?;
        // Marking first takes SQLite's write lock, so two processes never take the same rows.
        // The rows stay, fanned out, until the retention job deletes them.
        let rows = sqlx::query(
            "UPDATE notification_outbox SET fanned_out_at = ?2 WHERE id IN ( \
                 SELECT id FROM notification_outbox WHERE fanned_out_at IS NULL ORDER BY id LIMIT ?1) \
             RETURNING id, transactions, correlation_id, traceparent",
        )
        .bind(CHANGES_PER_ROUND)
        .bind(common::db::sqlite_time(Utc::now()))
        .fetch_all(&mut *transaction)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut changes = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let transactions: String = row.try_get("transactions")?;
            let transactions: Vec<Value> =
                serde_json::from_str(&transactions).map_err(decode_error)?;
            let change = AcceptedChange {
                transactions,
                correlation_id: row.try_get("correlation_id")?,
                traceparent: row.try_get("traceparent")?,
            };
            changes.push((id, change));
        }
        // RETURNING does not promise an order; commit order is id order.
        changes.sort_by_key(|(id, _)| *id);
        let changes: Vec<AcceptedChange> = changes.into_iter().map(|(_, c)| c).collect();
        let subscribers = {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "{SELECT} ORDER BY logical_address"
            )))
            .fetch_all(&mut *transaction)
            .await?;
            rows.iter().map(subscriber).collect::<Result<Vec<_>, _>>()?
        };
        let planned = deliveries(&subscribers, &changes, max_transactions);
        common::delivery::enqueue_sqlite(&mut transaction, &planned, Utc::now())
            .await
            .map_err(delivery_error)?;
        transaction.commit().await?;
        Ok(changes.len())
    }
}
