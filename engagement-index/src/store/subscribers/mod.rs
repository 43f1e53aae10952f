//! The subscriber registry, and the fan-out of accepted changes from the outbox into each
//! subscriber's delivery queue.

mod postgres;
mod sqlite;

use async_trait::async_trait;

pub use postgres::PgSubscribers;
pub use sqlite::SqliteSubscribers;

use super::StoreError;
use crate::domain::subscriber::Subscriber;

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
    /// through the admin API are left alone.
    async fn declare(&self, declared: &[Subscriber]) -> Result<(), StoreError>;
    /// Moves up to [`CHANGES_PER_ROUND`] accepted changes from the outbox into the delivery
    /// queues of the subscribers that want them, in one transaction; returns how many changes
    /// were taken. Only one process fans out at a time.
    async fn fan_out(&self, max_transactions: usize) -> Result<usize, StoreError>;
}

fn decode_error(error: serde_json::Error) -> StoreError {
    StoreError::from(sqlx::Error::Decode(Box::new(error)))
}

fn delivery_error(error: common::delivery::DeliveryError) -> StoreError {
    match error {
        common::delivery::DeliveryError::Database(error) => StoreError::from(error),
        common::delivery::DeliveryError::Payload(error) => decode_error(error),
        // The notification backbone out of reach answers as a database out of reach does.
        common::delivery::DeliveryError::Backbone(error) => {
            StoreError::from(sqlx::Error::Io(std::io::Error::other(error)))
        }
    }
}

/// The notifications planned for `changes`, as delivery queue entries.
fn deliveries(
    subscribers: &[Subscriber],
    changes: &[crate::domain::subscriber::AcceptedChange],
    max_transactions: usize,
) -> Vec<common::delivery::NewDelivery> {
    crate::domain::subscriber::plan_notifications(subscribers, changes, max_transactions)
        .into_iter()
        .map(|planned| common::delivery::NewDelivery {
            destination: planned.logical_address,
            item_count: i32::try_from(planned.transactions.len()).unwrap_or(i32::MAX),
            payload: serde_json::json!({ "engagementTransaction": planned.transactions }),
            correlation_id: planned.correlation_id,
            traceparent: planned.traceparent,
        })
        .collect()
}
