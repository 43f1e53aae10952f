//! Where templates, forms and pending index posts are kept: one trait, a SQLite and
//! a PostgreSQL implementation, chosen by the database URL.

pub mod alarm_relay;
#[macro_use]
mod backend_store;
pub mod designer;
pub mod follow_up;
mod forms;
pub mod identity;
pub mod migration;
mod postgres;
mod retention;
mod sql;
mod sqlite;
mod templates;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::audit::{AuditError, AuditEvent, AuditStore};
use common::delivery::{DeliveryStore, NewDelivery};
use common::installation::InstallationStore;
use common::permissions::PermissionStore;
use uuid::Uuid;

use crate::domain::form::model::Form;
use common::config::DatabaseConfig;
use common::db::{ConfiguredPool, DatabaseError};
use std::sync::LazyLock;

use sqlx::migrate::Migrator;

pub use forms::{Created, Due, FormQuery, IdempotentAnswer, NewForms};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use templates::{StoredTemplate, TemplateHead, TemplateKey, TemplateQuery};

/// This service's tables and common's (permissions, audit, installation, delivery) at the
/// versions this service's history gives them (common::schema).
static SQLITE_MIGRATIONS: LazyLock<Migrator> = LazyLock::new(|| {
    common::schema::sqlite(
        &sqlx::migrate!("migrations/sqlite"),
        common::schema::ENGINE_AND_INDEX_SQLITE,
    )
});
static POSTGRES_MIGRATIONS: LazyLock<Migrator> = LazyLock::new(|| {
    common::schema::postgres(
        &sqlx::migrate!("migrations/postgres"),
        common::schema::ENGINE_AND_INDEX_POSTGRES,
    )
});

/// Every migration of a PostgreSQL database, in order (for tools that prepare or check a
/// database at a given version).
#[must_use]
pub fn postgres_migrations() -> &'static Migrator {
    &POSTGRES_MIGRATIONS
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The row was changed or created by someone else since it was read.
    #[error("the row changed concurrently")]
    Conflict,
    /// A stored document no longer reads as the model (a bug or a hand-edited row).
    #[error("a stored document does not read: {0}")]
    Corrupt(String),
    /// The audit rows of a change could not be written (nothing was stored).
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// A database that did not answer in time (`common::db::ResponseTimeout`): an I/O time-out, as
/// the connection's own would be, and answered 503 like one.
impl From<common::db::Unavailable> for StoreError {
    fn from(silence: common::db::Unavailable) -> Self {
        Self::Database(silence.into())
    }
}

impl StoreError {
    /// A unique-key violation is a concurrent insert of the same key.
    pub(crate) fn from_insert(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(e) if e.is_unique_violation() => Self::Conflict,
            _ => Self::Database(error),
        }
    }
}

#[async_trait]
pub trait FormStore: Send + Sync + 'static {
    /// Every stored version of a template id, deleted ones included, in version order,
    /// without their documents.
    async fn template_versions(&self, template_id: &str) -> Result<Vec<TemplateHead>, StoreError>;

    /// One version, deleted or not.
    async fn template(&self, key: &TemplateKey) -> Result<Option<StoredTemplate>, StoreError>;

    /// Stores a new version; [`StoreError::Conflict`] when the version exists.
    async fn insert_template(&self, template: &StoredTemplate) -> Result<(), StoreError>;

    /// Replaces a version's document and status if its revision is still
    /// `template.revision - 1`; else [`StoreError::Conflict`].
    async fn update_template(&self, template: &StoredTemplate) -> Result<(), StoreError>;

    /// Marks a version deleted if its revision is still `revision`; else
    /// [`StoreError::Conflict`].
    async fn delete_template(&self, key: &TemplateKey, revision: i64) -> Result<(), StoreError>;

    /// How many forms made from a template version are not completed yet.
    async fn active_forms(&self, key: &TemplateKey) -> Result<u64, StoreError>;

    /// Versions that are not deleted and match `query`, by template id then version.
    async fn find_templates(
        &self,
        query: &TemplateQuery,
    ) -> Result<Vec<StoredTemplate>, StoreError>;

    /// Stores new forms, their outbox row and the idempotent answer in one transaction.
    async fn create_forms(&self, new: &NewForms) -> Result<Created, StoreError> {
        self.create_forms_audited(new, &[]).await
    }

    /// As [`Self::create_forms`], with the audit rows of the request in the same transaction.
    async fn create_forms_audited(
        &self,
        new: &NewForms,
        audit: &[AuditEvent],
    ) -> Result<Created, StoreError>;

    /// The earlier answer to a request with this Idempotency-Key, and that request.
    async fn idempotent_answer(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotentAnswer>, StoreError>;

    async fn form(&self, id: Uuid) -> Result<Option<Form>, StoreError>;

    /// Writes a changed form if its stored revision is still `form.revision - 1`, with its
    /// outbox row in the same transaction; else [`StoreError::Conflict`].
    async fn update_form(
        &self,
        form: &Form,
        delivery: Option<&NewDelivery>,
    ) -> Result<(), StoreError> {
        self.update_form_audited(form, delivery, &[]).await
    }

    /// As [`Self::update_form`], with the audit rows of the request in the same transaction.
    async fn update_form_audited(
        &self,
        form: &Form,
        delivery: Option<&NewDelivery>,
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        let deliveries = delivery.map(std::slice::from_ref).unwrap_or_default();
        self.update_form_notifying(form, deliveries, audit).await
    }

    /// As [`Self::update_form_audited`], with any number of outbox rows (to the index and to
    /// care systems notified directly).
    async fn update_form_notifying(
        &self,
        form: &Form,
        deliveries: &[NewDelivery],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError>;

    /// Deletes a form if its stored revision is still `revision`, with its outbox row in the
    /// same transaction; else [`StoreError::Conflict`].
    async fn delete_form(
        &self,
        id: Uuid,
        revision: i64,
        delivery: Option<&NewDelivery>,
    ) -> Result<(), StoreError> {
        self.delete_form_audited(id, revision, delivery, &[]).await
    }

    /// As [`Self::delete_form`], with the audit rows of the request in the same transaction.
    async fn delete_form_audited(
        &self,
        id: Uuid,
        revision: i64,
        delivery: Option<&NewDelivery>,
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        let deliveries = delivery.map(std::slice::from_ref).unwrap_or_default();
        self.delete_form_notifying(id, revision, deliveries, audit)
            .await
    }

    /// As [`Self::delete_form_audited`], with any number of outbox rows.
    async fn delete_form_notifying(
        &self,
        id: Uuid,
        revision: i64,
        deliveries: &[NewDelivery],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError>;

    /// Forms matching `query`, newest first, at most `query.limit`.
    async fn find_forms(&self, query: &FormQuery) -> Result<Vec<Form>, StoreError>;

    /// Up to `limit` forms the background job should handle.
    async fn due_forms(&self, due: Due, limit: u32) -> Result<Vec<Form>, StoreError>;

    /// Forgets idempotent answers given before `before`; returns how many.
    async fn forget_idempotent_answers(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// The delivery queue in the same database (the outbox of engagement-index posts).
    fn deliveries(&self) -> Arc<dyn DeliveryStore>;

    /// What the retention job cleans on the same database: delivered posts and notifications,
    /// alarm-feed entries the relay has passed.
    fn retention(&self) -> Vec<Arc<dyn common::retention::Sweep>>;

    /// The permission table (`auth_permission`) on the same database.
    fn permission_store(&self) -> Arc<dyn PermissionStore>;

    /// The audit log (`audit_event`) on the same database.
    fn audit_store(&self) -> Arc<dyn AuditStore>;

    /// The installation's mode and migration keys on the same database.
    fn installation_store(&self) -> Arc<dyn InstallationStore>;

    /// Identity links (the link table and the moves of forms) on the same database.
    fn identity_links(&self) -> Arc<dyn identity::FormIdentityLinks>;

    /// Alarms and reminders (docs/follow-up.md) on the same database.
    fn follow_up(&self) -> Arc<dyn follow_up::FollowUpStore>;

    /// The cursor of the alarm relay to care systems notified directly, on the same database.
    fn alarm_relay(&self) -> Arc<dyn alarm_relay::AlarmRelayStore>;

    /// The form designer's working copies (docs/designer.md) on the same database.
    fn designer_drafts(&self) -> Arc<dyn designer::DraftStore>;

    /// The initial load's writes and the export's reads (docs/migration.md) on the same
    /// database.
    fn migration(&self) -> Arc<dyn migration::FormMigrationStore>;
}

/// Opens the configured database, creating and migrating it as needed.
pub async fn open(config: &DatabaseConfig) -> Result<(Arc<dyn FormStore>, String), DatabaseError> {
    let (store, description, _) = open_with_readiness(config).await?;
    Ok((store, description))
}

/// [`open`], with the check of `/health/ready` on the same pool.
pub async fn open_with_readiness(
    config: &DatabaseConfig,
) -> Result<(Arc<dyn FormStore>, String, common::db::PoolReadiness), DatabaseError> {
    let opened = common::db::open_configured(
        config,
        "form-engine.sqlite",
        &SQLITE_MIGRATIONS,
        &POSTGRES_MIGRATIONS,
    )
    .await?;
    let store: Arc<dyn FormStore> = match opened.pool {
        ConfiguredPool::Sqlite(pool) => Arc::new(SqliteStore::new(pool)),
        ConfiguredPool::Postgres(pool) => Arc::new(PgStore::new(pool)),
    };
    Ok((store, opened.description, opened.readiness))
}
