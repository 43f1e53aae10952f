//! Forms, idempotent answers and the outbox in PostgreSQL.

use chrono::{DateTime, NaiveDate, Utc};
use common::audit::AuditEvent;
use common::delivery::NewDelivery;
use common::identity::{HsaId, PersonalIdentityNumber};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row as _};
use uuid::Uuid;

use crate::domain::form::model::{Form, FormStatus, Origin, Progress};
use crate::store::{Created, Due, FormQuery, IdempotentAnswer, NewForms, StoreError, TemplateKey};

pub(super) const COLUMNS: &str = "form_id, status, subject_of_care, care_unit, care_unit_name, care_giver, \
    med_unit, system_id, template_id, template_version, form_name, clinical_process_interest_id, \
    form_text, expire_date, keep_until, origin, created_at, last_saved_at, completed_at, \
    expired_at, revocation_requested_at, current_page, progress, revision";

/// Rows per INSERT: 24 parameters a row stays under PostgreSQL's 65535.
const ROWS_PER_STATEMENT: usize = 1000;

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("stored {what} `{value}`"))
}

fn optional_hsa_id(row: &PgRow, column: &str) -> Result<Option<HsaId>, StoreError> {
    row.try_get::<Option<String>, _>(column)?
        .map(|v| HsaId::try_from(v.clone()).map_err(|_| corrupt(column, &v)))
        .transpose()
}

pub(super) fn read(row: &PgRow) -> Result<Form, StoreError> {
    let status: String = row.try_get("status")?;
    let origin: String = row.try_get("origin")?;
    let care_unit: String = row.try_get("care_unit")?;
    let subject: Option<String> = row.try_get("subject_of_care")?;
    let progress: Json<Progress> = row.try_get("progress")?;
    Ok(Form {
        id: row.try_get("form_id")?,
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
            template_version: u32::try_from(row.try_get::<i32, _>("template_version")?)
                .unwrap_or(0),
        },
        form_name: row.try_get("form_name")?,
        clinical_process_interest_id: row.try_get("clinical_process_interest_id")?,
        form_text: row.try_get("form_text")?,
        expire_date: row.try_get::<Option<NaiveDate>, _>("expire_date")?,
        keep_until: row.try_get::<Option<NaiveDate>, _>("keep_until")?,
        origin: Origin::parse(&origin).ok_or_else(|| corrupt("origin", &origin))?,
        created_at: row.try_get("created_at")?,
        last_saved_at: row.try_get("last_saved_at")?,
        completed_at: row.try_get("completed_at")?,
        expired_at: row.try_get("expired_at")?,
        revocation_requested_at: row.try_get("revocation_requested_at")?,
        current_page: row
            .try_get::<Option<i32>, _>("current_page")?
            .and_then(|p| u32::try_from(p).ok()),
        progress: progress.0,
        revision: row.try_get("revision")?,
    })
}

fn int(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

pub(super) async fn insert_forms(
    connection: &mut PgConnection,
    forms: &[Form],
) -> Result<(), StoreError> {
    for chunk in forms.chunks(ROWS_PER_STATEMENT) {
        let mut insert: QueryBuilder<Postgres> =
            QueryBuilder::new(format!("INSERT INTO form ({COLUMNS}) "));
        insert.push_values(chunk, |mut row, form| {
            row.push_bind(form.id)
                .push_bind(form.status.as_str())
                .push_bind(form.subject_of_care.as_ref().map(|s| s.as_str().to_owned()))
                .push_bind(form.care_unit.to_string())
                .push_bind(form.care_unit_name.clone())
                .push_bind(form.care_giver.as_ref().map(ToString::to_string))
                .push_bind(form.med_unit.as_ref().map(ToString::to_string))
                .push_bind(form.system_id.as_ref().map(ToString::to_string))
                .push_bind(form.template.template_id.clone())
                .push_bind(int(form.template.template_version))
                .push_bind(form.form_name.clone())
                .push_bind(form.clinical_process_interest_id.clone())
                .push_bind(form.form_text.clone())
                .push_bind(form.expire_date)
                .push_bind(form.keep_until)
                .push_bind(form.origin.as_str())
                .push_bind(form.created_at)
                .push_bind(form.last_saved_at)
                .push_bind(form.completed_at)
                .push_bind(form.expired_at)
                .push_bind(form.revocation_requested_at)
                .push_bind(form.current_page.map(int))
                .push_bind(Json(form.progress.clone()))
                .push_bind(form.revision);
        });
        insert.build().execute(&mut *connection).await?;
    }
    Ok(())
}

async fn enqueue(
    connection: &mut PgConnection,
    deliveries: &[NewDelivery],
) -> Result<(), StoreError> {
    if !deliveries.is_empty() {
        common::delivery::enqueue_postgres(connection, deliveries, Utc::now())
            .await
            .map_err(|e| StoreError::Corrupt(format!("outbox: {e}")))?;
    }
    Ok(())
}

pub(super) async fn create(
    pool: &PgPool,
    new: &NewForms,
    audit: &[AuditEvent],
) -> Result<Created, StoreError> {
    let mut tx = pool.begin().await?;
    if let Some(answer) = &new.idempotency {
        // A concurrent request with the same key waits here until the first commits.
        let inserted = sqlx::query(
            "INSERT INTO idempotency_key (scope, key, request, response, created_at) \
             VALUES ($1, $2, $3, $4, now()) ON CONFLICT (scope, key) DO NOTHING",
        )
        .bind(&answer.scope)
        .bind(&answer.key)
        .bind(&answer.request)
        .bind(&answer.response)
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
    common::audit::append_all_postgres(&mut tx, audit, Utc::now()).await?;
    tx.commit().await?;
    Ok(Created::Stored)
}

pub(super) async fn idempotent_answer(
    pool: &PgPool,
    scope: &str,
    key: &str,
) -> Result<Option<IdempotentAnswer>, StoreError> {
    let row =
        sqlx::query("SELECT request, response FROM idempotency_key WHERE scope = $1 AND key = $2")
            .bind(scope)
            .bind(key)
            .fetch_optional(pool)
            .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(IdempotentAnswer {
        scope: scope.to_owned(),
        key: key.to_owned(),
        request: row.try_get("request")?,
        response: row.try_get("response")?,
    }))
}

pub(super) async fn one(pool: &PgPool, id: Uuid) -> Result<Option<Form>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM form WHERE form_id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(read).transpose()
}

pub(super) async fn update(
    pool: &PgPool,
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
    tx: &mut PgConnection,
    form: &Form,
    deliveries: &[NewDelivery],
    audit: &[AuditEvent],
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE form SET status = $1, last_saved_at = $2, completed_at = $3, expired_at = $4, \
         revocation_requested_at = $5, current_page = $6, progress = $7, revision = $8 \
         WHERE form_id = $9 AND revision = $10",
    )
    .bind(form.status.as_str())
    .bind(form.last_saved_at)
    .bind(form.completed_at)
    .bind(form.expired_at)
    .bind(form.revocation_requested_at)
    .bind(form.current_page.map(int))
    .bind(Json(&form.progress))
    .bind(form.revision)
    .bind(form.id)
    .bind(form.revision - 1)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Conflict);
    }
    enqueue(tx, deliveries).await?;
    common::audit::append_all_postgres(tx, audit, Utc::now()).await?;
    Ok(())
}

pub(super) async fn delete(
    pool: &PgPool,
    id: Uuid,
    revision: i64,
    deliveries: &[NewDelivery],
    audit: &[AuditEvent],
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query("DELETE FROM form WHERE form_id = $1 AND revision = $2")
        .bind(id)
        .bind(revision)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Conflict);
    }
    enqueue(&mut tx, deliveries).await?;
    common::audit::append_all_postgres(&mut tx, audit, Utc::now()).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn find(pool: &PgPool, query: &FormQuery) -> Result<Vec<Form>, StoreError> {
    let list = |items: &[String]| (!items.is_empty()).then(|| items.to_vec());
    let statuses: Vec<String> = query
        .statuses
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    let (after_time, after_id) = query
        .after
        .map_or((None, None), |(t, id)| (Some(t), Some(id)));
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM form \
         WHERE ($1::text IS NULL OR subject_of_care = $1) \
           AND ($2::text IS NULL OR care_unit = $2) \
           AND ($3::text[] IS NULL OR clinical_process_interest_id = ANY($3)) \
           AND ($4::text[] IS NULL OR template_id = ANY($4)) \
           AND ($5::text[] IS NULL OR status = ANY($5)) \
           AND ($6::timestamptz IS NULL OR created_at >= $6) \
           AND ($7::timestamptz IS NULL OR created_at < $7) \
           AND ($8 OR (expired_at IS NULL AND ($13::date IS NULL OR status = 'COMPLETED' \
                OR expire_date IS NULL OR expire_date >= $13))) \
           AND ($9::timestamptz IS NULL OR (created_at, form_id) < ($9, $10::uuid)) \
           AND ($12::text[] IS NULL OR care_unit = ANY($12)) \
         ORDER BY created_at DESC, form_id DESC LIMIT $11"
    )))
    .bind(query.subject_of_care.as_deref())
    .bind(query.care_unit.as_deref())
    .bind(list(&query.clinical_process_interest_ids))
    .bind(list(&query.template_ids))
    .bind(list(&statuses))
    .bind(query.created_from)
    .bind(query.created_before)
    .bind(query.include_expired)
    .bind(after_time)
    .bind(after_id)
    .bind(i64::from(query.limit))
    .bind(list(&query.care_units))
    .bind(query.today)
    .fetch_all(pool)
    .await?;
    rows.iter().map(read).collect()
}

pub(super) async fn due(pool: &PgPool, due: Due, limit: u32) -> Result<Vec<Form>, StoreError> {
    let (condition, day) = match due {
        Due::Expiry(day) => (
            "expired_at IS NULL AND status <> 'COMPLETED' AND expire_date < $1 ORDER BY expire_date",
            day,
        ),
        Due::Purge(day) => (
            "keep_until IS NOT NULL AND keep_until < $1 ORDER BY keep_until",
            day,
        ),
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM form WHERE {condition} LIMIT $2"
    )))
    .bind(day)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(read).collect()
}

pub(super) async fn active(pool: &PgPool, key: &TemplateKey) -> Result<u64, StoreError> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM form WHERE template_id = $1 AND template_version = $2 \
         AND status <> 'COMPLETED' AND expired_at IS NULL",
    )
    .bind(&key.template_id)
    .bind(int(key.template_version))
    .fetch_one(pool)
    .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

pub(super) async fn forget(pool: &PgPool, before: DateTime<Utc>) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM idempotency_key WHERE created_at < $1")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
