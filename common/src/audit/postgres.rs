//! The audit log on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row as _};

use crate::identity::PersonalIdentityNumber;
use crate::permissions::Role;

use super::{
    AuditError, AuditEvent, AuditOutcome, AuditQuery, AuditRecord, AuditStore, AuditSubject,
    clamp_limit, parse_method, parse_patient, parse_role,
};

const COLUMNS: &str = "id, at, caller, gateway, auth_method, role, action, patient, care_unit, \
    resource, correlation_id, outcome";

pub struct PgAuditStore {
    pool: PgPool,
}

impl PgAuditStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// Appends `event` on the caller's connection, inside the caller's transaction.
pub async fn append(
    connection: &mut PgConnection,
    event: &AuditEvent,
    at: DateTime<Utc>,
) -> Result<i64, AuditError> {
    let id = sqlx::query_scalar(
        "INSERT INTO audit_event (at, caller, gateway, auth_method, role, action, patient, \
             care_unit, resource, correlation_id, outcome) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(at)
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
    connection: &mut PgConnection,
    events: &[AuditEvent],
    at: DateTime<Utc>,
) -> Result<(), AuditError> {
    if events.is_empty() {
        return Ok(());
    }
    let column = |value: fn(&AuditEvent) -> Option<String>| -> Vec<Option<String>> {
        events.iter().map(value).collect()
    };
    sqlx::query(
        "INSERT INTO audit_event (at, caller, gateway, auth_method, role, action, patient, \
             care_unit, resource, correlation_id, outcome) \
         SELECT $1, e.caller, e.gateway, e.auth_method, e.role, e.action, e.patient, \
             e.care_unit, e.resource, e.correlation_id, e.outcome \
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
             $8::text[], $9::text[], $10::text[], $11::text[]) WITH ORDINALITY \
             AS e(caller, gateway, auth_method, role, action, patient, care_unit, resource, \
                  correlation_id, outcome, n) \
         ORDER BY e.n",
    )
    .bind(at)
    .bind(column(|e| Some(e.caller.clone())))
    .bind(column(|e| e.gateway.clone()))
    .bind(column(|e| Some(e.auth_method.as_str().to_owned())))
    .bind(column(|e| e.role.map(|r| r.as_str().to_owned())))
    .bind(column(|e| Some(e.action.clone())))
    .bind(column(|e| {
        e.patient.as_ref().map(|p| p.as_str().to_owned())
    }))
    .bind(column(|e| e.care_unit.clone()))
    .bind(column(|e| e.resource.clone()))
    .bind(column(|e| e.correlation_id.clone()))
    .bind(column(|e| Some(e.outcome.as_str().to_owned())))
    .execute(connection)
    .await?;
    Ok(())
}

fn record(row: &PgRow) -> Result<AuditRecord, AuditError> {
    let method: String = row.try_get("auth_method")?;
    let outcome: String = row.try_get("outcome")?;
    Ok(AuditRecord {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
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
impl AuditStore for PgAuditStore {
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
            "SELECT {COLUMNS} FROM audit_event WHERE {column} = $1 \
             AND ($2::timestamptz IS NULL OR at >= $2) AND ($3::timestamptz IS NULL OR at < $3) \
             AND id > $4 ORDER BY id LIMIT $5"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .bind(query.from)
            .bind(query.to)
            .bind(query.after.unwrap_or(0))
            .bind(clamp_limit(query.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record).collect()
    }
}
