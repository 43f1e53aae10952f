//! How hard the worker tries.

use std::time::Duration;

use rand::Rng as _;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryPolicy {
    /// Attempts before a message that keeps failing transiently is dead-lettered (one the
    /// receiver refuses is dead-lettered at the first refusal).
    pub max_attempts: u32,
    /// A message still undelivered this long after it was queued is dead-lettered.
    pub max_age_secs: u64,
    /// Back-off before the second attempt; doubles each time up to `max_backoff_ms`. A
    /// receiver's `Retry-After` may make a wait longer, never shorter.
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// Time allowed for one POST.
    pub request_timeout_ms: u64,
    /// How often the queue is looked at when nothing wakes the worker.
    pub poll_interval_ms: u64,
    /// How long a worker holds a destination; another takes over when a worker dies.
    pub lease_secs: u64,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 20,
            max_age_secs: 3 * 24 * 3600,
            initial_backoff_ms: 1000,
            max_backoff_ms: 10 * 60 * 1000,
            request_timeout_ms: 10_000,
            poll_interval_ms: 250,
            lease_secs: 30,
        }
    }
}

impl DeliveryPolicy {
    /// The wait after `attempts` failed attempts: exponential, capped, with jitter (between
    /// half and all of it) so that receivers coming back are not hit by every sender at once.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let exponent = attempts.saturating_sub(1).min(30);
        let full = self
            .initial_backoff_ms
            .saturating_mul(1_u64 << exponent)
            .min(self.max_backoff_ms)
            .max(1);
        let jittered = rand::rng().random_range(full / 2..=full);
        Duration::from_millis(jittered)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }

    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }

    pub fn max_age(&self) -> Duration {
        Duration::from_secs(self.max_age_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_a_ceiling() {
        let policy = DeliveryPolicy {
            initial_backoff_ms: 100,
            max_backoff_ms: 1000,
            ..DeliveryPolicy::default()
        };
        for _ in 0..50 {
            let first = policy.backoff(1).as_millis();
            assert!((50..=100).contains(&first), "{first}");
            let third = policy.backoff(3).as_millis();
            assert!((200..=400).contains(&third), "{third}");
            let late = policy.backoff(40).as_millis();
            assert!((500..=1000).contains(&late), "{late}");
        }
    }
}
