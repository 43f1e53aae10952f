//! Where engagements, subscribers and pending notifications are kept: one trait, a SQLite and
//! a PostgreSQL implementation, chosen by the database URL.

mod postgres;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use common::config::DatabaseConfig;
use common::db::{DatabaseError, DatabaseTarget};
use sqlx::migrate::Migrator;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

#[async_trait]
pub trait EngagementStore: Send + Sync + 'static {
    /// Whether the database answers (readiness).
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Opens the configured database, creating and migrating it as needed.
pub async fn open(
    config: &DatabaseConfig,
) -> Result<(Arc<dyn EngagementStore>, String), DatabaseError> {
    let target = DatabaseTarget::from_config(config, "engagement-index.sqlite")?;
    let description = target.describe();
    let store: Arc<dyn EngagementStore> = match target {
        DatabaseTarget::Sqlite(path) => Arc::new(SqliteStore::new(
            common::db::open_sqlite(&path, config.max_connections, &SQLITE_MIGRATIONS).await?,
        )),
        DatabaseTarget::Postgres(url) => Arc::new(PgStore::new(
            common::db::open_postgres(&url, config.max_connections, &POSTGRES_MIGRATIONS).await?,
        )),
    };
    Ok((store, description))
}
