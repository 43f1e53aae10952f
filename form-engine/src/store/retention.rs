//! What the retention job cleans in the engine's database (`common::retention`): posts and
//! notifications delivered before the cutoff (the delivery queue), and alarm-feed entries
//! created before it. An alarm is deleted only once the alarm relay has passed it, so a care
//! system notified directly never misses one; dead letters and pending messages are never
//! touched. On PostgreSQL the audit log and the delivery queue are partitioned by month: the
//! job also makes the months ahead and drops whole months past their age.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::delivery::{DeliveredMessages, DeliveryStore};
use common::retention::{Sweep, SweepError};
use sqlx::{Encode, Executor, IntoArguments, Pool, Type};

use super::sql::FormBackend;

/// The alarm table, as the metrics name it.
const ALARMS: &str = "alarms";

/// A batch of alarm-feed entries older than the cutoff (`$1`) that the relay has passed, at
/// most `$2`, oldest first.
const PASSED_ALARMS: &str = "SELECT serial_number FROM alarms \
    WHERE created_at < $1 \
      AND serial_number <= (SELECT last_serial FROM alarm_relay WHERE id = 1) \
    ORDER BY serial_number LIMIT $2";

/// Alarm-feed entries older than the cutoff that the relay has passed.
struct Alarms<DB: sqlx::Database>(Pool<DB>);

#[async_trait]
impl<DB: FormBackend> Sweep for Alarms<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    i64: for<'q> Encode<'q, DB> + Type<DB>,
{
    fn table(&self) -> &'static str {
        ALARMS
    }

    async fn delete_batch(&self, cutoff: DateTime<Utc>, limit: i64) -> Result<u64, SweepError> {
        let result = sqlx::query(sqlx::AssertSqlSafe(DB::delete_alarms(PASSED_ALARMS)))
            .bind(DB::time_value(cutoff))
            .bind(limit)
            .execute(&self.0)
            .await
            .map_err(|error| SweepError(error.to_string()))?;
        Ok(DB::rows_affected(&result))
    }
}

/// The backend's own upkeep first ([`FormBackend::partitions`]), then the batches for what
/// is left.
pub(crate) fn sweeps<DB: FormBackend>(
    pool: Pool<DB>,
    deliveries: Arc<dyn DeliveryStore>,
) -> Vec<Arc<dyn Sweep>>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    i64: for<'q> Encode<'q, DB> + Type<DB>,
{
    let mut sweeps = DB::partitions(&pool);
    sweeps.push(Arc::new(DeliveredMessages(deliveries)));
    sweeps.push(Arc::new(Alarms(pool)));
    sweeps
}
