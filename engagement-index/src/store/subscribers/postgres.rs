//! What the subscriber registry and the fan-out write their own way on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, Row as _};

use super::{CHANGES_PER_ROUND, SubscriberBackend, decode_error};
use crate::domain::subscriber::Subscriber;
use crate::store::StoreError;

/// Serialises fan-out across processes so each subscriber's queue is filled in commit order.
const FAN_OUT_LOCK: i64 = 0x6569_5f66_616e;

#[async_trait]
impl SubscriberBackend for Postgres {
    async fn upsert(
        connection: &mut PgConnection,
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
        .fetch_one(connection)
        .await?;
        Ok(row.try_get("created")?)
    }

    async fn remove_undeclared(
        connection: &mut PgConnection,
        declared: &[Subscriber],
    ) -> Result<Vec<String>, StoreError> {
        let keep: Vec<String> = declared.iter().map(|s| s.logical_address.clone()).collect();
        let gone: Vec<String> = sqlx::query_scalar(
            "DELETE FROM subscriber WHERE declared_in_config AND NOT (logical_address = ANY($1)) RETURNING logical_address",
        )
        .bind(&keep)
        .fetch_all(&mut *connection)
        .await?;
        for table in ["delivery", "delivery_pull_point"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE destination = ANY($1)"
            )))
            .bind(&gone)
            .execute(&mut *connection)
            .await?;
        }
        Ok(gone)
    }

    async fn serialise(connection: &mut PgConnection) -> Result<DateTime<Utc>, StoreError> {
        // The clock is read once the lock is held: later than any earlier round's stamp.
        Ok(sqlx::query_scalar(
            "SELECT clock_timestamp() FROM (SELECT pg_advisory_xact_lock($1)) AS locked",
        )
        .bind(FAN_OUT_LOCK)
        .fetch_one(&mut *connection)
        .await?)
    }

    async fn take_changes(connection: &mut PgConnection) -> Result<Vec<PgRow>, StoreError> {
        // The rows stay, fanned out, until the retention job deletes them; the batch is found
        // by primary key, never by scanning what is kept.
        Ok(sqlx::query(
            "UPDATE notification_outbox SET fanned_out_at = $2 WHERE id = ANY(ARRAY( \
                 SELECT id FROM notification_outbox WHERE fanned_out_at IS NULL ORDER BY id LIMIT $1)) \
             RETURNING id, transactions, correlation_id, traceparent",
        )
        .bind(CHANGES_PER_ROUND)
        .bind(Utc::now())
        .fetch_all(&mut *connection)
        .await?)
    }

    async fn round_changes(
        connection: &mut PgConnection,
        ids: &[i64],
    ) -> Result<Vec<PgRow>, StoreError> {
        Ok(sqlx::query(
            "SELECT id, transactions, correlation_id, traceparent FROM notification_outbox \
             WHERE id = ANY($1)",
        )
        .bind(ids)
        .fetch_all(&mut *connection)
        .await?)
    }
}
