//! What the delivery queue writes its own way on SQLite (times as RFC 3339 text,
//! `crate::db::sqlite_time`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row as _, Sqlite, SqliteConnection, SqlitePool};
use uuid::Uuid;

use super::store::DeliveryBackend;
use super::{Delivery, DeliveryError, NewDelivery};
use crate::db::{Backend as _, parse_sqlite_time, sqlite_time};

/// Rows per INSERT: keeps the bound parameters under SQLite's limit.
const ROWS_PER_STATEMENT: usize = 1000;

#[async_trait]
impl DeliveryBackend for Sqlite {
    /// Ids as a JSON array, for `json_each` (SQLite has no array parameters).
    type IdList = String;

    fn id_list(ids: &[i64]) -> String {
        serde_json::to_string(ids).unwrap_or_else(|_| String::from("[]"))
    }

    const ID_IN_LIST: &'static str = "IN (SELECT value FROM json_each($1))";

    const GREATEST: &'static str = "MAX";

    const STATS: &'static str = "SELECT destination, SUM(pending) AS pending, SUM(dead) AS dead, \
            MIN(oldest_pending) AS oldest_pending \
        FROM (SELECT destination, COUNT(*) AS pending, 0 AS dead, MIN(created_at) AS oldest_pending \
              FROM delivery INDEXED BY delivery_pending WHERE state = 'pending' \
              GROUP BY destination \
              UNION ALL \
              SELECT destination, 0, COUNT(*), NULL \
              FROM delivery INDEXED BY delivery_dead WHERE state = 'dead' \
              GROUP BY destination) \
        GROUP BY destination ORDER BY destination";

    // SQLite has one writer: the batch is chosen and deleted under the write lock, so
    // processes cleaning at once never delete a message twice.
    const DELETE_DELIVERED: &'static str = "DELETE FROM delivery WHERE id IN ( \
            SELECT id FROM delivery WHERE state = 'delivered' AND delivered_at < $1 \
            ORDER BY delivered_at LIMIT $2)";

    /// SQLite reads each queue on its own: a statement costs no round trip there.
    const READS_TOGETHER: bool = false;

    async fn pending_runs(
        pool: &SqlitePool,
        wanted: &[(String, i64)],
    ) -> Result<Vec<Vec<Delivery>>, DeliveryError> {
        super::runs_one_by_one(&super::SqliteDeliveryStore::new(pool.clone()), wanted).await
    }

    async fn enqueue(
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
                    .push_bind(delivery.payload.as_str())
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

    /// Timed by this process's clock: an SQLite file has one host.
    async fn claim(
        pool: &SqlitePool,
        destination: &str,
        worker: Uuid,
        lease: std::time::Duration,
    ) -> Result<bool, DeliveryError> {
        let now = Utc::now();
        let until = chrono::Duration::from_std(lease)
            .ok()
            .and_then(|lease| now.checked_add_signed(lease))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let claimed = sqlx::query(
            "INSERT INTO delivery_lease (destination, owner, until) VALUES ($1, $2, $3) \
             ON CONFLICT (destination) DO UPDATE SET owner = excluded.owner, until = excluded.until \
             WHERE delivery_lease.owner = excluded.owner OR delivery_lease.until < $4",
        )
        .bind(destination)
        .bind(Sqlite::id_value(worker))
        .bind(Sqlite::time_value(until))
        .bind(Sqlite::time_value(now))
        .execute(pool)
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    async fn due_destinations(
        pool: &SqlitePool,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, DeliveryError> {
        // SQLite returns the bare column from the row holding MIN(id): the head's due time.
        let rows = sqlx::query(
            "SELECT destination, next_attempt_at, MIN(id) FROM delivery WHERE state = 'pending' GROUP BY destination",
        )
        .fetch_all(pool)
        .await?;
        let mut due = Vec::new();
        for row in &rows {
            if parse_sqlite_time(&row.try_get::<String, _>("next_attempt_at")?)? <= now {
                due.push(row.try_get("destination")?);
            }
        }
        Ok(due)
    }
}
