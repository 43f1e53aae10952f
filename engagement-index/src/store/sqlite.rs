//! The SQLite store: the embedded default. Every request is a fixed number of set-based
//! statements over a JSON array (`json_each`), whatever its size. Times are stored as
//! fixed-width RFC 3339 UTC text, so text order is time order.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::identity::PersonalIdentityNumber;
use serde_json::{Value, json};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::group_commit::{ApplyInTurn, GroupCommit, Request};
use super::outbox::{AppliedChanges, OutboxContext, outbox_rows};
use super::{EngagementStore, StoreError};
use crate::domain::{
    ChangePlan, ChangeRules, ContentQuery, Engagement, EngagementKey, StoredEngagements,
    UpdatesPage, UpdatesQuery, plan_in_turn,
};

pub struct SqliteStore {
    pool: SqlitePool,
    group: GroupCommit<SqliteWriter>,
}

impl SqliteStore {
    /// Must be called inside the Tokio runtime: it starts the group committers.
    pub fn new(pool: SqlitePool) -> Self {
        let writer = Arc::new(SqliteWriter { pool: pool.clone() });
        Self {
            pool,
            group: GroupCommit::start(writer),
        }
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
        let audit: Vec<common::audit::AuditEvent> = contexts
            .iter()
            .flat_map(|context| context.audit.iter().cloned())
            .collect();
        common::audit::append_all_sqlite(&mut tx, &audit, now).await?;
        tx.commit().await?;
        Ok(combined
            .changed_rows
            .iter()
            .zip(&combined.notifications)
            .map(|(changed_rows, notifications)| AppliedChanges {
                changed_rows: *changed_rows,
                notified: notifications.len(),
            })
            .collect())
    }
}

pub(super) const COLUMNS: &str = "registered_resident_identification, service_domain, categorization, \
    logical_address, business_object_instance_identifier, clinical_process_interest_id, \
    source_system, data_controller, owner, most_recent_content, creation_time, update_time";

/// The nine key columns of `e` equal to the first nine elements of the JSON array `k.value`.
const KEY_MATCH: &str = "e.registered_resident_identification = k.value ->> 0 \
    AND e.service_domain = k.value ->> 1 AND e.categorization = k.value ->> 2 \
    AND e.logical_address = k.value ->> 3 AND e.business_object_instance_identifier = k.value ->> 4 \
    AND e.clinical_process_interest_id = k.value ->> 5 AND e.source_system = k.value ->> 6 \
    AND e.data_controller = k.value ->> 7 AND e.owner = k.value ->> 8";

pub(super) const KEY_ORDER: &str = "registered_resident_identification, service_domain, categorization, \
    logical_address, business_object_instance_identifier, clinical_process_interest_id, \
    source_system, data_controller, owner";

/// The stored form of a time: the project's one SQLite encoding.
pub(super) fn text(time: DateTime<Utc>) -> String {
    common::db::sqlite_time(time)
}

fn time(value: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    value
        .map(|v| {
            common::db::parse_sqlite_time(&v).map_err(|e| StoreError::Unreadable(e.to_string()))
        })
        .transpose()
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

pub(super) fn engagement(row: &SqliteRow) -> Result<Engagement, StoreError> {
    let resident: String = row.try_get(0)?;
    let registered_resident_identification = PersonalIdentityNumber::parse(&resident)
        .map_err(|e| StoreError::Unreadable(e.to_string()))?;
    Ok(Engagement {
        key: EngagementKey {
            registered_resident_identification,
            service_domain: row.try_get(1)?,
            categorization: row.try_get(2)?,
            logical_address: row.try_get(3)?,
            business_object_instance_identifier: row.try_get(4)?,
            clinical_process_interest_id: row.try_get(5)?,
            source_system: row.try_get(6)?,
            data_controller: row.try_get(7)?,
            owner: row.try_get(8)?,
        },
        most_recent_content: time(row.try_get(9)?)?,
        creation_time: time(Some(row.try_get(10)?))?
            .ok_or_else(|| StoreError::Unreadable(String::from("no creation time")))?,
        update_time: time(row.try_get(11)?)?,
    })
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
        let engagement = engagement(row)?;
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

#[async_trait]
impl EngagementStore for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn apply(
        &self,
        rules: &dyn ChangeRules,
        context: &OutboxContext,
    ) -> Result<AppliedChanges, StoreError> {
        self.group.apply(rules, context).await
    }

    async fn find_content(&self, query: &ContentQuery) -> Result<Vec<Engagement>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM engagement \
             WHERE registered_resident_identification = ?1 AND service_domain = ?2 \
               AND (?3 IS NULL OR categorization = ?3) \
               AND (?4 IS NULL OR logical_address = ?4) \
               AND (?5 IS NULL OR business_object_instance_identifier = ?5) \
               AND (?6 IS NULL OR clinical_process_interest_id = ?6) \
               AND (?7 IS NULL OR most_recent_content >= ?7) \
               AND (?8 IS NULL OR source_system = ?8) \
               AND (?9 IS NULL OR data_controller = ?9) \
               AND (?10 IS NULL OR owner = ?10) \
             ORDER BY creation_time, {KEY_ORDER}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(query.registered_resident_identification.as_str())
            .bind(&query.service_domain)
            .bind(query.categorization.as_deref())
            .bind(query.logical_address.as_deref())
            .bind(query.business_object_instance_identifier.as_deref())
            .bind(query.clinical_process_interest_id.as_deref())
            .bind(query.most_recent_content.map(text))
            .bind(query.source_system.as_deref())
            .bind(query.data_controller.as_deref())
            .bind(query.owner.as_deref())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(engagement).collect()
    }

    async fn get_updates(
        &self,
        query: &UpdatesQuery,
        max_residents: usize,
    ) -> Result<UpdatesPage, StoreError> {
        // One read transaction, so both statements see the same snapshot (WAL).
        let mut tx = self.pool.begin().await?;
        let limit = i64::try_from(max_residents + 1).unwrap_or(i64::MAX);
        let residents: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT registered_resident_identification FROM engagement \
             WHERE service_domain = ?1 AND changed_at >= ?2 \
               AND (?3 IS NULL OR registered_resident_identification > ?3) \
             ORDER BY 1 LIMIT ?4",
        )
        .bind(&query.service_domain)
        .bind(text(query.changed_since))
        .bind(
            query
                .after_resident
                .as_ref()
                .map(PersonalIdentityNumber::as_str),
        )
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let complete = residents.len() <= max_residents;
        let page = &residents[..residents.len().min(max_residents)];
        let (Some(first), Some(last)) = (page.first(), page.last()) else {
            tx.commit().await?;
            return Ok(UpdatesPage::group(Vec::new(), true));
        };
        // The page's residents are exactly the matching ones from the first to the last.
        let sql = format!(
            "SELECT {COLUMNS} FROM engagement \
             WHERE service_domain = ?1 AND changed_at >= ?2 \
               AND registered_resident_identification BETWEEN ?3 AND ?4 \
             ORDER BY registered_resident_identification, creation_time, {KEY_ORDER}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&query.service_domain)
            .bind(text(query.changed_since))
            .bind(first)
            .bind(last)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let engagements = rows.iter().map(engagement).collect::<Result<_, _>>()?;
        Ok(UpdatesPage::group(engagements, complete))
    }

    stores_on_the_same_pool!(sqlx::Sqlite);
}
