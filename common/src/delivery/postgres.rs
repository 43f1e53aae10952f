//! What the delivery queue writes its own way on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, Row as _};
use uuid::Uuid;

use super::store::DeliveryBackend;
use super::{DeliveryError, NewDelivery};

#[async_trait]
impl DeliveryBackend for Postgres {
    type IdList = Vec<i64>;

    fn id_list(ids: &[i64]) -> Vec<i64> {
        ids.to_vec()
    }

    const ID_IN_LIST: &'static str = "= ANY($1)";

    const GREATEST: &'static str = "GREATEST";

    // One branch per state, each read through its partial index: the delivered messages kept
    // for retention are never scanned.
    const STATS: &'static str = "SELECT destination, SUM(pending)::BIGINT AS pending, SUM(dead)::BIGINT AS dead, \
            MIN(oldest_pending) AS oldest_pending \
        FROM (SELECT destination, COUNT(*) AS pending, 0::BIGINT AS dead, \
                  MIN(created_at) AS oldest_pending \
              FROM delivery WHERE state = 'pending' GROUP BY destination \
              UNION ALL \
              SELECT destination, 0::BIGINT, COUNT(*), NULL::TIMESTAMPTZ \
              FROM delivery WHERE state = 'dead' GROUP BY destination) per_state \
        GROUP BY destination ORDER BY destination";

    // SKIP LOCKED: processes cleaning at once take disjoint batches rather than waiting for
    // each other; a message is deleted by exactly one of them. `= ANY(ARRAY(...))` finds the
    // batch by primary key (an `IN (subquery)` would scan the table).
    const DELETE_DELIVERED: &'static str = "DELETE FROM delivery WHERE id = ANY(ARRAY( \
            SELECT id FROM delivery WHERE state = 'delivered' AND delivered_at < $1 \
            ORDER BY delivered_at LIMIT $2 FOR UPDATE SKIP LOCKED))";

    /// One statement whatever their number.
    async fn enqueue(
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
            destinations.push(delivery.destination.as_str());
            ids.push(Uuid::new_v4());
            payloads.push(delivery.payload.as_str());
            counts.push(delivery.item_count);
            correlation_ids.push(delivery.correlation_id.as_deref());
            traceparents.push(delivery.traceparent.as_deref());
        }
        // WITH ORDINALITY keeps the callers' order in the ids the sequence hands out.
        sqlx::query(
            "INSERT INTO delivery (destination, notification_id, payload, item_count, next_attempt_at, \
                 correlation_id, traceparent, created_at) \
             SELECT d, n, p::json, c, $7, k, t, $7 \
             FROM unnest($1::text[], $2::uuid[], $3::text[], $4::int4[], $5::text[], $6::text[]) \
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

    async fn due_destinations(
        pool: &PgPool,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, DeliveryError> {
        let rows = sqlx::query(
            "SELECT destination FROM ( \
                 SELECT DISTINCT ON (destination) destination, next_attempt_at FROM delivery \
                 WHERE state = 'pending' ORDER BY destination, id) head \
             WHERE next_attempt_at <= $1",
        )
        .bind(now)
        .fetch_all(pool)
        .await?;
        Ok(rows.iter().map(|r| r.get("destination")).collect())
    }
}
