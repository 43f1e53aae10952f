//! The delivery queue on SQLite (times as RFC 3339 text, `crate::db::sqlite_time`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row as _, Sqlite, SqliteConnection, SqlitePool};
use uuid::Uuid;

use crate::db::{parse_sqlite_time, sqlite_time};

use super::{
    Delivery, DeliveryError, DeliveryState, DeliveryStore, DestinationStats, NewDelivery, PullPoint,
};

const COLUMNS: &str = "id, destination, notification_id, payload, item_count, state, attempts, \
    next_attempt_at, last_error, correlation_id, traceparent, created_at, delivered_at";

/// Rows per INSERT: keeps the bound parameters under SQLite's limit.
const ROWS_PER_STATEMENT: usize = 1000;

pub struct SqliteDeliveryStore {
    pool: SqlitePool,
}

impl SqliteDeliveryStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

/// Ids as a JSON array, for `json_each` (SQLite has no array parameters).
fn id_list(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| String::from("[]"))
}

/// Queues `deliveries` on the caller's connection, inside the caller's transaction, in order.
pub async fn enqueue(
    connection: &mut SqliteConnection,
    deliveries: &[NewDelivery],
    now: DateTime<Utc>,
) -> Result<(), DeliveryError> {
    for chunk in deliveries.chunks(ROWS_PER_STATEMENT) {
        let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO delivery (destination, notification_id, payload, item_count, next_attempt_at, \
             correlation_id, traceparent, created_at) ",
        );
        insert.push_values(chunk, |mut row, delivery| {
            row.push_bind(&delivery.destination)
                .push_bind(Uuid::new_v4().to_string())
                .push_bind(delivery.payload.to_string())
                .push_bind(delivery.item_count)
                .push_bind(sqlite_time(now))
                .push_bind(&delivery.correlation_id)
                .push_bind(&delivery.traceparent)
                .push_bind(sqlite_time(now));
        });
        insert.build().execute(&mut *connection).await?;
    }
    Ok(())
}

fn delivery(row: &SqliteRow) -> Result<Delivery, DeliveryError> {
    let state: String = row.try_get("state")?;
    let notification_id: String = row.try_get("notification_id")?;
    let payload: String = row.try_get("payload")?;
    Ok(Delivery {
        id: row.try_get("id")?,
        destination: row.try_get("destination")?,
        notification_id: Uuid::parse_str(&notification_id).unwrap_or_default(),
        payload: serde_json::from_str(&payload)?,
        item_count: row.try_get("item_count")?,
        state: DeliveryState::parse(&state),
        attempts: row.try_get("attempts")?,
        next_attempt_at: parse_sqlite_time(&row.try_get::<String, _>("next_attempt_at")?)?,
        last_error: row.try_get("last_error")?,
        correlation_id: row.try_get("correlation_id")?,
        traceparent: row.try_get("traceparent")?,
        created_at: parse_sqlite_time(&row.try_get::<String, _>("created_at")?)?,
        delivered_at: row
            .try_get::<Option<String>, _>("delivered_at")?
            .as_deref()
            .map(parse_sqlite_time)
            .transpose()?,
    })
}

#[async_trait]
impl DeliveryStore for SqliteDeliveryStore {
    async fn due_destinations(&self, now: DateTime<Utc>) -> Result<Vec<String>, DeliveryError> {
        // SQLite returns the bare column from the row holding MIN(id): the head's due time.
        let rows = sqlx::query(
            "SELECT destination, next_attempt_at, MIN(id) FROM delivery WHERE state = 'pending' GROUP BY destination",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut due = Vec::new();
        for row in &rows {
            if parse_sqlite_time(&row.try_get::<String, _>("next_attempt_at")?)? <= now {
                due.push(row.try_get("destination")?);
            }
        }
        Ok(due)
    }

    async fn claim(
        &self,
        destination: &str,
        worker: Uuid,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, DeliveryError> {
        let claimed = sqlx::query(
            "INSERT INTO delivery_lease (destination, owner, until) VALUES (?1, ?2, ?3) \
             ON CONFLICT (destination) DO UPDATE SET owner = excluded.owner, until = excluded.until \
             WHERE delivery_lease.owner = excluded.owner OR delivery_lease.until < ?4",
        )
        .bind(destination)
        .bind(worker.to_string())
        .bind(sqlite_time(until))
        .bind(sqlite_time(now))
        .execute(&self.pool)
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    async fn release(&self, destination: &str, worker: Uuid) -> Result<(), DeliveryError> {
        sqlx::query("DELETE FROM delivery_lease WHERE destination = ?1 AND owner = ?2")
            .bind(destination)
            .bind(worker.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn head(&self, destination: &str) -> Result<Option<Delivery>, DeliveryError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM delivery WHERE destination = ?1 AND state = 'pending' ORDER BY id LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(destination)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(delivery).transpose()
    }

    async fn pending_run(
        &self,
        destination: &str,
        limit: i64,
    ) -> Result<Vec<Delivery>, DeliveryError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM delivery WHERE destination = ?1 AND state = 'pending' ORDER BY id LIMIT ?2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(destination)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(delivery).collect()
    }

    async fn mark_delivered(&self, ids: &[i64], now: DateTime<Utc>) -> Result<(), DeliveryError> {
        sqlx::query(
            "UPDATE delivery SET state = 'delivered', delivered_at = ?2 \
             WHERE id IN (SELECT value FROM json_each(?1)) AND state = 'pending'",
        )
        .bind(id_list(ids))
        .bind(sqlite_time(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mark_failed(
        &self,
        ids: &[i64],
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), DeliveryError> {
        sqlx::query(
            "UPDATE delivery SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 \
             WHERE id IN (SELECT value FROM json_each(?1))",
        )
        .bind(id_list(ids))
        .bind(error)
        .bind(sqlite_time(next_attempt_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mark_dead(&self, ids: &[i64], error: &str) -> Result<(), DeliveryError> {
        sqlx::query(
            "UPDATE delivery SET attempts = attempts + 1, last_error = ?2, state = 'dead' \
             WHERE id IN (SELECT value FROM json_each(?1))",
        )
        .bind(id_list(ids))
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list(
        &self,
        destination: &str,
        state: DeliveryState,
        limit: i64,
    ) -> Result<Vec<Delivery>, DeliveryError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM delivery WHERE destination = ?1 AND state = ?2 ORDER BY id LIMIT ?3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(destination)
            .bind(state.as_str())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(delivery).collect()
    }

    async fn redrive(&self, destination: &str, now: DateTime<Utc>) -> Result<u64, DeliveryError> {
        let result = sqlx::query(
            "UPDATE delivery SET state = 'pending', attempts = 0, next_attempt_at = ?2 \
             WHERE destination = ?1 AND state = 'dead'",
        )
        .bind(destination)
        .bind(sqlite_time(now))
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    async fn stats(&self) -> Result<Vec<DestinationStats>, DeliveryError> {
        let rows = sqlx::query(
            // One branch per state, each read through its partial index: the delivered
            // messages kept for retention are never scanned.
            "SELECT destination, SUM(pending) AS pending, SUM(dead) AS dead, \
                    MIN(oldest_pending) AS oldest_pending \
             FROM (SELECT destination, COUNT(*) AS pending, 0 AS dead, MIN(created_at) AS oldest_pending \
                   FROM delivery INDEXED BY delivery_pending WHERE state = 'pending' \
                   GROUP BY destination \
                   UNION ALL \
                   SELECT destination, 0, COUNT(*), NULL \
                   FROM delivery INDEXED BY delivery_dead WHERE state = 'dead' \
                   GROUP BY destination) \
             GROUP BY destination ORDER BY destination",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DestinationStats {
                    destination: row.try_get("destination")?,
                    pending: row.try_get("pending")?,
                    dead: row.try_get("dead")?,
                    oldest_pending: row
                        .try_get::<Option<String>, _>("oldest_pending")?
                        .as_deref()
                        .map(parse_sqlite_time)
                        .transpose()?,
                })
            })
            .collect()
    }

    async fn pull(
        &self,
        destination: &str,
        after_offset: i64,
        max_items: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Delivery>, DeliveryError> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "UPDATE delivery SET state = 'delivered', delivered_at = ?3 \
             WHERE destination = ?1 AND id <= ?2 AND state = 'pending'",
        )
        .bind(destination)
        .bind(after_offset)
        .bind(sqlite_time(now))
        .execute(&mut *transaction)
        .await?;
        if after_offset > 0 {
            sqlx::query(
                "INSERT INTO delivery_pull_point (destination, acknowledged_offset, previous_offset, acknowledged_at) \
                 VALUES (?1, ?2, 0, ?3) \
                 ON CONFLICT (destination) DO UPDATE SET \
                     previous_offset = delivery_pull_point.acknowledged_offset, \
                     acknowledged_offset = excluded.acknowledged_offset, \
                     acknowledged_at = excluded.acknowledged_at \
                 WHERE delivery_pull_point.acknowledged_offset < excluded.acknowledged_offset",
            )
            .bind(destination)
            .bind(after_offset)
            .bind(sqlite_time(now))
            .execute(&mut *transaction)
            .await?;
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM delivery WHERE destination = ?1 AND state = 'pending' AND id > ?2 \
             ORDER BY id LIMIT ?3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(destination)
            .bind(after_offset)
            .bind(max_items)
            .fetch_all(&mut *transaction)
            .await?;
        transaction.commit().await?;
        rows.iter().map(delivery).collect()
    }

    async fn pull_point(&self, destination: &str) -> Result<PullPoint, DeliveryError> {
        let row = sqlx::query(
            "SELECT acknowledged_offset, previous_offset FROM delivery_pull_point WHERE destination = ?1",
        )
        .bind(destination)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(row) => PullPoint {
                acknowledged_offset: row.try_get("acknowledged_offset")?,
                previous_offset: row.try_get("previous_offset")?,
            },
            None => PullPoint::default(),
        })
    }

    async fn refetch(
        &self,
        destination: &str,
        after_offset: i64,
        max_items: i64,
    ) -> Result<Vec<Delivery>, DeliveryError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM delivery d JOIN delivery_pull_point p USING (destination) \
             WHERE destination = ?1 AND d.state = 'delivered' \
               AND d.id > MAX(p.previous_offset, ?2) AND d.id <= p.acknowledged_offset \
             ORDER BY d.id LIMIT ?3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(destination)
            .bind(after_offset)
            .bind(max_items)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(delivery).collect()
    }

    async fn delete_delivered(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64, DeliveryError> {
        // SQLite has one writer: the batch is chosen and deleted under the write lock, so
        // processes cleaning at once never delete a message twice.
        let result = sqlx::query(
            "DELETE FROM delivery WHERE id IN ( \
                 SELECT id FROM delivery WHERE state = 'delivered' AND delivered_at < ?1 \
                 ORDER BY delivered_at LIMIT ?2)",
        )
        .bind(sqlite_time(cutoff))
        .bind(limit)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    async fn remove_destination(&self, destination: &str) -> Result<u64, DeliveryError> {
        let result = sqlx::query("DELETE FROM delivery WHERE destination = ?1")
            .bind(destination)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM delivery_lease WHERE destination = ?1")
            .bind(destination)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM delivery_pull_point WHERE destination = ?1")
            .bind(destination)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }
}
