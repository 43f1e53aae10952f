//! The installation record, the migration keys and the migration's progress: one store for
//! both backends (the SQL is the same; `$n` placeholders read on SQLite too).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{
    ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Postgres, Row, Sqlite, Type,
};
use utoipa::ToSchema;

use super::{InstallationError, InstallationMode};
use crate::audit::{AuditBackend, AuditEvent};
use crate::db::Backend;

/// The installation as kept in its database (one row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallationRecord {
    pub installation_id: String,
    pub mode: InstallationMode,
    pub created_at: DateTime<Utc>,
    /// When the mode last changed (the record's creation until then).
    pub changed_at: DateTime<Utc>,
    /// Who changed it: an admin's HSA-id, or the configuration.
    pub changed_by: String,
}

/// A migration key as kept: its id and the SHA-256 of its secret, never the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationKeyRecord {
    pub id: String,
    pub installation_id: String,
    pub secret_sha256: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_because: Option<String>,
}

/// How far the migration of one entity has come.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntityProgress {
    /// `templates`, `forms`, `engagements`, `subscribers`, `grants`...
    pub entity: String,
    /// Records stored (inserted or updated) through the migration endpoints.
    pub accepted: i64,
    /// Records refused, each answered with its reason.
    pub refused: i64,
    pub updated_at: DateTime<Utc>,
}

#[async_trait]
pub trait InstallationStore: Send + Sync + 'static {
    /// The installation record, written as `initial` when the database has none yet.
    async fn open(
        &self,
        initial: &InstallationRecord,
    ) -> Result<InstallationRecord, InstallationError>;

    async fn read(&self) -> Result<InstallationRecord, InstallationError>;

    /// Switches a staging installation to operational, revokes every migration key and appends
    /// `audit`, in one transaction; `None` (nothing written) when it was operational already.
    async fn switch_to_operational(
        &self,
        by: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<Option<InstallationRecord>, InstallationError>;

    /// While staging: revokes the active key, stores `key` and appends `audit`, in one
    /// transaction. `false` (nothing written) when the installation is operational.
    async fn replace_key(
        &self,
        key: &MigrationKeyRecord,
        audit: &AuditEvent,
    ) -> Result<bool, InstallationError>;

    async fn key(&self, id: &str) -> Result<Option<MigrationKeyRecord>, InstallationError>;

    /// The key not revoked, if any (it may have expired).
    async fn active_key(&self) -> Result<Option<MigrationKeyRecord>, InstallationError>;

    /// Adds to an entity's counts.
    async fn add_progress(
        &self,
        entity: &str,
        accepted: i64,
        refused: i64,
        at: DateTime<Utc>,
    ) -> Result<(), InstallationError>;

    /// Every entity's counts, by entity.
    async fn progress(&self) -> Result<Vec<EntityProgress>, InstallationError>;

    /// How many migration batches may write at once on this database.
    fn bulk_writers(&self) -> usize {
        1
    }
}

/// The installation store on SQLite.
pub type SqliteInstallationStore = SqlInstallationStore<Sqlite>;
/// The installation store on PostgreSQL.
pub type PgInstallationStore = SqlInstallationStore<Postgres>;

pub struct SqlInstallationStore<DB: Backend> {
    pool: Pool<DB>,
}

impl<DB: Backend> SqlInstallationStore<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }
}

const RECORD: &str = "SELECT installation_id, mode, created_at, changed_at, changed_by FROM installation WHERE id = 1";

const KEY_COLUMNS: &str = "id, installation_id, secret_sha256, created_at, created_by, \
    expires_at, revoked_at, revoked_because";

/// Revokes whatever key is active (`$1` the time, `$2` why).
const REVOKE_ACTIVE: &str = "UPDATE installation_migration_key SET revoked_at = $1, \
    revoked_because = $2 WHERE revoked_at IS NULL";

fn record<DB: Backend>(row: &DB::Row) -> Result<InstallationRecord, InstallationError>
where
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    let mode: String = row.try_get("mode")?;
    Ok(InstallationRecord {
        installation_id: row.try_get("installation_id")?,
        mode: InstallationMode::parse(&mode)
            .ok_or_else(|| InstallationError::Corrupt(format!("mode `{mode}`")))?,
        created_at: DB::read_time(row.try_get("created_at")?)?,
        changed_at: DB::read_time(row.try_get("changed_at")?)?,
        changed_by: row.try_get("changed_by")?,
    })
}

fn key_record<DB: Backend>(row: &DB::Row) -> Result<MigrationKeyRecord, InstallationError>
where
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Vec<u8>: Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    let revoked_at: Option<DB::Time> = row.try_get("revoked_at")?;
    Ok(MigrationKeyRecord {
        id: row.try_get("id")?,
        installation_id: row.try_get("installation_id")?,
        secret_sha256: row.try_get("secret_sha256")?,
        created_at: DB::read_time(row.try_get("created_at")?)?,
        created_by: row.try_get("created_by")?,
        expires_at: DB::read_time(row.try_get("expires_at")?)?,
        revoked_at: revoked_at.map(DB::read_time).transpose()?,
        revoked_because: row.try_get("revoked_because")?,
    })
}

#[async_trait]
impl<DB: AuditBackend> InstallationStore for SqlInstallationStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q String: Encode<'q, DB> + Type<DB>,
    for<'q> &'q Option<String>: Encode<'q, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Vec<u8>: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    fn bulk_writers(&self) -> usize {
        DB::BULK_WRITERS
    }

    async fn open(
        &self,
        initial: &InstallationRecord,
    ) -> Result<InstallationRecord, InstallationError> {
        sqlx::query(
            "INSERT INTO installation (id, installation_id, mode, created_at, changed_at, changed_by) \
             VALUES (1, $1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
        )
        .bind(initial.installation_id.as_str())
        .bind(initial.mode.as_str())
        .bind(DB::time_value(initial.created_at))
        .bind(DB::time_value(initial.changed_at))
        .bind(initial.changed_by.as_str())
        .execute(&self.pool)
        .await?;
        self.read().await
    }

    async fn read(&self) -> Result<InstallationRecord, InstallationError> {
        let row = sqlx::query(RECORD)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(InstallationError::Missing)?;
        record::<DB>(&row)
    }

    async fn switch_to_operational(
        &self,
        by: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<Option<InstallationRecord>, InstallationError> {
        let mut transaction = self.pool.begin().await?;
        let switched = sqlx::query(
            "UPDATE installation SET mode = 'operational', changed_at = $1, changed_by = $2 \
             WHERE id = 1 AND mode = 'staging'",
        )
        .bind(DB::time_value(at))
        .bind(by)
        .execute(&mut *transaction)
        .await?;
        if DB::rows_affected(&switched) == 0 {
            return Ok(None);
        }
        sqlx::query(REVOKE_ACTIVE)
            .bind(DB::time_value(at))
            .bind("the installation became operational")
            .execute(&mut *transaction)
            .await?;
        crate::audit::append::<DB>(&mut transaction, audit, at).await?;
        let row = sqlx::query(RECORD).fetch_one(&mut *transaction).await?;
        let switched = record::<DB>(&row)?;
        transaction.commit().await?;
        Ok(Some(switched))
    }

    async fn replace_key(
        &self,
        key: &MigrationKeyRecord,
        audit: &AuditEvent,
    ) -> Result<bool, InstallationError> {
        let mut transaction = self.pool.begin().await?;
        // Touching the installation row first serialises key creation with other key
        // creations and with the switch (a row lock on PostgreSQL, the write lock on SQLite),
        // and tells whether the installation is still staging.
        let staging = sqlx::query(
            "UPDATE installation SET changed_at = changed_at WHERE id = 1 AND mode = 'staging'",
        )
        .execute(&mut *transaction)
        .await?;
        if DB::rows_affected(&staging) == 0 {
            return Ok(false);
        }
        sqlx::query(REVOKE_ACTIVE)
            .bind(DB::time_value(key.created_at))
            .bind("replaced by a newer key")
            .execute(&mut *transaction)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO installation_migration_key ({KEY_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL)"
        )))
        .bind(key.id.as_str())
        .bind(key.installation_id.as_str())
        .bind(key.secret_sha256.as_slice())
        .bind(DB::time_value(key.created_at))
        .bind(key.created_by.as_str())
        .bind(DB::time_value(key.expires_at))
        .execute(&mut *transaction)
        .await?;
        crate::audit::append::<DB>(&mut transaction, audit, key.created_at).await?;
        transaction.commit().await?;
        Ok(true)
    }

    async fn key(&self, id: &str) -> Result<Option<MigrationKeyRecord>, InstallationError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM installation_migration_key WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(key_record::<DB>).transpose()
    }

    async fn active_key(&self) -> Result<Option<MigrationKeyRecord>, InstallationError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM installation_migration_key WHERE revoked_at IS NULL"
        )))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(key_record::<DB>).transpose()
    }

    async fn add_progress(
        &self,
        entity: &str,
        accepted: i64,
        refused: i64,
        at: DateTime<Utc>,
    ) -> Result<(), InstallationError> {
        sqlx::query(
            "INSERT INTO installation_migration_progress (entity, accepted, refused, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (entity) DO UPDATE SET \
             accepted = installation_migration_progress.accepted + excluded.accepted, \
             refused = installation_migration_progress.refused + excluded.refused, \
             updated_at = excluded.updated_at",
        )
        .bind(entity)
        .bind(accepted)
        .bind(refused)
        .bind(DB::time_value(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn progress(&self) -> Result<Vec<EntityProgress>, InstallationError> {
        let rows = sqlx::query(
            "SELECT entity, accepted, refused, updated_at FROM installation_migration_progress \
             ORDER BY entity",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(EntityProgress {
                    entity: row.try_get("entity")?,
                    accepted: row.try_get("accepted")?,
                    refused: row.try_get("refused")?,
                    updated_at: DB::read_time(row.try_get("updated_at")?)?,
                })
            })
            .collect()
    }
}
