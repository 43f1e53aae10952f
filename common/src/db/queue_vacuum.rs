//! Vacuum of the queue tables on PostgreSQL, every few seconds. A queue's rows are deleted or
//! updated about as fast as they are written, and each leaves a dead row version and dead
//! index entries behind until a vacuum. Autovacuum looks at a database at most once a minute
//! by default, and in that minute the fan-out's reads slowed steadily: at 1000 Updates a second
//! to 50 subscribers, the slowest notification of each second went from 26 ms to about 50 ms,
//! and to 140-200 ms on the NATS relay, while a vacuum every few seconds kept them flat
//! (docs/benchmarks.md). A vacuum of tables this small takes milliseconds.

use std::time::Duration;

use sqlx::PgPool;

use super::ResponseTimeout;
use crate::shutdown::Shutdown;

/// Vacuums `tables` every `every`, skipping any another process is vacuuming at the time.
/// Without truncating: giving empty pages at a table's end back to the system takes a lock
/// that stops every read and write of the table meanwhile, and a queue's end empties often.
#[derive(Clone)]
pub struct QueueVacuum {
    pool: PgPool,
    statement: String,
    every: Duration,
    /// A vacuum waited on past this is given up (logged, and the next one runs on time): a
    /// silent database would otherwise stop the vacuums for good. The server finishes a
    /// vacuum given up on by itself, and the next skips a table it still holds.
    limit: ResponseTimeout,
}

impl QueueVacuum {
    /// `None` when `every` is zero: the tables are left to autovacuum.
    pub fn new(pool: PgPool, tables: &[&str], every: Duration) -> Option<Self> {
        (!every.is_zero() && !tables.is_empty()).then(|| Self {
            pool,
            statement: format!("VACUUM (SKIP_LOCKED, TRUNCATE false) {}", tables.join(", ")),
            every,
            limit: ResponseTimeout::DEFAULT,
        })
    }

    /// Gives each vacuum up after `limit` (`database.response_timeout_secs`).
    #[must_use]
    pub fn with_response_timeout(mut self, limit: ResponseTimeout) -> Self {
        self.limit = limit;
        self
    }

    /// One vacuum of every table.
    pub async fn once(&self) -> Result<(), sqlx::Error> {
        let vacuum = sqlx::query(sqlx::AssertSqlSafe(self.statement.as_str())).execute(&self.pool);
        self.limit.bound(vacuum).await?;
        Ok(())
    }

    /// Vacuums every `every` until `shutdown`. A failure is logged and tried again next time:
    /// autovacuum still runs.
    pub async fn run(self, shutdown: Shutdown) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.every) => {},
            }
            if let Err(error) = self.once().await {
                tracing::warn!(%error, statement = %self.statement, "cannot vacuum the queue tables");
            }
        }
    }
}
