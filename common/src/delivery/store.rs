//! The delivery queue, one implementation for both backends (`$n` placeholders read on SQLite
//! too); what each backend writes its own way is in [`DeliveryBackend`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{
    ColumnIndex, Decode, Encode, Executor, IntoArguments, PgConnection, Pool, Postgres, Row as _,
    Sqlite, SqliteConnection, Type,
};
use uuid::Uuid;

use super::{
    Delivery, DeliveryError, DeliveryState, DeliveryStore, DestinationStats, NewDelivery,
    PullPoint, StoredPayload,
};
use crate::db::Backend;

pub(super) const COLUMNS: &str = "id, destination, notification_id, payload, item_count, state, attempts, \
    next_attempt_at, last_error, correlation_id, traceparent, created_at, delivered_at";

/// The delivery queue on SQLite.
pub type SqliteDeliveryStore = SqlDeliveryStore<Sqlite>;
/// The delivery queue on PostgreSQL.
pub type PgDeliveryStore = SqlDeliveryStore<Postgres>;

pub struct SqlDeliveryStore<DB: Backend> {
    pool: Pool<DB>,
}

impl<DB: Backend> SqlDeliveryStore<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }
}

/// A backend the delivery queue runs on: the statements it writes its own way.
#[async_trait]
pub trait DeliveryBackend: Backend {
    /// Message ids bound as one parameter.
    type IdList: for<'q> Encode<'q, Self> + Type<Self> + Send;

    fn id_list(ids: &[i64]) -> Self::IdList;

    /// The condition that `id` is one of the list bound as `$1`.
    const ID_IN_LIST: &'static str;

    /// The larger of two values (`GREATEST` or SQLite's two-argument `MAX`).
    const GREATEST: &'static str;

    /// Queue figures per destination (`destination`, `pending`, `dead`, `oldest_pending`): one
    /// branch per state, each read through its partial index, so the delivered messages kept
    /// for retention are never scanned.
    const STATS: &'static str;

    /// Deletes up to `$2` messages delivered before `$1`, oldest first.
    const DELETE_DELIVERED: &'static str;

    /// Queues `deliveries` on the caller's connection, inside the caller's transaction, in
    /// order.
    async fn enqueue(
        connection: &mut Self::Connection,
        deliveries: &[NewDelivery],
        now: DateTime<Utc>,
    ) -> Result<(), DeliveryError>;

    /// Destinations whose first pending message is due at `now`.
    async fn due_destinations(
        pool: &Pool<Self>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, DeliveryError>;

    /// Takes or renews `destination`'s lease for `worker` ([`DeliveryStore::claim`]).
    async fn claim(
        pool: &Pool<Self>,
        destination: &str,
        worker: Uuid,
        lease: std::time::Duration,
    ) -> Result<bool, DeliveryError>;

    /// Whether [`Self::pending_runs`] reads several queues in one statement.
    const READS_TOGETHER: bool;

    /// For each `(destination, limit)`, its first `limit` pending messages in order: one run
    /// each, in the order asked; in one statement where [`Self::READS_TOGETHER`].
    async fn pending_runs(
        pool: &Pool<Self>,
        wanted: &[(String, i64)],
    ) -> Result<Vec<Vec<Delivery>>, DeliveryError>;
}

/// Queues `deliveries` inside the caller's SQLite transaction, in order.
pub async fn enqueue_sqlite(
    connection: &mut SqliteConnection,
    deliveries: &[NewDelivery],
    now: DateTime<Utc>,
) -> Result<(), DeliveryError> {
    Sqlite::enqueue(connection, deliveries, now).await
}

/// Queues `deliveries` inside the caller's PostgreSQL transaction, in order.
pub async fn enqueue_postgres(
    connection: &mut PgConnection,
    deliveries: &[NewDelivery],
    now: DateTime<Utc>,
) -> Result<(), DeliveryError> {
    Postgres::enqueue(connection, deliveries, now).await
}

pub(super) fn delivery<DB: Backend>(row: &DB::Row) -> Result<Delivery, DeliveryError>
where
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> i32: Decode<'r, DB> + Type<DB>,
    for<'r> Json<Box<serde_json::value::RawValue>>: Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    let state: String = row.try_get("state")?;
    let payload: Json<Box<serde_json::value::RawValue>> = row.try_get("payload")?;
    let delivered_at: Option<DB::Time> = row.try_get("delivered_at")?;
    Ok(Delivery {
        id: row.try_get("id")?,
        destination: row.try_get("destination")?,
        notification_id: DB::read_id(row.try_get("notification_id")?)?,
        payload: StoredPayload::from(payload.0),
        item_count: row.try_get("item_count")?,
        state: DeliveryState::parse(&state),
        attempts: row.try_get("attempts")?,
        next_attempt_at: DB::read_time(row.try_get("next_attempt_at")?)?,
        last_error: row.try_get("last_error")?,
        correlation_id: row.try_get("correlation_id")?,
        traceparent: row.try_get("traceparent")?,
        created_at: DB::read_time(row.try_get("created_at")?)?,
        delivered_at: delivered_at.map(DB::read_time).transpose()?,
    })
}

#[async_trait]
impl<DB: DeliveryBackend> DeliveryStore for SqlDeliveryStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> i32: Decode<'r, DB> + Type<DB>,
    for<'r> Json<Box<serde_json::value::RawValue>>: Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    async fn due_destinations(&self, now: DateTime<Utc>) -> Result<Vec<String>, DeliveryError> {
        DB::due_destinations(&self.pool, now).await
    }

    async fn claim(
        &self,
        destination: &str,
        worker: Uuid,
        lease: std::time::Duration,
    ) -> Result<bool, DeliveryError> {
        DB::claim(&self.pool, destination, worker, lease).await
    }

    async fn release(&self, destination: &str, worker: Uuid) -> Result<(), DeliveryError> {
        sqlx::query("DELETE FROM delivery_lease WHERE destination = $1 AND owner = $2")
            .bind(destination)
            .bind(DB::id_value(worker))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn head(&self, destination: &str) -> Result<Option<Delivery>, DeliveryError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM delivery WHERE destination = $1 AND state = 'pending' ORDER BY id LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(destination)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(delivery::<DB>).transpose()
    }

    async fn pending_run(
        &self,
        destination: &str,
        limit: i64,
    ) -> Result<Vec<Delivery>, DeliveryError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM delivery WHERE destination = $1 AND state = 'pending' ORDER BY id LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(destination)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(delivery::<DB>).collect()
    }

    fn reads_together(&self) -> bool {
        DB::READS_TOGETHER
    }

    async fn pending_runs(
        &self,
        wanted: &[(String, i64)],
    ) -> Result<Vec<Vec<Delivery>>, DeliveryError> {
        DB::pending_runs(&self.pool, wanted).await
    }

    async fn pending(&self, limit: i64) -> Result<Vec<Delivery>, DeliveryError> {
        let sql =
            format!("SELECT {COLUMNS} FROM delivery WHERE state = 'pending' ORDER BY id LIMIT $1");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(delivery::<DB>).collect()
    }

    async fn mark_delivered(&self, ids: &[i64], now: DateTime<Utc>) -> Result<(), DeliveryError> {
        let sql = format!(
            "UPDATE delivery SET state = 'delivered', delivered_at = $2 \
             WHERE id {} AND state = 'pending'",
            DB::ID_IN_LIST
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(DB::id_list(ids))
            .bind(DB::time_value(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deleted at once: the stream holds them now, and a delivered copy would only be deleted
    /// by the retention job later. By id alone, through the primary key: with `state =
    /// 'pending'` as well, PostgreSQL chose the pending messages' index, whose leading column
    /// is the destination, and scanned all of it, entries of rows already gone included
    /// (4-5 ms a round under the fan-out's load, more than reading and publishing the rows).
    /// Only the relay, which read them as pending, hands messages on.
    async fn relayed(&self, ids: &[i64], _now: DateTime<Utc>) -> Result<(), DeliveryError> {
        let sql = format!("DELETE FROM delivery WHERE id {}", DB::ID_IN_LIST);
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(DB::id_list(ids))
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
        let sql = format!(
            "UPDATE delivery SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 \
             WHERE id {}",
            DB::ID_IN_LIST
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(DB::id_list(ids))
            .bind(error)
            .bind(DB::time_value(next_attempt_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn mark_dead(&self, ids: &[i64], error: &str) -> Result<(), DeliveryError> {
        let sql = format!(
            "UPDATE delivery SET attempts = attempts + 1, last_error = $2, state = 'dead' WHERE id {}",
            DB::ID_IN_LIST
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(DB::id_list(ids))
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
        // The state is written into the statement, not bound: each state has its own partial
        // index, which a plan made for any state could not use.
        let sql = format!(
            "SELECT {COLUMNS} FROM delivery WHERE destination = $1 AND state = '{}' ORDER BY id LIMIT $2",
            state.as_str()
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(destination)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(delivery::<DB>).collect()
    }

    async fn redrive(&self, destination: &str, now: DateTime<Utc>) -> Result<u64, DeliveryError> {
        let result = sqlx::query(
            "UPDATE delivery SET state = 'pending', attempts = 0, next_attempt_at = $2 \
             WHERE destination = $1 AND state = 'dead'",
        )
        .bind(destination)
        .bind(DB::time_value(now))
        .execute(&self.pool)
        .await?;
        Ok(DB::rows_affected(&result))
    }

    async fn stats(&self) -> Result<Vec<DestinationStats>, DeliveryError> {
        let rows = sqlx::query(DB::STATS).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let oldest_pending: Option<DB::Time> = row.try_get("oldest_pending")?;
                Ok(DestinationStats {
                    destination: row.try_get("destination")?,
                    pending: row.try_get("pending")?,
                    dead: row.try_get("dead")?,
                    oldest_pending: oldest_pending.map(DB::read_time).transpose()?,
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
            "UPDATE delivery SET state = 'delivered', delivered_at = $3 \
             WHERE destination = $1 AND id <= $2 AND state = 'pending'",
        )
        .bind(destination)
        .bind(after_offset)
        .bind(DB::time_value(now))
        .execute(&mut *transaction)
        .await?;
        if after_offset > 0 {
            sqlx::query(
                "INSERT INTO delivery_pull_point (destination, acknowledged_offset, previous_offset, acknowledged_at) \
                 VALUES ($1, $2, 0, $3) \
                 ON CONFLICT (destination) DO UPDATE SET \
                     previous_offset = delivery_pull_point.acknowledged_offset, \
                     acknowledged_offset = excluded.acknowledged_offset, \
                     acknowledged_at = excluded.acknowledged_at \
                 WHERE delivery_pull_point.acknowledged_offset < excluded.acknowledged_offset",
            )
            .bind(destination)
            .bind(after_offset)
            .bind(DB::time_value(now))
            .execute(&mut *transaction)
            .await?;
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM delivery WHERE destination = $1 AND state = 'pending' AND id > $2 \
             ORDER BY id LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(destination)
            .bind(after_offset)
            .bind(max_items)
            .fetch_all(&mut *transaction)
            .await?;
        transaction.commit().await?;
        rows.iter().map(delivery::<DB>).collect()
    }

    async fn pull_point(&self, destination: &str) -> Result<PullPoint, DeliveryError> {
        let row = sqlx::query(
            "SELECT acknowledged_offset, previous_offset FROM delivery_pull_point WHERE destination = $1",
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
             WHERE destination = $1 AND d.state = 'delivered' \
               AND d.id > {}(p.previous_offset, $2) AND d.id <= p.acknowledged_offset \
             ORDER BY d.id LIMIT $3",
            DB::GREATEST
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(destination)
            .bind(after_offset)
            .bind(max_items)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(delivery::<DB>).collect()
    }

    async fn delete_delivered(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64, DeliveryError> {
        let result = sqlx::query(DB::DELETE_DELIVERED)
            .bind(DB::time_value(cutoff))
            .bind(limit)
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&result))
    }

    async fn remove_destination(&self, destination: &str) -> Result<u64, DeliveryError> {
        let result = sqlx::query("DELETE FROM delivery WHERE destination = $1")
            .bind(destination)
            .execute(&self.pool)
            .await?;
        for table in ["delivery_lease", "delivery_pull_point"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE destination = $1"
            )))
            .bind(destination)
            .execute(&self.pool)
            .await?;
        }
        Ok(DB::rows_affected(&result))
    }
}
