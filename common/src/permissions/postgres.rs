//! The permission table on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row as _};

use super::{
    ANY_SCOPE, GrantSource, Permission, PermissionError, PermissionGrant, PermissionStore, Removal,
    Role,
};
use crate::identity::HsaId;

pub struct PgPermissionStore {
    pool: PgPool,
}

impl PgPermissionStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn permission(row: &PgRow) -> Result<Permission, PermissionError> {
    let role: String = row.try_get("role")?;
    let source: String = row.try_get("source")?;
    Ok(Permission {
        caller: row.try_get("caller")?,
        role: role.parse()?,
        scope: row.try_get("scope")?,
        source: GrantSource::parse(&source),
        created_at: row.try_get("created_at")?,
    })
}

#[async_trait]
impl PermissionStore for PgPermissionStore {
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
        Ok(rows.iter().map(|r| r.get("scope")).collect())
    }

    async fn list(&self, caller: Option<&HsaId>) -> Result<Vec<Permission>, PermissionError> {
        let rows = sqlx::query(
            "SELECT caller, role, scope, source, created_at FROM auth_permission \
             WHERE $1::text IS NULL OR caller = $1 ORDER BY caller, role, scope",
        )
        .bind(caller.map(HsaId::as_str))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(permission).collect()
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
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn delete(&self, grant: &PermissionGrant) -> Result<Removal, PermissionError> {
        let mut transaction = self.pool.begin().await?;
        let source: Option<String> = sqlx::query_scalar(
            "SELECT source FROM auth_permission WHERE caller = $1 AND role = $2 AND scope = $3",
        )
        .bind(grant.caller.as_str())
        .bind(grant.role.as_str())
        .bind(&grant.scope)
        .fetch_optional(&mut *transaction)
        .await?;
        let removal = match source.as_deref().map(GrantSource::parse) {
            None => Removal::NotFound,
            Some(GrantSource::Config) => Removal::FromConfig,
            Some(GrantSource::Admin) => {
                sqlx::query(
                    "DELETE FROM auth_permission WHERE caller = $1 AND role = $2 AND scope = $3",
                )
                .bind(grant.caller.as_str())
                .bind(grant.role.as_str())
                .bind(&grant.scope)
                .execute(&mut *transaction)
                .await?;
                Removal::Removed
            }
        };
        transaction.commit().await?;
        Ok(removal)
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
                sqlx::query(
                    "DELETE FROM auth_permission WHERE caller = $1 AND role = $2 AND scope = $3",
                )
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
            .bind(now)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }
}
