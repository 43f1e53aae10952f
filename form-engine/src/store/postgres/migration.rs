//! The initial load in PostgreSQL: one transaction per batch; a stored row is read first and
//! rewritten only when it differs, so a batch sent again writes nothing.

use async_trait::async_trait;
use sqlx::types::Json;
use sqlx::{PgPool, Row as _};
use uuid::Uuid;

use super::{forms, templates};
use crate::store::migration::{
    FormMigrationStore, IdempotencyRecord, MigratedForm, naming, same_form, same_template,
};
use crate::store::{StoreError, StoredTemplate, TemplateKey};

pub struct PgMigration {
    pool: PgPool,
}

impl PgMigration {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn int(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

const TEMPLATE_COLUMNS: &str = "document, revision, created_at, updated_at, deleted_at";

async fn idempotency_records(
    connection: &mut sqlx::PgConnection,
) -> Result<Vec<IdempotencyRecord>, StoreError> {
    let rows = sqlx::query("SELECT scope, key, request, response, created_at FROM idempotency_key")
        .fetch_all(connection)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(IdempotencyRecord {
                scope: row.try_get("scope")?,
                key: row.try_get("key")?,
                request: row.try_get("request")?,
                response: row.try_get("response")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

#[async_trait]
impl FormMigrationStore for PgMigration {
    async fn upsert_templates(&self, given: &[StoredTemplate]) -> Result<u64, StoreError> {
        // In key order: concurrent batches lock shared rows in the same order.
        let mut given: Vec<&StoredTemplate> = given.iter().collect();
        given.sort_by_key(|stored| stored.key());
        let mut tx = self.pool.begin().await?;
        let mut written = 0;
        for stored in given {
            let t = &stored.template;
            let held = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {TEMPLATE_COLUMNS} FROM form_template \
                 WHERE template_id = $1 AND template_version = $2 FOR UPDATE"
            )))
            .bind(&t.template_id)
            .bind(int(t.version()))
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
                 updated_at, deleted_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9, $10) \
                 ON CONFLICT (template_id, template_version) DO UPDATE SET \
                 care_unit = EXCLUDED.care_unit, publish_status = EXCLUDED.publish_status, \
                 anonymous_form = EXCLUDED.anonymous_form, form_name = EXCLUDED.form_name, \
                 revision = form_template.revision + 1, document = EXCLUDED.document, \
                 created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, \
                 deleted_at = EXCLUDED.deleted_at",
            )
            .bind(&t.template_id)
            .bind(int(t.version()))
            .bind(t.health_care_facility_unit.as_str())
            .bind(t.publish_status.as_str())
            .bind(t.anonymous_form)
            .bind(&t.form_name)
            .bind(Json(t))
            .bind(stored.created_at)
            .bind(stored.updated_at)
            .bind(stored.deleted_at)
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
             WHERE $1::text IS NULL OR (template_id COLLATE \"C\", template_version) > ($1, $2) \
             ORDER BY template_id COLLATE \"C\", template_version LIMIT $3"
        )))
        .bind(after.map(|key| key.template_id.clone()))
        .bind(after.map_or(0, |key| int(key.template_version)))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(templates::read).collect()
    }

    async fn upsert_forms(&self, given: &[MigratedForm]) -> Result<u64, StoreError> {
        // In id order: concurrent batches lock shared rows in the same order.
        let mut given: Vec<&MigratedForm> = given.iter().collect();
        given.sort_by_key(|migrated| migrated.form.id);
        let mut tx = self.pool.begin().await?;
        let mut written = 0;
        for migrated in given {
            let form = &migrated.form;
            let held = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM form WHERE form_id = $1 FOR UPDATE",
                forms::COLUMNS
            )))
            .bind(form.id)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(forms::read)
            .transpose()?;
            let mut same = held.as_ref().is_some_and(|held| same_form(held, form));
            for record in &migrated.idempotency {
                let row = sqlx::query(
                    "SELECT request, response, created_at FROM idempotency_key \
                     WHERE scope = $1 AND key = $2",
                )
                .bind(&record.scope)
                .bind(&record.key)
                .fetch_optional(&mut *tx)
                .await?;
                same &= match row {
                    Some(row) => {
                        row.try_get::<serde_json::Value, _>("request")? == record.request
                            && row.try_get::<serde_json::Value, _>("response")? == record.response
                            && row.try_get::<chrono::DateTime<chrono::Utc>, _>("created_at")?
                                == record.created_at
                    }
                    None => false,
                };
            }
            if same {
                continue;
            }
            match held {
                None => forms::insert_forms(&mut tx, std::slice::from_ref(form)).await?,
                Some(held) => {
                    // Rewritten in place: the form's reminders and alarms stay with it.
                    sqlx::query(
                        "UPDATE form SET status = $2, subject_of_care = $3, care_unit = $4, \
                         care_unit_name = $5, care_giver = $6, med_unit = $7, system_id = $8, \
                         template_id = $9, template_version = $10, form_name = $11, \
                         clinical_process_interest_id = $12, form_text = $13, expire_date = $14, \
                         keep_until = $15, origin = $16, created_at = $17, last_saved_at = $18, \
                         completed_at = $19, expired_at = $20, revocation_requested_at = $21, \
                         current_page = $22, progress = $23, revision = $24 WHERE form_id = $1",
                    )
                    .bind(form.id)
                    .bind(form.status.as_str())
                    .bind(form.subject_of_care.as_ref().map(|s| s.as_str().to_owned()))
                    .bind(form.care_unit.to_string())
                    .bind(form.care_unit_name.clone())
                    .bind(form.care_giver.as_ref().map(ToString::to_string))
                    .bind(form.med_unit.as_ref().map(ToString::to_string))
                    .bind(form.system_id.as_ref().map(ToString::to_string))
                    .bind(form.template.template_id.clone())
                    .bind(int(form.template.template_version))
                    .bind(form.form_name.clone())
                    .bind(form.clinical_process_interest_id.clone())
                    .bind(form.form_text.clone())
                    .bind(form.expire_date)
                    .bind(form.keep_until)
                    .bind(form.origin.as_str())
                    .bind(form.created_at)
                    .bind(form.last_saved_at)
                    .bind(form.completed_at)
                    .bind(form.expired_at)
                    .bind(form.revocation_requested_at)
                    .bind(form.current_page.map(int))
                    .bind(Json(form.progress.clone()))
                    .bind(held.revision + 1)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            for record in &migrated.idempotency {
                sqlx::query(
                    "INSERT INTO idempotency_key (scope, key, request, response, created_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, key) DO UPDATE SET \
                     request = EXCLUDED.request, response = EXCLUDED.response, \
                     created_at = EXCLUDED.created_at",
                )
                .bind(&record.scope)
                .bind(&record.key)
                .bind(&record.request)
                .bind(&record.response)
                .bind(record.created_at)
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
            "SELECT {} FROM form WHERE $1::uuid IS NULL OR form_id > $1 ORDER BY form_id LIMIT $2",
            forms::COLUMNS
        )))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&mut *connection)
        .await?;
        let answers = if rows.is_empty() {
            Vec::new()
        } else {
            idempotency_records(&mut connection).await?
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
