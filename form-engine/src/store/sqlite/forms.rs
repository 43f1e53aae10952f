//! Forms, idempotent answers and the outbox in SQLite.

use chrono::{DateTime, NaiveDate, Utc};
use common::audit::AuditEvent;
use common::delivery::NewDelivery;
use common::identity::{HsaId, PersonalIdentityNumber};
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row as _, Sqlite, SqliteConnection, SqlitePool};
use uuid::Uuid;

use super::{parse_time, time_text};
use crate::domain::form::model::{Form, FormStatus, Origin, Progress};
use crate::store::{Created, Due, FormQuery, IdempotentAnswer, NewForms, StoreError, TemplateKey};

pub(super) const COLUMNS: &str = "form_id, status, subject_of_care, care_unit, care_unit_name, care_giver, \
    med_unit, system_id, template_id, template_version, form_name, clinical_process_interest_id, \
    form_text, expire_date, keep_until, origin, created_at, last_saved_at, completed_at, \
    expired_at, revocation_requested_at, current_page, progress, revision";

/// Rows per INSERT: keeps the bound parameters well under SQLite's limit.
const ROWS_PER_STATEMENT: usize = 500;

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("stored {what} `{value}`"))
}

pub(super) fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn parse_date(text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| corrupt("date", text))
}

fn optional_time(row: &SqliteRow, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    row.try_get::<Option<String>, _>(column)?
        .as_deref()
        .map(parse_time)
        .transpose()
}

fn optional_hsa_id(row: &SqliteRow, column: &str) -> Result<Option<HsaId>, StoreError> {
    row.try_get::<Option<String>, _>(column)?
        .map(|v| HsaId::try_from(v.clone()).map_err(|_| corrupt(column, &v)))
        .transpose()
}

pub(super) fn read(row: &SqliteRow) -> Result<Form, StoreError> {
    let id: String = row.try_get("form_id")?;
    let status: String = row.try_get("status")?;
    let origin: String = row.try_get("origin")?;
    let care_unit: String = row.try_get("care_unit")?;
    let progress: String = row.try_get("progress")?;
    let subject: Option<String> = row.try_get("subject_of_care")?;
    Ok(Form {
        id: Uuid::parse_str(&id).map_err(|_| corrupt("form id", &id))?,
        status: FormStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        subject_of_care: subject
            .map(|s| {
                PersonalIdentityNumber::try_from(s)
                    .map_err(|_| corrupt("subjectOfCare", "(masked)"))
            })
            .transpose()?,
        care_unit: HsaId::try_from(care_unit.clone())
            .map_err(|_| corrupt("care unit", &care_unit))?,
        care_unit_name: row.try_get("care_unit_name")?,
        care_giver: optional_hsa_id(row, "care_giver")?,
        med_unit: optional_hsa_id(row, "med_unit")?,
        system_id: optional_hsa_id(row, "system_id")?,
        template: TemplateKey {
            template_id: row.try_get("template_id")?,
            template_version: u32::try_from(row.try_get::<i64, _>("template_version")?)
                .unwrap_or(0),
        },
        form_name: row.try_get("form_name")?,
        clinical_process_interest_id: row.try_get("clinical_process_interest_id")?,
        form_text: row.try_get("form_text")?,
        expire_date: row
            .try_get::<Option<String>, _>("expire_date")?
            .as_deref()
            .map(parse_date)
            .transpose()?,
        keep_until: row
            .try_get::<Option<String>, _>("keep_until")?
            .as_deref()
            .map(parse_date)
            .transpose()?,
        origin: Origin::parse(&origin).ok_or_else(|| corrupt("origin", &origin))?,
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        last_saved_at: optional_time(row, "last_saved_at")?,
        completed_at: optional_time(row, "completed_at")?,
        expired_at: optional_time(row, "expired_at")?,
        revocation_requested_at: optional_time(row, "revocation_requested_at")?,
        current_page: row
            .try_get::<Option<i64>, _>("current_page")?
            .and_then(|p| u32::try_from(p).ok()),
        progress: serde_json::from_str(&progress)
            .map_err(|e| StoreError::Corrupt(format!("form progress: {e}")))?,
        revision: row.try_get("revision")?,
    })
}

pub(super) fn progress_text(progress: &Progress) -> Result<String, StoreError> {
    serde_json::to_string(progress).map_err(|e| StoreError::Corrupt(format!("form progress: {e}")))
}

pub(super) async fn insert_forms(
    connection: &mut SqliteConnection,
    forms: &[Form],
) -> Result<(), StoreError> {
    for chunk in forms.chunks(ROWS_PER_STATEMENT) {
        let mut rows = Vec::with_capacity(chunk.len());
        for form in chunk {
            rows.push((form, progress_text(&form.progress)?));
        }
        let mut insert: QueryBuilder<Sqlite> =
            QueryBuilder::new(format!("INSERT INTO form ({COLUMNS}) "));
        insert.push_values(&rows, |mut row, (form, progress)| {
            row.push_bind(form.id.to_string())
                .push_bind(form.status.as_str())
                .push_bind(form.subject_of_care.as_ref().map(|s| s.as_str().to_owned()))
                .push_bind(form.care_unit.to_string())
                .push_bind(form.care_unit_name.clone())
                .push_bind(form.care_giver.as_ref().map(ToString::to_string))
                .push_bind(form.med_unit.as_ref().map(ToString::to_string))
                .push_bind(form.system_id.as_ref().map(ToString::to_string))
                .push_bind(form.template.template_id.clone())
                .push_bind(i64::from(form.template.template_version))
                .push_bind(form.form_name.clone())
                .push_bind(form.clinical_process_interest_id.clone())
                .push_bind(form.form_text.clone())
                .push_bind(form.expire_date.map(date_text))
                .push_bind(form.keep_until.map(date_text))
                .push_bind(form.origin.as_str())
                .push_bind(time_text(form.created_at))
                .push_bind(form.last_saved_at.map(time_text))
                .push_bind(form.completed_at.map(time_text))
                .push_bind(form.expired_at.map(time_text))
                .push_bind(form.revocation_requested_at.map(time_text))
                .push_bind(form.current_page.map(i64::from))
                .push_bind(progress.clone())
                .push_bind(form.revision);
        });
        insert.build().execute(&mut *connection).await?;
    }
    Ok(())
}

async fn enqueue(
    connection: &mut SqliteConnection,
    deliveries: &[NewDelivery],
) -> Result<(), StoreError> {
    if !deliveries.is_empty() {
        common::delivery::enqueue_sqlite(connection, deliveries, Utc::now())
            .await
            .map_err(|e| StoreError::Corrupt(format!("outbox: {e}")))?;
    }
    Ok(())
}

pub(super) async fn create(
    pool: &SqlitePool,
    new: &NewForms,
    audit: &[AuditEvent],
) -> Result<Created, StoreError> {
    let mut tx = pool.begin().await?;
    if let Some(answer) = &new.idempotency {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_key (scope, key, request, response, created_at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, key) DO NOTHING",
        )
        .bind(&answer.scope)
        .bind(&answer.key)
        .bind(answer.request.to_string())
        .bind(answer.response.to_string())
        .bind(time_text(Utc::now()))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            tx.rollback().await?;
            let earlier = idempotent_answer(pool, &answer.scope, &answer.key)
                .await?
                .ok_or(StoreError::Conflict)?;
            return Ok(Created::AlreadyAnswered {
                request: earlier.request,
                response: earlier.response,
            });
        }
    }
    insert_forms(&mut tx, &new.forms).await?;
    super::follow_up::insert_reminder_days(&mut tx, &new.reminder_days).await?;
    enqueue(&mut tx, &new.deliveries).await?;
    common::audit::append_all_sqlite(&mut tx, audit, Utc::now()).await?;
    tx.commit().await?;
    Ok(Created::Stored)
}

pub(super) async fn idempotent_answer(
    pool: &SqlitePool,
    scope: &str,
    key: &str,
) -> Result<Option<IdempotentAnswer>, StoreError> {
    let row =
        sqlx::query("SELECT request, response FROM idempotency_key WHERE scope = ? AND key = ?")
            .bind(scope)
            .bind(key)
            .fetch_optional(pool)
            .await?;
    let Some(row) = row else { return Ok(None) };
    let parse = |column: &str| -> Result<Value, StoreError> {
        let text: String = row.try_get(column)?;
        serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("idempotent {column}: {e}")))
    };
    Ok(Some(IdempotentAnswer {
        scope: scope.to_owned(),
        key: key.to_owned(),
        request: parse("request")?,
        response: parse("response")?,
    }))
}

pub(super) async fn one(pool: &SqlitePool, id: Uuid) -> Result<Option<Form>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM form WHERE form_id = ?"
    )))
    .bind(id.to_string())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(read).transpose()
}

pub(super) async fn update(
    pool: &SqlitePool,
    form: &Form,
    deliveries: &[NewDelivery],
    audit: &[AuditEvent],
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    update_in_notifying(&mut tx, form, deliveries, audit).await?;
    tx.commit().await?;
    Ok(())
}

/// [`update`] inside a transaction the caller commits (with more rows of its own).
pub(super) async fn update_in_notifying(
    tx: &mut SqliteConnection,
    form: &Form,
    deliveries: &[NewDelivery],
    audit: &[AuditEvent],
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE form SET status = ?, last_saved_at = ?, completed_at = ?, expired_at = ?, \
         revocation_requested_at = ?, current_page = ?, progress = ?, revision = ? \
         WHERE form_id = ? AND revision = ?",
    )
    .bind(form.status.as_str())
    .bind(form.last_saved_at.map(time_text))
    .bind(form.completed_at.map(time_text))
    .bind(form.expired_at.map(time_text))
    .bind(form.revocation_requested_at.map(time_text))
    .bind(form.current_page.map(i64::from))
    .bind(progress_text(&form.progress)?)
    .bind(form.revision)
    .bind(form.id.to_string())
    .bind(form.revision - 1)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Conflict);
    }
    enqueue(tx, deliveries).await?;
    common::audit::append_all_sqlite(tx, audit, Utc::now()).await?;
    Ok(())
}

pub(super) async fn delete(
    pool: &SqlitePool,
    id: Uuid,
    revision: i64,
    deliveries: &[NewDelivery],
    audit: &[AuditEvent],
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query("DELETE FROM form WHERE form_id = ? AND revision = ?")
        .bind(id.to_string())
        .bind(revision)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Conflict);
    }
    enqueue(&mut tx, deliveries).await?;
    common::audit::append_all_sqlite(&mut tx, audit, Utc::now()).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn find(pool: &SqlitePool, query: &FormQuery) -> Result<Vec<Form>, StoreError> {
    let list = |items: &[String]| (!items.is_empty()).then(|| super::templates::json_list(items));
    let statuses: Vec<String> = query
        .statuses
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    let (after_time, after_id) = query.after.map_or((None, None), |(t, id)| {
        (Some(time_text(t)), Some(id.to_string()))
    });
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM form \
         WHERE (?1 IS NULL OR subject_of_care = ?1) \
           AND (?2 IS NULL OR care_unit = ?2) \
           AND (?3 IS NULL OR clinical_process_interest_id IN (SELECT value FROM json_each(?3))) \
           AND (?4 IS NULL OR template_id IN (SELECT value FROM json_each(?4))) \
           AND (?5 IS NULL OR status IN (SELECT value FROM json_each(?5))) \
           AND (?6 IS NULL OR created_at >= ?6) \
           AND (?7 IS NULL OR created_at < ?7) \
           AND (?8 OR (expired_at IS NULL AND (?13 IS NULL OR status = 'COMPLETED' \
                OR expire_date IS NULL OR expire_date >= ?13))) \
           AND (?9 IS NULL OR created_at < ?9 OR (created_at = ?9 AND form_id < ?10)) \
           AND (?12 IS NULL OR care_unit IN (SELECT value FROM json_each(?12))) \
         ORDER BY created_at DESC, form_id DESC LIMIT ?11"
    )))
    .bind(query.subject_of_care.as_deref())
    .bind(query.care_unit.as_deref())
    .bind(list(&query.clinical_process_interest_ids))
    .bind(list(&query.template_ids))
    .bind(list(&statuses))
    .bind(query.created_from.map(time_text))
    .bind(query.created_before.map(time_text))
    .bind(query.include_expired)
    .bind(after_time)
    .bind(after_id)
    .bind(i64::from(query.limit))
    .bind(list(&query.care_units))
    .bind(query.today.map(date_text))
    .fetch_all(pool)
    .await?;
    rows.iter().map(read).collect()
}

pub(super) async fn due(pool: &SqlitePool, due: Due, limit: u32) -> Result<Vec<Form>, StoreError> {
    let (condition, day) = match due {
        Due::Expiry(day) => (
            "expired_at IS NULL AND status <> 'COMPLETED' AND expire_date < ? ORDER BY expire_date",
            day,
        ),
        Due::Purge(day) => (
            "keep_until IS NOT NULL AND keep_until < ? ORDER BY keep_until",
            day,
        ),
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM form WHERE {condition} LIMIT ?"
    )))
    .bind(date_text(day))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(read).collect()
}

pub(super) async fn active(pool: &SqlitePool, key: &TemplateKey) -> Result<u64, StoreError> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM form WHERE template_id = ? AND template_version = ? \
         AND status <> 'COMPLETED' AND expired_at IS NULL",
    )
    .bind(&key.template_id)
    .bind(i64::from(key.template_version))
    .fetch_one(pool)
    .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

pub(super) async fn forget(pool: &SqlitePool, before: DateTime<Utc>) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM idempotency_key WHERE created_at < ?")
        .bind(time_text(before))
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
