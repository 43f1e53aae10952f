//! The designer's working copies in PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgPool, Row as _};

use crate::domain::template::FormTemplate;
use crate::store::designer::{DraftStore, StoredDraft};
use crate::store::{StoreError, TemplateKey};

pub struct PgDraftStore {
    pool: PgPool,
}

impl PgDraftStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn draft(row: &PgRow) -> Result<StoredDraft, StoreError> {
    let Json(template): Json<FormTemplate> = row
        .try_get("document")
        .map_err(|e| StoreError::Corrupt(format!("a designer draft: {e}")))?;
    Ok(StoredDraft {
        template,
        changed_by: row.try_get("changed_by")?,
        changed_by_name: row.try_get("changed_by_name")?,
        changed_at: row.try_get::<DateTime<Utc>, _>("changed_at")?,
    })
}

fn version(key: &TemplateKey) -> i32 {
    i32::try_from(key.template_version).unwrap_or(i32::MAX)
}

#[async_trait]
impl DraftStore for PgDraftStore {
    async fn draft(&self, key: &TemplateKey) -> Result<Option<StoredDraft>, StoreError> {
        let row = sqlx::query(
            "SELECT document, changed_by, changed_by_name, changed_at FROM designer_draft \
             WHERE template_id = $1 AND template_version = $2",
        )
        .bind(&key.template_id)
        .bind(version(key))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(draft).transpose()
    }

    async fn put_draft(&self, stored: &StoredDraft) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO designer_draft (template_id, template_version, care_unit, document, \
             changed_by, changed_by_name, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (template_id, template_version) DO UPDATE SET \
             care_unit = EXCLUDED.care_unit, document = EXCLUDED.document, \
             changed_by = EXCLUDED.changed_by, changed_by_name = EXCLUDED.changed_by_name, \
             changed_at = EXCLUDED.changed_at",
        )
        .bind(&stored.template.template_id)
        .bind(version(&stored.key()))
        .bind(stored.template.health_care_facility_unit.as_str())
        .bind(Json(&stored.template))
        .bind(&stored.changed_by)
        .bind(&stored.changed_by_name)
        .bind(stored.changed_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn remove_draft(&self, key: &TemplateKey) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM designer_draft WHERE template_id = $1 AND template_version = $2")
            .bind(&key.template_id)
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
        rows.iter().map(draft).collect()
    }
}
