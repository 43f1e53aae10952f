//! The audit log on SQLite (times as Unix milliseconds).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row as _, SqliteConnection, SqlitePool};

use crate::identity::PersonalIdentityNumber;
use crate::permissions::Role;

use super::{
    AuditError, AuditEvent, AuditOutcome, AuditQuery, AuditRecord, AuditStore, AuditSubject,
    clamp_limit, parse_method, parse_patient, parse_role,
};

const COLUMNS: &str = "id, at, caller, gateway, auth_method, role, action, patient, care_unit, \
    resource, correlation_id, outcome";

pub struct SqliteAuditStore {
    pool: SqlitePool,
}

impl SqliteAuditStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

/// Appends `event` on the caller's connection, inside the caller's transaction.
pub async fn append(
    connection: &mut SqliteConnection,
    event: &AuditEvent,
    at: DateTime<Utc>,
) -> Result<i64, AuditError> {
    let id = sqlx::query_scalar(
        "INSERT INTO audit_event (at, caller, gateway, auth_method, role, action, patient, \
             care_unit, resource, correlation_id, outcome) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
    )
    .bind(at.timestamp_millis())
    .bind(&event.caller)
    .bind(&event.gateway)
    .bind(event.auth_method.as_str())
    .bind(event.role.map(Role::as_str))
    .bind(&event.action)
    .bind(event.patient.as_ref().map(PersonalIdentityNumber::as_str))
    .bind(&event.care_unit)
    .bind(&event.resource)
    .bind(&event.correlation_id)
    .bind(event.outcome.as_str())
    .fetch_one(connection)
    .await?;
    Ok(id)
}

/// Appends `events` on the caller's connection in one statement, in order, inside the
/// caller's transaction.
pub async fn append_all(
    connection: &mut SqliteConnection,
    events: &[AuditEvent],
    at: DateTime<Utc>,
) -> Result<(), AuditError> {
    if events.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = events
        .iter()
        .map(|event| {
            serde_json::json!([
                event.caller,
                event.gateway,
                event.auth_method.as_str(),
                event.role.map(Role::as_str),
                event.action,
                event.patient.as_ref().map(PersonalIdentityNumber::as_str),
                event.care_unit,
                event.resource,
                event.correlation_id,
                event.outcome.as_str(),
            ])
        })
        .collect();
    sqlx::query(
        "INSERT INTO audit_event (at, caller, gateway, auth_method, role, action, patient, \
             care_unit, resource, correlation_id, outcome) \
         SELECT ?1, e.value ->> 0, e.value ->> 1, e.value ->> 2, e.value ->> 3, e.value ->> 4, \
             e.value ->> 5, e.value ->> 6, e.value ->> 7, e.value ->> 8, e.value ->> 9 \
         FROM json_each(?2) AS e ORDER BY e.key",
    )
    .bind(at.timestamp_millis())
    .bind(serde_json::Value::Array(rows).to_string())
    .execute(connection)
    .await?;
    Ok(())
}

fn record(row: &SqliteRow) -> Result<AuditRecord, AuditError> {
    let at: i64 = row.try_get("at")?;
    let method: String = row.try_get("auth_method")?;
    let outcome: String = row.try_get("outcome")?;
    Ok(AuditRecord {
        id: row.try_get("id")?,
        at: DateTime::from_timestamp_millis(at).unwrap_or_default(),
        caller: row.try_get("caller")?,
        gateway: row.try_get("gateway")?,
        auth_method: parse_method(&method)?,
        role: parse_role(row.try_get("role")?)?,
        action: row.try_get("action")?,
        patient: parse_patient(row.try_get("patient")?)?,
        care_unit: row.try_get("care_unit")?,
        resource: row.try_get("resource")?,
        correlation_id: row.try_get("correlation_id")?,
        outcome: AuditOutcome::parse(&outcome),
    })
}

#[async_trait]
impl AuditStore for SqliteAuditStore {
    async fn append(&self, event: &AuditEvent, at: DateTime<Utc>) -> Result<i64, AuditError> {
        let mut connection = self.pool.acquire().await?;
        append(&mut connection, event, at).await
    }

    async fn append_all(&self, events: &[AuditEvent], at: DateTime<Utc>) -> Result<(), AuditError> {
        let mut connection = self.pool.acquire().await?;
        append_all(&mut connection, events, at).await
    }

    async fn query(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, AuditError> {
        let (column, value) = match &query.subject {
            AuditSubject::Patient(patient) => ("patient", patient.as_str()),
            AuditSubject::Caller(caller) => ("caller", caller.as_str()),
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_event WHERE {column} = ?1 \
             AND (?2 IS NULL OR at >= ?2) AND (?3 IS NULL OR at < ?3) AND id > ?4 \
             ORDER BY id LIMIT ?5"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .bind(query.from.map(|t| t.timestamp_millis()))
            .bind(query.to.map(|t| t.timestamp_millis()))
            .bind(query.after.unwrap_or(0))
            .bind(clamp_limit(query.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record).collect()
    }
}
