//! The audit log, one implementation for both backends; only writing many rows in one
//! statement differs (SQLite reads them from a JSON array, PostgreSQL from arrays).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{
    ColumnIndex, Decode, Encode, Executor, IntoArguments, PgConnection, Pool, Postgres, Row,
    Sqlite, SqliteConnection, Type,
};

use crate::db::Backend;
use crate::identity::PersonalIdentityNumber;
use crate::permissions::Role;

use super::{
    AuditError, AuditEvent, AuditOutcome, AuditQuery, AuditRecord, AuditStore, AuditSubject,
    clamp_limit, parse_method, parse_patient, parse_role,
};

const COLUMNS: &str = "id, at, caller, gateway, auth_method, role, action, patient, care_unit, \
    resource, correlation_id, outcome";

/// The audit log on SQLite.
pub type SqliteAuditStore = SqlAuditStore<Sqlite>;
/// The audit log on PostgreSQL.
pub type PgAuditStore = SqlAuditStore<Postgres>;

pub struct SqlAuditStore<DB: Backend> {
    pool: Pool<DB>,
}

impl<DB: Backend> SqlAuditStore<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }
}

/// A backend the audit log runs on: the bounds its queries need, and the one statement each
/// backend writes its own way.
#[async_trait]
pub trait AuditBackend: Backend
where
    for<'c> &'c mut Self::Connection: Executor<'c, Database = Self>,
{
    /// Appends `rows` (each event at its own time) on `connection` in one statement, in
    /// order: one statement is atomic by itself, so a group of requests' rows needs no
    /// transaction around it and costs one round trip and one commit.
    async fn insert_rows(
        connection: &mut Self::Connection,
        rows: &[(&AuditEvent, DateTime<Utc>)],
    ) -> Result<(), AuditError>;

    /// Appends `events`, all at `at`, on `connection` in one statement, in order.
    async fn insert_all(
        connection: &mut Self::Connection,
        events: &[AuditEvent],
        at: DateTime<Utc>,
    ) -> Result<(), AuditError> {
        let rows: Vec<(&AuditEvent, DateTime<Utc>)> =
            events.iter().map(|event| (event, at)).collect();
        Self::insert_rows(connection, &rows).await
    }
}

/// Appends `event` on the caller's connection, inside the caller's transaction.
pub async fn append<DB: AuditBackend>(
    connection: &mut DB::Connection,
    event: &AuditEvent,
    at: DateTime<Utc>,
) -> Result<i64, AuditError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q String: Encode<'q, DB> + Type<DB>,
    for<'q> &'q Option<String>: Encode<'q, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let row = sqlx::query(
        "INSERT INTO audit_event (at, caller, gateway, auth_method, role, action, patient, \
             care_unit, resource, correlation_id, outcome) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(DB::time_value(at))
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
    Ok(row.try_get(0)?)
}

/// Appends `event` inside the caller's SQLite transaction.
pub async fn append_sqlite(
    connection: &mut SqliteConnection,
    event: &AuditEvent,
    at: DateTime<Utc>,
) -> Result<i64, AuditError> {
    append::<Sqlite>(connection, event, at).await
}

/// Appends `event` inside the caller's PostgreSQL transaction.
pub async fn append_postgres(
    connection: &mut PgConnection,
    event: &AuditEvent,
    at: DateTime<Utc>,
) -> Result<i64, AuditError> {
    append::<Postgres>(connection, event, at).await
}

/// Appends `events` in order inside the caller's SQLite transaction.
pub async fn append_all_sqlite(
    connection: &mut SqliteConnection,
    events: &[AuditEvent],
    at: DateTime<Utc>,
) -> Result<(), AuditError> {
    Sqlite::insert_all(connection, events, at).await
}

/// Appends `events` in order inside the caller's PostgreSQL transaction.
pub async fn append_all_postgres(
    connection: &mut PgConnection,
    events: &[AuditEvent],
    at: DateTime<Utc>,
) -> Result<(), AuditError> {
    Postgres::insert_all(connection, events, at).await
}

#[async_trait]
impl AuditBackend for Sqlite {
    async fn insert_rows(
        connection: &mut SqliteConnection,
        rows: &[(&AuditEvent, DateTime<Utc>)],
    ) -> Result<(), AuditError> {
        if rows.is_empty() {
            return Ok(());
        }
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|(event, at)| {
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
                    Self::time_value(*at),
                ])
            })
            .collect();
        sqlx::query(
            "INSERT INTO audit_event (at, caller, gateway, auth_method, role, action, patient, \
                 care_unit, resource, correlation_id, outcome) \
             SELECT e.value ->> 10, e.value ->> 0, e.value ->> 1, e.value ->> 2, e.value ->> 3, \
                 e.value ->> 4, e.value ->> 5, e.value ->> 6, e.value ->> 7, e.value ->> 8, \
                 e.value ->> 9 \
             FROM json_each(?1) AS e ORDER BY e.key",
        )
        .bind(serde_json::Value::Array(rows).to_string())
        .execute(connection)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl AuditBackend for Postgres {
    async fn insert_rows(
        connection: &mut PgConnection,
        rows: &[(&AuditEvent, DateTime<Utc>)],
    ) -> Result<(), AuditError> {
        if rows.is_empty() {
            return Ok(());
        }
        bind_postgres_rows(sqlx::query(sqlx::AssertSqlSafe(postgres_insert(1))), rows)
            .execute(connection)
            .await?;
        Ok(())
    }
}

/// PostgreSQL's INSERT of audit rows, in order, from eleven arrays bound from `$first` on by
/// [`bind_postgres_rows`]. A statement that does other work can carry it as a data-modifying
/// `WITH` part, so the rows commit with that work in one round trip (FindContent's batches).
pub fn postgres_insert(first: usize) -> String {
    let arrays: Vec<String> = (first..first + 11)
        .map(|n| {
            let kind = if n == first { "timestamptz" } else { "text" };
            format!("${n}::{kind}[]")
        })
        .collect();
    format!(
        "INSERT INTO audit_event (at, caller, gateway, auth_method, role, action, patient, \
             care_unit, resource, correlation_id, outcome) \
         SELECT e.at, e.caller, e.gateway, e.auth_method, e.role, e.action, e.patient, \
             e.care_unit, e.resource, e.correlation_id, e.outcome \
         FROM unnest({}) \
             WITH ORDINALITY AS e(at, caller, gateway, auth_method, role, action, patient, \
                  care_unit, resource, correlation_id, outcome, n) \
         ORDER BY e.n",
        arrays.join(", ")
    )
}

/// Binds `rows` as the eleven arrays of [`postgres_insert`], next in `query`.
pub fn bind_postgres_rows<'q>(
    query: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    rows: &[(&'q AuditEvent, DateTime<Utc>)],
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    let column = |value: fn(&'q AuditEvent) -> Option<&'q str>| -> Vec<Option<&'q str>> {
        rows.iter().map(|(event, _)| value(event)).collect()
    };
    let times: Vec<DateTime<Utc>> = rows.iter().map(|(_, at)| *at).collect();
    query
        .bind(times)
        .bind(column(|e| Some(e.caller.as_str())))
        .bind(column(|e| e.gateway.as_deref()))
        .bind(column(|e| Some(e.auth_method.as_str())))
        .bind(column(|e| e.role.map(Role::as_str)))
        .bind(column(|e| Some(e.action.as_str())))
        .bind(column(|e| {
            e.patient.as_ref().map(PersonalIdentityNumber::as_str)
        }))
        .bind(column(|e| e.care_unit.as_deref()))
        .bind(column(|e| e.resource.as_deref()))
        .bind(column(|e| e.correlation_id.as_deref()))
        .bind(column(|e| Some(e.outcome.as_str())))
}

fn record<DB: Backend>(row: &DB::Row) -> Result<AuditRecord, AuditError>
where
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    let method: String = row.try_get("auth_method")?;
    let outcome: String = row.try_get("outcome")?;
    Ok(AuditRecord {
        id: row.try_get("id")?,
        at: DB::read_time(row.try_get("at")?)?,
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
impl<DB: AuditBackend> AuditStore for SqlAuditStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q String: Encode<'q, DB> + Type<DB>,
    for<'q> &'q Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB>,
    for<'q> Option<DB::Time>: Encode<'q, DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
{
    async fn append(&self, event: &AuditEvent, at: DateTime<Utc>) -> Result<i64, AuditError> {
        let mut connection = self.pool.acquire().await?;
        append::<DB>(&mut connection, event, at).await
    }

    async fn append_all(&self, events: &[AuditEvent], at: DateTime<Utc>) -> Result<(), AuditError> {
        let mut connection = self.pool.acquire().await?;
        DB::insert_all(&mut connection, events, at).await
    }

    async fn append_groups(
        &self,
        groups: &[(&[AuditEvent], DateTime<Utc>)],
    ) -> Result<(), AuditError> {
        let rows: Vec<(&AuditEvent, DateTime<Utc>)> = groups
            .iter()
            .flat_map(|(events, at)| events.iter().map(move |event| (event, *at)))
            .collect();
        let mut connection = self.pool.acquire().await?;
        DB::insert_rows(&mut connection, &rows).await
    }

    async fn query(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, AuditError> {
        let (column, value) = match &query.subject {
            AuditSubject::Patient(patient) => ("patient", patient.as_str()),
            AuditSubject::Caller(caller) => ("caller", caller.as_str()),
        };
        let time = DB::TIME_TYPE;
        // Dynamic only in the subject's column, one of two names fixed above.
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_event WHERE {column} = $1 \
             AND (CAST($2 AS {time}) IS NULL OR at >= $2) \
             AND (CAST($3 AS {time}) IS NULL OR at < $3) AND id > $4 ORDER BY id LIMIT $5"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .bind(query.from.map(DB::time_value))
            .bind(query.to.map(DB::time_value))
            .bind(query.after.unwrap_or(0))
            .bind(clamp_limit(query.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record::<DB>).collect()
    }
}
