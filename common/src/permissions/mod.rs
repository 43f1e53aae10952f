//! Who may do what: a table of grants (caller HSA-id, role, scope), loaded from
//! `[[auth.permissions]]` at start and managed through `/admin/permissions`, and the check
//! every handler makes before touching data.
//!
//! | Role | Acts as | Scope |
//! |---|---|---|
//! | `care_system` | a care system, for the care units it has an agreement with (forms: templates, CreateFormRequest, GetForms, GetForm, CancelForm) | a care-unit HSA-id, or `*` |
//! | `eservice` | the citizen e-service, for the signed-in citizen only | `*` (or a care-unit HSA-id to narrow it) |
//! | `source_system` | engagement index Update for a sourceSystem | the sourceSystem HSA-id, or `*` |
//! | `reader` | engagement index FindContent (and GetUpdates) | a serviceDomain, or `*` |
//! | `admin` | `/admin/...` | `*` |
//!
//! A grant with scope `*` covers every scope of its role; a check for scope `*` needs a `*`
//! grant. In open mode ([`crate::auth::AuthMode::Open`]) every check passes.
//!
//! Storage: `common/migrations/security/{sqlite,postgres}/` (`*_permissions.sql` and, on
//! SQLite, `*_security_times_as_text.sql`), applied by each service's migrator
//! ([`crate::schema`]); [`SqlPermissionStore`] on either backend.

mod admin;
mod cache;
mod store;

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub(crate) use admin::grant;
pub use admin::{PermissionList, admin_routes};
pub use cache::{CachedPermissionStore, DEFAULT_REFRESH};
pub use store::{PgPermissionStore, SqlPermissionStore, SqlitePermissionStore};

use crate::auth::{Authenticator, Caller};
use crate::identity::{HsaId, is_personal_identity_number, mask};
use crate::problem::Problem;

/// The scope that covers every scope of a role.
pub const ANY_SCOPE: &str = "*";

/// What a caller may act as.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A care system acting for the care units in its scope.
    CareSystem,
    /// The citizen e-service, acting for the signed-in citizen.
    Eservice,
    /// May post engagements (Update) with the sourceSystem in its scope.
    SourceSystem,
    /// May search the engagement index (FindContent).
    Reader,
    /// May use the `/admin` endpoints.
    Admin,
}

impl Role {
    pub const ALL: [Self; 5] = [
        Self::CareSystem,
        Self::Eservice,
        Self::SourceSystem,
        Self::Reader,
        Self::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CareSystem => "care_system",
            Self::Eservice => "eservice",
            Self::SourceSystem => "source_system",
            Self::Reader => "reader",
            Self::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }

    /// The problem code of a refusal for this role.
    pub fn refusal_code(self) -> &'static str {
        match self {
            Self::CareSystem => "FORBIDDEN_CARE_UNIT",
            Self::Eservice => "FORBIDDEN_ESERVICE",
            Self::SourceSystem => "FORBIDDEN_SOURCE_SYSTEM",
            Self::Reader => "FORBIDDEN_READER",
            Self::Admin => "FORBIDDEN_ADMIN",
        }
    }

    fn refusal_detail(self, caller: &str, scope: &str) -> String {
        match self {
            Self::CareSystem => {
                format!("The caller {caller} has no agreement for care unit {scope}.")
            }
            Self::Eservice => format!("The caller {caller} may not act as the citizen e-service."),
            Self::SourceSystem => {
                format!("The caller {caller} may not post engagements as source system {scope}.")
            }
            Self::Reader => {
                format!("The caller {caller} may not search the engagement index ({scope}).")
            }
            Self::Admin => format!("The caller {caller} may not administer this service."),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = PermissionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| {
            PermissionError::Invalid(format!(
                "unknown role `{s}`; one of care_system, eservice, source_system, reader, admin"
            ))
        })
    }
}

/// One grant: `caller` may act as `role` within `scope`. As in `[[auth.permissions]]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionGrant {
    pub caller: HsaId,
    pub role: Role,
    /// A care-unit HSA-id, a sourceSystem, a serviceDomain, or `*`.
    pub scope: String,
}

impl PermissionGrant {
    pub fn new(caller: HsaId, role: Role, scope: impl Into<String>) -> Self {
        Self {
            caller,
            role,
            scope: scope.into(),
        }
    }

    /// A scope is 1 to 255 printable characters without spaces, and never an identity number.
    pub fn validate(&self) -> Result<(), PermissionError> {
        validate_scope(&self.scope)
    }
}

fn validate_scope(scope: &str) -> Result<(), PermissionError> {
    if !(1..=255).contains(&scope.len()) || !scope.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(PermissionError::Invalid(String::from(
            "a scope is 1 to 255 printable characters without spaces, or `*`",
        )));
    }
    if is_personal_identity_number(scope) {
        return Err(PermissionError::Invalid(String::from(
            "a scope is an HSA-id, a sourceSystem, a serviceDomain or `*`, never a personal identity number",
        )));
    }
    Ok(())
}

/// Where a grant came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GrantSource {
    /// `[[auth.permissions]]`: re-applied at every start, not removable through the API.
    Config,
    /// `PUT /admin/permissions/...`.
    Admin,
}

impl GrantSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Admin => "admin",
        }
    }

    fn parse(value: &str) -> Self {
        if value == "config" {
            Self::Config
        } else {
            Self::Admin
        }
    }
}

/// A stored grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    #[schema(example = "SE2321000016-CS01")]
    pub caller: String,
    pub role: Role,
    #[schema(example = "SE2321000016-CU01")]
    pub scope: String,
    pub source: GrantSource,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum PermissionError {
    #[error("permission store database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Invalid(String),
}

/// Why a permission check did not pass. A service's domain keeps it typed; at the edge
/// `From<Refusal> for Problem` gives the answer.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Checks are enforced and the caller is not identified (401).
    #[error("The caller is not identified.")]
    Unidentified,
    /// The caller holds none of the roles asked for in the scope: 403 with `role`'s code.
    #[error("{detail}")]
    Forbidden { role: Role, detail: String },
    /// The grants could not be read (logged where it failed): an opaque 500, or 503
    /// `DATABASE_UNAVAILABLE` when the database cannot serve now.
    #[error("the permission check failed: {0}")]
    Unavailable(#[source] PermissionError),
}

impl From<Refusal> for Problem {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Unidentified => Problem::new(
                http::StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                refusal.to_string(),
            ),
            Refusal::Forbidden { role, detail } => Problem::forbidden(role.refusal_code(), detail),
            Refusal::Unavailable(error) => Problem::fault(&error),
        }
    }
}

/// What [`PermissionStore::delete`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    Removed,
    NotFound,
    /// Declared in the configuration: it would come back at the next start.
    FromConfig,
}

/// The grants in a service's database.
#[async_trait]
pub trait PermissionStore: Send + Sync + 'static {
    /// True when `caller` holds `role` for exactly `scope` or for `*`.
    async fn is_granted(
        &self,
        caller: &HsaId,
        role: Role,
        scope: &str,
    ) -> Result<bool, PermissionError>;
    /// The scopes `caller` holds `role` for.
    async fn scopes(&self, caller: &HsaId, role: Role) -> Result<Vec<String>, PermissionError>;
    /// Every grant (of `caller`, when given), ordered by caller, role, scope.
    async fn list(&self, caller: Option<&HsaId>) -> Result<Vec<Permission>, PermissionError>;
    /// Adds a grant; `false` when it existed (it is left as it was).
    async fn put(
        &self,
        grant: &PermissionGrant,
        source: GrantSource,
        now: DateTime<Utc>,
    ) -> Result<bool, PermissionError>;
    /// Removes a grant added through the API.
    async fn delete(&self, grant: &PermissionGrant) -> Result<Removal, PermissionError>;
    /// Makes the configuration's grants the `config` rows: adds the new ones (taking over an
    /// equal `admin` row), removes `config` rows no longer declared, leaves `admin` rows alone.
    async fn declare(
        &self,
        grants: &[PermissionGrant],
        now: DateTime<Utc>,
    ) -> Result<(), PermissionError>;
}

/// The scopes a caller may act in for one role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedScopes {
    /// Every scope (a `*` grant, or open mode).
    All,
    /// Only these (possibly none).
    Only(BTreeSet<String>),
}

impl AllowedScopes {
    pub fn contains(&self, scope: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(scopes) => scopes.contains(scope),
        }
    }
}

/// The permission check handlers make; cheap to clone. Put it in the service's state (with
/// `FromRef`) for the admin routes.
#[derive(Clone)]
pub struct Permissions {
    store: Arc<dyn PermissionStore>,
    enforce: bool,
}

impl Permissions {
    /// Enforcing unless `authenticator` is in open mode.
    pub fn new(store: Arc<dyn PermissionStore>, authenticator: &Authenticator) -> Self {
        Self::with_enforcement(store, !authenticator.is_open())
    }

    /// `enforce = false` lets every check pass (open mode). The checks read the grants from
    /// memory, refreshed on every change made through this process and at least every
    /// [`DEFAULT_REFRESH`] for changes made by others (`cache.rs`).
    pub fn with_enforcement(store: Arc<dyn PermissionStore>, enforce: bool) -> Self {
        let store = Arc::new(CachedPermissionStore::new(store, DEFAULT_REFRESH));
        Self { store, enforce }
    }

    pub fn is_enforced(&self) -> bool {
        self.enforce
    }

    pub fn store(&self) -> &Arc<dyn PermissionStore> {
        &self.store
    }

    /// Applies `[[auth.permissions]]`; call once at start.
    pub async fn declare(&self, grants: &[PermissionGrant]) -> Result<(), PermissionError> {
        for grant in grants {
            grant.validate()?;
        }
        self.store.declare(grants, Utc::now()).await
    }

    /// `Ok` when `caller` may act as `role` in `scope`; else 403 with the role's code
    /// (`FORBIDDEN_CARE_UNIT`...), logged. An anonymous caller gets 401.
    pub async fn require(&self, caller: &Caller, role: Role, scope: &str) -> Result<(), Refusal> {
        self.require_any(caller, &[role], scope).await.map(|_| ())
    }

    /// `Ok(role)` with the first of `roles` `caller` holds for `scope` (GetForm: a care system
    /// for the form's care unit, or the e-service); else 403 with the first role's code.
    pub async fn require_any(
        &self,
        caller: &Caller,
        roles: &[Role],
        scope: &str,
    ) -> Result<Role, Refusal> {
        let first = *roles.first().expect("at least one role to check");
        if !self.enforce {
            return Ok(first);
        }
        let Some(hsa_id) = &caller.hsa_id else {
            return Err(Refusal::Unidentified);
        };
        for role in roles {
            if self
                .store
                .is_granted(hsa_id, *role, scope)
                .await
                .map_err(store_failure)?
            {
                return Ok(*role);
            }
        }
        let shown = shown_scope(scope);
        tracing::warn!(
            caller = %hsa_id,
            gateway = caller.gateway.as_ref().map(HsaId::as_str),
            role = first.as_str(),
            scope = %shown,
            "access refused"
        );
        metrics::counter!("authorization_refused_total", "role" => first.as_str()).increment(1);
        Err(Refusal::Forbidden {
            role: first,
            detail: first.refusal_detail(hsa_id.as_str(), &shown),
        })
    }

    /// `Ok` when `caller` may use the admin endpoints.
    pub async fn require_admin(&self, caller: &Caller) -> Result<(), Refusal> {
        self.require(caller, Role::Admin, ANY_SCOPE).await
    }

    /// The scopes `caller` may act in as `role`, for filtering lists (GetForms without a care
    /// unit returns the forms of these care units only).
    pub async fn allowed_scopes(
        &self,
        caller: &Caller,
        role: Role,
    ) -> Result<AllowedScopes, Refusal> {
        if !self.enforce {
            return Ok(AllowedScopes::All);
        }
        let Some(hsa_id) = &caller.hsa_id else {
            return Ok(AllowedScopes::Only(BTreeSet::new()));
        };
        let scopes = self
            .store
            .scopes(hsa_id, role)
            .await
            .map_err(store_failure)?;
        if scopes.iter().any(|s| s == ANY_SCOPE) {
            Ok(AllowedScopes::All)
        } else {
            Ok(AllowedScopes::Only(scopes.into_iter().collect()))
        }
    }
}

/// A scope as it may appear in a log or a problem: masked should a caller have passed an
/// identity number where a scope belongs.
fn shown_scope(scope: &str) -> String {
    if is_personal_identity_number(scope) {
        mask(scope)
    } else {
        scope.chars().take(255).collect()
    }
}

fn store_failure(error: PermissionError) -> Refusal {
    tracing::error!(%error, "the permission check failed");
    Refusal::Unavailable(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_scopes_are_checked() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert!("owner".parse::<Role>().is_err());
        assert!(validate_scope("*").is_ok());
        assert!(validate_scope("SE2321000016-1HZ3").is_ok());
        assert!(validate_scope("").is_err());
        assert!(validate_scope("a b").is_err());
        assert!(validate_scope("191212121212").is_err());
        assert_eq!(shown_scope("191212121212"), "19121212****");
    }
}
