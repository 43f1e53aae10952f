//! What the retention job cleans in the engine's database (`common::retention`) on PostgreSQL:
//! posts and notifications delivered before the cutoff (the delivery queue), and alarm-feed
//! entries created before it. An alarm is deleted only once the alarm relay has passed it, so
//! a care system notified directly never misses one; dead letters and pending messages are
//! never touched. The audit log and the delivery queue are partitioned by month: the job also
//! makes the months ahead and drops whole months past their age.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::delivery::{DeliveredMessages, DeliveryStore};
use common::partitions::MonthlyPartitions;
use common::retention::{Sweep, SweepError};
use sqlx::PgPool;

/// The alarm table, as the metrics name it.
const ALARMS: &str = "alarms";

/// Alarm-feed entries older than the cutoff that the relay has passed.
struct Alarms(PgPool);

#[async_trait]
impl Sweep for Alarms {
    fn table(&self) -> &'static str {
        ALARMS
    }

    async fn delete_batch(&self, cutoff: DateTime<Utc>, limit: i64) -> Result<u64, SweepError> {
        // SKIP LOCKED: processes cleaning at once take disjoint batches; `= ANY(ARRAY(...))`
        // finds them by primary key (an `IN (subquery)` would scan the table).
        let result = sqlx::query(
            "DELETE FROM alarms WHERE serial_number = ANY(ARRAY( \
                 SELECT serial_number FROM alarms \
                 WHERE created_at < $1 \
                   AND serial_number <= (SELECT last_serial FROM alarm_relay WHERE id = 1) \
                 ORDER BY serial_number LIMIT $2 FOR UPDATE SKIP LOCKED))",
        )
        .bind(cutoff)
        .bind(limit)
        .execute(&self.0)
        .await
        .map_err(|error| SweepError(error.to_string()))?;
        Ok(result.rows_affected())
    }
}

/// The monthly partitions first (`common::partitions`: months made ahead, whole old months
/// dropped), then the batches for what is left.
pub(super) fn sweeps(pool: PgPool, deliveries: Arc<dyn DeliveryStore>) -> Vec<Arc<dyn Sweep>> {
    vec![
        Arc::new(MonthlyPartitions::audit(pool.clone())),
        Arc::new(MonthlyPartitions::delivery(pool.clone())),
        Arc::new(DeliveredMessages(deliveries)),
        Arc::new(Alarms(pool)),
    ]
}
