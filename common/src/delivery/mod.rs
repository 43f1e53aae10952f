//! Durable, ordered delivery of JSON messages to HTTP endpoints: the queue a service fills in
//! the same transaction as the change it reports (transactional outbox), and the worker that
//! empties it.
//!
//! - Per destination, messages go out in queue order, one at a time; a message in back-off
//!   holds back the ones behind it, so a receiver never sees them out of order.
//! - Destinations are independent: each is served by its own task, so a slow or dead receiver
//!   delays nobody else. What the tasks ask at about the same time is asked once for all of
//!   them: their delivered marks are one statement, their next messages one on PostgreSQL,
//!   and their routes one lookup ([`DestinationResolver::routes`]).
//! - Several processes may share one database: a destination is leased to one worker at a
//!   time; a worker that dies loses its lease and another takes over (at-least-once; the
//!   stable `x-notification-id` lets receivers de-duplicate).
//! - The receiver's answer decides (api.md §5):
//!   - delivered: HTTP 2xx with `ResultCode`/`resultCode` OK or INFO;
//!   - refused for good: 2xx with `ResultCode: ERROR`, or 4xx other than 408, 425 and 429. The
//!     message is dead-lettered at once, with the status and an excerpt of the answer (or its
//!     `comment`) kept as its last error. A merged POST ([`DeliveryWorker::merging`]) refused
//!     so is split first: its messages are sent again one at a time, at once, so only the
//!     one at fault is dead-lettered and the others are delivered in order;
//!   - worth another try: transport errors, timeouts, 408, 425, 429, 5xx (and a 2xx that is no
//!     contract answer). Retried with exponential back-off and jitter, never sooner than the
//!     receiver's `Retry-After` (seconds or HTTP date), until the policy's attempts or age run
//!     out; then dead-lettered.
//! - A dead letter never holds up the messages after it: per destination, order is kept among
//!   the messages delivered. Each dead letter is logged once, with its notification id, the
//!   status and the problem's `code`, never the answer's text (it may quote personal data),
//!   and counted in `deliveries_dead_lettered_total{service,destination,cause}` (`cause` =
//!   `refused` or `gave_up`). Dead letters can be listed and redriven.

mod answer;
mod nats;
mod payload;
mod policy;
mod postgres;
mod retention;
mod sqlite;
mod store;
mod together;
mod worker;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use http::HeaderMap;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub use nats::{JetStreamConfig, JetStreamDeliveries, JetStreamRelay};
pub use payload::{Payload, StoredPayload};
pub use policy::DeliveryPolicy;
pub use retention::DeliveredMessages;
pub use store::{
    DeliveryBackend, PgDeliveryStore, SqlDeliveryStore, SqliteDeliveryStore, enqueue_postgres,
    enqueue_sqlite,
};
pub use worker::DeliveryWorker;

/// The header carrying a message's stable id.
pub const NOTIFICATION_ID_HEADER: &str = "x-notification-id";

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("delivery queue database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("a queued payload is not valid JSON: {0}")]
    Payload(#[from] serde_json::Error),
    #[error("notification backbone error: {0}")]
    Backbone(String),
    /// A statement written for several deliveries at once failed (its error, as text).
    #[error("delivery queue error: {0}")]
    Batched(String),
    /// The database did not answer in time ([`crate::db::ResponseTimeout`]).
    #[error("delivery queue: {0}")]
    Unavailable(#[from] crate::db::Unavailable),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its turn or for its next attempt.
    Pending,
    /// Given up on; stays until redriven or removed by an operator (never by retention).
    Dead,
    /// Accepted by the receiver (push) or acknowledged (pull); kept until the retention job
    /// deletes it after the configured age, and never sent again.
    Delivered,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Dead => "dead",
            Self::Delivered => "delivered",
        }
    }

    fn parse(value: &str) -> Self {
        match value {
            "dead" => Self::Dead,
            "delivered" => Self::Delivered,
            _ => Self::Pending,
        }
    }
}

/// A message to queue.
#[derive(Clone, Debug)]
pub struct NewDelivery {
    pub destination: String,
    pub payload: Payload,
    /// How many items (engagement transactions) the payload holds: for admin views and metrics.
    pub item_count: i32,
    pub correlation_id: Option<String>,
    pub traceparent: Option<String>,
}

impl NewDelivery {
    /// A message carrying the current request's correlation id and trace context.
    pub fn in_current_context(
        destination: impl Into<String>,
        payload: serde_json::Value,
        item_count: usize,
    ) -> Self {
        let headers = crate::http_client::propagation_headers();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Self {
            destination: destination.into(),
            payload: Payload::from(payload),
            item_count: i32::try_from(item_count).unwrap_or(i32::MAX),
            correlation_id: header(crate::correlation::HEADER),
            traceparent: header("traceparent"),
        }
    }
}

/// A queued message.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Queue position; for pull subscribers, the offset.
    pub id: i64,
    pub destination: String,
    pub notification_id: Uuid,
    #[schema(value_type = Object)]
    pub payload: StoredPayload,
    pub item_count: i32,
    pub state: DeliveryState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed: the transport error, or the receiver's HTTP status with the
    /// start of its answer (at most 300 characters, on one line) or its `comment`.
    pub last_error: Option<String>,
    pub correlation_id: Option<String>,
    #[serde(skip)]
    pub traceparent: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the receiver accepted it (push) or it was acknowledged (pull); only when delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Where a pull subscriber stands: the offset acknowledged last and the one acknowledged
/// before it (0 before any acknowledgement). The last acknowledged batch is what lies between
/// them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PullPoint {
    pub acknowledged_offset: i64,
    pub previous_offset: i64,
}

/// Queue figures of one destination, for metrics and admin views.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DestinationStats {
    pub destination: String,
    pub pending: i64,
    pub dead: i64,
    /// When the oldest pending message was queued.
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// Where messages for a destination go.
#[derive(Clone, Debug)]
pub enum Route {
    /// POST the payload to `url` with these extra headers.
    Push { url: String, headers: HeaderMap },
    /// The receiver fetches its messages itself; the worker leaves them alone.
    Pull,
}

/// Tells the worker where a destination's messages go; `None` for a destination that no
/// longer exists (its messages wait, untouched).
#[async_trait]
pub trait DestinationResolver: Send + Sync + 'static {
    async fn route(&self, destination: &str) -> Option<Route>;

    /// Whether a merging worker ([`DeliveryWorker::merging`]) may merge this destination's
    /// messages into one POST. A receiver that de-duplicates on `x-notification-id` needs each
    /// message alone, so that an id always stands for the same content.
    fn merges(&self, _destination: &str) -> bool {
        true
    }

    /// The routes of several destinations, one each, in the order asked: the worker's
    /// destinations look theirs up after every wake, together. Worth implementing where a
    /// lookup costs a statement; by default each is looked up in turn.
    async fn routes(&self, destinations: &[String]) -> Vec<Option<Route>> {
        let mut routes = Vec::with_capacity(destinations.len());
        for destination in destinations {
            routes.push(self.route(destination).await);
        }
        routes
    }
}

/// The delivery queue in a service's database.
#[async_trait]
pub trait DeliveryStore: Send + Sync + 'static {
    /// Destinations whose first pending message is due at `now`.
    async fn due_destinations(&self, now: DateTime<Utc>) -> Result<Vec<String>, DeliveryError>;
    /// Takes or renews the lease of `destination` for `worker`, for `lease` from now; false when
    /// another worker holds a lease that has not run out. On PostgreSQL "now" is the database
    /// server's clock, the one every process shares, so that a host whose clock runs ahead
    /// cannot take a lease another still holds.
    async fn claim(
        &self,
        destination: &str,
        worker: Uuid,
        lease: std::time::Duration,
    ) -> Result<bool, DeliveryError>;
    async fn release(&self, destination: &str, worker: Uuid) -> Result<(), DeliveryError>;
    /// The first pending message of `destination`.
    async fn head(&self, destination: &str) -> Result<Option<Delivery>, DeliveryError>;
    /// The first `limit` pending messages of `destination`, in order.
    async fn pending_run(
        &self,
        destination: &str,
        limit: i64,
    ) -> Result<Vec<Delivery>, DeliveryError>;
    /// Whether [`Self::pending_runs`] reads several queues in one statement; the worker's
    /// destinations then read their queues together rather than each on its own.
    fn reads_together(&self) -> bool {
        false
    }
    /// For each `(destination, limit)`, its first `limit` pending messages in order (as
    /// [`Self::pending_run`]): one run each, in the order asked.
    async fn pending_runs(
        &self,
        wanted: &[(String, i64)],
    ) -> Result<Vec<Vec<Delivery>>, DeliveryError> {
        runs_one_by_one(self, wanted).await
    }
    /// Up to `limit` pending messages of every destination, in queue order, due or not: what
    /// the NATS relay moves to the stream in one round. One statement on the database queue.
    async fn pending(&self, limit: i64) -> Result<Vec<Delivery>, DeliveryError> {
        let mut pending = Vec::new();
        for destination in self.due_destinations(Utc::now()).await? {
            pending.extend(self.pending_run(&destination, limit).await?);
        }
        pending.sort_by_key(|delivery| delivery.id);
        pending.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(pending)
    }
    /// Delivered at `now`: the messages leave the queue and are kept as delivered until the
    /// retention job deletes them ([`Self::delete_delivered`]).
    async fn mark_delivered(&self, ids: &[i64], now: DateTime<Utc>) -> Result<(), DeliveryError>;
    /// Handed on to another queue (the JetStream relay's stream stored them): the messages
    /// leave this one. By default they are marked delivered at `now`, as
    /// [`Self::mark_delivered`].
    async fn relayed(&self, ids: &[i64], now: DateTime<Utc>) -> Result<(), DeliveryError> {
        self.mark_delivered(ids, now).await
    }
    async fn mark_failed(
        &self,
        ids: &[i64],
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), DeliveryError>;
    async fn mark_dead(&self, ids: &[i64], error: &str) -> Result<(), DeliveryError>;
    async fn list(
        &self,
        destination: &str,
        state: DeliveryState,
        limit: i64,
    ) -> Result<Vec<Delivery>, DeliveryError>;
    /// Dead messages of `destination` back to pending, due now; returns how many.
    async fn redrive(&self, destination: &str, now: DateTime<Utc>) -> Result<u64, DeliveryError>;
    async fn stats(&self) -> Result<Vec<DestinationStats>, DeliveryError>;
    /// Pull: acknowledges the pending messages up to `after_offset` (delivered at `now`; the
    /// pull point moves on when `after_offset` is beyond its acknowledged offset), then returns
    /// up to `max_items` pending messages after it, in order. Offsets are ids, never reused:
    /// after an offset whose message is gone, the next messages come.
    async fn pull(
        &self,
        destination: &str,
        after_offset: i64,
        max_items: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Delivery>, DeliveryError>;
    /// Where a pull subscriber stands (zeros before its first acknowledgement).
    async fn pull_point(&self, destination: &str) -> Result<PullPoint, DeliveryError>;
    /// The last acknowledged batch again, as far as it is still kept: the delivered messages
    /// after the previous acknowledged offset (or after `after_offset`, when that is later) up
    /// to the acknowledged offset, at most `max_items`, in order. Acknowledges nothing.
    async fn refetch(
        &self,
        destination: &str,
        after_offset: i64,
        max_items: i64,
    ) -> Result<Vec<Delivery>, DeliveryError>;
    /// Retention: deletes up to `limit` messages delivered before `cutoff`, oldest first, and
    /// returns how many. Pending messages and dead letters are never touched. Safe with several
    /// processes at once: each message is deleted by one of them.
    async fn delete_delivered(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64, DeliveryError>;
    /// Removes every message of a destination that no longer exists; returns how many.
    async fn remove_destination(&self, destination: &str) -> Result<u64, DeliveryError>;
}

/// Each `(destination, limit)`'s run read on its own, in the order asked: the reading of
/// stores that have no statement for several queues.
async fn runs_one_by_one<S: DeliveryStore + ?Sized>(
    store: &S,
    wanted: &[(String, i64)],
) -> Result<Vec<Vec<Delivery>>, DeliveryError> {
    let mut runs = Vec::with_capacity(wanted.len());
    for (destination, limit) in wanted {
        runs.push(store.pending_run(destination, *limit).await?);
    }
    Ok(runs)
}
