//! The SQLite store: the embedded default.

mod alarm_relay;
mod designer;
mod follow_up;
mod forms;
mod identity;
mod migration;
mod retention;
mod templates;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use common::audit::{AuditEvent, AuditStore, SqliteAuditStore};
use common::delivery::{DeliveryStore, NewDelivery, SqliteDeliveryStore};
use common::installation::{InstallationStore, SqliteInstallationStore};
use common::permissions::{PermissionStore, SqlitePermissionStore};
use sqlx::SqlitePool;
use uuid::Uuid;

use super::{
    Created, Due, FormQuery, FormStore, IdempotentAnswer, NewForms, StoreError, StoredTemplate,
    TemplateHead, TemplateKey, TemplateQuery,
};
use crate::domain::form::model::Form;

pub struct SqliteStore {
    pool: SqlitePool,
    deliveries: Arc<SqliteDeliveryStore>,
}

impl SqliteStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self {
            deliveries: Arc::new(SqliteDeliveryStore::new(pool.clone())),
            pool,
        }
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

    async fn active_forms(&self, key: &TemplateKey) -> Result<u64, StoreError> {
        forms::active(&self.pool, key).await
    }

    async fn find_templates(
        &self,
        query: &TemplateQuery,
    ) -> Result<Vec<StoredTemplate>, StoreError> {
        templates::find(&self.pool, query).await
    }

    async fn create_forms_audited(
        &self,
        new: &NewForms,
        audit: &[AuditEvent],
    ) -> Result<Created, StoreError> {
        forms::create(&self.pool, new, audit).await
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

    async fn update_form_notifying(
        &self,
        form: &Form,
        deliveries: &[NewDelivery],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        forms::update(&self.pool, form, deliveries, audit).await
    }

    async fn delete_form_notifying(
        &self,
        id: Uuid,
        revision: i64,
        deliveries: &[NewDelivery],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        forms::delete(&self.pool, id, revision, deliveries, audit).await
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

    fn retention(&self) -> Vec<Arc<dyn common::retention::Sweep>> {
        retention::sweeps(self.pool.clone(), self.deliveries())
    }

    fn permission_store(&self) -> Arc<dyn PermissionStore> {
        Arc::new(SqlitePermissionStore::new(self.pool.clone()))
    }

    fn audit_store(&self) -> Arc<dyn AuditStore> {
        Arc::new(SqliteAuditStore::new(self.pool.clone()))
    }

    fn installation_store(&self) -> Arc<dyn InstallationStore> {
        Arc::new(SqliteInstallationStore::new(self.pool.clone()))
    }

    fn identity_links(&self) -> Arc<dyn super::identity::FormIdentityLinks> {
        Arc::new(identity::SqliteIdentityLinks::new(self.pool.clone()))
    }

    fn follow_up(&self) -> Arc<dyn crate::store::follow_up::FollowUpStore> {
        Arc::new(follow_up::SqliteFollowUpStore::new(self.pool.clone()))
    }

    fn alarm_relay(&self) -> Arc<dyn crate::store::alarm_relay::AlarmRelayStore> {
        Arc::new(alarm_relay::SqliteAlarmRelayStore::new(self.pool.clone()))
    }

    fn designer_drafts(&self) -> Arc<dyn crate::store::designer::DraftStore> {
        Arc::new(designer::SqliteDraftStore::new(self.pool.clone()))
    }

    fn migration(&self) -> Arc<dyn crate::store::migration::FormMigrationStore> {
        Arc::new(migration::SqliteMigration::new(self.pool.clone()))
    }
}
