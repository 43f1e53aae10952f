//! The PostgreSQL store: for production.

mod templates;

use async_trait::async_trait;
use sqlx::PgPool;

use super::{FormStore, StoreError, StoredTemplate, TemplateHead, TemplateKey, TemplateQuery};

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl FormStore for PgStore {
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
