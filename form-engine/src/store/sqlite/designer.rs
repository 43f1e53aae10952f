//! The designer's working copies in SQLite.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row as _, SqlitePool};

use super::{parse_time, time_text};
use crate::store::designer::{DraftStore, StoredDraft};
use crate::store::{StoreError, TemplateKey};

pub struct SqliteDraftStore {
    pool: SqlitePool,
}

impl SqliteDraftStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

fn draft(row: &SqliteRow) -> Result<StoredDraft, StoreError> {
    let document: String = row.try_get("document")?;
    Ok(StoredDraft {
        template: serde_json::from_str(&document)
            .map_err(|e| StoreError::Corrupt(format!("a designer draft: {e}")))?,
        changed_by: row.try_get("changed_by")?,
        changed_by_name: row.try_get("changed_by_name")?,
        changed_at: parse_time(&row.try_get::<String, _>("changed_at")?)?,
    })
}

#[async_trait]
impl DraftStore for SqliteDraftStore {
    async fn draft(&self, key: &TemplateKey) -> Result<Option<StoredDraft>, StoreError> {
        let row = sqlx::query(
            "SELECT document, changed_by, changed_by_name, changed_at FROM designer_draft \
             WHERE template_id = ? AND template_version = ?",
        )
        .bind(&key.template_id)
        .bind(i64::from(key.template_version))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(draft).transpose()
    }

    async fn put_draft(&self, stored: &StoredDraft) -> Result<(), StoreError> {
        let document = serde_json::to_string(&stored.template)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO designer_draft (template_id, template_version, care_unit, document, \
             changed_by, changed_by_name, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (template_id, template_version) DO UPDATE SET \
             care_unit = excluded.care_unit, document = excluded.document, \
             changed_by = excluded.changed_by, changed_by_name = excluded.changed_by_name, \
             changed_at = excluded.changed_at",
        )
        .bind(&stored.template.template_id)
        .bind(i64::from(stored.template.version()))
        .bind(stored.template.health_care_facility_unit.as_str())
        .bind(document)
        .bind(&stored.changed_by)
        .bind(&stored.changed_by_name)
        .bind(time_text(stored.changed_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn remove_draft(&self, key: &TemplateKey) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM designer_draft WHERE template_id = ? AND template_version = ?")
            .bind(&key.template_id)
            .bind(i64::from(key.template_version))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn drafts_of(&self, care_unit: &str) -> Result<Vec<StoredDraft>, StoreError> {
        let rows = sqlx::query(
            "SELECT document, changed_by, changed_by_name, changed_at FROM designer_draft \
             WHERE care_unit = ? ORDER BY template_id, template_version",
        )
        .bind(care_unit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(draft).collect()
    }
}
