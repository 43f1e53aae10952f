//! The initial load and the export written once for both backends: one writing transaction
//! per batch; a stored row is read first (and locked on PostgreSQL) and rewritten only when it
//! differs, so a batch sent again writes nothing.

use chrono::NaiveDate;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Row as _, Type};
use uuid::Uuid;

use super::{IdempotencyRecord, MigratedForm, naming, same_form, same_template};
use crate::domain::form::model::Progress;
use crate::domain::template::FormTemplate;
use crate::store::sql::{COLUMNS, FormSql, TEMPLATE_COLUMNS, int};
use crate::store::{StoreError, StoredTemplate, TemplateKey};

/// The migration store on either backend (its [`FormMigrationStore`](super::FormMigrationStore)
/// is in `form_store!`).
pub struct SqlMigration<DB: sqlx::Database> {
    pub(crate) pool: Pool<DB>,
}

impl<DB: sqlx::Database> SqlMigration<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }
}

/// The initial load's queries on a backend, written once (provided methods).
pub(crate) trait MigrationSql: FormSql
where
    for<'c> &'c mut Self::Connection: Executor<'c, Database = Self>,
    Self::Arguments: IntoArguments<Self>,
    for<'r> &'r str: ColumnIndex<Self::Row>,
    for<'q> &'q str: Encode<'q, Self> + Type<Self>,
    for<'q> Option<&'q str>: Encode<'q, Self> + Type<Self>,
    String: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self>,
    bool: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self>,
    i32: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self>,
    i64: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self>,
    NaiveDate: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self>,
    Json<Progress>: for<'r> Decode<'r, Self> + Type<Self>,
    for<'q> Json<&'q Progress>: Encode<'q, Self> + Type<Self>,
    Json<Value>: for<'r> Decode<'r, Self> + Type<Self>,
    for<'q> Json<&'q Value>: Encode<'q, Self> + Type<Self>,
    for<'q> Json<&'q Vec<u32>>: Encode<'q, Self> + Type<Self>,
    Json<FormTemplate>: for<'r> Decode<'r, Self> + Type<Self>,
    for<'q> Json<&'q FormTemplate>: Encode<'q, Self> + Type<Self>,
    Option<Self::Time>: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self>,
    Option<Self::Id>: for<'q> Encode<'q, Self>,
    Option<Self::TextList>: for<'q> Encode<'q, Self>,
    Option<String>: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self>,
    Option<i32>: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self>,
    Option<NaiveDate>: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self>,
    usize: ColumnIndex<Self::Row>,
{
    fn read_idempotency_record(row: &Self::Row) -> Result<IdempotencyRecord, StoreError> {
        let json = |column: &str| -> Result<Value, StoreError> {
            let Json(value) = row
                .try_get(column)
                .map_err(|e| StoreError::Corrupt(format!("idempotent answer: {e}")))?;
            Ok(value)
        };
        Ok(IdempotencyRecord {
            scope: row.try_get("scope")?,
            key: row.try_get("key")?,
            request: json("request")?,
            response: json("response")?,
            created_at: Self::read_time(row.try_get("created_at")?)?,
        })
    }

    async fn upsert_templates(
        pool: &Pool<Self>,
        given: &[StoredTemplate],
    ) -> Result<u64, StoreError> {
        // In key order: concurrent batches lock shared rows in the same order.
        let mut given: Vec<&StoredTemplate> = given.iter().collect();
        given.sort_by_key(|stored| stored.key());
        let mut tx = Self::begin_write(pool).await?;
        let mut written = 0;
        for stored in given {
            let t = &stored.template;
            let held = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {TEMPLATE_COLUMNS} FROM form_template \
                 WHERE template_id = $1 AND template_version = $2{}",
                Self::FOR_UPDATE
            )))
            .bind(t.template_id.as_str())
            .bind(int(t.version()))
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(Self::read_template)
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
                 care_unit = excluded.care_unit, publish_status = excluded.publish_status, \
                 anonymous_form = excluded.anonymous_form, form_name = excluded.form_name, \
                 revision = form_template.revision + 1, document = excluded.document, \
                 created_at = excluded.created_at, updated_at = excluded.updated_at, \
                 deleted_at = excluded.deleted_at",
            )
            .bind(t.template_id.as_str())
            .bind(int(t.version()))
            .bind(t.health_care_facility_unit.as_str())
            .bind(t.publish_status.as_str())
            .bind(t.anonymous_form)
            .bind(t.form_name.as_str())
            .bind(Json(t))
            .bind(Self::time_value(stored.created_at))
            .bind(Self::time_value(stored.updated_at))
            .bind(stored.deleted_at.map(Self::time_value))
            .execute(&mut *tx)
            .await?;
            written += 1;
        }
        tx.commit().await?;
        Ok(written)
    }

    async fn templates_after(
        pool: &Pool<Self>,
        after: Option<&TemplateKey>,
        limit: u32,
    ) -> Result<Vec<StoredTemplate>, StoreError> {
        let order = Self::BYTE_ORDER;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TEMPLATE_COLUMNS} FROM form_template \
             WHERE $1 IS NULL OR (template_id {order}, template_version) > ($1, $2) \
             ORDER BY template_id {order}, template_version LIMIT $3"
        )))
        .bind(after.map(|key| key.template_id.as_str()))
        .bind(after.map_or(0, |key| int(key.template_version)))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
        rows.iter().map(Self::read_template).collect()
    }

    async fn upsert_forms(pool: &Pool<Self>, given: &[MigratedForm]) -> Result<u64, StoreError> {
        // In id order: concurrent batches lock shared rows in the same order.
        let mut given: Vec<&MigratedForm> = given.iter().collect();
        given.sort_by_key(|migrated| migrated.form.id);
        let mut tx = Self::begin_write(pool).await?;
        let mut written = 0;
        for migrated in given {
            let form = &migrated.form;
            let held = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM form WHERE form_id = $1{}",
                Self::FOR_UPDATE
            )))
            .bind(Self::id_value(form.id))
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(Self::read_form)
            .transpose()?;
            let mut same = held.as_ref().is_some_and(|held| same_form(held, form));
            for record in &migrated.idempotency {
                let held_record = sqlx::query(
                    "SELECT scope, key, request, response, created_at FROM idempotency_key \
                     WHERE scope = $1 AND key = $2",
                )
                .bind(record.scope.as_str())
                .bind(record.key.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .as_ref()
                .map(Self::read_idempotency_record)
                .transpose()?;
                same &= held_record.as_ref() == Some(record);
            }
            if same {
                continue;
            }
            match held {
                None => Self::insert_forms(&mut tx, std::slice::from_ref(form)).await?,
                Some(held) => Self::rewrite_form(&mut tx, form, held.revision + 1).await?,
            }
            for record in &migrated.idempotency {
                sqlx::query(
                    "INSERT INTO idempotency_key (scope, key, request, response, created_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, key) DO UPDATE SET \
                     request = excluded.request, response = excluded.response, \
                     created_at = excluded.created_at",
                )
                .bind(record.scope.as_str())
                .bind(record.key.as_str())
                .bind(Json(&record.request))
                .bind(Json(&record.response))
                .bind(Self::time_value(record.created_at))
                .execute(&mut *tx)
                .await?;
            }
            written += 1;
        }
        tx.commit().await?;
        Ok(written)
    }

    async fn forms_after(
        pool: &Pool<Self>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<MigratedForm>, StoreError> {
        let mut connection = pool.acquire().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM form WHERE $1 IS NULL OR form_id > $1 ORDER BY form_id LIMIT $2"
        )))
        .bind(after.map(Self::id_value))
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
                .map(Self::read_idempotency_record)
                .collect::<Result<Vec<_>, _>>()?
        };
        rows.iter()
            .map(|row| {
                let form = Self::read_form(row)?;
                let idempotency = naming(&answers, form.id);
                Ok(MigratedForm { form, idempotency })
            })
            .collect()
    }
}
