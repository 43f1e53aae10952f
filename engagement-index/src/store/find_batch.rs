//! FindContent on PostgreSQL, answered in batches: searches that arrive while others are
//! being answered are answered together, by one statement over `unnest`-ed arrays of their
//! filters, each search's rows tagged with its place in the batch. The same statement appends
//! the searches' audit rows, so a batch costs one round trip and one commit (one log flush),
//! and its rows are durable before any search is answered, as the law asks. Before, each
//! search cost a statement of its own and a share of the audit log's commits, which is what
//! bounded FindContent's rate. Nothing waits to gather a batch: a lone search goes at once,
//! and searches arriving meanwhile form the next batch.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use common::db::ResponseTimeout;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row as _};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::StoreError;
use super::reads::{self, COLUMNS, KEY_ORDER};
use crate::domain::{ContentQuery, Engagement};
use common::audit::AuditEvent;

/// A batch stops growing at this many searches.
const MOST_SEARCHES_PER_STATEMENT: usize = 128;
/// Batches being read at once. One: the next batch gathers while this one is answered, and
/// fewer, larger batches were faster than two or four readers (docs/benchmarks.md).
const READERS: usize = 1;

struct Job {
    query: ContentQuery,
    read: AuditEvent,
    reply: oneshot::Sender<Result<Vec<PgRow>, StoreError>>,
}

pub(super) struct FindBatch {
    pool: PgPool,
    queue: mpsc::UnboundedSender<Job>,
}

impl FindBatch {
    /// Starts the readers; they stop when this is dropped. Must be called inside the Tokio
    /// runtime. A batch not answered within `limit` is given up: a silent database must not
    /// hold the reader, and every search behind it, for ever (`common::db::ResponseTimeout`).
    pub(super) fn start(pool: PgPool, limit: ResponseTimeout) -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..READERS {
            tokio::spawn(read_batches(pool.clone(), Arc::clone(&receiver), limit));
        }
        Self { pool, queue }
    }

    /// The rows `query` finds, once `read` (its audit row) is durable.
    pub(super) async fn find(
        &self,
        query: &ContentQuery,
        read: AuditEvent,
    ) -> Result<Vec<Engagement>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            query: query.clone(),
            read,
            reply,
        };
        let rows = match self.queue.send(job) {
            Ok(()) => answer.await.map_err(|_| StoreError::Interrupted)??,
            Err(unsent) => alone(&self.pool, &unsent.0).await?,
        };
        // Read into engagements here, on the caller's task, so the reader is free for the
        // next batch sooner: it is the one thing all searches wait on in turn.
        rows.iter()
            .map(reads::engagement::<sqlx::Postgres>)
            .collect()
    }
}

async fn read_batches(
    pool: PgPool,
    receiver: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>,
    limit: ResponseTimeout,
) {
    loop {
        let mut batch = Vec::with_capacity(MOST_SEARCHES_PER_STATEMENT);
        {
            // The queue is held only while taking a batch, not while it is read.
            let mut receiver = receiver.lock().await;
            if receiver
                .recv_many(&mut batch, MOST_SEARCHES_PER_STATEMENT)
                .await
                == 0
            {
                return;
            }
        }
        answer(&pool, batch, limit).await;
    }
}

async fn answer(pool: &PgPool, batch: Vec<Job>, limit: ResponseTimeout) {
    if batch.len() > 1 {
        let jobs: Vec<&Job> = batch.iter().collect();
        match limit.bound(find_many(pool, &jobs)).await {
            Ok(answers) => {
                for (job, found) in batch.into_iter().zip(answers) {
                    // A caller that went away (its client disconnected) needs no answer.
                    let _ = job.reply.send(Ok(found));
                }
                return;
            }
            // Every search would fail alike, each after its own wait for a connection.
            Err(error) if common::db::is_unavailable(&error) => {
                tracing::warn!(%error, searches = batch.len(), "a batched FindContent failed: the database cannot serve now");
                common::db::Unavailable::answer_all(error, batch.into_iter().map(|job| job.reply));
                return;
            }
            // Each search then gets its own outcome.
            Err(error) => tracing::warn!(
                %error,
                searches = batch.len(),
                "a batched FindContent failed; answering each search on its own"
            ),
        }
    }
    for job in batch {
        let found = limit.bound(alone(pool, &job)).await;
        let _ = job.reply.send(found);
    }
}

async fn alone(pool: &PgPool, job: &Job) -> Result<Vec<PgRow>, StoreError> {
    let mut answers = find_many(pool, &[job]).await?;
    Ok(answers.pop().unwrap_or_default())
}

/// Every search's rows, in the searches' order, each as FindContent's own statement orders
/// them (reads.rs; a filter not given is NULL in its array and matches everything), with the
/// searches' audit rows appended by the same statement: one implicit transaction.
async fn find_many(pool: &PgPool, jobs: &[&Job]) -> Result<Vec<Vec<PgRow>>, StoreError> {
    let queries: Vec<&ContentQuery> = jobs.iter().map(|job| &job.query).collect();
    let now = Utc::now();
    let reads: Vec<(&AuditEvent, DateTime<Utc>)> =
        jobs.iter().map(|job| (&job.read, now)).collect();
    let text = |field: fn(&ContentQuery) -> Option<&str>| -> Vec<Option<&str>> {
        queries.iter().map(|q| field(q)).collect()
    };
    let residents: Vec<&str> = queries
        .iter()
        .map(|q| q.registered_resident_identification.as_str())
        .collect();
    let domains: Vec<&str> = queries.iter().map(|q| q.service_domain.as_str()).collect();
    let most_recent: Vec<Option<DateTime<Utc>>> =
        queries.iter().map(|q| q.most_recent_content).collect();
    let sql = format!(
        "WITH recorded AS ({audit}) \
         SELECT {COLUMNS}, q.i FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], \
             $5::text[], $6::text[], $7::timestamptz[], $8::text[], $9::text[], $10::text[]) \
             WITH ORDINALITY AS q(q_r, q_d, q_c, q_l, q_b, q_p, q_m, q_s, q_dc, q_o, i) \
         CROSS JOIN LATERAL (SELECT {COLUMNS} FROM engagement \
           WHERE registered_resident_identification = q.q_r AND service_domain = q.q_d \
             AND (q.q_c IS NULL OR categorization = q.q_c) \
             AND (q.q_l IS NULL OR logical_address = q.q_l) \
             AND (q.q_b IS NULL OR business_object_instance_identifier = q.q_b) \
             AND (q.q_p IS NULL OR clinical_process_interest_id = q.q_p) \
             AND (q.q_m IS NULL OR most_recent_content >= q.q_m) \
             AND (q.q_s IS NULL OR source_system = q.q_s) \
             AND (q.q_dc IS NULL OR data_controller = q.q_dc) \
             AND (q.q_o IS NULL OR owner = q.q_o)) AS found \
         ORDER BY q.i, creation_time, {KEY_ORDER}",
        audit = common::audit::postgres_insert(11),
    );
    let query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(residents)
        .bind(domains)
        .bind(text(|q| q.categorization.as_deref()))
        .bind(text(|q| q.logical_address.as_deref()))
        .bind(text(|q| q.business_object_instance_identifier.as_deref()))
        .bind(text(|q| q.clinical_process_interest_id.as_deref()))
        .bind(most_recent)
        .bind(text(|q| q.source_system.as_deref()))
        .bind(text(|q| q.data_controller.as_deref()))
        .bind(text(|q| q.owner.as_deref()));
    let rows = common::audit::bind_postgres_rows(query, &reads)
        .fetch_all(pool)
        .await?;
    let mut answers: Vec<Vec<PgRow>> = std::iter::repeat_with(Vec::new)
        .take(queries.len())
        .collect();
    for row in rows {
        let place: i64 = row.try_get(12)?;
        let answer = usize::try_from(place - 1)
            .ok()
            .and_then(|place| answers.get_mut(place))
            .ok_or_else(|| StoreError::Unreadable(format!("a search numbered {place}")))?;
        answer.push(row);
    }
    Ok(answers)
}
