//! Where engagements, subscribers and pending notifications are kept: one trait, a SQLite and
//! a PostgreSQL implementation, chosen by the database URL.

/// The engagement store `$store` on backend `$db`: the rows go through its group commit,
/// FindContent through its own `find`, GetUpdates is the shared read (reads.rs), and the other
/// stores it hands out share its pool.
macro_rules! engagement_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl crate::store::EngagementStore for $store {
            async fn apply(
                &self,
                rules: &dyn crate::domain::ChangeRules,
                context: &crate::store::OutboxContext,
            ) -> Result<crate::store::AppliedChanges, crate::store::StoreError> {
                self.group.apply(rules, context).await
            }

            async fn find_content(
                &self,
                query: &crate::domain::ContentQuery,
                read: common::audit::AuditEvent,
                audit: &common::audit::AuditLog,
            ) -> Result<Vec<crate::domain::Engagement>, crate::store::StoreError> {
                self.find(query, read, audit).await
            }

            async fn get_updates(
                &self,
                query: &crate::domain::UpdatesQuery,
                max_residents: usize,
            ) -> Result<crate::domain::UpdatesPage, crate::store::StoreError> {
                crate::store::reads::get_updates(&self.pool, query, max_residents).await
            }

            fn permission_store(&self) -> std::sync::Arc<dyn common::permissions::PermissionStore> {
                std::sync::Arc::new(common::permissions::SqlPermissionStore::<$db>::new(
                    self.pool.clone(),
                ))
            }

            fn audit_store(&self) -> std::sync::Arc<dyn common::audit::AuditStore> {
                std::sync::Arc::new(common::audit::SqlAuditStore::<$db>::new(self.pool.clone()))
            }

            fn installation_store(
                &self,
            ) -> std::sync::Arc<dyn common::installation::InstallationStore> {
                std::sync::Arc::new(common::installation::SqlInstallationStore::<$db>::new(
                    self.pool.clone(),
                ))
            }

            fn identity_links(
                &self,
            ) -> std::sync::Arc<dyn crate::store::identity::IdentityLinkStore> {
                std::sync::Arc::new(crate::store::identity::SqlIdentityLinks::<$db>::new(
                    self.pool.clone(),
                ))
            }
        }
    };
}

mod find_batch;
mod group_commit;
pub mod identity;
pub mod migration;
mod outbox;
mod postgres;
mod reads;
mod retention;
mod sqlite;
pub mod subscribers;

use std::sync::Arc;

use async_trait::async_trait;
use common::audit::{AuditError, AuditEvent, AuditLog, AuditStore};
use common::config::DatabaseConfig;
use common::db::{ConfiguredPool, DatabaseError};
use common::delivery::{DeliveryStore, PgDeliveryStore, SqliteDeliveryStore};
use common::installation::InstallationStore;
use common::permissions::PermissionStore;
use std::sync::LazyLock;

use sqlx::migrate::Migrator;

use crate::domain::{ChangeRules, ContentQuery, Engagement, UpdatesPage, UpdatesQuery};

pub use outbox::{AppliedChanges, OutboxContext};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use subscribers::{PgSubscribers, Round, SqliteSubscribers, SubscriberStore};

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

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value the index cannot read back (a bug or a hand-edited row).
    #[error("unreadable stored engagement: {0}")]
    Unreadable(String),
    /// Concurrent requests kept changing the same posts; the caller may retry.
    #[error("the change could not be applied after {0} attempts")]
    Contention(usize),
    /// The committer of a group stopped before answering (the service is stopping).
    #[error("the commit was interrupted")]
    Interrupted,
    /// The audit rows of the change could not be written (nothing was stored).
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// Written or read together with others whose shared statement met a database that
    /// cannot serve now (nothing was stored).
    #[error("{0}")]
    Unavailable(#[from] common::db::Unavailable),
}

#[async_trait]
pub trait EngagementStore: Send + Sync + 'static {
    /// Reads and locks the posts `rules` name, applies their plan, writes one outbox row when
    /// it notifies anything and appends the context's audit rows (one per patient of the
    /// request), all in one transaction.
    async fn apply(
        &self,
        rules: &dyn ChangeRules,
        context: &OutboxContext,
    ) -> Result<AppliedChanges, StoreError>;

    /// FindContent: ordered by creationTime, then key. The search's audit row `read` is
    /// durable before any row is returned (no patient data leaves unrecorded): PostgreSQL
    /// writes it in the statement that reads (find_batch.rs), SQLite through `audit` after
    /// the read. A failed read records nothing; an unrecorded one is [`StoreError::Audit`].
    async fn find_content(
        &self,
        query: &ContentQuery,
        read: AuditEvent,
        audit: &AuditLog,
    ) -> Result<Vec<Engagement>, StoreError>;

    /// GetUpdates: at most `max_residents` residents, in resident order.
    async fn get_updates(
        &self,
        query: &UpdatesQuery,
        max_residents: usize,
    ) -> Result<UpdatesPage, StoreError>;

    /// The permission table (`auth_permission`) on the same database.
    fn permission_store(&self) -> Arc<dyn PermissionStore>;

    /// The audit log (`audit_event`) on the same database.
    fn audit_store(&self) -> Arc<dyn AuditStore>;

    /// The installation's mode and migration keys on the same database.
    fn installation_store(&self) -> Arc<dyn InstallationStore>;

    /// Identity links (the link table and the moves) on the same database.
    fn identity_links(&self) -> Arc<dyn identity::IdentityLinkStore>;
}

/// Everything the engagement index keeps, on one database.
#[derive(Clone)]
pub struct Stores {
    pub engagements: Arc<dyn EngagementStore>,
    pub subscribers: Arc<dyn SubscriberStore>,
    pub deliveries: Arc<dyn DeliveryStore>,
    /// The initial load's bulk writes and the export's reads.
    pub migration: Arc<dyn migration::EngagementMigrationStore>,
    /// What the retention job cleans: fanned-out outbox rows, delivered notifications.
    pub retention: Vec<Arc<dyn common::retention::Sweep>>,
    /// PostgreSQL's frequent vacuum of the outbox and the delivery queue
    /// (`database.queue_vacuum_secs`); none on SQLite.
    pub queue_vacuum: Option<common::db::QueueVacuum>,
    /// The database, for the start-up log line (no password).
    pub description: String,
    /// Whether the database answers (`/health/ready`).
    pub readiness: common::db::PoolReadiness,
}

/// The tables whose rows come and go as fast as they are written: the outbox (and the NATS
/// fan-out's round) and the subscribers' queues, with their leases and pull points.
const QUEUE_TABLES: [&str; 5] = [
    "notification_outbox",
    "notification_round",
    "delivery",
    "delivery_lease",
    "delivery_pull_point",
];

/// Opens the configured database, creating and migrating it as needed.
pub async fn open(config: &DatabaseConfig) -> Result<Stores, DatabaseError> {
    let opened = common::db::open_configured(
        config,
        "engagement-index.sqlite",
        &SQLITE_MIGRATIONS,
        &POSTGRES_MIGRATIONS,
    )
    .await?;
    let (readiness, description) = (opened.readiness, opened.description);
    let response_timeout = config.response_timeout();
    let stores = match opened.pool {
        ConfiguredPool::Sqlite(pool) => {
            let deliveries: Arc<dyn DeliveryStore> =
                Arc::new(SqliteDeliveryStore::new(pool.clone()));
            Stores {
                engagements: Arc::new(SqliteStore::with_response_timeout(
                    pool.clone(),
                    response_timeout,
                )),
                subscribers: Arc::new(SqliteSubscribers::new(pool.clone())),
                migration: Arc::new(migration::SqliteMigration::new(pool.clone())),
                retention: retention::sqlite(pool, Arc::clone(&deliveries)),
                queue_vacuum: None,
                deliveries,
                readiness,
                description,
            }
        }
        ConfiguredPool::Postgres(pool) => {
            let deliveries: Arc<dyn DeliveryStore> = Arc::new(PgDeliveryStore::new(pool.clone()));
            Stores {
                engagements: Arc::new(PgStore::with_response_timeout(
                    pool.clone(),
                    response_timeout,
                )),
                subscribers: Arc::new(PgSubscribers::new(pool.clone())),
                migration: Arc::new(migration::PgMigration::new(pool.clone())),
                queue_vacuum: common::db::QueueVacuum::new(
                    pool.clone(),
                    &QUEUE_TABLES,
                    std::time::Duration::from_secs(config.queue_vacuum_secs),
                )
                .map(|vacuum| vacuum.with_response_timeout(response_timeout)),
                retention: retention::postgres(pool, Arc::clone(&deliveries)),
                deliveries,
                readiness,
                description,
            }
        }
    };
    Ok(stores)
}
