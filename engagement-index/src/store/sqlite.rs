//! The SQLite store: the embedded default. Every request is a fixed number of set-based
//! statements over a JSON array (`json_each`), whatever its size. Times are stored as
//! fixed-width RFC 3339 UTC text, so text order is time order.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::audit::AuditBackend;
use common::db::ResponseTimeout;
use serde_json::{Value, json};
use sqlx::{SqliteConnection, SqlitePool};

use super::StoreError;
use super::group_commit::{ApplyInTurn, GroupCommit, Request};
use super::outbox::{AppliedChanges, OutboxContext, applied, audit_rows, outbox_rows};
use super::reads::{COLUMNS, engagement};
use crate::domain::{
    ChangePlan, ChangeRules, Engagement, EngagementKey, StoredEngagements, plan_in_turn,
};

pub struct SqliteStore {
    pool: SqlitePool,
    group: GroupCommit<SqliteWriter>,
}

impl SqliteStore {
    /// Must be called inside the Tokio runtime: it starts the group committers.
    pub fn new(pool: SqlitePool) -> Self {
        Self::with_response_timeout(pool, ResponseTimeout::DEFAULT)
    }

    /// [`Self::new`] with the bound on the committers' statements.
    pub fn with_response_timeout(pool: SqlitePool, limit: ResponseTimeout) -> Self {
        let writer = Arc::new(SqliteWriter { pool: pool.clone() });
        Self {
            pool,
            group: GroupCommit::start(writer, limit),
        }
    }

    /// FindContent: one statement per search (an embedded database has no round trip to
    /// save), then its audit row through the audit log's group commit.
    async fn find(
        &self,
        query: &crate::domain::ContentQuery,
        read: common::audit::AuditEvent,
        audit: &common::audit::AuditLog,
    ) -> Result<Vec<crate::domain::Engagement>, StoreError> {
        let found = super::reads::find_content(&self.pool, query).await?;
        audit
            .record(read)
            .await
            .map_err(|unrecorded| unrecorded.0)?;
        Ok(found)
    }
}

/// What commits changes. SQLite has one writer at a time; grouping saves a commit (and its
/// lock hand-over) per request.
struct SqliteWriter {
    pool: SqlitePool,
}

#[async_trait]
impl ApplyInTurn for SqliteWriter {
    async fn apply_in_turn(
        &self,
        requests: &[Request<'_>],
    ) -> Result<Vec<AppliedChanges>, StoreError> {
        let keys: Vec<EngagementKey> = requests
            .iter()
            .flat_map(|(rules, _)| rules.keys_to_read())
            .collect();
        // IMMEDIATE takes the write lock now: what is read cannot change before the write,
        // and two writers never deadlock upgrading their locks.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let stored = read(&mut tx, &keys).await?;
        let now = Utc::now();
        let rules: Vec<&dyn ChangeRules> = requests.iter().map(|(rules, _)| *rules).collect();
        let combined = plan_in_turn(&rules, &stored, now);
        write(&mut tx, &combined.rows, now).await?;
        let contexts: Vec<&OutboxContext> = requests.iter().map(|(_, context)| *context).collect();
        for row in outbox_rows(&combined.notifications, &contexts) {
            sqlx::query(
                "INSERT INTO notification_outbox (transactions, correlation_id, traceparent, created_at) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .bind(row.transactions)
            .bind(row.correlation_id)
            .bind(row.traceparent)
            .bind(text(now))
            .execute(&mut *tx)
            .await?;
        }
        <sqlx::Sqlite as AuditBackend>::insert_rows(&mut tx, &audit_rows(&contexts, now)).await?;
        tx.commit().await?;
        Ok(applied(&combined))
    }
}

/// The nine key columns of `e` equal to the first nine elements of the JSON array `k.value`.
const KEY_MATCH: &str = "e.registered_resident_identification = k.value ->> 0 \
    AND e.service_domain = k.value ->> 1 AND e.categorization = k.value ->> 2 \
    AND e.logical_address = k.value ->> 3 AND e.business_object_instance_identifier = k.value ->> 4 \
    AND e.clinical_process_interest_id = k.value ->> 5 AND e.source_system = k.value ->> 6 \
    AND e.data_controller = k.value ->> 7 AND e.owner = k.value ->> 8";

/// The stored form of a time: the project's one SQLite encoding.
pub(super) fn text(time: DateTime<Utc>) -> String {
    common::db::sqlite_time(time)
}

fn key_values(key: &EngagementKey) -> [Value; 9] {
    [
        json!(key.registered_resident_identification.as_str()),
        json!(key.service_domain),
        json!(key.categorization),
        json!(key.logical_address),
        json!(key.business_object_instance_identifier),
        json!(key.clinical_process_interest_id),
        json!(key.source_system),
        json!(key.data_controller),
        json!(key.owner),
    ]
}

/// `[[key...], ...]`, bound as one parameter.
fn keys_json<'a>(keys: impl Iterator<Item = &'a EngagementKey>) -> String {
    Value::Array(keys.map(|k| Value::Array(key_values(k).to_vec())).collect()).to_string()
}

/// `[[key..., mostRecentContent, creationTime, updateTime], ...]`, bound as one parameter.
fn rows_json(rows: &[Engagement]) -> String {
    Value::Array(
        rows.iter()
            .map(|e| {
                let mut values = key_values(&e.key).to_vec();
                values.push(json!(e.most_recent_content.map(text)));
                values.push(json!(text(e.creation_time)));
                values.push(json!(e.update_time.map(text)));
                Value::Array(values)
            })
            .collect(),
    )
    .to_string()
}

pub(super) async fn read(
    connection: &mut SqliteConnection,
    keys: &[EngagementKey],
) -> Result<StoredEngagements, StoreError> {
    let sql = format!(
        "SELECT {columns} FROM json_each(?1) AS k JOIN engagement e ON {KEY_MATCH}",
        columns = COLUMNS
            .split(',')
            .map(|c| format!("e.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(keys_json(keys.iter()))
        .fetch_all(&mut *connection)
        .await?;
    let mut stored = StoredEngagements::with_capacity(rows.len());
    for row in &rows {
        let engagement = engagement::<sqlx::Sqlite>(row)?;
        stored.insert(engagement.key.clone(), engagement);
    }
    Ok(stored)
}

pub(super) async fn write(
    connection: &mut SqliteConnection,
    plan: &ChangePlan,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if !plan.deletions.is_empty() {
        let sql = format!(
            "DELETE FROM engagement WHERE id IN \
             (SELECT e.id FROM json_each(?1) AS k JOIN engagement e ON {KEY_MATCH})"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(keys_json(plan.deletions.iter()))
            .execute(&mut *connection)
            .await?;
    }
    if !plan.modifications.is_empty() {
        let sql = format!(
            "UPDATE engagement AS e SET most_recent_content = k.value ->> 9, \
             creation_time = k.value ->> 10, update_time = k.value ->> 11, changed_at = ?2 \
             FROM json_each(?1) AS k WHERE {KEY_MATCH}"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(rows_json(&plan.modifications))
            .bind(text(now))
            .execute(&mut *connection)
            .await?;
    }
    if !plan.insertions.is_empty() {
        // `WHERE true` keeps SQLite from reading ON CONFLICT as a join constraint. The
        // transaction holds the write lock since it began, so no insert can conflict.
        let sql = format!(
            "INSERT INTO engagement ({COLUMNS}, changed_at) \
             SELECT k.value ->> 0, k.value ->> 1, k.value ->> 2, k.value ->> 3, k.value ->> 4, \
                    k.value ->> 5, k.value ->> 6, k.value ->> 7, k.value ->> 8, k.value ->> 9, \
                    k.value ->> 10, k.value ->> 11, ?2 \
             FROM json_each(?1) AS k WHERE true"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(rows_json(&plan.insertions))
            .bind(text(now))
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

engagement_store!(SqliteStore, sqlx::Sqlite);
