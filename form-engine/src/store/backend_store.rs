//! The [`FormStore`](super::FormStore) of each backend, written once: a backend's store
//! holds its pool and delivery queue and hands every operation to the queries written once
//! for both backends ([`FormSql`](super::sql::FormSql),
//! [`MigrationSql`](super::migration::sql::MigrationSql)) and to the stores on the same pool.
//! A macro, not a generic, because those queries are provided methods of traits each backend
//! implements: their futures are known to be `Send` only for a named backend.

/// `form_store!(PgStore, sqlx::Postgres, PgDeliveryStore, postgres, the delivery queue's
/// enqueue)` in a backend module, `postgres` naming the backend's module of
/// `common::identity_link`; it also makes the backend's
/// [`InTransaction`](super::follow_up::sql::InTransaction), [`FormSql`](super::sql::FormSql)
/// and the rest.
macro_rules! form_store {
    (
        $store:ident,
        $db:ty,
        $deliveries:ty,
        $links:ident,
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
            use common::identity::PersonalIdentityNumber;
            use common::identity_link::{self, IdentityLink, LinkedBy, StoredLink};
            use common::permissions::{PermissionStore, SqlPermissionStore};
            use std::future::Future;
            use uuid::Uuid;

            use super::*;
            use $crate::domain::form::model::Form;
            use $crate::store::alarm_relay::sql::SqlAlarmRelayStore;
            use $crate::store::designer::sql::SqlDraftStore;
            use $crate::store::follow_up::sql::{InTransaction, SqlFollowUpStore};
            use $crate::store::identity::{LinkTable, SqlIdentityLinks};
            use $crate::store::migration::sql::{MigrationSql, SqlMigration};
            use $crate::store::migration::{FormMigrationStore, MigratedForm};
            use $crate::store::sql::FormSql;
            use $crate::store::{
                Created, Due, FormQuery, FormStore, IdempotentAnswer, NewForms, StoreError,
                StoredTemplate, TemplateHead, TemplateKey, TemplateQuery,
            };

            #[async_trait]
            impl FormStore for $store {
                async fn template_versions(
                    &self,
                    template_id: &str,
                ) -> Result<Vec<TemplateHead>, StoreError> {
                    <$db>::template_versions(&self.pool, template_id).await
                }

                async fn template(
                    &self,
                    key: &TemplateKey,
                ) -> Result<Option<StoredTemplate>, StoreError> {
                    <$db>::template(&self.pool, key).await
                }

                async fn insert_template(
                    &self,
                    template: &StoredTemplate,
                ) -> Result<(), StoreError> {
                    <$db>::insert_template(&self.pool, template).await
                }

                async fn update_template(
                    &self,
                    template: &StoredTemplate,
                ) -> Result<(), StoreError> {
                    <$db>::update_template(&self.pool, template).await
                }

                async fn delete_template(
                    &self,
                    key: &TemplateKey,
                    revision: i64,
                ) -> Result<(), StoreError> {
                    <$db>::delete_template(&self.pool, key, revision).await
                }

                async fn active_forms(&self, key: &TemplateKey) -> Result<u64, StoreError> {
                    <$db>::active_forms(&self.pool, key).await
                }

                async fn find_templates(
                    &self,
                    query: &TemplateQuery,
                ) -> Result<Vec<StoredTemplate>, StoreError> {
                    <$db>::find_templates(&self.pool, query).await
                }

                async fn create_forms_audited(
                    &self,
                    new: &NewForms,
                    audit: &[AuditEvent],
                ) -> Result<Created, StoreError> {
                    <$db>::create_forms(&self.pool, new, audit).await
                }

                async fn idempotent_answer(
                    &self,
                    scope: &str,
                    key: &str,
                ) -> Result<Option<IdempotentAnswer>, StoreError> {
                    <$db>::idempotent_answer(&self.pool, scope, key).await
                }

                async fn form(&self, id: Uuid) -> Result<Option<Form>, StoreError> {
                    <$db>::form(&self.pool, id).await
                }

                async fn update_form_notifying(
                    &self,
                    form: &Form,
                    deliveries: &[NewDelivery],
                    audit: &[AuditEvent],
                ) -> Result<(), StoreError> {
                    <$db>::update_form(&self.pool, form, deliveries, audit).await
                }

                async fn delete_form_notifying(
                    &self,
                    id: Uuid,
                    revision: i64,
                    deliveries: &[NewDelivery],
                    audit: &[AuditEvent],
                ) -> Result<(), StoreError> {
                    <$db>::delete_form(&self.pool, id, revision, deliveries, audit).await
                }

                async fn find_forms(&self, query: &FormQuery) -> Result<Vec<Form>, StoreError> {
                    <$db>::find_forms(&self.pool, query).await
                }

                async fn due_forms(&self, due: Due, limit: u32) -> Result<Vec<Form>, StoreError> {
                    <$db>::due_forms(&self.pool, due, limit).await
                }

                async fn forget_idempotent_answers(
                    &self,
                    before: DateTime<Utc>,
                ) -> Result<u64, StoreError> {
                    <$db>::forget_idempotent_answers(&self.pool, before).await
                }

                fn deliveries(&self) -> Arc<dyn DeliveryStore> {
                    Arc::clone(&self.deliveries) as Arc<dyn DeliveryStore>
                }

                fn retention(&self) -> Vec<Arc<dyn common::retention::Sweep>> {
                    $crate::store::retention::sweeps(self.pool.clone(), self.deliveries())
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
                    Arc::new(SqlIdentityLinks::<$db>::new(self.pool.clone()))
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
                    Arc::new(SqlMigration::<$db>::new(self.pool.clone()))
                }
            }

            impl FormSql for $db {}

            impl MigrationSql for $db {}

            impl LinkTable for $db {
                fn resolve<'a>(
                    connection: &'a mut <$db as sqlx::Database>::Connection,
                    number: &'a PersonalIdentityNumber,
                ) -> impl Future<Output = Result<Option<PersonalIdentityNumber>, sqlx::Error>>
                + Send
                + 'a {
                    identity_link::$links::resolve(connection, number)
                }

                fn record<'a>(
                    connection: &'a mut <$db as sqlx::Database>::Connection,
                    link: &'a IdentityLink,
                    by: &'a LinkedBy,
                    at: DateTime<Utc>,
                ) -> impl Future<Output = Result<(), sqlx::Error>> + Send + 'a {
                    identity_link::$links::record(connection, link, by, at)
                }

                fn links_of<'a>(
                    connection: &'a mut <$db as sqlx::Database>::Connection,
                    number: &'a PersonalIdentityNumber,
                ) -> impl Future<Output = Result<Vec<StoredLink>, sqlx::Error>> + Send + 'a {
                    identity_link::$links::links_of(connection, number)
                }
            }

            #[async_trait]
            impl FormMigrationStore for SqlMigration<$db> {
                async fn upsert_templates(
                    &self,
                    templates: &[StoredTemplate],
                ) -> Result<u64, StoreError> {
                    <$db>::upsert_templates(&self.pool, templates).await
                }

                async fn templates_after(
                    &self,
                    after: Option<&TemplateKey>,
                    limit: u32,
                ) -> Result<Vec<StoredTemplate>, StoreError> {
                    <$db>::templates_after(&self.pool, after, limit).await
                }

                async fn upsert_forms(&self, forms: &[MigratedForm]) -> Result<u64, StoreError> {
                    <$db>::upsert_forms(&self.pool, forms).await
                }

                async fn forms_after(
                    &self,
                    after: Option<Uuid>,
                    limit: u32,
                ) -> Result<Vec<MigratedForm>, StoreError> {
                    <$db>::forms_after(&self.pool, after, limit).await
                }
            }

            impl InTransaction for $db {
                fn update_in_notifying<'a>(
                    connection: &'a mut <$db as sqlx::Database>::Connection,
                    form: &'a Form,
                    deliveries: &'a [NewDelivery],
                    audit: &'a [AuditEvent],
                ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send + 'a {
                    <$db>::update_form_in(connection, form, deliveries, audit)
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
