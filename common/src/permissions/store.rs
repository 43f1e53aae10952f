//! The permission table, one implementation for both backends (the SQL is the same; `$n`
//! placeholders read on SQLite too).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{
    ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Postgres, Row, Sqlite, Type,
};

use super::{
    ANY_SCOPE, GrantSource, Permission, PermissionError, PermissionGrant, PermissionStore, Removal,
    Role,
};
use crate::db::Backend;
use crate::identity::HsaId;

/// The permission store on SQLite.
pub type SqlitePermissionStore = SqlPermissionStore<Sqlite>;
/// The permission store on PostgreSQL.
pub type PgPermissionStore = SqlPermissionStore<Postgres>;

pub struct SqlPermissionStore<DB: Backend> {
    pool: Pool<DB>,
}

impl<DB: Backend> SqlPermissionStore<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }
}

const DELETE: &str = "DELETE FROM auth_permission WHERE caller = $1 AND role = $2 AND scope = $3";

fn permission<DB: Backend>(row: &DB::Row) -> Result<Permission, PermissionError>
where
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    let role: String = row.try_get("role")?;
    let source: String = row.try_get("source")?;
    Ok(Permission {
        caller: row.try_get("caller")?,
        role: role.parse()?,
        scope: row.try_get("scope")?,
        source: GrantSource::parse(&source),
        created_at: DB::read_time(row.try_get("created_at")?)?,
    })
}

#[async_trait]
impl<DB: Backend> PermissionStore for SqlPermissionStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q String: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> (String, String, String): sqlx::FromRow<'r, DB::Row>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    async fn is_granted(
        &self,
        caller: &HsaId,
        role: Role,
        scope: &str,
    ) -> Result<bool, PermissionError> {
        let row = sqlx::query(
            "SELECT 1 FROM auth_permission WHERE caller = $1 AND role = $2 AND scope IN ($3, $4) LIMIT 1",
        )
        .bind(caller.as_str())
        .bind(role.as_str())
        .bind(scope)
        .bind(ANY_SCOPE)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    async fn scopes(&self, caller: &HsaId, role: Role) -> Result<Vec<String>, PermissionError> {
        let rows = sqlx::query(
            "SELECT scope FROM auth_permission WHERE caller = $1 AND role = $2 ORDER BY scope",
        )
        .bind(caller.as_str())
        .bind(role.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get("scope").map_err(PermissionError::from))
            .collect()
    }

    async fn list(&self, caller: Option<&HsaId>) -> Result<Vec<Permission>, PermissionError> {
        let rows = sqlx::query(
            "SELECT caller, role, scope, source, created_at FROM auth_permission \
             WHERE CAST($1 AS TEXT) IS NULL OR caller = $1 ORDER BY caller, role, scope",
        )
        .bind(caller.map(HsaId::as_str))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(permission::<DB>).collect()
    }

    async fn put(
        &self,
        grant: &PermissionGrant,
        source: GrantSource,
        now: DateTime<Utc>,
    ) -> Result<bool, PermissionError> {
        let result = sqlx::query(
            "INSERT INTO auth_permission (caller, role, scope, source, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (caller, role, scope) DO NOTHING",
        )
        .bind(grant.caller.as_str())
        .bind(grant.role.as_str())
        .bind(&grant.scope)
        .bind(source.as_str())
        .bind(DB::time_value(now))
        .execute(&self.pool)
        .await?;
        Ok(DB::rows_affected(&result) == 1)
    }

    async fn delete(&self, grant: &PermissionGrant) -> Result<Removal, PermissionError> {
        // One statement removes an administered grant: a read, then a write in one
        // transaction would fail at once on SQLite (database is locked) whenever another
        // connection wrote in between, as the audit log's writer does all the time.
        let removed = sqlx::query(
            "DELETE FROM auth_permission \
             WHERE caller = $1 AND role = $2 AND scope = $3 AND source = 'admin'",
        )
        .bind(grant.caller.as_str())
        .bind(grant.role.as_str())
        .bind(&grant.scope)
        .execute(&self.pool)
        .await?;
        if DB::rows_affected(&removed) > 0 {
            return Ok(Removal::Removed);
        }
        // Nothing administered was removed: either no such grant, or one from the config.
        let row = sqlx::query(
            "SELECT source FROM auth_permission WHERE caller = $1 AND role = $2 AND scope = $3",
        )
        .bind(grant.caller.as_str())
        .bind(grant.role.as_str())
        .bind(&grant.scope)
        .fetch_optional(&self.pool)
        .await?;
        let source: Option<String> = row.map(|row| row.try_get("source")).transpose()?;
        Ok(match source.as_deref().map(GrantSource::parse) {
            Some(GrantSource::Config) => Removal::FromConfig,
            // Another request removed it meanwhile: gone all the same.
            None | Some(GrantSource::Admin) => Removal::NotFound,
        })
    }

    async fn declare(
        &self,
        grants: &[PermissionGrant],
        now: DateTime<Utc>,
    ) -> Result<(), PermissionError> {
        let mut transaction = self.pool.begin().await?;
        let declared: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT caller, role, scope FROM auth_permission WHERE source = 'config'",
        )
        .fetch_all(&mut *transaction)
        .await?;
        for (caller, role, scope) in declared {
            let still = grants.iter().any(|g| {
                g.caller.as_str() == caller && g.role.as_str() == role && g.scope == scope
            });
            if !still {
                sqlx::query(DELETE)
                    .bind(&caller)
                    .bind(&role)
                    .bind(&scope)
                    .execute(&mut *transaction)
                    .await?;
            }
        }
        for grant in grants {
            sqlx::query(
                "INSERT INTO auth_permission (caller, role, scope, source, created_at) \
                 VALUES ($1, $2, $3, 'config', $4) \
                 ON CONFLICT (caller, role, scope) DO UPDATE SET source = 'config'",
            )
            .bind(grant.caller.as_str())
            .bind(grant.role.as_str())
            .bind(&grant.scope)
            .bind(DB::time_value(now))
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }
}
