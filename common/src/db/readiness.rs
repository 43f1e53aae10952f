//! Whether a service's database answers, asked so that a pool busy with requests is not taken
//! for a database that does not answer.
//!
//! A readiness check that waits in line for a pooled connection fails whenever the line is
//! longer than the check's patience (2 s). Under a burst every instance on the same database
//! would then go not-ready together, and the load balancer, left with none, would refuse all
//! callers: an overload turned into an outage, at the moment the instances were serving. So a
//! pool with an idle connection pings it; a pool with none idle is answering when it handed a
//! connection on within the last [`HANDED_ON_WITHIN`] (each one handed on had answered the
//! pool's check when it came back); only a pool that has handed nothing on for that long is
//! waited for.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use sqlx::{Connection, Database, Pool};

/// How recently a busy pool must have handed a connection on to count as answering.
pub const HANDED_ON_WITHIN: Duration = Duration::from_secs(2);

/// When a pool last handed a checked connection to a request; set by the pool's
/// `before_acquire` hook ([`super::open_postgres_with`], [`super::open_sqlite_with`]).
#[derive(Clone, Debug)]
pub struct PoolWatch {
    since: Instant,
    /// Milliseconds after `since`, plus one; 0 before the first.
    last_handed_on: Arc<AtomicU64>,
}

impl Default for PoolWatch {
    fn default() -> Self {
        Self {
            since: Instant::now(),
            last_handed_on: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl PoolWatch {
    pub(super) fn handed_on(&self) {
        let at = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.last_handed_on.store(at + 1, Ordering::Relaxed);
    }

    /// Whether the pool handed a connection on within `window` of now.
    pub fn handed_on_within(&self, window: Duration) -> bool {
        match self.last_handed_on.load(Ordering::Relaxed) {
            0 => false,
            at => {
                let elapsed = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
                elapsed.saturating_sub(at - 1) <= u64::try_from(window.as_millis()).unwrap_or(0)
            }
        }
    }
}

/// A pool's readiness check, whatever its database: see the module's documentation.
#[derive(Clone)]
pub struct PoolReadiness {
    check: Arc<dyn Fn() -> BoxFuture<'static, Result<(), sqlx::Error>> + Send + Sync>,
    /// PostgreSQL's: the server's clock, which the service compares its own with.
    clock: Option<super::ClockProbe>,
}

impl PoolReadiness {
    /// Checks `pool`, watched by `watch` (the one its settings were opened with).
    pub fn new<DB: Database>(pool: Pool<DB>, watch: PoolWatch) -> Self {
        Self {
            check: Arc::new(move || {
                let (pool, watch) = (pool.clone(), watch.clone());
                Box::pin(async move { answers(&pool, &watch).await })
            }),
            clock: None,
        }
    }

    /// The same check, with the database's clock to compare this host's with.
    #[must_use]
    pub fn with_clock(mut self, clock: super::ClockProbe) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The database's clock, on PostgreSQL (SQLite's is this host's).
    pub fn clock(&self) -> Option<&super::ClockProbe> {
        self.clock.as_ref()
    }

    /// Whether the database answers. The caller bounds the wait.
    pub async fn check(&self) -> Result<(), sqlx::Error> {
        (self.check)().await
    }
}

async fn answers<DB: Database>(pool: &Pool<DB>, watch: &PoolWatch) -> Result<(), sqlx::Error> {
    // `try_acquire` neither waits nor jumps the line: it finds nothing while requests wait.
    if let Some(mut idle) = pool.try_acquire() {
        return idle.ping().await;
    }
    if watch.handed_on_within(HANDED_ON_WITHIN) {
        return Ok(());
    }
    pool.acquire().await?.ping().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_knows_when_its_pool_last_handed_a_connection_on() {
        let watch = PoolWatch::default();
        assert!(!watch.handed_on_within(Duration::from_hours(1)));
        watch.handed_on();
        assert!(watch.handed_on_within(Duration::from_secs(1)));
        std::thread::sleep(Duration::from_millis(30));
        assert!(!watch.handed_on_within(Duration::from_millis(10)));
        assert!(watch.handed_on_within(Duration::from_secs(1)));
    }
}
