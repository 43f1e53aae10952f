//! What the delivery queue writes its own way on PostgreSQL.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, Row as _};
use uuid::Uuid;

use super::store::{COLUMNS, DeliveryBackend, delivery};
use super::{Delivery, DeliveryError, NewDelivery};

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

    const READS_TOGETHER: bool = true;

    /// One statement for all ([`read_together`]).
    async fn pending_runs(
        pool: &PgPool,
        wanted: &[(String, i64)],
    ) -> Result<Vec<Vec<Delivery>>, DeliveryError> {
        read_together(pool, wanted).await
    }

    /// One statement whatever their number. Each distinct payload is bound once: the fan-out's
    /// subscribers share theirs (clones of one [`super::Payload`]), and the statement copies it
    /// to each of their rows. Bound per row, a round's message to PostgreSQL grew with its
    /// subscribers (50 copies of a 340 kB catch-up payload: 17 MB), and so did the pooled
    /// connection's write buffer, which keeps the largest size it has had.
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
        let mut payloads = Vec::new();
        let mut payload_of = Vec::with_capacity(deliveries.len());
        let mut bound = HashMap::new();
        let mut counts = Vec::with_capacity(deliveries.len());
        let mut correlation_ids = Vec::with_capacity(deliveries.len());
        let mut traceparents = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            destinations.push(delivery.destination.as_str());
            ids.push(Uuid::new_v4());
            let position = *bound.entry(delivery.payload.identity()).or_insert_with(|| {
                payloads.push(delivery.payload.as_str());
                i64::try_from(payloads.len()).unwrap_or(i64::MAX)
            });
            payload_of.push(position);
            counts.push(delivery.item_count);
            correlation_ids.push(delivery.correlation_id.as_deref());
            traceparents.push(delivery.traceparent.as_deref());
        }
        // The payloads are checked as JSON once each (MATERIALIZED), not once per row. WITH
        // ORDINALITY and the ORDER BY keep the callers' order in the ids the sequence hands out.
        sqlx::query(
            "WITH payload AS MATERIALIZED ( \
                 SELECT position, text::json AS payload \
                 FROM unnest($3::text[]) WITH ORDINALITY AS u(text, position)) \
             INSERT INTO delivery (destination, notification_id, payload, item_count, next_attempt_at, \
                 correlation_id, traceparent, created_at) \
             SELECT x.d, x.n, payload.payload, x.c, $8, x.k, x.t, $8 \
             FROM unnest($1::text[], $2::uuid[], $4::int8[], $5::int4[], $6::text[], $7::text[]) \
                  WITH ORDINALITY AS x(d, n, p, c, k, t, position) \
             JOIN payload ON payload.position = x.p \
             ORDER BY x.position",
        )
        .bind(&destinations)
        .bind(&ids)
        .bind(&payloads)
        .bind(&payload_of)
        .bind(&counts)
        .bind(&correlation_ids)
        .bind(&traceparents)
        .bind(now)
        .execute(connection)
        .await?;
        Ok(())
    }

    /// Timed by the server's clock: every process on the database shares it.
    async fn claim(
        pool: &PgPool,
        destination: &str,
        worker: Uuid,
        lease: std::time::Duration,
    ) -> Result<bool, DeliveryError> {
        let claimed = sqlx::query(
            "INSERT INTO delivery_lease (destination, owner, until) \
             VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3)) \
             ON CONFLICT (destination) DO UPDATE SET owner = excluded.owner, until = excluded.until \
             WHERE delivery_lease.owner = excluded.owner OR delivery_lease.until < clock_timestamp()",
        )
        .bind(destination)
        .bind(worker)
        .bind(lease.as_secs_f64())
        .execute(pool)
        .await?;
        Ok(claimed.rows_affected() == 1)
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

/// Several queues' runs in one statement: each destination's run is found through the
/// pending messages' index (as a single destination's read is), its rows tagged with its place
/// in `wanted`.
async fn read_together(
    pool: &PgPool,
    wanted: &[(String, i64)],
) -> Result<Vec<Vec<Delivery>>, DeliveryError> {
    let destinations: Vec<&str> = wanted.iter().map(|(d, _)| d.as_str()).collect();
    let limits: Vec<i64> = wanted.iter().map(|(_, limit)| *limit).collect();
    let sql = format!(
        "SELECT w.wanted, d.* FROM unnest($1::text[], $2::int8[]) WITH ORDINALITY \
             AS w(wanted_destination, wanted_limit, wanted) \
         CROSS JOIN LATERAL (SELECT {COLUMNS} FROM delivery \
             WHERE delivery.destination = w.wanted_destination AND delivery.state = 'pending' \
             ORDER BY delivery.id LIMIT w.wanted_limit) d \
         ORDER BY w.wanted, d.id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&destinations)
        .bind(&limits)
        .fetch_all(pool)
        .await?;
    let mut runs: Vec<Vec<Delivery>> = wanted.iter().map(|_| Vec::new()).collect();
    for row in &rows {
        let wanted: i64 = row.try_get("wanted")?;
        let run = usize::try_from(wanted - 1)
            .ok()
            .and_then(|position| runs.get_mut(position))
            .ok_or_else(|| DeliveryError::Batched(String::from("a read came back unasked")))?;
        run.push(delivery::<Postgres>(row)?);
    }
    Ok(runs)
}
