//! The alarm relay's cursor on PostgreSQL.

use async_trait::async_trait;
use chrono::Utc;
use common::delivery::NewDelivery;
use sqlx::{PgPool, Row as _};

use crate::store::StoreError;
use crate::store::alarm_relay::AlarmRelayStore;

pub struct PgAlarmRelayStore {
    pool: PgPool,
}

impl PgAlarmRelayStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl AlarmRelayStore for PgAlarmRelayStore {
    async fn relayed(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT last_serial FROM alarm_relay WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("last_serial")?)
    }

    async fn relay(
        &self,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The conditional move first: it takes the row (and on SQLite the write lock), so a
        // second process waits here and then finds the cursor moved.
        let moved = sqlx::query(
            "UPDATE alarm_relay SET last_serial = $2 WHERE id = 1 AND last_serial = $1",
        )
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        common::delivery::enqueue_postgres(&mut tx, deliveries, Utc::now())
            .await
            .map_err(|e| StoreError::Corrupt(format!("outbox: {e}")))?;
        tx.commit().await?;
        Ok(true)
    }
}
