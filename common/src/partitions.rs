//! Tables that stay bounded on PostgreSQL: the audit log, the delivery queue and the
//! engagement index's outbox are partitioned by month (declarative range partitioning on the
//! row's time, UTC months, partitions named `<table>_pYYYYMM`, and a `<table>_default`
//! partition that takes any row whose month has no partition, so no write is ever refused).
//!
//! The retention job ([`crate::retention`]) maintains each table at every run, the first at
//! the service's start:
//! - **Ahead**: the current month's partition and `retention.partition_months_ahead` more are
//!   created. Should the default partition already hold rows of such a month (the job did not
//!   run for months), they are moved into the new partition in the same transaction.
//! - **Retired**: a month wholly older than its age is dropped whole, never row by row:
//!   - the audit log after `retention.audit_max_age_days`, only once the month has been
//!     exported as CSV into `retention.audit_export_dir`, written and fsynced (without that
//!     folder the audit log is kept for ever);
//!   - the delivery queue and the outbox after `retention.max_age_secs`, only when every row of
//!     the month was delivered (fanned out) before the cutoff: a month holding a pending
//!     message, a dead letter or a row not yet fanned out stays, and its finished rows go by
//!     the batch delete as on SQLite;
//!   - a table whose rows have ages of their own (the form engine's forms, kept until their
//!     keepUntil) once the month is over and its own sweeper has deleted its last row: its key
//!     is a UUIDv7 (a time-ordered id), so a row is found by its key in one partition.
//!
//! Several processes may maintain one database: each step takes a transaction-level advisory
//! lock on the table and skips the step when another process holds it. A drop holds the
//! table's exclusive lock only for the check and the drop, and gives up after `LOCK_TIMEOUT`
//! rather than queue the service's queries behind it.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Datelike as _, Months, NaiveDate, TimeZone as _, Utc};
use futures::TryStreamExt as _;
use sqlx::{PgConnection, PgPool, Row as _};
use tokio::io::AsyncWriteExt as _;

use crate::retention::{RetentionConfig, Sweep, SweepError};

/// The delivery queue's partitions keep a message's payload out of the row (compressed, in
/// the partition's TOAST table) whenever the row would pass 128 bytes. A message's row is
/// written twice, queued and then delivered or failed; with the payload out of the row the
/// second write copies a pointer to it, not the payload (at 50 subscribers that copy was a
/// quarter of the write-ahead log). Migration 0079 set the same on the partitions it found.
const DELIVERY_STORAGE: &str = " WITH (toast_tuple_target = 128)";

/// How long a drop or a move waits for the table's lock before it is left to the next run.
const LOCK_TIMEOUT: &str = "5s";

/// What a table is partitioned on.
#[derive(Clone, Copy, Debug)]
enum Key {
    /// A time column.
    Time,
    /// A UUIDv7 column: its first 48 bits are the milliseconds since 1970 when it was made, so
    /// a month is the range from the first id of its first millisecond.
    UuidV7,
}

/// When a month of a table may go.
#[derive(Clone, Debug)]
enum Retire {
    /// The audit log: after `audit_max_age_days`, exported first.
    Exported,
    /// A queue: after `max_age_secs`, when no row of the month is unfinished and every row
    /// finished before the cutoff.
    Finished {
        /// The rows that must never be dropped, each a condition a partial index serves.
        unfinished: &'static [&'static str],
        /// The column holding when a row finished (NULL until then).
        finished_at: &'static str,
    },
    /// Rows deleted one by one by the table's own sweeper: once the month is over and empty.
    Emptied,
}

/// One monthly-partitioned table on PostgreSQL, as a [`Sweep`] whose work is all in
/// [`Sweep::maintain`] (its batches are the table's ordinary sweep's).
#[derive(Clone, Debug)]
pub struct MonthlyPartitions {
    pool: PgPool,
    table: &'static str,
    column: &'static str,
    key: Key,
    retire: Retire,
    /// Storage parameters each new partition is made with (a partitioned table holds none).
    storage: &'static str,
}

/// What one maintenance of a table did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Maintained {
    /// Partitions created (ahead, or for rows found in the default partition).
    pub created: Vec<String>,
    /// Partitions dropped, with their rows.
    pub dropped: Vec<(String, u64)>,
    /// Audit exports written, one file per dropped month.
    pub exported: Vec<PathBuf>,
}

impl MonthlyPartitions {
    /// The audit log (`audit_event`, by `at`).
    pub fn audit(pool: PgPool) -> Self {
        Self {
            pool,
            table: "audit_event",
            column: "at",
            key: Key::Time,
            retire: Retire::Exported,
            storage: "",
        }
    }

    /// The delivery queue (`delivery`, by `created_at`): pending messages and dead letters stay.
    pub fn delivery(pool: PgPool) -> Self {
        Self {
            pool,
            table: "delivery",
            column: "created_at",
            key: Key::Time,
            retire: Retire::Finished {
                unfinished: &["state = 'pending'", "state = 'dead'"],
                finished_at: "delivered_at",
            },
            storage: DELIVERY_STORAGE,
        }
    }

    /// The engagement index's outbox (`notification_outbox`, by `created_at`): rows not yet
    /// fanned out stay.
    pub fn outbox(pool: PgPool) -> Self {
        Self {
            pool,
            table: "notification_outbox",
            column: "created_at",
            key: Key::Time,
            retire: Retire::Finished {
                unfinished: &["fanned_out_at IS NULL"],
                finished_at: "fanned_out_at",
            },
            storage: "",
        }
    }

    /// A table keyed by a UUIDv7 `column` whose rows its own sweeper deletes (each row has
    /// an age of its own): a month is dropped once it is over and holds no row.
    pub fn emptied_by_sweeper(pool: PgPool, table: &'static str, column: &'static str) -> Self {
        Self {
            pool,
            table,
            column,
            key: Key::UuidV7,
            retire: Retire::Emptied,
            storage: "",
        }
    }

    /// The partition holding `month`.
    fn partition(&self, month: NaiveDate) -> String {
        format!("{}_p{:04}{:02}", self.table, month.year(), month.month())
    }

    fn default_partition(&self) -> String {
        format!("{}_default", self.table)
    }

    /// The month a partition name stands for, if it is one of this table's monthly ones.
    fn month_of(&self, partition: &str) -> Option<NaiveDate> {
        let digits = partition.strip_prefix(self.table)?.strip_prefix("_p")?;
        if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        NaiveDate::from_ymd_opt(digits[..4].parse().ok()?, digits[4..].parse().ok()?, 1)
    }

    /// Creates the months ahead and drops the months past their age.
    pub async fn maintain_at(
        &self,
        now: DateTime<Utc>,
        config: &RetentionConfig,
    ) -> Result<Maintained, sqlx::Error> {
        let mut done = Maintained::default();
        let this_month = first_of_month(now);
        for ahead in 0..=config.partition_months_ahead {
            let Some(month) = this_month.checked_add_months(Months::new(ahead)) else {
                break;
            };
            if self.create(month).await? {
                done.created.push(self.partition(month));
            }
        }
        let cutoff = match self.retire {
            Retire::Exported => match &config.audit_export_dir {
                Some(_) => config.audit_cutoff(now),
                None => return Ok(done),
            },
            Retire::Finished { .. } => config.cutoff(now),
            // New rows take the current month's ids: an earlier month only empties.
            Retire::Emptied => start_of(this_month),
        };
        for (partition, month) in self.partitions().await? {
            // Wholly older than the cutoff: its last instant is before it.
            if start_of(next_month(month)) > cutoff {
                continue;
            }
            let dropped = match (&self.retire, &config.audit_export_dir) {
                (Retire::Exported, Some(dir)) => self.export_and_drop(&partition, dir).await?,
                (Retire::Finished { .. }, _) => self.drop_if_finished(&partition, cutoff).await?,
                (Retire::Emptied, _) => self.drop_if_empty(&partition).await?,
                (Retire::Exported, None) => None,
            };
            if let Some((rows, export)) = dropped {
                tracing::info!(table = self.table, partition, rows, "partition dropped");
                metrics::counter!("retention_partitions_dropped_total", "table" => self.table)
                    .increment(1);
                done.dropped.push((partition, rows));
                done.exported.extend(export);
            }
        }
        Ok(done)
    }

    /// This table's monthly partitions, oldest first.
    pub async fn partitions(&self) -> Result<Vec<(String, NaiveDate)>, sqlx::Error> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = to_regclass($1)",
        )
        .bind(self.table)
        .fetch_all(&self.pool)
        .await?;
        let mut months: Vec<(String, NaiveDate)> = names
            .into_iter()
            .filter_map(|name| self.month_of(&name).map(|month| (name, month)))
            .collect();
        months.sort_by_key(|(_, month)| *month);
        Ok(months)
    }

    /// Creates `month`'s partition unless it exists; true when it was created.
    async fn create(&self, month: NaiveDate) -> Result<bool, sqlx::Error> {
        let name = self.partition(month);
        if self.exists(&name).await? {
            return Ok(false);
        }
        let mut tx = self.pool.begin().await?;
        if !self.lock(&mut tx).await? || exists_on(&mut tx, &name).await? {
            return Ok(false);
        }
        set_lock_timeout(&mut tx).await?;
        let from = self.bound(start_of(month));
        let to = self.bound(start_of(next_month(month)));
        let default = self.default_partition();
        // A partition cannot be created over rows the default partition holds in its range:
        // then the default is taken out, the partition and a new default made, and its rows
        // put back through the table, each into its month.
        let stranded: bool = sqlx::query_scalar(sql(format!(
            "SELECT EXISTS (SELECT 1 FROM {default} WHERE {column} >= '{from}' AND {column} < '{to}')",
            column = self.column
        )))
        .fetch_one(&mut *tx)
        .await?;
        let create = format!(
            "CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM ('{from}') TO ('{to}'){storage}",
            table = self.table,
            storage = self.storage,
        );
        if stranded && matches!(self.key, Key::UuidV7) {
            // The default partition keeps its other rows (ids from before, or from elsewhere,
            // for good): only the month's rows are taken out and put back through the table.
            // References to the table are taken off meanwhile (a delete would cascade, and a
            // row is checked in the partition it left) and made again, checked, before commit.
            let table = self.table;
            let column = self.column;
            sqlx::query(sql(format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")))
                .execute(&mut *tx)
                .await?;
            let references: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid) \
                 FROM pg_constraint WHERE contype = 'f' AND confrelid = to_regclass($1) \
                 AND conparentid = 0",
            )
            .bind(table)
            .fetch_all(&mut *tx)
            .await?;
            for (referencing, name, _) in &references {
                sqlx::query(sql(format!(
                    "ALTER TABLE {referencing} DROP CONSTRAINT {name}"
                )))
                .execute(&mut *tx)
                .await?;
            }
            for statement in [
                format!("CREATE TEMPORARY TABLE partition_moving (LIKE {default}) ON COMMIT DROP"),
                format!(
                    "WITH moved AS (DELETE FROM {default} WHERE {column} >= '{from}' \
                     AND {column} < '{to}' RETURNING *) \
                     INSERT INTO partition_moving SELECT * FROM moved"
                ),
                create,
                format!("INSERT INTO {table} SELECT * FROM partition_moving"),
            ] {
                sqlx::query(sql(statement)).execute(&mut *tx).await?;
            }
            for (referencing, name, definition) in &references {
                sqlx::query(sql(format!(
                    "ALTER TABLE {referencing} ADD CONSTRAINT {name} {definition}"
                )))
                .execute(&mut *tx)
                .await?;
            }
        } else if stranded {
            let moving = format!("{}_moving", self.table);
            for statement in [
                format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", self.table),
                format!("ALTER TABLE {} DETACH PARTITION {default}", self.table),
                format!("ALTER TABLE {default} RENAME TO {moving}"),
                create,
                format!(
                    "CREATE TABLE {default} PARTITION OF {} DEFAULT{}",
                    self.table, self.storage
                ),
                format!("INSERT INTO {} SELECT * FROM {moving}", self.table),
                // Dropped, not deleted from: the rows are in the table again.
                format!("DROP TABLE {moving}"),
            ] {
                sqlx::query(sql(statement)).execute(&mut *tx).await?;
            }
        } else {
            sqlx::query(sql(create)).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        tracing::info!(
            table = self.table,
            partition = name,
            stranded,
            "partition created"
        );
        Ok(true)
    }

    /// Drops a queue's month when nothing in it is unfinished and everything finished before
    /// `cutoff`; the rows dropped, or None when the month stays.
    async fn drop_if_finished(
        &self,
        partition: &str,
        cutoff: DateTime<Utc>,
    ) -> Result<Option<(u64, Option<PathBuf>)>, sqlx::Error> {
        let Retire::Finished {
            unfinished,
            finished_at,
        } = &self.retire
        else {
            return Ok(None);
        };
        // Each condition through its partial index; the newest finish through its index.
        let unfinished = unfinished
            .iter()
            .map(|condition| format!("EXISTS (SELECT 1 FROM {partition} WHERE {condition})"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let check = format!(
            "SELECT NOT ({unfinished}) AND coalesce((SELECT max({finished_at}) FROM {partition} \
             WHERE {finished_at} IS NOT NULL) < $1, true)"
        );
        self.drop_when(partition, &check, Some(cutoff)).await
    }

    /// Drops a month the table's sweeper has emptied; None when a row is left.
    async fn drop_if_empty(
        &self,
        partition: &str,
    ) -> Result<Option<(u64, Option<PathBuf>)>, sqlx::Error> {
        let check = format!("SELECT NOT EXISTS (SELECT 1 FROM {partition})");
        self.drop_when(partition, &check, None).await
    }

    /// Drops `partition` when `check` (a query of one boolean, given `cutoff` as $1 if any)
    /// holds, checked once without a lock and again under the table's: a redrive, a late row
    /// or a row with an id of that month (made elsewhere and migrated here) could have come in
    /// between. The rows dropped, or None when the month stays.
    async fn drop_when(
        &self,
        partition: &str,
        check: &str,
        cutoff: Option<DateTime<Utc>>,
    ) -> Result<Option<(u64, Option<PathBuf>)>, sqlx::Error> {
        let holds = || {
            let query = sqlx::query_scalar::<_, bool>(sql(check.to_owned()));
            match cutoff {
                Some(cutoff) => query.bind(cutoff),
                None => query,
            }
        };
        if !holds().fetch_one(&self.pool).await? {
            return Ok(None);
        }
        let mut tx = self.pool.begin().await?;
        if !self.lock(&mut tx).await? {
            return Ok(None);
        }
        set_lock_timeout(&mut tx).await?;
        sqlx::query(sql(format!(
            "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
            self.table
        )))
        .execute(&mut *tx)
        .await?;
        if !holds().fetch_one(&mut *tx).await? {
            return Ok(None);
        }
        let rows = self.detach_and_drop(&mut tx, partition).await?;
        tx.commit().await?;
        Ok(Some((rows, None)))
    }

    /// A month's first value of the partition key, as SQL text.
    fn bound(&self, at: DateTime<Utc>) -> String {
        match self.key {
            Key::Time => literal(at),
            Key::UuidV7 => uuid_v7_floor(at).to_string(),
        }
    }

    /// Exports an audit month into `dir` (written and fsynced) and then drops it.
    async fn export_and_drop(
        &self,
        partition: &str,
        dir: &Path,
    ) -> Result<Option<(u64, Option<PathBuf>)>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if !self.lock(&mut tx).await? {
            return Ok(None);
        }
        set_lock_timeout(&mut tx).await?;
        // No row can be added to the month while it is exported and dropped; readers go on.
        sqlx::query(sql(format!("LOCK TABLE {partition} IN SHARE MODE")))
            .execute(&mut *tx)
            .await?;
        let database: String = sqlx::query_scalar("SELECT current_database()::text")
            .fetch_one(&mut *tx)
            .await?;
        let file = dir.join(format!("{database}.{partition}.csv"));
        let rows = export(&mut tx, partition, &file).await.map_err(|error| {
            sqlx::Error::Io(std::io::Error::new(
                error.kind(),
                format!("cannot export {partition} to {}: {error}", file.display()),
            ))
        })?;
        let dropped = self.detach_and_drop(&mut tx, partition).await?;
        if dropped != rows {
            // Cannot happen under the share lock; never drop what was not exported.
            tx.rollback().await?;
            return Err(sqlx::Error::Protocol(format!(
                "{partition}: exported {rows} rows but it holds {dropped}; kept"
            )));
        }
        tx.commit().await?;
        tracing::info!(partition, rows, file = %file.display(), "audit partition exported");
        Ok(Some((rows, Some(file))))
    }

    /// Counts the partition's rows, detaches and drops it (no row is deleted: the audit log's
    /// triggers do not fire); the rows it held.
    async fn detach_and_drop(
        &self,
        tx: &mut PgConnection,
        partition: &str,
    ) -> Result<u64, sqlx::Error> {
        let rows: i64 = sqlx::query_scalar(sql(format!("SELECT count(*) FROM {partition}")))
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(sql(format!(
            "ALTER TABLE {} DETACH PARTITION {partition}",
            self.table
        )))
        .execute(&mut *tx)
        .await?;
        sqlx::query(sql(format!("DROP TABLE {partition}")))
            .execute(&mut *tx)
            .await?;
        Ok(u64::try_from(rows).unwrap_or(0))
    }

    async fn exists(&self, name: &str) -> Result<bool, sqlx::Error> {
        let mut connection = self.pool.acquire().await?;
        exists_on(&mut connection, name).await
    }

    /// This table's maintenance lock for the transaction, if no other process holds it.
    async fn lock(&self, tx: &mut PgConnection) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtext('partitions:' || $1))")
            .bind(self.table)
            .fetch_one(tx)
            .await
    }
}

#[async_trait]
impl Sweep for MonthlyPartitions {
    fn table(&self) -> &'static str {
        self.table
    }

    /// The rows of a month go with the month, in [`Sweep::maintain`].
    async fn delete_batch(&self, _cutoff: DateTime<Utc>, _limit: i64) -> Result<u64, SweepError> {
        Ok(0)
    }

    async fn maintain(
        &self,
        now: DateTime<Utc>,
        config: &RetentionConfig,
    ) -> Result<u64, SweepError> {
        let done = self
            .maintain_at(now, config)
            .await
            .map_err(|error| SweepError(format!("{}: {error}", self.table)))?;
        Ok(done.dropped.iter().map(|(_, rows)| rows).sum())
    }
}

async fn exists_on(connection: &mut PgConnection, name: &str) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT to_regclass($1) IS NOT NULL")
        .bind(name)
        .fetch_one(connection)
        .await?;
    row.try_get(0)
}

async fn set_lock_timeout(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(sql(format!("SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")))
        .execute(tx)
        .await
        .map(|_| ())
}

/// Writes the partition as CSV with a header, oldest id first, into `file` through a
/// temporary name, fsyncs it and the folder; the rows written.
async fn export(tx: &mut PgConnection, partition: &str, file: &Path) -> std::io::Result<u64> {
    let partial = file.with_extension("csv.partial");
    let mut out = tokio::fs::File::create(&partial).await?;
    let copy = format!(
        "COPY (SELECT * FROM {partition} ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER true)"
    );
    let rows: i64 = sqlx::query_scalar(sql(format!("SELECT count(*) FROM {partition}")))
        .fetch_one(&mut *tx)
        .await
        .map_err(std::io::Error::other)?;
    let mut stream = tx
        .copy_out_raw(&copy)
        .await
        .map_err(std::io::Error::other)?;
    while let Some(chunk) = stream.try_next().await.map_err(std::io::Error::other)? {
        out.write_all(&chunk).await?;
    }
    drop(stream);
    out.flush().await?;
    out.sync_all().await?;
    drop(out);
    tokio::fs::rename(&partial, file).await?;
    if let Some(dir) = file.parent() {
        tokio::fs::File::open(dir).await?.sync_all().await?;
    }
    Ok(u64::try_from(rows).unwrap_or(0))
}

fn first_of_month(at: DateTime<Utc>) -> NaiveDate {
    at.date_naive().with_day(1).unwrap_or(NaiveDate::MIN)
}

fn next_month(month: NaiveDate) -> NaiveDate {
    month
        .checked_add_months(Months::new(1))
        .unwrap_or(NaiveDate::MAX)
}

fn start_of(month: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&month.and_time(chrono::NaiveTime::MIN))
}

/// A statement naming this module's own tables and partitions (never input).
fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

/// The lowest UUIDv7 made at `at` (its milliseconds, every other bit zero): a month's ids
/// are those from its first instant's floor up to the next month's.
#[must_use]
pub fn uuid_v7_floor(at: DateTime<Utc>) -> uuid::Uuid {
    let millis = u128::try_from(at.timestamp_millis()).unwrap_or(0) & ((1 << 48) - 1);
    uuid::Uuid::from_u128(millis << 80)
}

/// A partition bound as SQL text (generated here, never from input).
fn literal(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S+00").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    // A lazy pool needs a runtime, though it never connects here.
    #[tokio::test]
    async fn partition_names_read_back_as_their_month() {
        let table = MonthlyPartitions::delivery(PgPool::connect_lazy("postgres://x").unwrap());
        let month = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(table.partition(month), "delivery_p202603");
        assert_eq!(table.month_of("delivery_p202603"), Some(month));
        assert_eq!(table.month_of("delivery_default"), None);
        assert_eq!(table.month_of("delivery_p2026031"), None);
        assert_eq!(
            literal(start_of(next_month(month))),
            "2026-04-01 00:00:00+00"
        );
    }

    #[test]
    fn a_uuid_v7_falls_between_the_floors_of_its_month_and_the_next() {
        let month = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let (from, to) = (
            uuid_v7_floor(start_of(month)),
            uuid_v7_floor(start_of(next_month(month))),
        );
        for at in [
            start_of(month),
            start_of(next_month(month)) - chrono::Duration::milliseconds(1),
        ] {
            let ts = uuid::Timestamp::from_unix(
                uuid::NoContext,
                u64::try_from(at.timestamp()).unwrap(),
                at.timestamp_subsec_nanos(),
            );
            let id = uuid::Uuid::new_v7(ts);
            assert!(from <= id && id < to, "{id} in [{from}, {to})");
        }
        // 2026-12-01T00:00:00Z is 1,796,083,200,000 ms since 1970.
        assert_eq!(from.to_string(), "01a22ee6-b000-0000-0000-000000000000");
    }
}
