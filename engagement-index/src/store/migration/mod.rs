//! The initial load's writes and the export's reads of engagements: a batch is written
//! set-based in one transaction (PostgreSQL: binary `COPY` into a temporary table and one
//! upsert; SQLite: one transaction of prepared statements), never through the change rules of
//! Update, so nothing is notified; the export reads in pages of key order.

mod postgres;
mod sqlite;

use async_trait::async_trait;
use common::db::Backend;
use sqlx::query::Query;
use sqlx::{Database, Encode, Executor, IntoArguments, Pool, Postgres, Sqlite, Type};

use super::StoreError;
use crate::domain::{Engagement, EngagementKey};

/// The primary key's columns, in its order.
const KEY_COLUMNS: &str = "registered_resident_identification, service_domain, categorization, \
    logical_address, business_object_instance_identifier, clinical_process_interest_id, \
    source_system, data_controller, owner";

#[async_trait]
pub trait EngagementMigrationStore: Send + Sync + 'static {
    /// Upserts `engagements` (distinct keys) by key in one transaction, keeping owner,
    /// creationTime and updateTime as given; returns how many were written (new, or different
    /// from the stored post); the others were held as they are already. A post's `changed_at`
    /// (what GetUpdates selects on) becomes its updateTime, else its creationTime: when its
    /// source index last changed it.
    async fn upsert(&self, engagements: &[Engagement]) -> Result<u64, StoreError>;

    /// Up to `limit` posts after `after` (none: from the first) in key order: the nine key
    /// columns' bytes in the primary key's order (resident, domain, categorization, logical
    /// address, business object, clinical process, source system, data controller, owner).
    async fn page(
        &self,
        after: Option<&EngagementKey>,
        limit: u32,
    ) -> Result<Vec<Engagement>, StoreError>;
}

/// The initial load's store on SQLite.
pub type SqliteMigration = SqlMigration<Sqlite>;
/// The initial load's store on PostgreSQL.
pub type PgMigration = SqlMigration<Postgres>;

pub struct SqlMigration<DB: Backend> {
    pool: Pool<DB>,
}

impl<DB: Backend> SqlMigration<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }
}

/// How a backend writes a batch, and reads back a row of its engagement columns.
#[async_trait]
pub trait MigrationBackend: Backend {
    /// The engagement columns, in the order [`Self::ENGAGEMENT`] reads them.
    const COLUMNS: &'static str;

    const ENGAGEMENT: fn(&Self::Row) -> Result<Engagement, StoreError>;

    /// [`EngagementMigrationStore::upsert`].
    async fn upsert(pool: &Pool<Self>, engagements: &[Engagement]) -> Result<u64, StoreError>;
}

#[async_trait]
impl<DB: MigrationBackend> EngagementMigrationStore for SqlMigration<DB>
where
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: IntoArguments<DB>,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    async fn upsert(&self, engagements: &[Engagement]) -> Result<u64, StoreError> {
        DB::upsert(&self.pool, engagements).await
    }

    /// `$n` placeholders read on SQLite too.
    async fn page(
        &self,
        after: Option<&EngagementKey>,
        limit: u32,
    ) -> Result<Vec<Engagement>, StoreError> {
        let columns = DB::COLUMNS;
        let rows = match after {
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {columns} FROM engagement ORDER BY {KEY_COLUMNS} LIMIT $1"
                )))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
            Some(key) => {
                let query = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {columns} FROM engagement \
                     WHERE ({KEY_COLUMNS}) > ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ORDER BY {KEY_COLUMNS} LIMIT $10"
                )));
                bind_key(query, key)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(DB::ENGAGEMENT).collect()
    }
}

/// Binds the nine key columns of `key`, in the primary key's order.
fn bind_key<'q, DB: Database>(
    query: Query<'q, DB, DB::Arguments>,
    key: &EngagementKey,
) -> Query<'q, DB, DB::Arguments>
where
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
{
    query
        .bind(key.registered_resident_identification.as_str())
        .bind(key.service_domain.as_str())
        .bind(key.categorization.as_str())
        .bind(key.logical_address.as_str())
        .bind(key.business_object_instance_identifier.as_str())
        .bind(key.clinical_process_interest_id.as_str())
        .bind(key.source_system.as_str())
        .bind(key.data_controller.as_str())
        .bind(key.owner.as_str())
}
