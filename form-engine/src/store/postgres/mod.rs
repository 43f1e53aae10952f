//! The PostgreSQL store: for production.

mod forms;
mod templates;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::delivery::{DeliveryStore, NewDelivery, PgDeliveryStore};
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    Created, Due, FormQuery, FormStore, IdempotentAnswer, NewForms, StoreError, StoredTemplate,
    TemplateHead, TemplateKey, TemplateQuery,
};
use crate::domain::form::model::Form;

pub struct PgStore {
    pool: PgPool,
    deliveries: Arc<PgDeliveryStore>,
}

impl PgStore {
    pub fn new(pool: PgPool) -> Self {
        Self {
            deliveries: Arc::new(PgDeliveryStore::new(pool.clone())),
            pool,
        }
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

    async fn active_forms(&self, key: &TemplateKey) -> Result<u64, StoreError> {
        forms::active(&self.pool, key).await
    }

    async fn find_templates(
        &self,
        query: &TemplateQuery,
    ) -> Result<Vec<StoredTemplate>, StoreError> {
        templates::find(&self.pool, query).await
    }

    async fn create_forms(&self, new: &NewForms) -> Result<Created, StoreError> {
        forms::create(&self.pool, new).await
    }

    async fn idempotent_answer(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotentAnswer>, StoreError> {
        forms::idempotent_answer(&self.pool, scope, key).await
    }

    async fn form(&self, id: Uuid) -> Result<Option<Form>, StoreError> {
        forms::one(&self.pool, id).await
    }

    async fn update_form(
        &self,
        form: &Form,
        delivery: Option<&NewDelivery>,
    ) -> Result<(), StoreError> {
        forms::update(&self.pool, form, delivery).await
    }

    async fn delete_form(
        &self,
        id: Uuid,
        revision: i64,
        delivery: Option<&NewDelivery>,
    ) -> Result<(), StoreError> {
        forms::delete(&self.pool, id, revision, delivery).await
    }

    async fn find_forms(&self, query: &FormQuery) -> Result<Vec<Form>, StoreError> {
        forms::find(&self.pool, query).await
    }

    async fn due_forms(&self, due: Due, limit: u32) -> Result<Vec<Form>, StoreError> {
        forms::due(&self.pool, due, limit).await
    }

    async fn forget_idempotent_answers(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        forms::forget(&self.pool, before).await
    }

    fn deliveries(&self) -> Arc<dyn DeliveryStore> {
        Arc::clone(&self.deliveries) as Arc<dyn DeliveryStore>
    }
}
