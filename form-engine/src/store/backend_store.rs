//! The [`FormStore`](super::FormStore) of each backend, written once: a backend's store
//! holds its pool and delivery queue and hands every operation to that backend's `forms`,
//! `templates` and `retention` modules and to the stores on the same pool. A macro, not a
//! generic, because those three modules are still written per backend (their queries differ:
//! arrays and JSON operators, `FOR UPDATE SKIP LOCKED`).

/// `form_store!(PgStore, sqlx::Postgres, PgDeliveryStore, identity links, migration store,
/// the delivery queue's enqueue)` in a backend module that has `forms`, `templates` and
/// `retention`; it also makes the backend's [`InTransaction`](super::follow_up::sql::InTransaction).
macro_rules! form_store {
    (
        $store:ident,
        $db:ty,
        $deliveries:ty,
        $identity:ty,
        $migration:ty,
        $enqueue:path $(,)?
    ) => {
        pub struct $store {
            pool: sqlx::Pool<$db>,
            deliveries: std::sync::Arc<$deliveries>,
        }

        impl $store {
            pub fn new(pool: sqlx::Pool<$db>) -> Self {
                Self {
                    deliveries: std::sync::Arc::new(<$deliveries>::new(pool.clone())),
                    pool,
                }
            }
        }

        mod form_store {
            use std::sync::Arc;

            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use common::audit::{AuditEvent, AuditStore, SqlAuditStore};
            use common::delivery::DeliveryError;
            use common::delivery::{DeliveryStore, NewDelivery};
            use common::installation::{InstallationStore, SqlInstallationStore};
            use common::permissions::{PermissionStore, SqlPermissionStore};
            use uuid::Uuid;

            use super::*;
            use $crate::domain::form::model::Form;
            use $crate::store::alarm_relay::sql::SqlAlarmRelayStore;
            use $crate::store::designer::sql::SqlDraftStore;
            use $crate::store::follow_up::sql::{InTransaction, SqlFollowUpStore};
            use $crate::store::{
                Created, Due, FormQuery, FormStore, IdempotentAnswer, NewForms, StoreError,
                StoredTemplate, TemplateHead, TemplateKey, TemplateQuery,
            };

            #[async_trait]
            impl FormStore for $store {
                async fn ping(&self) -> Result<(), StoreError> {
                    sqlx::query("SELECT 1").execute(&self.pool).await?;
                    Ok(())
                }

                async fn template_versions(
                    &self,
                    template_id: &str,
                ) -> Result<Vec<TemplateHead>, StoreError> {
                    templates::versions(&self.pool, template_id).await
                }

                async fn template(
                    &self,
                    key: &TemplateKey,
                ) -> Result<Option<StoredTemplate>, StoreError> {
                    templates::one(&self.pool, key).await
                }

                async fn insert_template(
                    &self,
                    template: &StoredTemplate,
                ) -> Result<(), StoreError> {
                    templates::insert(&self.pool, template).await
                }

                async fn update_template(
                    &self,
                    template: &StoredTemplate,
                ) -> Result<(), StoreError> {
                    templates::update(&self.pool, template).await
                }

                async fn delete_template(
                    &self,
                    key: &TemplateKey,
                    revision: i64,
                ) -> Result<(), StoreError> {
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

                async fn forget_idempotent_answers(
                    &self,
                    before: DateTime<Utc>,
                ) -> Result<u64, StoreError> {
                    forms::forget(&self.pool, before).await
                }

                fn deliveries(&self) -> Arc<dyn DeliveryStore> {
                    Arc::clone(&self.deliveries) as Arc<dyn DeliveryStore>
                }

                fn retention(&self) -> Vec<Arc<dyn common::retention::Sweep>> {
                    retention::sweeps(self.pool.clone(), self.deliveries())
                }

                fn permission_store(&self) -> Arc<dyn PermissionStore> {
                    Arc::new(SqlPermissionStore::<$db>::new(self.pool.clone()))
                }

                fn audit_store(&self) -> Arc<dyn AuditStore> {
                    Arc::new(SqlAuditStore::<$db>::new(self.pool.clone()))
                }

                fn installation_store(&self) -> Arc<dyn InstallationStore> {
                    Arc::new(SqlInstallationStore::<$db>::new(self.pool.clone()))
                }

                fn identity_links(&self) -> Arc<dyn $crate::store::identity::FormIdentityLinks> {
                    Arc::new(<$identity>::new(self.pool.clone()))
                }

                fn follow_up(&self) -> Arc<dyn $crate::store::follow_up::FollowUpStore> {
                    Arc::new(SqlFollowUpStore::<$db>::new(self.pool.clone()))
                }

                fn alarm_relay(&self) -> Arc<dyn $crate::store::alarm_relay::AlarmRelayStore> {
                    Arc::new(SqlAlarmRelayStore::<$db>::new(self.pool.clone()))
                }

                fn designer_drafts(&self) -> Arc<dyn $crate::store::designer::DraftStore> {
                    Arc::new(SqlDraftStore::<$db>::new(self.pool.clone()))
                }

                fn migration(&self) -> Arc<dyn $crate::store::migration::FormMigrationStore> {
                    Arc::new(<$migration>::new(self.pool.clone()))
                }
            }

            impl InTransaction for $db {
                fn update_in_notifying<'a>(
                    connection: &'a mut <$db as sqlx::Database>::Connection,
                    form: &'a Form,
                    deliveries: &'a [NewDelivery],
                    audit: &'a [AuditEvent],
                ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send + 'a {
                    forms::update_in_notifying(connection, form, deliveries, audit)
                }

                fn enqueue<'a>(
                    connection: &'a mut <$db as sqlx::Database>::Connection,
                    deliveries: &'a [NewDelivery],
                    now: DateTime<Utc>,
                ) -> impl std::future::Future<Output = Result<(), DeliveryError>> + Send + 'a
                {
                    $enqueue(connection, deliveries, now)
                }
            }
        }
    };
}
