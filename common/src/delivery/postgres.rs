//! The delivery queue on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row as _};
use uuid::Uuid;

use super::{
    Delivery, DeliveryError, DeliveryState, DeliveryStore, DestinationStats, NewDelivery, PullPoint,
};

const COLUMNS: &str = "id, destination, notification_id, payload, item_count, state, attempts, \
    next_attempt_at, last_error, correlation_id, traceparent, created_at, delivered_at";

pub struct PgDeliveryStore {
    pool: PgPool,
}

impl PgDeliveryStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// Queues `deliveries` on the caller's connection, inside the caller's transaction, in
/// order: one statement whatever their number.
pub async fn enqueue(
    connection: &mut PgConnection,
    deliveries: &[NewDelivery],
    now: DateTime<Utc>,
) -> Result<(), DeliveryError> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let mut destinations = Vec::with_capacity(deliveries.len());
    let mut ids = Vec::with_capacity(deliveries.len());
    let mut payloads = Vec::with_capacity(deliveries.len());
    let mut counts = Vec::with_capacity(deliveries.len());
    let mut correlation_ids = Vec::with_capacity(deliveries.len());
    let mut traceparents = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        destinations.push(delivery.destination.clone());
        ids.push(Uuid::new_v4());
        payloads.push(delivery.payload.clone());
        counts.push(delivery.item_count);
        correlation_ids.push(delivery.correlation_id.clone());
        traceparents.push(delivery.traceparent.clone());
    }
    // WITH ORDINALITY keeps the callers' order in the ids the sequence hands out.
    sqlx::query(
        "INSERT INTO delivery (destination, notification_id, payload, item_count, next_attempt_at, \
             correlation_id, traceparent, created_at) \
         SELECT d, n, p, c, $7, k, t, $7 \
         FROM unnest($1::text[], $2::uuid[], $3::jsonb[], $4::int4[], $5::text[], $6::text[]) \
              WITH ORDINALITY AS x(d, n, p, c, k, t, position) \
         ORDER BY position",
    )
    .bind(&destinations)
    .bind(&ids)
    .bind(&payloads)
    .bind(&counts)
    .bind(&correlation_ids)
    .bind(&traceparents)
    .bind(now)
    .execute(connection)
    .await?;
    Ok(())
}

fn delivery(row: &PgRow) -> Result<Delivery, DeliveryError> {
    let state: String = row.try_get("state")?;
    Ok(Delivery {
        id: row.try_get("id")?,
        destination: row.try_get("destination")?,
        notification_id: row.try_get("notification_id")?,
        payload: row.try_get("payload")?,
        item_count: row.try_get("item_count")?,
        state: DeliveryState::parse(&state),
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        correlation_id: row.try_get("correlation_id")?,
        traceparent: row.try_get("traceparent")?,
        created_at: row.try_get("created_at")?,
        delivered_at: row.try_get("delivered_at")?,
    })
}

#[async_trait]
impl DeliveryStore for PgDeliveryStore {
    async fn due_destinations(&self, now: DateTime<Utc>) -> Result<Vec<String>, DeliveryError> {
        let rows = sqlx::query(
            "SELECT destination FROM ( \
                 SELECT DISTINCT ON (destination) destination, next_attempt_at FROM delivery \
                 WHERE state = 'pending' ORDER BY destination, id) head \
             WHERE next_attempt_at <= $1",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get("destination")).collect())
    }

    async fn claim(
        &self,
        destination: &str,
        worker: Uuid,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, DeliveryError> {
        let claimed = sqlx::query(
            "INSERT INTO delivery_lease (destination, owner, until) VALUES ($1, $2, $3) \
             ON CONFLICT (destination) DO UPDATE SET owner = excluded.owner, until = excluded.until \
             WHERE delivery_lease.owner = excluded.owner OR delivery_lease.until < $4",
        )
        .bind(destination)
        .bind(worker)
        .bind(until)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    async fn release(&self, destination: &str, worker: Uuid) -> Result<(), DeliveryError> {
        sqlx::query("DELETE FROM delivery_lease WHERE destination = $1 AND owner = $2")
            .bind(destination)
            .bind(worker)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn head(&self, destination: &str) -> Result<Option<Delivery>, DeliveryError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM delivery WHERE destination = $1 AND state = 'pending' ORDER BY id LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(destination)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(delivery).transpose()
    }

    async fn pending_run(
        &self,
        destination: &str,
        limit: i64,
    ) -> Result<Vec<Delivery>, DeliveryError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM delivery WHERE destination = $1 AND state = 'pending' ORDER BY id LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(destination)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(delivery).collect()
    }

    async fn mark_delivered(&self, ids: &[i64], now: DateTime<Utc>) -> Result<(), DeliveryError> {
        sqlx::query(
            "UPDATE delivery SET state = 'delivered', delivered_at = $2 \
             WHERE id = ANY($1) AND state = 'pending'",
        )
        .bind(ids)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mark_failed(
        &self,
        ids: &[i64],
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), DeliveryError> {
        sqlx::query(
            "UPDATE delivery SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = ANY($1)",
        )
        .bind(ids)
        .bind(error)
        .bind(next_attempt_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mark_dead(&self, ids: &[i64], error: &str) -> Result<(), DeliveryError> {
        sqlx::query("UPDATE delivery SET attempts = attempts + 1, last_error = $2, state = 'dead' WHERE id = ANY($1)")
            .bind(ids)
            .bind(error)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn list(
        &self,
        destination: &str,
        state: DeliveryState,
        limit: i64,
    ) -> Result<Vec<Delivery>, DeliveryError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM delivery WHERE destination = $1 AND state = $2 ORDER BY id LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(destination)
            .bind(state.as_str())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(delivery).collect()
    }

    async fn redrive(&self, destination: &str, now: DateTime<Utc>) -> Result<u64, DeliveryError> {
        let result = sqlx::query(
            "UPDATE delivery SET state = 'pending', attempts = 0, next_attempt_at = $2 \
             WHERE destination = $1 AND state = 'dead'",
        )
        .bind(destination)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    async fn stats(&self) -> Result<Vec<DestinationStats>, DeliveryError> {
        let rows = sqlx::query(
            // One branch per state, each read through its partial index: the delivered
            // messages kept for retention are never scanned.
            "SELECT destination, SUM(pending)::BIGINT AS pending, SUM(dead)::BIGINT AS dead, \
                    MIN(oldest_pending) AS oldest_pending \
             FROM (SELECT destination, COUNT(*) AS pending, 0::BIGINT AS dead, \
                          MIN(created_at) AS oldest_pending \
                   FROM delivery WHERE state = 'pending' GROUP BY destination \
                   UNION ALL \
                   SELECT destination, 0::BIGINT, COUNT(*), NULL::TIMESTAMPTZ \
                   FROM delivery WHERE state = 'dead' GROUP BY destination) per_state \
             GROUP BY destination ORDER BY destination",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DestinationStats {
                    destination: row.try_get("destination")?,
                    pending: row.try_get("pending")?,
                    dead: row.try_get("dead")?,
                    oldest_pending: row.try_get("oldest_pending")?,
                })
            })
            .collect()
    }

    async fn pull(
        &self,
        destination: &str,
        after_offset: i64,
        max_items: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Delivery>, DeliveryError> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "UPDATE delivery SET state = 'delivered', delivered_at = $3 \
             WHERE destination = $1 AND id <= $2 AND state = 'pending'",
        )
        .bind(destination)
        .bind(after_offset)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        if after_offset > 0 {
            sqlx::query(
                "INSERT INTO delivery_pull_point (destination, acknowledged_offset, previous_offset, acknowledged_at) \
                 VALUES ($1, $2, 0, $3) \
                 ON CONFLICT (destination) DO UPDATE SET \
                     previous_offset = delivery_pull_point.acknowledged_offset, \
                     acknowledged_offset = excluded.acknowledged_offset, \
                     acknowledged_at = excluded.acknowledged_at \
                 WHERE delivery_pull_point.acknowledged_offset < excluded.acknowledged_offset",
            )
            .bind(destination)
            .bind(after_offset)
            .bind(now)
            .execute(&mut *transaction)
            .await?;
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM delivery WHERE destination = $1 AND state = 'pending' AND id > $2 \
             ORDER BY id LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(destination)
            .bind(after_offset)
            .bind(max_items)
            .fetch_all(&mut *transaction)
            .await?;
        transaction.commit().await?;
        rows.iter().map(delivery).collect()
    }

    async fn pull_point(&self, destination: &str) -> Result<PullPoint, DeliveryError> {
        let row = sqlx::query(
            "SELECT acknowledged_offset, previous_offset FROM delivery_pull_point WHERE destination = $1",
        )
        .bind(destination)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(row) => PullPoint {
                acknowledged_offset: row.try_get("acknowledged_offset")?,
                previous_offset: row.try_get("previous_offset")?,
            },
            None => PullPoint::default(),
        })
    }

    async fn refetch(
        &self,
        destination: &str,
        after_offset: i64,
        max_items: i64,
    ) -> Result<Vec<Delivery>, DeliveryError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM delivery d JOIN delivery_pull_point p USING (destination) \
             WHERE destination = $1 AND d.state = 'delivered' \
               AND d.id > GREATEST(p.previous_offset, $2) AND d.id <= p.acknowledged_offset \
             ORDER BY d.id LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(destination)
            .bind(after_offset)
            .bind(max_items)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(delivery).collect()
    }

    async fn delete_delivered(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64, DeliveryError> {
        // SKIP LOCKED: processes cleaning at once take disjoint batches rather than waiting
        // for each other; a message is deleted by exactly one of them. `= ANY(ARRAY(...))`
        // finds the batch by primary key (an `IN (subquery)` would scan the table).
        let result = sqlx::query(
            "DELETE FROM delivery WHERE id = ANY(ARRAY( \
                 SELECT id FROM delivery WHERE state = 'delivered' AND delivered_at < $1 \
                 ORDER BY delivered_at LIMIT $2 FOR UPDATE SKIP LOCKED))",
        )
        .bind(cutoff)
        .bind(limit)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    async fn remove_destination(&self, destination: &str) -> Result<u64, DeliveryError> {
        let result = sqlx::query("DELETE FROM delivery WHERE destination = $1")
            .bind(destination)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM delivery_lease WHERE destination = $1")
            .bind(destination)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM delivery_pull_point WHERE destination = $1")
            .bind(destination)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }
}
