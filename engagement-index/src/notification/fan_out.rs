//! Moves accepted changes from the outbox into the subscribers' delivery queues: the
//! database's, or a JetStream stream.

use std::sync::Arc;
use std::time::Duration;

use common::db::ResponseTimeout;
use common::delivery::{DeliveryError, JetStreamDeliveries, JetStreamRelay};
use common::shutdown::Shutdown;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::store::subscribers::CHANGES_PER_ROUND;
use crate::store::{StoreError, SubscriberStore};

pub struct FanOut {
    store: Arc<dyn SubscriberStore>,
    queue: Queue,
    max_transactions: usize,
    linger: Duration,
    /// Woken after changes are queued, so delivery starts without waiting for its poll.
    delivery: Arc<Notify>,
    /// Wakes the fan-out at once (a handler that just committed changes may notify it).
    changes: Arc<Notify>,
    /// The bound on each of a round's statements: a silent database fails the round, which
    /// is tried again, instead of stopping the fan-out for good (`common::db::ResponseTimeout`).
    limit: ResponseTimeout,
}

/// Where a round's notifications go.
pub enum Queue {
    /// The database's delivery queue, in the round's transaction.
    Database,
    /// Straight to a JetStream stream (`notification.backbone = "nats"`): the database holds
    /// only the round's record between taking its changes and the stream storing them.
    Stream {
        stream: Arc<JetStreamDeliveries>,
        /// Moves what an earlier version queued in the database onto the stream before the
        /// first round, so that a subscriber's notifications stay in order across an upgrade.
        earlier: Option<JetStreamRelay>,
        /// A round left by a process that died is taken over when it is older than this.
        lease: Duration,
        owner: Uuid,
    },
}

#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Stream(#[from] DeliveryError),
}

impl FanOut {
    pub fn new(
        store: Arc<dyn SubscriberStore>,
        queue: Queue,
        max_transactions: usize,
        linger: Duration,
        delivery: Arc<Notify>,
        limit: ResponseTimeout,
    ) -> Self {
        Self {
            store,
            queue,
            max_transactions,
            linger,
            delivery,
            changes: Arc::new(Notify::new()),
            limit,
        }
    }

    /// One round: up to [`CHANGES_PER_ROUND`] changes from the outbox to the subscribers'
    /// queues; how many changes it took.
    async fn round(&self) -> Result<usize, RoundError> {
        match &self.queue {
            Queue::Database => Ok(self
                .limit
                .bound(self.store.fan_out(self.max_transactions))
                .await?),
            Queue::Stream {
                stream,
                lease,
                owner,
                ..
            } => {
                let Some(round) = self
                    .limit
                    .bound(self.store.take_round(self.max_transactions, *owner, *lease))
                    .await?
                else {
                    return Ok(0);
                };
                stream.publish_round(round.id, &round.notifications).await?;
                self.limit.bound(self.store.finish_round(round.id)).await?;
                metrics::counter!("notification_messages_published_total")
                    .increment(round.notifications.len() as u64);
                Ok(round.changes)
            }
        }
    }

    /// Notify it after committing changes to fan them out without waiting for the next round.
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.changes)
    }

    /// Fans out when woken until `shutdown`; what is in the outbox at shutdown stays there for
    /// the next start.
    ///
    /// A round that moved changes is followed by the next one no sooner than `linger` after it
    /// began, so changes wait at most `linger` for their round, and those accepted within
    /// `linger` of a round travel together in the next. Only a full round (a backlog) is
    /// followed at once. Rounds back to back took a handful of changes each, and every round
    /// costs each subscriber a message: at 1000 changes a second, 150 rounds a second made 50
    /// subscribers 7,500 messages a second to queue, send and mark. A change that comes after
    /// a quiet spell, `linger` or more since the last round that moved changes, goes at once:
    /// the pace is kept without making it wait.
    ///
    /// Every change wakes the fan-out of the process that committed it, so an idle fan-out
    /// looks at the outbox only for changes whose wake was lost (their process died between
    /// its commit and its fan-out) and for a round that failed: every `linger` at first, then
    /// less and less often, at least every [`IDLE_LOOK_MAX`]. An idle index thus costs its
    /// database a look a second, not forty.
    pub async fn run(mut self, shutdown: Shutdown) {
        if let Queue::Stream { earlier, .. } = &mut self.queue
            && let Some(relay) = earlier.take()
        {
            // Until it succeeds no round is published: rounds would overtake what it holds.
            while let Err(error) = relay.relay().await {
                tracing::error!(%error, "cannot move the notifications queued in the database to NATS JetStream; trying again");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(IDLE_LOOK_MAX) => {},
                }
            }
        }
        let mut look_every = self.linger;
        // When the last round that moved changes (or failed) began: a wake begins the next
        // `linger` after it, at once if that has passed.
        let mut paced_from: Option<tokio::time::Instant> = None;
        loop {
            let mut moved = false;
            loop {
                let round_began = tokio::time::Instant::now();
                match self.round().await {
                    Ok(0) => break,
                    Ok(changes) => {
                        moved = true;
                        paced_from = Some(round_began);
                        metrics::counter!("notification_changes_fanned_out_total")
                            .increment(changes as u64);
                        self.delivery.notify_one();
                        if i64::try_from(changes).is_ok_and(|n| n < CHANGES_PER_ROUND) {
                            break;
                        }
                    }
                    Err(error) => {
                        paced_from = Some(round_began);
                        metrics::counter!("notification_fan_out_failures_total").increment(1);
                        tracing::error!(%error, "fan-out failed; the changes stay in the outbox and are retried");
                        break;
                    }
                }
            }
            look_every = next_look(look_every, moved, self.linger);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.changes.notified() => {
                    look_every = self.linger;
                    if let Some(began) = paced_from {
                        tokio::time::sleep_until(began + self.linger).await;
                    }
                }
                () = tokio::time::sleep(look_every) => {},
            }
        }
    }
}

/// The longest an idle fan-out goes without looking at the outbox.
pub const IDLE_LOOK_MAX: Duration = Duration::from_secs(1);

/// How long to wait for the next look when nothing wakes the fan-out: `linger` after a round
/// that moved changes, else twice the last wait, up to [`IDLE_LOOK_MAX`] (or `linger`, if
/// that is longer).
fn next_look(last: Duration, moved: bool, linger: Duration) -> Duration {
    if moved {
        linger
    } else {
        (last * 2).min(IDLE_LOOK_MAX.max(linger))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_fan_out_looks_less_often_up_to_a_second_and_a_change_brings_it_back() {
        let linger = Duration::from_millis(25);
        let mut look = linger;
        let mut waits = Vec::new();
        for _ in 0..8 {
            look = next_look(look, false, linger);
            waits.push(look.as_millis());
        }
        assert_eq!(waits, [50, 100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(next_look(look, true, linger), linger);
        // A linger longer than the idle bound is kept.
        let slow = Duration::from_secs(3);
        assert_eq!(next_look(slow, false, slow), slow);
    }
}
