//! The delivery queue's part in retention: messages delivered (push) or acknowledged (pull)
//! before the cutoff are deleted; pending messages and dead letters never are.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::DeliveryStore;
use crate::retention::{Sweep, SweepError};

/// The delivered messages of a delivery queue, as a [`Sweep`] of the retention job.
pub struct DeliveredMessages(pub Arc<dyn DeliveryStore>);

#[async_trait]
impl Sweep for DeliveredMessages {
    fn table(&self) -> &'static str {
        "delivery"
    }

    async fn delete_batch(&self, cutoff: DateTime<Utc>, limit: i64) -> Result<u64, SweepError> {
        self.0
            .delete_delivered(cutoff, limit)
            .await
            .map_err(|error| SweepError(error.to_string()))
    }
}
