//! The subscriber registry, and the fan-out of accepted changes from the outbox into each
//! subscriber's delivery queue.

mod postgres;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::db::Backend;
use common::delivery::DeliveryBackend;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{
    ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Postgres, Row as _, Sqlite, Type,
};

use uuid::Uuid;

use super::StoreError;
use crate::domain::subscriber::{AcceptedChange, DeliveryMode, OutboxTransaction, Subscriber};

/// Outbox rows taken per fan-out round: bounds the transaction's size.
pub const CHANGES_PER_ROUND: i64 = 500;

#[async_trait]
pub trait SubscriberStore: Send + Sync + 'static {
    /// Creates or replaces a subscriber; true when it is new.
    async fn put(&self, subscriber: &Subscriber) -> Result<bool, StoreError>;
    async fn get(&self, logical_address: &str) -> Result<Option<Subscriber>, StoreError>;
    async fn list(&self) -> Result<Vec<Subscriber>, StoreError>;
    /// Removes a subscriber and its queued notifications; false when there was none.
    async fn delete(&self, logical_address: &str) -> Result<bool, StoreError>;
    /// Makes the subscribers declared in the configuration exactly `declared`: adds or
    /// replaces them, and removes earlier declared ones no longer listed. Subscribers added
    /// through the admin API are left alone. Returns the logical addresses removed, whose
    /// queues elsewhere (the NATS backbone) are to be removed too.
    async fn declare(&self, declared: &[Subscriber]) -> Result<Vec<String>, StoreError>;
    /// Moves up to [`CHANGES_PER_ROUND`] accepted changes from the outbox into the delivery
    /// queues of the subscribers that want them, in one transaction; returns how many changes
    /// were taken. Only one process fans out at a time.
    async fn fan_out(&self, max_transactions: usize) -> Result<usize, StoreError>;
    /// For a backbone outside the database: takes a round of up to [`CHANGES_PER_ROUND`]
    /// changes and plans its notifications without queueing them, to be published by the
    /// caller and then [finished](Self::finish_round). The round is recorded with the outbox
    /// rows' marks in one commit, so a round whose owner died before finishing it is found
    /// again: it is returned once more (same changes, same [`Round::id`]) to `owner` at once
    /// and to any other owner once it was taken longer than `lease` ago, by the clock all
    /// processes share (the database server's on PostgreSQL). `None`: nothing to fan out, or
    /// another owner's round is under way.
    async fn take_round(
        &self,
        max_transactions: usize,
        owner: Uuid,
        lease: std::time::Duration,
    ) -> Result<Option<Round>, StoreError>;
    /// Forgets a round once its notifications are published.
    async fn finish_round(&self, round: i64) -> Result<(), StoreError>;
}

/// A fan-out round taken for a backbone outside the database.
#[derive(Debug)]
pub struct Round {
    /// The round's first outbox id: no other round has it, and a round taken again keeps it.
    pub id: i64,
    /// How many changes the round took.
    pub changes: usize,
    /// Its notifications, per subscriber in order.
    pub notifications: Vec<common::delivery::NewDelivery>,
}

/// The subscriber registry on SQLite.
pub type SqliteSubscribers = SqlSubscribers<Sqlite>;
/// The subscriber registry on PostgreSQL.
pub type PgSubscribers = SqlSubscribers<Postgres>;

pub struct SqlSubscribers<DB: Backend> {
    pool: Pool<DB>,
}

impl<DB: Backend> SqlSubscribers<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }
}

/// What a backend writes its own way for the registry and the fan-out.
#[async_trait]
pub trait SubscriberBackend: Backend + DeliveryBackend {
    /// Creates or replaces `subscriber`; true when it is new.
    async fn upsert(
        connection: &mut Self::Connection,
        subscriber: &Subscriber,
        declared_in_config: bool,
    ) -> Result<bool, StoreError>;

    /// Removes the subscribers declared in the configuration that `declared` no longer lists,
    /// with their queued notifications; returns their logical addresses.
    async fn remove_undeclared(
        connection: &mut Self::Connection,
        declared: &[Subscriber],
    ) -> Result<Vec<String>, StoreError>;

    /// Makes the rest of the transaction the only fan-out under way, across processes, and
    /// says what time it then is by the clock rounds are timed by: the server's on PostgreSQL,
    /// which every process reads alike, whatever its host's clock says; the process's on
    /// SQLite, whose processes share one host.
    async fn serialise(connection: &mut Self::Connection) -> Result<DateTime<Utc>, StoreError>;

    /// Marks up to [`CHANGES_PER_ROUND`] outbox rows fanned out, in id order, and returns them
    /// (`id`, `transactions`, `correlation_id`, `traceparent`), so that no other process takes
    /// them.
    async fn take_changes(connection: &mut Self::Connection) -> Result<Vec<Self::Row>, StoreError>;

    /// The outbox rows `ids` (`id`, `transactions`, `correlation_id`, `traceparent`), in no
    /// particular order: a round taken again.
    async fn round_changes(
        connection: &mut Self::Connection,
        ids: &[i64],
    ) -> Result<Vec<Self::Row>, StoreError>;
}

const SELECT: &str = "SELECT logical_address, url, delivery, filter FROM subscriber";

fn subscriber<DB: Backend>(row: &DB::Row) -> Result<Subscriber, StoreError>
where
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Json<Value>: Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    let delivery: String = row.try_get("delivery")?;
    let filter: Json<Value> = row.try_get("filter")?;
    Ok(Subscriber {
        logical_address: row.try_get("logical_address")?,
        url: row.try_get("url")?,
        delivery: DeliveryMode::parse(&delivery)
            .ok_or_else(|| StoreError::Unreadable(format!("delivery mode {delivery}")))?,
        filter: serde_json::from_value(filter.0).map_err(decode_error)?,
    })
}

/// An outbox row taken for fan-out: its id and the change it holds.
fn accepted_change<DB: Backend>(row: &DB::Row) -> Result<(i64, AcceptedChange), StoreError>
where
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: Decode<'r, DB> + Type<DB> + ColumnIndex<DB::Row>,
{
    // Stored as text (the index wrote it); each transaction is kept as text, to be sent on
    // as it is, and only the fields the filters need are read from it.
    let text: &str = row.try_get("transactions")?;
    let transactions = OutboxTransaction::read_all(text)
        .map_err(|error| StoreError::Unreadable(format!("an outbox row: {error}")))?;
    let change = AcceptedChange {
        transactions,
        correlation_id: row.try_get("correlation_id")?,
        traceparent: row.try_get("traceparent")?,
    };
    Ok((row.try_get("id")?, change))
}

#[async_trait]
impl<DB: SubscriberBackend> SubscriberStore for SqlSubscribers<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> i32: Decode<'r, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Json<Value>: Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    async fn put(&self, subscriber: &Subscriber) -> Result<bool, StoreError> {
        let mut connection = self.pool.acquire().await?;
        DB::upsert(&mut connection, subscriber, false).await
    }

    async fn get(&self, logical_address: &str) -> Result<Option<Subscriber>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE logical_address = $1"
        )))
        .bind(logical_address)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(subscriber::<DB>).transpose()
    }

    async fn list(&self) -> Result<Vec<Subscriber>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} ORDER BY logical_address"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(subscriber::<DB>).collect()
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
        Ok(DB::rows_affected(&deleted) == 1)
    }

    async fn declare(&self, declared: &[Subscriber]) -> Result<Vec<String>, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let removed = DB::remove_undeclared(&mut transaction, declared).await?;
        for subscriber in declared {
            DB::upsert(&mut transaction, subscriber, true).await?;
        }
        transaction.commit().await?;
        Ok(removed)
    }

    async fn fan_out(&self, max_transactions: usize) -> Result<usize, StoreError> {
        let mut transaction = self.pool.begin().await?;
        DB::serialise(&mut transaction).await?;
        let rows = DB::take_changes(&mut transaction).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let subscribers = subscribers::<DB>(&mut transaction).await?;
        if subscribers.is_empty() {
            // Nobody to notify: the changes are only marked fanned out, not read.
            transaction.commit().await?;
            return Ok(rows.len());
        }
        let changes = in_commit_order::<DB>(&rows)?;
        let planned = deliveries(&subscribers, &changes, max_transactions)?;
        DB::enqueue(&mut transaction, &planned, Utc::now())
            .await
            .map_err(delivery_error)?;
        transaction.commit().await?;
        Ok(changes.len())
    }

    async fn take_round(
        &self,
        max_transactions: usize,
        owner: Uuid,
        lease: std::time::Duration,
    ) -> Result<Option<Round>, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let now = DB::serialise(&mut transaction).await?;
        // A lease too long to subtract leaves every round to its owner, not a panic.
        let stale_before = chrono::Duration::from_std(lease)
            .ok()
            .and_then(|lease| now.checked_sub_signed(lease))
            .unwrap_or(DateTime::UNIX_EPOCH);
        let unfinished = sqlx::query(
            "SELECT first_id, outbox_ids, \
                 CASE WHEN owner = $1 OR taken_at < $2 THEN 1 ELSE 0 END AS takeable \
             FROM notification_round ORDER BY first_id LIMIT 1",
        )
        .bind(DB::id_value(owner))
        .bind(DB::time_value(stale_before))
        .fetch_optional(&mut *transaction)
        .await?;
        let (id, rows) = if let Some(unfinished) = unfinished {
            if unfinished.try_get::<i32, _>("takeable")? == 0 {
                return Ok(None); // another process publishes its round
            }
            let id: i64 = unfinished.try_get("first_id")?;
            let ids: String = unfinished.try_get("outbox_ids")?;
            let ids: Vec<i64> = serde_json::from_str(&ids).map_err(decode_error)?;
            sqlx::query(
                "UPDATE notification_round SET owner = $1, taken_at = $2 WHERE first_id = $3",
            )
            .bind(DB::id_value(owner))
            .bind(DB::time_value(now))
            .bind(id)
            .execute(&mut *transaction)
            .await?;
            (id, DB::round_changes(&mut transaction, &ids).await?)
        } else {
            let rows = DB::take_changes(&mut transaction).await?;
            let mut ids = rows
                .iter()
                .map(|row| row.try_get::<i64, _>("id"))
                .collect::<Result<Vec<_>, _>>()?;
            ids.sort_unstable();
            let Some(&id) = ids.first() else {
                return Ok(None);
            };
            sqlx::query(
                "INSERT INTO notification_round (first_id, outbox_ids, owner, taken_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(serde_json::to_string(&ids).map_err(decode_error)?)
            .bind(DB::id_value(owner))
            .bind(DB::time_value(now))
            .execute(&mut *transaction)
            .await?;
            (id, rows)
        };
        let subscribers = subscribers::<DB>(&mut transaction).await?;
        transaction.commit().await?;
        let changes = in_commit_order::<DB>(&rows)?;
        let notifications = if subscribers.is_empty() {
            Vec::new()
        } else {
            deliveries(&subscribers, &changes, max_transactions)?
        };
        Ok(Some(Round {
            id,
            changes: changes.len(),
            notifications,
        }))
    }

    async fn finish_round(&self, round: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM notification_round WHERE first_id = $1")
            .bind(round)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Every subscriber, in the order of their addresses.
async fn subscribers<DB: Backend>(
    connection: &mut DB::Connection,
) -> Result<Vec<Subscriber>, StoreError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: IntoArguments<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Json<Value>: Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} ORDER BY logical_address"
    )))
    .fetch_all(connection)
    .await?;
    rows.iter().map(subscriber::<DB>).collect()
}

/// Outbox rows read as changes, in id (commit) order: neither RETURNING nor `= ANY` promise
/// an order.
fn in_commit_order<DB: Backend>(rows: &[DB::Row]) -> Result<Vec<AcceptedChange>, StoreError>
where
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: Decode<'r, DB> + Type<DB> + ColumnIndex<DB::Row>,
{
    let mut changes = rows
        .iter()
        .map(accepted_change::<DB>)
        .collect::<Result<Vec<_>, _>>()?;
    changes.sort_by_key(|(id, _)| *id);
    Ok(changes.into_iter().map(|(_, change)| change).collect())
}

fn decode_error(error: serde_json::Error) -> StoreError {
    StoreError::from(sqlx::Error::Decode(Box::new(error)))
}

fn delivery_error(error: common::delivery::DeliveryError) -> StoreError {
    match error {
        common::delivery::DeliveryError::Database(error) => StoreError::from(error),
        common::delivery::DeliveryError::Payload(error) => decode_error(error),
        common::delivery::DeliveryError::Unavailable(error) => StoreError::from(error),
        // The notification backbone out of reach answers as a database out of reach does.
        common::delivery::DeliveryError::Backbone(error)
        | common::delivery::DeliveryError::Batched(error) => {
            StoreError::from(sqlx::Error::Io(std::io::Error::other(error)))
        }
    }
}

/// The notifications planned for `changes`, as delivery queue entries. Subscribers getting the
/// same transactions (all those without filters, usually) share one payload, written out once.
fn deliveries(
    subscribers: &[Subscriber],
    changes: &[crate::domain::subscriber::AcceptedChange],
    max_transactions: usize,
) -> Result<Vec<common::delivery::NewDelivery>, StoreError> {
    /// A ProcessNotification request's body.
    #[derive(serde::Serialize)]
    struct Body<'a> {
        #[serde(rename = "engagementTransaction")]
        transactions: &'a [&'a OutboxTransaction],
    }
    let planned =
        crate::domain::subscriber::plan_notifications(subscribers, changes, max_transactions);
    // Keyed by which transactions a notification holds (their addresses in `changes`).
    let mut written: std::collections::HashMap<
        Vec<*const OutboxTransaction>,
        common::delivery::Payload,
    > = std::collections::HashMap::new();
    let mut deliveries = Vec::with_capacity(planned.len());
    for planned in planned {
        let key: Vec<*const OutboxTransaction> = planned
            .transactions
            .iter()
            .map(|t| std::ptr::from_ref::<OutboxTransaction>(*t))
            .collect();
        let payload = if let Some(payload) = written.get(&key) {
            payload.clone()
        } else {
            let payload = common::delivery::Payload::json(&Body {
                transactions: &planned.transactions,
            })
            .map_err(decode_error)?;
            written.insert(key, payload.clone());
            payload
        };
        deliveries.push(common::delivery::NewDelivery {
            destination: planned.logical_address,
            item_count: i32::try_from(planned.transactions.len()).unwrap_or(i32::MAX),
            payload,
            correlation_id: planned.correlation_id,
            traceparent: planned.traceparent,
        });
    }
    Ok(deliveries)
}
