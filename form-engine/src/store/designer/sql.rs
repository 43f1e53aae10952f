//! The designer's working copies, written once for both backends: the SQL is the same (`$n`
//! placeholders read on SQLite too), the document is JSON (`JSONB`, or text on SQLite) and
//! the time is kept as [`Backend`] says.

use async_trait::async_trait;
use common::db::Backend;
use sqlx::types::Json;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Row as _, Type};

use super::{DraftStore, StoredDraft};
use crate::domain::template::FormTemplate;
use crate::store::{StoreError, TemplateKey};

/// The draft store on either backend.
pub struct SqlDraftStore<DB: Backend> {
    pool: Pool<DB>,
}

impl<DB: Backend> SqlDraftStore<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }
}

fn draft<DB: Backend>(row: &DB::Row) -> Result<StoredDraft, StoreError>
where
    for<'r> &'r str: ColumnIndex<DB::Row>,
    String: for<'r> Decode<'r, DB> + Type<DB>,
    Json<FormTemplate>: for<'r> Decode<'r, DB> + Type<DB>,
{
    let Json(template): Json<FormTemplate> = row
        .try_get("document")
        .map_err(|e| StoreError::Corrupt(format!("a designer draft: {e}")))?;
    Ok(StoredDraft {
        template,
        changed_by: row.try_get("changed_by")?,
        changed_by_name: row.try_get("changed_by_name")?,
        changed_at: DB::read_time(row.try_get("changed_at")?)?,
    })
}

fn version(key: &TemplateKey) -> i32 {
    i32::try_from(key.template_version).unwrap_or(i32::MAX)
}

#[async_trait]
impl<DB: Backend> DraftStore for SqlDraftStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    String: for<'r> Decode<'r, DB> + Type<DB>,
    i32: for<'q> Encode<'q, DB> + Type<DB>,
    Json<FormTemplate>: for<'r> Decode<'r, DB> + Type<DB>,
    for<'q> Json<&'q FormTemplate>: Encode<'q, DB> + Type<DB>,
{
    async fn draft(&self, key: &TemplateKey) -> Result<Option<StoredDraft>, StoreError> {
        let row = sqlx::query(
            "SELECT document, changed_by, changed_by_name, changed_at FROM designer_draft \
             WHERE template_id = $1 AND template_version = $2",
        )
        .bind(key.template_id.as_str())
        .bind(version(key))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(draft::<DB>).transpose()
    }

    async fn put_draft(&self, stored: &StoredDraft) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO designer_draft (template_id, template_version, care_unit, document, \
             changed_by, changed_by_name, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (template_id, template_version) DO UPDATE SET \
             care_unit = excluded.care_unit, document = excluded.document, \
             changed_by = excluded.changed_by, changed_by_name = excluded.changed_by_name, \
             changed_at = excluded.changed_at",
        )
        .bind(stored.template.template_id.as_str())
        .bind(version(&stored.key()))
        .bind(stored.template.health_care_facility_unit.as_str())
        .bind(Json(&stored.template))
        .bind(stored.changed_by.as_str())
        .bind(stored.changed_by_name.as_str())
        .bind(DB::time_value(stored.changed_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn remove_draft(&self, key: &TemplateKey) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM designer_draft WHERE template_id = $1 AND template_version = $2")
            .bind(key.template_id.as_str())
            .bind(version(key))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn drafts_of(&self, care_unit: &str) -> Result<Vec<StoredDraft>, StoreError> {
        let rows = sqlx::query(
            "SELECT document, changed_by, changed_by_name, changed_at FROM designer_draft \
             WHERE care_unit = $1 ORDER BY template_id, template_version",
        )
        .bind(care_unit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(draft::<DB>).collect()
    }
}
