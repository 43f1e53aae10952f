//! Retention of what was delivered (the BRS cleanup job): delivered notifications, fanned-out
//! outbox rows and old feed entries are kept for a configured age, so a receiver can fetch a
//! batch again and an operator can see what went out, and then a background job deletes them
//! in batches. Each service lists what it cleans as [`Sweep`]s; the job runs them in turn.
//!
//! - Only what is finished is ever deleted: pending messages and dead letters are not
//!   [`Sweep`]s' business (a dead letter stays until it is redriven or an operator removes it).
//! - Batches are small transactions (`batch_size` rows), so the job never holds long locks.
//! - Several processes may clean one database at once: each sweep deletes a row in exactly one
//!   of them (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer).
//! - The job reads the time from a [`Clock`], so tests move it by days without waiting.
//! - Rows deleted are counted in `retention_rows_deleted_total{service,table}`.
//! - On PostgreSQL the audit log, the delivery queue and the outbox are partitioned by month
//!   ([`crate::partitions`]): before the batches, each run lets every sweep [`Sweep::maintain`]
//!   its table, which creates the months ahead and drops whole months that are past their age
//!   (a month holding a pending message or a dead letter is never dropped).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
use crate::shutdown::Shutdown;

/// `[retention]` of a service's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// How long delivered or acknowledged rows are kept before the job deletes them.
    pub max_age_secs: u64,
    /// Rows deleted per statement (and transaction).
    pub batch_size: u32,
    /// How often the job runs.
    pub interval_secs: u64,
    /// PostgreSQL: how many months' partitions are kept created ahead of the current one.
    #[serde(default = "months_ahead")]
    pub partition_months_ahead: u32,
    /// PostgreSQL: how long the audit log is kept before a whole month is exported and dropped.
    #[serde(default = "audit_max_age_days")]
    pub audit_max_age_days: u32,
    /// PostgreSQL: the folder a month of the audit log is exported to (CSV) before it is
    /// dropped. Without it the audit log is never dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_export_dir: Option<PathBuf>,
}

fn months_ahead() -> u32 {
    3
}

/// Ten years, leap days included.
fn audit_max_age_days() -> u32 {
    3653
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            max_age_secs: 7 * 24 * 3600,
            batch_size: 1000,
            interval_secs: 600,
            partition_months_ahead: months_ahead(),
            audit_max_age_days: audit_max_age_days(),
            audit_export_dir: None,
        }
    }
}

impl RetentionConfig {
    /// The rules the types cannot state; `key` names the section in the error.
    pub fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if !(1..=100_000).contains(&self.batch_size) {
            return Err(ConfigError(format!(
                "key `{key}.batch_size` must be 1 to 100000, not {}",
                self.batch_size
            )));
        }
        if self.interval_secs == 0 {
            return Err(ConfigError(format!(
                "key `{key}.interval_secs` must be at least 1"
            )));
        }
        if i64::try_from(self.max_age_secs).is_err() {
            return Err(ConfigError(format!(
                "key `{key}.max_age_secs` is too large"
            )));
        }
        if !(1..=120).contains(&self.partition_months_ahead) {
            return Err(ConfigError(format!(
                "key `{key}.partition_months_ahead` must be 1 to 120, not {}",
                self.partition_months_ahead
            )));
        }
        if self.audit_max_age_days == 0 {
            return Err(ConfigError(format!(
                "key `{key}.audit_max_age_days` must be at least 1"
            )));
        }
        if let Some(dir) = &self.audit_export_dir
            && !dir.is_absolute()
        {
            return Err(ConfigError(format!(
                "key `{key}.audit_export_dir` must be an absolute path, not {}",
                dir.display()
            )));
        }
        Ok(())
    }

    /// Audit rows older than this at `now` may go (after their export).
    pub fn audit_cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_signed(chrono::Duration::days(i64::from(self.audit_max_age_days)))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// Rows older than this at `now` are deleted.
    pub fn cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let age = chrono::Duration::seconds(i64::try_from(self.max_age_secs).unwrap_or(i64::MAX));
        now.checked_sub_signed(age)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

/// Where the job reads the time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// The error of one sweep: the store's, as text (each service has its own error type).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SweepError(pub String);

impl From<crate::db::Unavailable> for SweepError {
    fn from(silence: crate::db::Unavailable) -> Self {
        Self(silence.to_string())
    }
}

/// One kind of finished row a service keeps for a while.
#[async_trait]
pub trait Sweep: Send + Sync + 'static {
    /// The table, as the metrics and logs name it.
    fn table(&self) -> &'static str;
    /// Deletes up to `limit` rows finished before `cutoff`, oldest first; returns how many.
    async fn delete_batch(&self, cutoff: DateTime<Utc>, limit: i64) -> Result<u64, SweepError>;
    /// Work on the table as a whole before the batches, once per run (PostgreSQL's monthly
    /// partitions: create the months ahead, drop the months past their age); returns the rows
    /// it removed. Nothing by default.
    async fn maintain(
        &self,
        _now: DateTime<Utc>,
        _config: &RetentionConfig,
    ) -> Result<u64, SweepError> {
        Ok(0)
    }
}

/// What one run of the job deleted, per table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cleaned {
    pub tables: Vec<(&'static str, u64)>,
}

impl Cleaned {
    /// Rows deleted from `table` (0 when it was not swept).
    pub fn of(&self, table: &str) -> u64 {
        self.tables
            .iter()
            .filter(|(name, _)| *name == table)
            .map(|(_, n)| n)
            .sum()
    }

    pub fn total(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// The background cleanup job of one service.
#[derive(Clone)]
pub struct RetentionJob {
    service: &'static str,
    config: RetentionConfig,
    sweeps: Vec<Arc<dyn Sweep>>,
    clock: Clock,
    /// The bound on each batch's delete: a silent database fails the run (counted, so the
    /// retention alert fires), which is tried again, instead of stopping retention for good.
    /// Partition maintenance is not bounded: exporting a month of audit rows takes minutes; a
    /// stalled one shows in `retention_running_since_timestamp_seconds`.
    limit: crate::db::ResponseTimeout,
}

impl RetentionJob {
    /// `service` labels the metrics (`engagement-index`, `form-engine`).
    pub fn new(
        service: &'static str,
        config: RetentionConfig,
        sweeps: Vec<Arc<dyn Sweep>>,
    ) -> Self {
        Self {
            service,
            config,
            sweeps,
            clock: system_clock(),
            limit: crate::db::ResponseTimeout::DEFAULT,
        }
    }

    /// Bounds each batch's delete by `limit` (`database.response_timeout_secs`).
    #[must_use]
    pub fn with_response_timeout(mut self, limit: crate::db::ResponseTimeout) -> Self {
        self.limit = limit;
        self
    }

    /// The same job reading the time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// One run: every sweep, batch after batch, until nothing older than the configured age
    /// is left. A sweep that fails is logged and the others still run; its error is returned
    /// after them.
    pub async fn run_once(&self) -> Result<Cleaned, SweepError> {
        let now = (self.clock)();
        let cutoff = self.config.cutoff(now);
        let limit = i64::from(self.config.batch_size);
        let mut cleaned = Cleaned::default();
        let mut failure = None;
        for sweep in &self.sweeps {
            // Set while the sweep runs, so that one stalled for hours shows (the alert
            // NordformRetentionStalled): partition maintenance is not bounded.
            let running = metrics::gauge!("retention_running_since_timestamp_seconds",
                "service" => self.service, "table" => sweep.table());
            #[allow(clippy::cast_precision_loss)] // seconds since 1970 fit a double exactly
            running.set(now.timestamp() as f64);
            let mut deleted = 0_u64;
            match sweep.maintain(now, &self.config).await {
                Ok(n) => {
                    deleted += n;
                    metrics::counter!("retention_rows_deleted_total",
                        "service" => self.service, "table" => sweep.table())
                    .increment(n);
                }
                Err(error) => {
                    tracing::error!(table = sweep.table(), %error,
                        "partition maintenance failed; it is tried again at the next run");
                    metrics::counter!("retention_failures_total",
                        "service" => self.service, "table" => sweep.table())
                    .increment(1);
                    failure = Some(error);
                }
            }
            loop {
                match self.limit.bound(sweep.delete_batch(cutoff, limit)).await {
                    Ok(n) => {
                        deleted += n;
                        metrics::counter!("retention_rows_deleted_total",
                            "service" => self.service, "table" => sweep.table())
                        .increment(n);
                        if n < u64::from(self.config.batch_size) {
                            break;
                        }
                    }
                    Err(error) => {
                        tracing::error!(table = sweep.table(), %error,
                            "retention cleanup failed; it is tried again at the next run");
                        metrics::counter!("retention_failures_total",
                            "service" => self.service, "table" => sweep.table())
                        .increment(1);
                        failure = Some(error);
                        break;
                    }
                }
            }
            running.set(0.0);
            if deleted > 0 {
                tracing::info!(table = sweep.table(), deleted, %cutoff, "retention cleanup");
            }
            cleaned.tables.push((sweep.table(), deleted));
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(cleaned),
        }
    }

    /// Runs every `interval_secs` until `shutdown`; a batch in flight is finished first.
    pub async fn run(self, shutdown: Shutdown) {
        let interval = Duration::from_secs(self.config.interval_secs.max(1));
        loop {
            // Errors are logged and counted in run_once; the next run tries again.
            let _ = self.run_once().await;
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(interval) => {},
            }
        }
    }
}
