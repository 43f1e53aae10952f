//! Moves accepted changes from the outbox into the subscribers' delivery queues.

use std::sync::Arc;
use std::time::Duration;

use common::shutdown::Shutdown;
use tokio::sync::Notify;

use crate::store::SubscriberStore;

pub struct FanOut {
    store: Arc<dyn SubscriberStore>,
    max_transactions: usize,
    linger: Duration,
    /// Woken after changes are queued, so delivery starts without waiting for its poll.
    delivery: Arc<Notify>,
    /// Wakes the fan-out at once (a handler that just committed changes may notify it).
    changes: Arc<Notify>,
}

impl FanOut {
    pub fn new(
        store: Arc<dyn SubscriberStore>,
        max_transactions: usize,
        linger: Duration,
        delivery: Arc<Notify>,
    ) -> Self {
        Self {
            store,
            max_transactions,
            linger,
            delivery,
            changes: Arc::new(Notify::new()),
        }
    }

    /// Notify it after committing changes to fan them out without waiting for the next round.
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.changes)
    }

    /// Fans out every `linger` (or sooner when woken) until `shutdown`; what is in the outbox
    /// at shutdown stays there for the next start.
    pub async fn run(self, shutdown: Shutdown) {
        loop {
            loop {
                match self.store.fan_out(self.max_transactions).await {
                    Ok(0) => break,
                    Ok(changes) => {
                        metrics::counter!("notification_changes_fanned_out_total")
                            .increment(changes as u64);
                        self.delivery.notify_one();
                    }
                    Err(error) => {
                        tracing::error!(%error, "fan-out failed; the changes stay in the outbox and are retried");
                        break;
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.changes.notified() => tokio::time::sleep(self.linger).await,
                () = tokio::time::sleep(self.linger) => {},
            }
        }
    }
}
