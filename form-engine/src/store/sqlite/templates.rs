//! Template versions in SQLite.

use chrono::Utc;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row as _, SqlitePool};

use super::{parse_time, time_text};
use crate::domain::template::{FormTemplate, PublishStatus};
use crate::store::{StoreError, StoredTemplate, TemplateHead, TemplateKey, TemplateQuery};

pub(super) fn read(row: &SqliteRow) -> Result<StoredTemplate, StoreError> {
    let document: String = row.try_get("document")?;
    let template: FormTemplate = serde_json::from_str(&document)
        .map_err(|e| StoreError::Corrupt(format!("template document: {e}")))?;
    let deleted_at: Option<String> = row.try_get("deleted_at")?;
    Ok(StoredTemplate {
        template,
        revision: row.try_get("revision")?,
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_time(&row.try_get::<String, _>("updated_at")?)?,
        deleted_at: deleted_at.as_deref().map(parse_time).transpose()?,
    })
}

pub(super) fn document(template: &StoredTemplate) -> Result<String, StoreError> {
    serde_json::to_string(&template.template)
        .map_err(|e| StoreError::Corrupt(format!("template document: {e}")))
}

pub(super) async fn versions(
    pool: &SqlitePool,
    template_id: &str,
) -> Result<Vec<TemplateHead>, StoreError> {
    let rows = sqlx::query(
        "SELECT template_version, care_unit, publish_status, revision, deleted_at IS NOT NULL AS deleted \
         FROM form_template WHERE template_id = ? ORDER BY template_version",
    )
    .bind(template_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let status: String = row.try_get("publish_status")?;
            Ok(TemplateHead {
                template_version: u32::try_from(row.try_get::<i64, _>("template_version")?)
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
    pool: &SqlitePool,
    key: &TemplateKey,
) -> Result<Option<StoredTemplate>, StoreError> {
    let row = sqlx::query(
        "SELECT document, revision, created_at, updated_at, deleted_at FROM form_template \
         WHERE template_id = ? AND template_version = ?",
    )
    .bind(&key.template_id)
    .bind(i64::from(key.template_version))
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(read).transpose()
}

pub(super) async fn insert(pool: &SqlitePool, template: &StoredTemplate) -> Result<(), StoreError> {
    let t = &template.template;
    sqlx::query(
        "INSERT INTO form_template (template_id, template_version, care_unit, publish_status, \
         anonymous_form, form_name, revision, document, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&t.template_id)
    .bind(i64::from(t.version()))
    .bind(t.health_care_facility_unit.as_str())
    .bind(t.publish_status.as_str())
    .bind(t.anonymous_form)
    .bind(&t.form_name)
    .bind(template.revision)
    .bind(document(template)?)
    .bind(time_text(template.created_at))
    .bind(time_text(template.updated_at))
    .execute(pool)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

pub(super) async fn update(pool: &SqlitePool, template: &StoredTemplate) -> Result<(), StoreError> {
    let t = &template.template;
    let done = sqlx::query(
        "UPDATE form_template SET care_unit = ?, publish_status = ?, anonymous_form = ?, \
         form_name = ?, revision = ?, document = ?, updated_at = ? \
         WHERE template_id = ? AND template_version = ? AND revision = ? AND deleted_at IS NULL",
    )
    .bind(t.health_care_facility_unit.as_str())
    .bind(t.publish_status.as_str())
    .bind(t.anonymous_form)
    .bind(&t.form_name)
    .bind(template.revision)
    .bind(document(template)?)
    .bind(time_text(template.updated_at))
    .bind(&t.template_id)
    .bind(i64::from(t.version()))
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
    pool: &SqlitePool,
    key: &TemplateKey,
    revision: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE form_template SET deleted_at = ?, revision = revision + 1 \
         WHERE template_id = ? AND template_version = ? AND revision = ? AND deleted_at IS NULL",
    )
    .bind(time_text(Utc::now()))
    .bind(&key.template_id)
    .bind(i64::from(key.template_version))
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
    pool: &SqlitePool,
    query: &TemplateQuery,
) -> Result<Vec<StoredTemplate>, StoreError> {
    // Absent criteria are NULL parameters that match everything; lists travel as JSON arrays.
    let ids = (!query.template_ids.is_empty()).then(|| json_list(&query.template_ids));
    let statuses =
        (!query.statuses.is_empty()).then(|| json_list(query.statuses.iter().map(|s| s.as_str())));
    let rows = sqlx::query(
        "SELECT document, revision, created_at, updated_at, deleted_at FROM form_template \
         WHERE deleted_at IS NULL \
           AND (?1 IS NULL OR care_unit = ?1 \
                OR (?6 AND EXISTS (SELECT 1 FROM json_each(document, '$.templatePropagate') \
                                   WHERE json_extract(value, '$.propagate') = 1))) \
           AND (?2 IS NULL OR template_id IN (SELECT value FROM json_each(?2))) \
           AND (?3 IS NULL OR template_version = ?3) \
           AND (?4 IS NULL OR publish_status IN (SELECT value FROM json_each(?4))) \
           AND (NOT ?5 OR anonymous_form) \
         ORDER BY template_id, template_version",
    )
    .bind(query.care_unit.as_deref())
    .bind(ids)
    .bind(query.template_version.map(i64::from))
    .bind(statuses)
    .bind(query.anonymous_only)
    .bind(query.with_shared)
    .fetch_all(pool)
    .await?;
    rows.iter().map(read).collect()
}

pub(super) fn json_list<T: AsRef<str>>(items: impl IntoIterator<Item = T>) -> String {
    serde_json::Value::Array(
        items
            .into_iter()
            .map(|i| serde_json::Value::String(i.as_ref().to_owned()))
            .collect(),
    )
    .to_string()
}
