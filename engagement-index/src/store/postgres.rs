//! The PostgreSQL store: for production. Every commit is a fixed number of set-based
//! statements over `unnest`-ed arrays, whatever its size; small requests arriving together
//! share one commit (group commit).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::audit::AuditEvent;
use common::db::ResponseTimeout;
use sqlx::{PgConnection, PgPool, Row};

use super::StoreError;
use super::find_batch::FindBatch;
use super::group_commit::{ApplyInTurn, GroupCommit, Request};
use super::outbox::{
    AppliedChanges, MAX_ATTEMPTS, OutboxContext, OutboxRow, applied, audit_rows, outbox_rows,
};
use super::reads::{COLUMNS, KEY_ORDER, engagement};
use crate::domain::{
    ChangePlan, ChangeRules, CombinedPlan, ContentQuery, Engagement, EngagementKey,
    StoredEngagements, plan_in_turn,
};

pub struct PgStore {
    pool: PgPool,
    group: GroupCommit<PgWriter>,
    finds: FindBatch,
}

impl PgStore {
    /// Must be called inside the Tokio runtime: it starts the group committers and the
    /// FindContent readers.
    pub fn new(pool: PgPool) -> Self {
        Self::with_response_timeout(pool, ResponseTimeout::DEFAULT)
    }

    /// [`Self::new`] with the bound on the committers' and readers' statements.
    pub fn with_response_timeout(pool: PgPool, limit: ResponseTimeout) -> Self {
        let writer = Arc::new(PgWriter {
            pool: pool.clone(),
            new_posts: NewPostsGuess::default(),
        });
        Self {
            finds: FindBatch::start(pool.clone(), limit),
            pool,
            group: GroupCommit::start(writer, limit),
        }
    }

    /// FindContent: concurrent searches and their audit rows share a statement
    /// (find_batch.rs); the audit log is not needed.
    async fn find(
        &self,
        query: &ContentQuery,
        read: AuditEvent,
        _audit: &common::audit::AuditLog,
    ) -> Result<Vec<Engagement>, StoreError> {
        self.finds.find(query, read).await
    }
}

/// What commits changes.
struct PgWriter {
    pool: PgPool,
    new_posts: NewPostsGuess,
}

/// The nine key columns of `e` equal to those of the unnest-ed `k`.
const KEY_MATCH: &str = "e.registered_resident_identification = k.r AND e.service_domain = k.d \
    AND e.categorization = k.c AND e.logical_address = k.l \
    AND e.business_object_instance_identifier = k.b AND e.clinical_process_interest_id = k.p \
    AND e.source_system = k.s AND e.data_controller = k.dc AND e.owner = k.o";

/// Nine key arrays from `$first` on, unnest-ed as `k`.
fn keys_from(first: usize) -> String {
    let arrays: Vec<String> = (first..first + 9)
        .map(|n| format!("${n}::text[]"))
        .collect();
    format!(
        "unnest({}) AS k(r, d, c, l, b, p, s, dc, o)",
        arrays.join(", ")
    )
}

/// Nine key arrays and three time arrays from `$first` on, unnest-ed as `k`.
fn rows_from(first: usize) -> String {
    let mut arrays: Vec<String> = (first..first + 9)
        .map(|n| format!("${n}::text[]"))
        .collect();
    arrays.extend((first + 9..first + 12).map(|n| format!("${n}::timestamptz[]")));
    format!(
        "unnest({}) AS k(r, d, c, l, b, p, s, dc, o, m, ct, ut)",
        arrays.join(", ")
    )
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Keys as nine parallel arrays, bound as `$1`..`$9`.
#[derive(Default)]
struct KeyColumns {
    columns: [Vec<String>; 9],
}

impl KeyColumns {
    fn of<'a>(keys: impl Iterator<Item = &'a EngagementKey>) -> Self {
        let mut this = Self::default();
        for key in keys {
            let values = [
                key.registered_resident_identification.as_str(),
                &key.service_domain,
                &key.categorization,
                &key.logical_address,
                &key.business_object_instance_identifier,
                &key.clinical_process_interest_id,
                &key.source_system,
                &key.data_controller,
                &key.owner,
            ];
            for (column, value) in this.columns.iter_mut().zip(values) {
                column.push(value.to_owned());
            }
        }
        this
    }

    fn bind(self, mut query: PgQuery<'_>) -> PgQuery<'_> {
        for column in self.columns {
            query = query.bind(column);
        }
        query
    }
}

/// Engagements as twelve parallel arrays, bound as `$1`..`$12`.
fn bind_rows<'q>(query: PgQuery<'q>, rows: &[Engagement]) -> PgQuery<'q> {
    let query = KeyColumns::of(rows.iter().map(|e| &e.key)).bind(query);
    let most_recent: Vec<Option<DateTime<Utc>>> =
        rows.iter().map(|e| e.most_recent_content).collect();
    let created: Vec<DateTime<Utc>> = rows.iter().map(|e| e.creation_time).collect();
    let updated: Vec<Option<DateTime<Utc>>> = rows.iter().map(|e| e.update_time).collect();
    query.bind(most_recent).bind(created).bind(updated)
}

/// Whether the database gave up on this transaction because of another one (deadlock or
/// serialization failure): planning again from a fresh read resolves it.
pub(super) fn is_contention(error: &sqlx::Error) -> bool {
    has_sqlstate(error, &["40P01", "40001"])
}

/// Whether `error` is the database's, with one of these SQLSTATEs.
fn has_sqlstate(error: &sqlx::Error, codes: &[&str]) -> bool {
    error
        .as_database_error()
        .and_then(sqlx::error::DatabaseError::code)
        .is_some_and(|code| codes.contains(&code.as_ref()))
}

enum Attempt {
    Applied(Vec<AppliedChanges>),
    /// A concurrent request inserted a post this plan meant to insert.
    Raced,
}

impl PgWriter {
    /// One try at committing `requests`. With `insert_first`, a group whose plan from nothing
    /// stored is only new posts skips the read: its insertion is the check (see
    /// [`NewPostsGuess`]), and the group is written by one statement, its own transaction
    /// (one round trip), which undoes itself when a key is taken (`Raced`). Otherwise the
    /// group's posts are read and locked first, in a transaction.
    async fn attempt(
        &self,
        requests: &[Request<'_>],
        insert_first: bool,
    ) -> Result<Attempt, sqlx::Error> {
        let keys: Vec<EngagementKey> = requests
            .iter()
            .flat_map(|(rules, _)| rules.keys_to_read())
            .collect();
        let now = Utc::now();
        let rules: Vec<&dyn ChangeRules> = requests.iter().map(|(rules, _)| *rules).collect();
        let contexts: Vec<&OutboxContext> = requests.iter().map(|(_, context)| *context).collect();
        let audit = audit_rows(&contexts, now);
        if insert_first {
            let combined = plan_in_turn(&rules, &StoredEngagements::new(), now);
            if only_new_posts(&combined, &keys) {
                return self.insert_unread(combined, &contexts, &audit, now).await;
            }
        }
        let mut tx = self.pool.begin().await?;
        let stored = read_for_update(&mut tx, &keys).await?;
        let mut combined = plan_in_turn(&rules, &stored, now);
        self.new_posts
            .learn(stored.is_empty() && only_new_posts(&combined, &keys));
        let outbox = in_key_order(&mut combined, &contexts);
        // The read locks only posts that exist: a concurrent group may still insert a new key.
        let inserted = write(&mut tx, &combined.rows, &outbox, &audit, Undo::Never, now).await?;
        if inserted < combined.rows.insertions.len() {
            tx.rollback().await?;
            return Ok(Attempt::Raced);
        }
        tx.commit().await?;
        Ok(Attempt::Applied(applied(&combined)))
    }

    /// Writes a group of new posts, with its outbox and audit rows, in one statement that
    /// undoes itself if any of the posts was stored after all.
    async fn insert_unread(
        &self,
        mut combined: CombinedPlan,
        contexts: &[&OutboxContext],
        audit: &[(&AuditEvent, DateTime<Utc>)],
        now: DateTime<Utc>,
    ) -> Result<Attempt, sqlx::Error> {
        let outbox = in_key_order(&mut combined, contexts);
        let mut connection = self.pool.acquire().await?;
        match write(
            &mut connection,
            &combined.rows,
            &outbox,
            audit,
            Undo::UnlessAllInserted,
            now,
        )
        .await
        {
            Ok(_) => {
                self.new_posts.learn(true);
                Ok(Attempt::Applied(applied(&combined)))
            }
            Err(error) if is_already_stored(&error) => {
                self.new_posts.learn(false);
                Ok(Attempt::Raced)
            }
            Err(error) => Err(error),
        }
    }
}

/// Puts `combined`'s insertions in key order, as the read locks (two groups inserting the
/// same new keys then wait for each other instead of deadlocking), and makes its outbox rows.
fn in_key_order<'a>(
    combined: &mut CombinedPlan,
    contexts: &[&'a OutboxContext],
) -> Vec<OutboxRow<'a>> {
    combined.rows.insertions.sort_by(|a, b| a.key.cmp(&b.key));
    outbox_rows(&combined.notifications, contexts)
}

/// Whether `combined` only inserts, notifies no delete, and inserts every key it depends
/// on. Then, if every insertion succeeds, none of those keys was stored, so the plan made
/// from nothing stored is the plan a read would have led to.
fn only_new_posts(combined: &CombinedPlan, keys: &[EngagementKey]) -> bool {
    let rows = &combined.rows;
    if !rows.deletions.is_empty()
        || !rows.modifications.is_empty()
        || combined.notifications.iter().flatten().any(|n| n.delete)
    {
        return false;
    }
    let inserted: HashSet<&EngagementKey> = rows.insertions.iter().map(|e| &e.key).collect();
    keys.iter().all(|key| inserted.contains(key))
}

/// How likely the next group is to hold only new posts, judged from the groups before it.
/// Most Updates record new engagements, and for those the read before the write costs a
/// lookup per key that the insertion's conflict check repeats. A wrong guess costs an undone
/// insertion, so the read is skipped only while recent groups were new posts.
#[derive(Default)]
struct NewPostsGuess(AtomicI32);

impl NewPostsGuess {
    const BOUND: i32 = 16;

    fn likely(&self) -> bool {
        self.0.load(Ordering::Relaxed) > 0
    }

    fn learn(&self, new_posts: bool) {
        let step = if new_posts { 1 } else { -4 };
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |score| {
                Some((score + step).clamp(-Self::BOUND, Self::BOUND))
            });
    }
}

#[async_trait]
impl ApplyInTurn for PgWriter {
    async fn apply_in_turn(
        &self,
        requests: &[Request<'_>],
    ) -> Result<Vec<AppliedChanges>, StoreError> {
        let mut insert_first = self.new_posts.likely();
        for _ in 0..MAX_ATTEMPTS {
            match self.attempt(requests, insert_first).await {
                Ok(Attempt::Applied(applied)) => return Ok(applied),
                Ok(Attempt::Raced) => {}
                Err(error) if is_contention(&error) => {}
                Err(error) => return Err(unwrap_decode(error)),
            }
            insert_first = false;
            tracing::debug!("a concurrent request changed the same engagements; planning again");
        }
        Err(StoreError::Contention(MAX_ATTEMPTS))
    }
}

/// The stored posts with these keys, locked in key order so that concurrent requests lock
/// in the same order and cannot deadlock each other.
pub(super) async fn read_for_update(
    connection: &mut PgConnection,
    keys: &[EngagementKey],
) -> Result<StoredEngagements, sqlx::Error> {
    let sql = format!(
        "SELECT {columns} FROM {keys} JOIN engagement e ON {KEY_MATCH} \
         ORDER BY {order} FOR UPDATE OF e",
        columns = prefixed_columns("e"),
        keys = keys_from(1),
        order = KEY_ORDER
            .split(',')
            .map(|c| format!("e.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let rows = KeyColumns::of(keys.iter())
        .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .fetch_all(&mut *connection)
        .await?;
    let mut stored = StoredEngagements::with_capacity(rows.len());
    for row in &rows {
        let engagement = engagement::<sqlx::Postgres>(row)
            .map_err(|e| sqlx::Error::Decode(Box::new(DecodeError(e))))?;
        stored.insert(engagement.key.clone(), engagement);
    }
    Ok(stored)
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct DecodeError(StoreError);

/// Whether [`write`] fails its statement when an insertion finds its key taken.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Undo {
    /// The caller counts the insertions and decides (inside its transaction).
    Never,
    /// The statement is its own transaction: it fails, undoing everything it wrote, with
    /// [`ALREADY_STORED`] (`engagement_already_stored()`, migration 0075).
    UnlessAllInserted,
}

/// The SQLSTATE of a statement undone by [`Undo::UnlessAllInserted`].
const ALREADY_STORED: &str = "EI409";

fn is_already_stored(error: &sqlx::Error) -> bool {
    has_sqlstate(error, &[ALREADY_STORED])
}

/// Applies the net row changes, writes the outbox rows and appends the audit rows in one
/// statement (one round trip, whatever the plan holds); returns how many of its insertions
/// took place. Net changes touch each key once, so running them as data-modifying CTEs of
/// one statement is safe.
pub(super) async fn write(
    connection: &mut PgConnection,
    plan: &ChangePlan,
    outbox: &[OutboxRow<'_>],
    audit: &[(&AuditEvent, DateTime<Utc>)],
    undo: Undo,
    now: DateTime<Utc>,
) -> Result<usize, sqlx::Error> {
    if plan.is_empty() && outbox.is_empty() && audit.is_empty() {
        return Ok(0);
    }
    // $1 now, $2-$4 the outbox rows' arrays, then the arrays of each part in turn.
    let mut parts = Vec::new();
    let mut next = 5;
    if !plan.deletions.is_empty() {
        parts.push(format!(
            "deleted AS (DELETE FROM engagement e USING {} WHERE {KEY_MATCH})",
            keys_from(next)
        ));
        next += 9;
    }
    if !plan.modifications.is_empty() {
        parts.push(format!(
            "modified AS (UPDATE engagement e SET most_recent_content = k.m, \
             creation_time = k.ct, update_time = k.ut, changed_at = $1 FROM {} WHERE {KEY_MATCH})",
            rows_from(next)
        ));
        next += 12;
    }
    let mut count = String::from("0::bigint");
    if !plan.insertions.is_empty() {
        parts.push(format!(
            "inserted AS (INSERT INTO engagement ({COLUMNS}, changed_at) \
             SELECT k.r, k.d, k.c, k.l, k.b, k.p, k.s, k.dc, k.o, k.m, k.ct, k.ut, $1 FROM {} \
             ON CONFLICT ON CONSTRAINT engagement_business_key DO NOTHING RETURNING 1)",
            rows_from(next)
        ));
        count = String::from("(SELECT count(*) FROM inserted)");
        if undo == Undo::UnlessAllInserted {
            // The first insertion array holds one element per post to insert.
            count = format!(
                "CASE WHEN {count} < cardinality(${next}::text[]) \
                 THEN engagement_already_stored() ELSE {count} END"
            );
        }
        next += 12;
    }
    if !outbox.is_empty() {
        // In request order, so ids follow the order the requests were planned in.
        parts.push(String::from(
            "recorded AS (INSERT INTO notification_outbox \
             (transactions, correlation_id, traceparent, created_at) \
             SELECT o.t, o.c, o.tp, $1 \
             FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS o(t, c, tp, n) \
             ORDER BY o.n)",
        ));
    }
    if !audit.is_empty() {
        parts.push(format!(
            "audited AS ({})",
            common::audit::postgres_insert(next)
        ));
    }
    // Unused parameters still need a type: cast them in a harmless select list.
    let sql = format!(
        "WITH {} SELECT {count}, $1::timestamptz IS NULL, $2::text[] IS NULL, \
         $3::text[] IS NULL, $4::text[] IS NULL",
        parts.join(", ")
    );
    let transactions: Vec<&str> = outbox.iter().map(|row| row.transactions.as_str()).collect();
    let correlation_ids: Vec<Option<&str>> = outbox.iter().map(|row| row.correlation_id).collect();
    let traceparents: Vec<Option<&str>> = outbox.iter().map(|row| row.traceparent).collect();
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(transactions)
        .bind(correlation_ids)
        .bind(traceparents);
    if !plan.deletions.is_empty() {
        query = KeyColumns::of(plan.deletions.iter()).bind(query);
    }
    if !plan.modifications.is_empty() {
        query = bind_rows(query, &plan.modifications);
    }
    if !plan.insertions.is_empty() {
        query = bind_rows(query, &plan.insertions);
    }
    if !audit.is_empty() {
        query = common::audit::bind_postgres_rows(query, audit);
    }
    let inserted: i64 = query.fetch_one(&mut *connection).await?.try_get(0)?;
    Ok(usize::try_from(inserted).unwrap_or(0))
}

fn prefixed_columns(alias: &str) -> String {
    COLUMNS
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unwrap_decode(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::Decode(inner) => match inner.downcast::<DecodeError>() {
            Ok(decode) => decode.0,
            Err(other) => StoreError::Database(sqlx::Error::Decode(other)),
        },
        other => StoreError::Database(other),
    }
}

engagement_store!(PgStore, sqlx::Postgres);
