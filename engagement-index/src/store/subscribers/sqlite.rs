//! What the subscriber registry and the fan-out write their own way on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Sqlite, SqliteConnection};

use super::{CHANGES_PER_ROUND, SubscriberBackend, decode_error};
use crate::domain::subscriber::Subscriber;
use crate::store::StoreError;

#[async_trait]
impl SubscriberBackend for Sqlite {
    async fn upsert(
        connection: &mut SqliteConnection,
        subscriber: &Subscriber,
        declared_in_config: bool,
    ) -> Result<bool, StoreError> {
        let now = common::db::sqlite_time(Utc::now());
        let filter = serde_json::to_string(&subscriber.filter).map_err(decode_error)?;
        // The old row's created_at survives a replace; a new row's equals its updated_at.
        let created_at: String = sqlx::query_scalar(
            "INSERT INTO subscriber (logical_address, url, delivery, filter, declared_in_config, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) \
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
        .fetch_one(connection)
        .await?;
        Ok(created_at == now)
    }

    async fn remove_undeclared(
        connection: &mut SqliteConnection,
        declared: &[Subscriber],
    ) -> Result<Vec<String>, StoreError> {
        let keep = serde_json::to_string(
            &declared
                .iter()
                .map(|s| &s.logical_address)
                .collect::<Vec<_>>(),
        )
        .map_err(decode_error)?;
        let gone: Vec<String> = sqlx::query_scalar(
            "DELETE FROM subscriber WHERE declared_in_config \
             AND logical_address NOT IN (SELECT value FROM json_each($1)) RETURNING logical_address",
        )
        .bind(&keep)
        .fetch_all(&mut *connection)
        .await?;
        let gone_list = serde_json::to_string(&gone).map_err(decode_error)?;
        for table in ["delivery", "delivery_pull_point"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE destination IN (SELECT value FROM json_each($1))"
            )))
            .bind(&gone_list)
            .execute(&mut *connection)
            .await?;
        }
        Ok(gone)
    }

    async fn serialise(connection: &mut SqliteConnection) -> Result<DateTime<Utc>, StoreError> {
        // A write that changes nothing still takes SQLite's write lock, which is held to the
        // end of the transaction: another process's round waits here, before it reads.
        sqlx::query("UPDATE notification_round SET first_id = first_id WHERE false")
            .execute(&mut *connection)
            .await?;
        Ok(Utc::now())
    }

    async fn take_changes(connection: &mut SqliteConnection) -> Result<Vec<SqliteRow>, StoreError> {
        // Marking first takes SQLite's write lock, so two processes never take the same rows.
        // The rows stay, fanned out, until the retention job deletes them.
        Ok(sqlx::query(
            "UPDATE notification_outbox SET fanned_out_at = $2 WHERE id IN ( \
                 SELECT id FROM notification_outbox WHERE fanned_out_at IS NULL ORDER BY id LIMIT $1) \
             RETURNING id, transactions, correlation_id, traceparent",
        )
        .bind(CHANGES_PER_ROUND)
        .bind(common::db::sqlite_time(Utc::now()))
        .fetch_all(&mut *connection)
        .await?)
    }

    async fn round_changes(
        connection: &mut SqliteConnection,
        ids: &[i64],
    ) -> Result<Vec<SqliteRow>, StoreError> {
        let ids = serde_json::to_string(ids).map_err(decode_error)?;
        Ok(sqlx::query(
            "SELECT id, transactions, correlation_id, traceparent FROM notification_outbox \
             WHERE id IN (SELECT value FROM json_each($1))",
        )
        .bind(ids)
        .fetch_all(&mut *connection)
        .await?)
    }
}
