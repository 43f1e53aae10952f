//! What the retention job cleans in the index's database (`common::retention`): outbox rows
//! fanned out before the cutoff, and the delivery queue's delivered notifications. Rows not
//! yet fanned out, pending notifications and dead letters are never touched. On PostgreSQL the
//! audit log, the outbox and the queue are partitioned by month: the job also makes the months
//! ahead and drops whole months past their age.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::delivery::{DeliveredMessages, DeliveryStore};
use common::partitions::MonthlyPartitions;
use common::retention::{Sweep, SweepError};
use sqlx::{PgPool, SqlitePool};

const OUTBOX: &str = "notification_outbox";

fn failed(error: &sqlx::Error) -> SweepError {
    SweepError(error.to_string())
}

/// Fanned-out outbox rows on PostgreSQL.
struct PgOutbox(PgPool);

#[async_trait]
impl Sweep for PgOutbox {
    fn table(&self) -> &'static str {
        OUTBOX
    }

    async fn delete_batch(&self, cutoff: DateTime<Utc>, limit: i64) -> Result<u64, SweepError> {
        // SKIP LOCKED: processes cleaning at once take disjoint batches; `= ANY(ARRAY(...))`
        // finds them by primary key (an `IN (subquery)` would scan the table).
        let result = sqlx::query(
            "DELETE FROM notification_outbox WHERE id = ANY(ARRAY( \
                 SELECT id FROM notification_outbox WHERE fanned_out_at < $1 \
                 ORDER BY fanned_out_at LIMIT $2 FOR UPDATE SKIP LOCKED))",
        )
        .bind(cutoff)
        .bind(limit)
        .execute(&self.0)
        .await
        .map_err(|error| failed(&error))?;
        Ok(result.rows_affected())
    }
}

/// Fanned-out outbox rows on SQLite (one writer: a batch is chosen and deleted under its lock).
struct SqliteOutbox(SqlitePool);

#[async_trait]
impl Sweep for SqliteOutbox {
    fn table(&self) -> &'static str {
        OUTBOX
    }

    async fn delete_batch(&self, cutoff: DateTime<Utc>, limit: i64) -> Result<u64, SweepError> {
        let result = sqlx::query(
            "DELETE FROM notification_outbox WHERE id IN ( \
                 SELECT id FROM notification_outbox WHERE fanned_out_at < ?1 \
                 ORDER BY fanned_out_at LIMIT ?2)",
        )
        .bind(common::db::sqlite_time(cutoff))
        .bind(limit)
        .execute(&self.0)
        .await
        .map_err(|error| failed(&error))?;
        Ok(result.rows_affected())
    }
}

/// The monthly partitions first (`common::partitions`: months made ahead, whole old months
/// dropped), then the batches for what is left.
pub(super) fn postgres(pool: PgPool, deliveries: Arc<dyn DeliveryStore>) -> Vec<Arc<dyn Sweep>> {
    vec![
        Arc::new(MonthlyPartitions::audit(pool.clone())),
        Arc::new(MonthlyPartitions::outbox(pool.clone())),
        Arc::new(PgOutbox(pool.clone())),
        Arc::new(MonthlyPartitions::delivery(pool)),
        Arc::new(DeliveredMessages(deliveries)),
    ]
}

pub(super) fn sqlite(pool: SqlitePool, deliveries: Arc<dyn DeliveryStore>) -> Vec<Arc<dyn Sweep>> {
    vec![
        Arc::new(SqliteOutbox(pool)),
        Arc::new(DeliveredMessages(deliveries)),
    ]
}
