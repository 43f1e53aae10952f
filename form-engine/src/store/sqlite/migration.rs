//! The initial load in SQLite: one transaction per batch (prepared statements); a stored row
//! is read first and rewritten only when it differs, so a batch sent again writes nothing.

use async_trait::async_trait;
use sqlx::{Row as _, SqliteConnection, SqlitePool};
use uuid::Uuid;

use super::{forms, parse_time, templates, time_text};
use crate::store::migration::{
    FormMigrationStore, IdempotencyRecord, MigratedForm, naming, same_form, same_template,
};
use crate::store::{StoreError, StoredTemplate, TemplateKey};

pub struct SqliteMigration {
    pool: SqlitePool,
}

impl SqliteMigration {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

const TEMPLATE_COLUMNS: &str = "document, revision, created_at, updated_at, deleted_at";

fn json(text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("idempotent answer: {e}")))
}

fn idempotency_record(row: &sqlx::sqlite::SqliteRow) -> Result<IdempotencyRecord, StoreError> {
    Ok(IdempotencyRecord {
        scope: row.try_get("scope")?,
        key: row.try_get("key")?,
        request: json(&row.try_get::<String, _>("request")?)?,
        response: json(&row.try_get::<String, _>("response")?)?,
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
    })
}

async fn held_record(
    connection: &mut SqliteConnection,
    record: &IdempotencyRecord,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    sqlx::query(
        "SELECT scope, key, request, response, created_at FROM idempotency_key \
         WHERE scope = ?1 AND key = ?2",
    )
    .bind(&record.scope)
    .bind(&record.key)
    .fetch_optional(connection)
    .await?
    .as_ref()
    .map(idempotency_record)
    .transpose()
}

#[async_trait]
impl FormMigrationStore for SqliteMigration {
    async fn upsert_templates(&self, given: &[StoredTemplate]) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut written = 0;
        for stored in given {
            let t = &stored.template;
            let held = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {TEMPLATE_COLUMNS} FROM form_template \
                 WHERE template_id = ?1 AND template_version = ?2"
            )))
            .bind(&t.template_id)
            .bind(i64::from(t.version()))
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(templates::read)
            .transpose()?;
            if held
                .as_ref()
                .is_some_and(|held| same_template(held, stored))
            {
                continue;
            }
            sqlx::query(
                "INSERT INTO form_template (template_id, template_version, care_unit, \
                 publish_status, anonymous_form, form_name, revision, document, created_at, \
                 updated_at, deleted_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9, ?10) \
                 ON CONFLICT (template_id, template_version) DO UPDATE SET \
                 care_unit = excluded.care_unit, publish_status = excluded.publish_status, \
                 anonymous_form = excluded.anonymous_form, form_name = excluded.form_name, \
                 revision = form_template.revision + 1, document = excluded.document, \
                 created_at = excluded.created_at, updated_at = excluded.updated_at, \
                 deleted_at = excluded.deleted_at",
            )
            .bind(&t.template_id)
            .bind(i64::from(t.version()))
            .bind(t.health_care_facility_unit.as_str())
            .bind(t.publish_status.as_str())
            .bind(t.anonymous_form)
            .bind(&t.form_name)
            .bind(templates::document(stored)?)
            .bind(time_text(stored.created_at))
            .bind(time_text(stored.updated_at))
            .bind(stored.deleted_at.map(time_text))
            .execute(&mut *tx)
            .await?;
            written += 1;
        }
        tx.commit().await?;
        Ok(written)
    }

    async fn templates_after(
        &self,
        after: Option<&TemplateKey>,
        limit: u32,
    ) -> Result<Vec<StoredTemplate>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TEMPLATE_COLUMNS} FROM form_template \
             WHERE ?1 IS NULL OR (template_id, template_version) > (?1, ?2) \
             ORDER BY template_id, template_version LIMIT ?3"
        )))
        .bind(after.map(|key| key.template_id.clone()))
        .bind(after.map_or(0, |key| i64::from(key.template_version)))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(templates::read).collect()
    }

    async fn upsert_forms(&self, given: &[MigratedForm]) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut written = 0;
        for migrated in given {
            let form = &migrated.form;
            let held = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM form WHERE form_id = ?1",
                forms::COLUMNS
            )))
            .bind(form.id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(forms::read)
            .transpose()?;
            let mut same = held.as_ref().is_some_and(|held| same_form(held, form));
            for record in &migrated.idempotency {
                same &= held_record(&mut tx, record).await?.as_ref() == Some(record);
            }
            if same {
                continue;
            }
            match held {
                None => forms::insert_forms(&mut tx, std::slice::from_ref(form)).await?,
                Some(held) => {
                    // Rewritten in place: the form's reminders and alarms stay with it.
                    sqlx::query(
                        "UPDATE form SET status = ?2, subject_of_care = ?3, care_unit = ?4, \
                         care_unit_name = ?5, care_giver = ?6, med_unit = ?7, system_id = ?8, \
                         template_id = ?9, template_version = ?10, form_name = ?11, \
                         clinical_process_interest_id = ?12, form_text = ?13, expire_date = ?14, \
                         keep_until = ?15, origin = ?16, created_at = ?17, last_saved_at = ?18, \
                         completed_at = ?19, expired_at = ?20, revocation_requested_at = ?21, \
                         current_page = ?22, progress = ?23, revision = ?24 WHERE form_id = ?1",
                    )
                    .bind(form.id.to_string())
                    .bind(form.status.as_str())
                    .bind(form.subject_of_care.as_ref().map(|s| s.as_str().to_owned()))
                    .bind(form.care_unit.to_string())
                    .bind(form.care_unit_name.clone())
                    .bind(form.care_giver.as_ref().map(ToString::to_string))
                    .bind(form.med_unit.as_ref().map(ToString::to_string))
                    .bind(form.system_id.as_ref().map(ToString::to_string))
                    .bind(form.template.template_id.clone())
                    .bind(i64::from(form.template.template_version))
                    .bind(form.form_name.clone())
                    .bind(form.clinical_process_interest_id.clone())
                    .bind(form.form_text.clone())
                    .bind(form.expire_date.map(forms::date_text))
                    .bind(form.keep_until.map(forms::date_text))
                    .bind(form.origin.as_str())
                    .bind(time_text(form.created_at))
                    .bind(form.last_saved_at.map(time_text))
                    .bind(form.completed_at.map(time_text))
                    .bind(form.expired_at.map(time_text))
                    .bind(form.revocation_requested_at.map(time_text))
                    .bind(form.current_page.map(i64::from))
                    .bind(forms::progress_text(&form.progress)?)
                    .bind(held.revision + 1)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            for record in &migrated.idempotency {
                sqlx::query(
                    "INSERT INTO idempotency_key (scope, key, request, response, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (scope, key) DO UPDATE SET \
                     request = excluded.request, response = excluded.response, \
                     created_at = excluded.created_at",
                )
                .bind(&record.scope)
                .bind(&record.key)
                .bind(record.request.to_string())
                .bind(record.response.to_string())
                .bind(time_text(record.created_at))
                .execute(&mut *tx)
                .await?;
            }
            written += 1;
        }
        tx.commit().await?;
        Ok(written)
    }

    async fn forms_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<MigratedForm>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM form WHERE ?1 IS NULL OR form_id > ?1 ORDER BY form_id LIMIT ?2",
            forms::COLUMNS
        )))
        .bind(after.map(|id| id.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&mut *connection)
        .await?;
        let answers = if rows.is_empty() {
            Vec::new()
        } else {
            sqlx::query("SELECT scope, key, request, response, created_at FROM idempotency_key")
                .fetch_all(&mut *connection)
                .await?
                .iter()
                .map(idempotency_record)
                .collect::<Result<Vec<_>, _>>()?
        };
        rows.iter()
            .map(|row| {
                let form = forms::read(row)?;
                let idempotency = naming(&answers, form.id);
                Ok(MigratedForm { form, idempotency })
            })
            .collect()
    }
}
