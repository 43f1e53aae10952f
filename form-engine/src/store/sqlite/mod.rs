//! The SQLite store: the embedded default.

mod templates;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::SqlitePool;

use super::{FormStore, StoreError, StoredTemplate, TemplateHead, TemplateKey, TemplateQuery};

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

/// Times are stored as RFC 3339 UTC text with a fixed width, so text order is time order.
pub(super) fn time_text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(super) fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("stored time `{text}`: {e}")))
}

#[async_trait]
impl FormStore for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn template_versions(&self, template_id: &str) -> Result<Vec<TemplateHead>, StoreError> {
        templates::versions(&self.pool, template_id).await
    }

    async fn template(&self, key: &TemplateKey) -> Result<Option<StoredTemplate>, StoreError> {
        templates::one(&self.pool, key).await
    }

    async fn insert_template(&self, template: &StoredTemplate) -> Result<(), StoreError> {
        templates::insert(&self.pool, template).await
    }

    async fn update_template(&self, template: &StoredTemplate) -> Result<(), StoreError> {
        templates::update(&self.pool, template).await
    }

    async fn delete_template(&self, key: &TemplateKey, revision: i64) -> Result<(), StoreError> {
        templates::delete(&self.pool, key, revision).await
    }

    async fn active_forms(&self, _key: &TemplateKey) -> Result<u64, StoreError> {
        // Forms are not stored yet (the forms table comes with the form lifecycle).
        Ok(0)
    }

    async fn find_templates(
        &self,
        query: &TemplateQuery,
    ) -> Result<Vec<StoredTemplate>, StoreError> {
        templates::find(&self.pool, query).await
    }
}
