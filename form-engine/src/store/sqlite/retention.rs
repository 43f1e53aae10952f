//! What the retention job cleans in the engine's database (`common::retention`) on SQLite, as
//! on PostgreSQL; one writer, so a batch is chosen and deleted under its lock.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::delivery::{DeliveredMessages, DeliveryStore};
use common::retention::{Sweep, SweepError};
use sqlx::SqlitePool;

/// The alarm table, as the metrics name it.
const ALARMS: &str = "alarms";

/// Alarm-feed entries older than the cutoff that the relay has passed.
struct Alarms(SqlitePool);

#[async_trait]
impl Sweep for Alarms {
    fn table(&self) -> &'static str {
        ALARMS
    }

    async fn delete_batch(&self, cutoff: DateTime<Utc>, limit: i64) -> Result<u64, SweepError> {
        let result = sqlx::query(
            "DELETE FROM alarms WHERE serial_number IN ( \
                 SELECT serial_number FROM alarms \
                 WHERE created_at < ?1 \
                   AND serial_number <= (SELECT last_serial FROM alarm_relay WHERE id = 1) \
                 ORDER BY serial_number LIMIT ?2)",
        )
        .bind(common::db::sqlite_time(cutoff))
        .bind(limit)
        .execute(&self.0)
        .await
        .map_err(|error| SweepError(error.to_string()))?;
        Ok(result.rows_affected())
    }
}

pub(super) fn sweeps(pool: SqlitePool, deliveries: Arc<dyn DeliveryStore>) -> Vec<Arc<dyn Sweep>> {
    vec![
        Arc::new(DeliveredMessages(deliveries)),
        Arc::new(Alarms(pool)),
    ]
}
