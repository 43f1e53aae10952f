//! Template versions in PostgreSQL.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgPool, Row as _};

use crate::domain::template::{FormTemplate, PublishStatus};
use crate::store::{StoreError, StoredTemplate, TemplateHead, TemplateKey, TemplateQuery};

pub(super) fn read(row: &PgRow) -> Result<StoredTemplate, StoreError> {
    let document: serde_json::Value = row.try_get("document")?;
    let template: FormTemplate = serde_json::from_value(document)
        .map_err(|e| StoreError::Corrupt(format!("template document: {e}")))?;
    Ok(StoredTemplate {
        template,
        revision: row.try_get("revision")?,
        created_at: row.try_get::<DateTime<Utc>, _>("created_at")?,
        updated_at: row.try_get::<DateTime<Utc>, _>("updated_at")?,
        deleted_at: row.try_get::<Option<DateTime<Utc>>, _>("deleted_at")?,
    })
}

fn version(key: u32) -> Result<i32, StoreError> {
    i32::try_from(key)
        .map_err(|_| StoreError::Corrupt(format!("template version {key} is too large")))
}

pub(super) async fn versions(
    pool: &PgPool,
    template_id: &str,
) -> Result<Vec<TemplateHead>, StoreError> {
    let rows = sqlx::query(
        "SELECT template_version, care_unit, publish_status, revision, deleted_at IS NOT NULL AS deleted \
         FROM form_template WHERE template_id = $1 ORDER BY template_version",
    )
    .bind(template_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let status: String = row.try_get("publish_status")?;
            Ok(TemplateHead {
                template_version: u32::try_from(row.try_get::<i32, _>("template_version")?)
                    .unwrap_or(0),
                care_unit: row.try_get("care_unit")?,
                publish_status: PublishStatus::parse(&status)
                    .ok_or_else(|| StoreError::Corrupt(format!("publish status `{status}`")))?,
                revision: row.try_get("revision")?,
                deleted: row.try_get("deleted")?,
            })
        })
        .collect()
}

pub(super) async fn one(
    pool: &PgPool,
    key: &TemplateKey,
) -> Result<Option<StoredTemplate>, StoreError> {
    let row = sqlx::query(
        "SELECT document, revision, created_at, updated_at, deleted_at FROM form_template \
         WHERE template_id = $1 AND template_version = $2",
    )
    .bind(&key.template_id)
    .bind(version(key.template_version)?)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(read).transpose()
}

pub(super) async fn insert(pool: &PgPool, template: &StoredTemplate) -> Result<(), StoreError> {
    let t = &template.template;
    sqlx::query(
        "INSERT INTO form_template (template_id, template_version, care_unit, publish_status, \
         anonymous_form, form_name, revision, document, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&t.template_id)
    .bind(version(t.version())?)
    .bind(t.health_care_facility_unit.as_str())
    .bind(t.publish_status.as_str())
    .bind(t.anonymous_form)
    .bind(&t.form_name)
    .bind(template.revision)
    .bind(Json(t))
    .bind(template.created_at)
    .bind(template.updated_at)
    .execute(pool)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

pub(super) async fn update(pool: &PgPool, template: &StoredTemplate) -> Result<(), StoreError> {
    let t = &template.template;
    let done = sqlx::query(
        "UPDATE form_template SET care_unit = $1, publish_status = $2, anonymous_form = $3, \
         form_name = $4, revision = $5, document = $6, updated_at = $7 \
         WHERE template_id = $8 AND template_version = $9 AND revision = $10 AND deleted_at IS NULL",
    )
    .bind(t.health_care_facility_unit.as_str())
    .bind(t.publish_status.as_str())
    .bind(t.anonymous_form)
    .bind(&t.form_name)
    .bind(template.revision)
    .bind(Json(t))
    .bind(template.updated_at)
    .bind(&t.template_id)
    .bind(version(t.version())?)
    .bind(template.revision - 1)
    .execute(pool)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

pub(super) async fn delete(
    pool: &PgPool,
    key: &TemplateKey,
    revision: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE form_template SET deleted_at = now(), revision = revision + 1 \
         WHERE template_id = $1 AND template_version = $2 AND revision = $3 AND deleted_at IS NULL",
    )
    .bind(&key.template_id)
    .bind(version(key.template_version)?)
    .bind(revision)
    .execute(pool)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

pub(super) async fn find(
    pool: &PgPool,
    query: &TemplateQuery,
) -> Result<Vec<StoredTemplate>, StoreError> {
    // Absent criteria are NULL parameters that match everything; one plan for every lookup.
    let ids: Option<Vec<String>> =
        (!query.template_ids.is_empty()).then(|| query.template_ids.clone());
    let statuses: Option<Vec<String>> = (!query.statuses.is_empty()).then(|| {
        query
            .statuses
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect()
    });
    let template_version = query.template_version.map(version).transpose()?;
    let rows = sqlx::query(
        "SELECT document, revision, created_at, updated_at, deleted_at FROM form_template \
         WHERE deleted_at IS NULL \
           AND ($1::text IS NULL OR care_unit = $1 \
                OR ($6 AND document @> '{\"templatePropagate\": [{\"propagate\": true}]}'::jsonb)) \
           AND ($2::text[] IS NULL OR template_id = ANY($2)) \
           AND ($3::int IS NULL OR template_version = $3) \
           AND ($4::text[] IS NULL OR publish_status = ANY($4)) \
           AND (NOT $5 OR anonymous_form) \
         ORDER BY template_id, template_version",
    )
    .bind(query.care_unit.as_deref())
    .bind(ids)
    .bind(template_version)
    .bind(statuses)
    .bind(query.anonymous_only)
    .bind(query.with_shared)
    .fetch_all(pool)
    .await?;
    rows.iter().map(read).collect()
}
