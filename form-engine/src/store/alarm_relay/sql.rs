//! The alarm relay's cursor, written once for both backends (`$n` placeholders read on SQLite
//! too); queueing the deliveries is the backend's ([`FollowUpBackend::enqueue`]).

use async_trait::async_trait;
use chrono::Utc;
use common::delivery::NewDelivery;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Row as _, Type};

use super::AlarmRelayStore;
use crate::store::StoreError;
use crate::store::follow_up::sql::FollowUpBackend;

/// The alarm relay's cursor on either backend.
pub struct SqlAlarmRelayStore<DB: FollowUpBackend> {
    pool: Pool<DB>,
}

impl<DB: FollowUpBackend> SqlAlarmRelayStore<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl<DB: FollowUpBackend> AlarmRelayStore for SqlAlarmRelayStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    i64: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB>,
{
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
        if DB::rows_affected(&moved) != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        DB::enqueue(&mut tx, deliveries, Utc::now())
            .await
            .map_err(|e| StoreError::Corrupt(format!("outbox: {e}")))?;
        tx.commit().await?;
        Ok(true)
    }
}
