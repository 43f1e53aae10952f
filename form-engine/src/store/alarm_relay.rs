//! The cursor of the relay that pushes the alarm feed to care systems notified directly
//! (docs/follow-up.md).

pub(super) mod sql;

use async_trait::async_trait;
use common::delivery::NewDelivery;

use super::StoreError;

#[async_trait]
pub trait AlarmRelayStore: Send + Sync + 'static {
    /// The serial number up to which the feed has been relayed.
    async fn relayed(&self) -> Result<i64, StoreError>;

    /// Moves the cursor from `from` to `to` and queues `deliveries`, in one transaction; false
    /// (nothing written) when the cursor is no longer at `from`: another process relayed
    /// those alarms.
    async fn relay(
        &self,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
    ) -> Result<bool, StoreError>;
}
