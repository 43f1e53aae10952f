//! What the one store implementation ([`super::SqlStore`]) needs to know about each backend:
//! how an id is kept (PostgreSQL `UUID`, SQLite UUID text), the audit rows written in a
//! store transaction, and the permission and audit stores on the same pool. The SQL itself is
//! the same on both: `$n` placeholders read on SQLite too.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use common::audit::{AuditError, AuditEvent, AuditStore, PgAuditStore, SqliteAuditStore};
use common::installation::{InstallationStore, PgInstallationStore, SqliteInstallationStore};
use common::partitions::MonthlyPartitions;
use common::permissions::{PermissionStore, PgPermissionStore, SqlitePermissionStore};
use common::retention::Sweep;
use sqlx::{Decode, Encode, Pool, Postgres, Sqlite, Type};
use uuid::Uuid;

use super::StoreError;

pub trait Backend: sqlx::Database {
    /// How an id is bound and read.
    type Id: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self> + Send + Sync + Unpin;

    fn id(id: Uuid) -> Self::Id;

    /// The id a stored value stands for; one that does not read is [`StoreError::Corrupt`].
    fn uuid(value: Self::Id, column: &'static str) -> Result<Uuid, StoreError>;

    /// The rows a statement changed.
    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// Appends the audit rows of a request inside the store's transaction.
    fn append_audit<'a>(
        connection: &'a mut Self::Connection,
        events: &'a [AuditEvent],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), AuditError>> + Send + 'a;

    fn permission_store(pool: Pool<Self>) -> Arc<dyn PermissionStore>;

    fn audit_store(pool: Pool<Self>) -> Arc<dyn AuditStore>;

    fn installation_store(pool: Pool<Self>) -> Arc<dyn InstallationStore>;

    /// What the retention job maintains: on PostgreSQL the audit log's monthly partitions.
    fn retention(pool: Pool<Self>) -> Vec<Arc<dyn Sweep>>;
}

impl Backend for Postgres {
    type Id = Uuid;

    fn id(id: Uuid) -> Uuid {
        id
    }

    fn uuid(value: Uuid, _: &'static str) -> Result<Uuid, StoreError> {
        Ok(value)
    }

    fn rows_affected(result: &sqlx::postgres::PgQueryResult) -> u64 {
        result.rows_affected()
    }

    fn append_audit<'a>(
        connection: &'a mut sqlx::PgConnection,
        events: &'a [AuditEvent],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), AuditError>> + Send + 'a {
        common::audit::append_all_postgres(connection, events, at)
    }

    fn permission_store(pool: Pool<Self>) -> Arc<dyn PermissionStore> {
        Arc::new(PgPermissionStore::new(pool))
    }

    fn audit_store(pool: Pool<Self>) -> Arc<dyn AuditStore> {
        Arc::new(PgAuditStore::new(pool))
    }

    fn installation_store(pool: Pool<Self>) -> Arc<dyn InstallationStore> {
        Arc::new(PgInstallationStore::new(pool))
    }

    fn retention(pool: Pool<Self>) -> Vec<Arc<dyn Sweep>> {
        vec![Arc::new(MonthlyPartitions::audit(pool))]
    }
}

impl Backend for Sqlite {
    type Id = String;

    fn id(id: Uuid) -> String {
        id.to_string()
    }

    fn uuid(value: String, column: &'static str) -> Result<Uuid, StoreError> {
        Uuid::parse_str(&value).map_err(|_| StoreError::Corrupt(column))
    }

    fn rows_affected(result: &sqlx::sqlite::SqliteQueryResult) -> u64 {
        result.rows_affected()
    }

    fn append_audit<'a>(
        connection: &'a mut sqlx::SqliteConnection,
        events: &'a [AuditEvent],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), AuditError>> + Send + 'a {
        common::audit::append_all_sqlite(connection, events, at)
    }

    fn permission_store(pool: Pool<Self>) -> Arc<dyn PermissionStore> {
        Arc::new(SqlitePermissionStore::new(pool))
    }

    fn audit_store(pool: Pool<Self>) -> Arc<dyn AuditStore> {
        Arc::new(SqliteAuditStore::new(pool))
    }

    fn installation_store(pool: Pool<Self>) -> Arc<dyn InstallationStore> {
        Arc::new(SqliteInstallationStore::new(pool))
    }

    /// The audit log is append-only and kept on SQLite; nothing to sweep.
    fn retention(_pool: Pool<Self>) -> Vec<Arc<dyn Sweep>> {
        Vec::new()
    }
}
