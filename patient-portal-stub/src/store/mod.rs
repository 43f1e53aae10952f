//! Where test citizens, inbox messages, simulated notifications and web sessions are kept: one
//! trait, one implementation for SQLite and PostgreSQL ([`SqlStore`]), chosen by the database URL.

mod backend;
mod rows;
mod sql;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use common::audit::{AuditError, AuditEvent, AuditStore};
use common::config::DatabaseConfig;
use common::db::{ConfiguredPool, DatabaseError};
use common::identity::PersonalIdentityNumber;
use common::installation::InstallationStore;
use common::permissions::PermissionStore;
use std::sync::LazyLock;

use sqlx::migrate::Migrator;

use crate::domain::citizen::{Citizen, CitizenId, CitizenProfile};
use crate::domain::message::{InboxMessage, MessageId};
use crate::domain::notification::Notification;
pub use crate::domain::session::WebSession;

pub use backend::Backend;
pub use sql::{PgStore, SqlStore, SqliteStore};

/// This service's tables and common's (permissions, audit, installation) at the
/// versions this service's history gives them (common::schema).
static SQLITE_MIGRATIONS: LazyLock<Migrator> = LazyLock::new(|| {
    common::schema::sqlite(
        &sqlx::migrate!("migrations/sqlite"),
        &[
            (2, "permissions"),
            (3, "audit"),
            (4, "security times as text"),
            (5, "installation"),
        ],
    )
});
static POSTGRES_MIGRATIONS: LazyLock<Migrator> = LazyLock::new(|| {
    common::schema::postgres(
        &sqlx::migrate!("migrations/postgres"),
        &[
            (2, "permissions"),
            (3, "audit"),
            (5, "installation"),
            (70, "audit partitioned"),
        ],
    )
});

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A create collided with an existing row (a citizen's personal identity number is taken).
    #[error("already exists")]
    Conflict,
    /// A stored value no longer reads as its type: a bug or a hand-edited database.
    #[error("unreadable stored value in {0}")]
    Corrupt(&'static str),
    /// The audit rows of a change could not be written (nothing was kept).
    #[error(transparent)]
    Audit(#[from] AuditError),
}

#[async_trait]
pub trait PortalStore: Send + Sync + 'static {
    /// Creates each configured citizen that is missing and resets the others (matched by
    /// personal identity number, keeping their ids) to their configured values. Citizens the
    /// configuration does not name are left alone.
    async fn apply_configured_citizens(
        &self,
        profiles: &[CitizenProfile],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Every citizen, by name.
    async fn citizens(&self) -> Result<Vec<Citizen>, StoreError>;

    async fn citizen(&self, id: CitizenId) -> Result<Option<Citizen>, StoreError>;

    async fn citizen_by_personal_identity_number(
        &self,
        number: &PersonalIdentityNumber,
    ) -> Result<Option<Citizen>, StoreError>;

    /// [`StoreError::Conflict`] when the personal identity number is taken.
    async fn create_citizen(&self, citizen: &Citizen, now: DateTime<Utc>)
    -> Result<(), StoreError>;

    /// Replaces everything but the id and the personal identity number; false when unknown.
    async fn update_citizen(
        &self,
        citizen: &Citizen,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Deletes the citizen with their messages, notifications and sessions; false when unknown.
    async fn delete_citizen(&self, id: CitizenId) -> Result<bool, StoreError>;

    /// Keeps a message and the notifications it causes, in one transaction.
    async fn add_message(
        &self,
        message: &InboxMessage,
        notifications: &[Notification],
    ) -> Result<(), StoreError> {
        self.add_message_audited(message, notifications, &[]).await
    }

    /// Keeps a message, the notifications it causes and the audit rows of the request, in
    /// one transaction.
    async fn add_message_audited(
        &self,
        message: &InboxMessage,
        notifications: &[Notification],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError>;

    /// The citizen's messages not expired on `today`, newest first.
    async fn inbox(
        &self,
        citizen: CitizenId,
        today: NaiveDate,
    ) -> Result<Vec<InboxMessage>, StoreError>;

    /// The citizen's message, marked read at `now` the first time it is opened; `None` when
    /// it is not theirs, unknown or expired on `today`.
    async fn open_message(
        &self,
        citizen: CitizenId,
        message: MessageId,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Option<InboxMessage>, StoreError>;

    /// The newest `limit` simulated notifications, of one citizen or of all.
    async fn notifications(
        &self,
        citizen: Option<CitizenId>,
        limit: u32,
    ) -> Result<Vec<Notification>, StoreError>;

    async fn create_session(&self, session: &WebSession) -> Result<(), StoreError>;

    /// The session with this hash unless it has expired at `now`.
    async fn session(
        &self,
        session_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<WebSession>, StoreError>;

    /// Moves a session's expiry (each page a citizen opens keeps the session alive).
    async fn extend_session(
        &self,
        session_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn delete_session(&self, session_hash: &str) -> Result<(), StoreError>;

    /// Removes sessions expired at `now`; how many.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// The permission table (`auth_permission`) on the same database.
    fn permission_store(&self) -> Arc<dyn PermissionStore>;

    /// The audit log (`audit_event`) on the same database.
    fn audit_store(&self) -> Arc<dyn AuditStore>;

    /// The installation's mode and migration keys on the same database.
    fn installation_store(&self) -> Arc<dyn InstallationStore>;

    /// What the retention job maintains on the same database (PostgreSQL: the audit log's
    /// monthly partitions).
    fn retention(&self) -> Vec<Arc<dyn common::retention::Sweep>>;
}

/// Opens the configured database, creating and migrating it as needed.
pub async fn open(
    config: &DatabaseConfig,
) -> Result<(Arc<dyn PortalStore>, String), DatabaseError> {
    let (store, description, _) = open_with_readiness(config).await?;
    Ok((store, description))
}

/// [`open`], with the check of `/health/ready` on the same pool.
pub async fn open_with_readiness(
    config: &DatabaseConfig,
) -> Result<(Arc<dyn PortalStore>, String, common::db::PoolReadiness), DatabaseError> {
    let opened = common::db::open_configured(
        config,
        "patient-portal-stub.sqlite",
        &SQLITE_MIGRATIONS,
        &POSTGRES_MIGRATIONS,
    )
    .await?;
    let store: Arc<dyn PortalStore> = match opened.pool {
        ConfiguredPool::Sqlite(pool) => Arc::new(SqliteStore::new(pool)),
        ConfiguredPool::Postgres(pool) => Arc::new(PgStore::new(pool)),
    };
    Ok((store, opened.description, opened.readiness))
}
