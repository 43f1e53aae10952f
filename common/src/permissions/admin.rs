//! `/admin/permissions`: list, grant and revoke, for callers holding `admin`.

use axum::extract::{FromRef, State};
use chrono::Utc;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{GrantSource, Permission, PermissionGrant, Permissions, Removal, Role};
use crate::auth::Caller;
use crate::identity::HsaId;
use crate::problem::{ApiJson, ApiPath, ApiQuery, Problem};

/// The admin routes of the permission table, for a service whose state holds its
/// [`Permissions`] (`impl FromRef<AppState> for Permissions`). Wrap them with
/// [`crate::auth::Authenticator::protect`] like the other API routes.
pub fn admin_routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Permissions: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(list_permissions))
        .routes(routes!(put_permission, delete_permission))
}

// `parameter_in` said outright: utoipa infers it only from axum's own `Query`, and without it
// the document would call this a required path parameter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PermissionFilter {
    /// Only the grants of this caller HSA-id.
    #[param(pattern = "^[!-~]{1,64}$")]
    pub caller: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionList {
    pub permissions: Vec<Permission>,
}

fn internal(error: &(impl std::error::Error + 'static)) -> Problem {
    tracing::error!(%error, "permission administration failed");
    Problem::fault(error)
}

/// A grant as the admin API reads it from its path, checked (`INVALID_PERMISSION`); the
/// migration of grants checks each record with it too.
pub(crate) fn grant(caller: &str, role: &str, scope: String) -> Result<PermissionGrant, Problem> {
    let caller = HsaId::parse(caller)
        .map_err(|e| Problem::bad_request("INVALID_PERMISSION", format!("caller: {e}")))?;
    let role = Role::parse(role).ok_or_else(|| {
        Problem::bad_request(
            "INVALID_PERMISSION",
            format!(
                "role: `{}` is not one of care_system, eservice, source_system, reader, admin",
                role.chars().take(32).collect::<String>()
            ),
        )
    })?;
    let grant = PermissionGrant::new(caller, role, scope);
    grant
        .validate()
        .map_err(|e| Problem::bad_request("INVALID_PERMISSION", format!("scope: {e}")))?;
    Ok(grant)
}

/// Lists the grants.
#[utoipa::path(get, path = "/admin/permissions", tag = "security",
    params(PermissionFilter),
    responses(
        (status = 200, description = "The grants, by caller, role and scope", body = PermissionList),
        (status = 400, description = "INVALID_REQUEST: `caller` is not an HSA-id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn list_permissions(
    State(permissions): State<Permissions>,
    caller: Caller,
    ApiQuery(filter): ApiQuery<PermissionFilter>,
) -> Result<ApiJson<PermissionList>, Problem> {
    permissions.require_admin(&caller).await?;
    let of = match filter.caller.as_deref() {
        Some(value) => Some(
            HsaId::parse(value)
                .map_err(|e| Problem::bad_request("INVALID_REQUEST", format!("caller: {e}")))?,
        ),
        None => None,
    };
    let list = permissions
        .store()
        .list(of.as_ref())
        .await
        .map_err(|e| internal(&e))?;
    Ok(ApiJson(PermissionList { permissions: list }))
}

/// Grants `caller` the `role` within `scope` (`*` for every scope).
#[utoipa::path(put, path = "/admin/permissions/{caller}/{role}/{scope}", tag = "security",
    params(
        ("caller" = String, Path, description = "The caller's HSA-id", pattern = "^[!-~]{1,64}$"),
        ("role" = inline(Role), Path, description = "What the caller may act as"),
        ("scope" = String, Path, pattern = "^[!-~]{1,255}$",
            description = "A care-unit HSA-id, sourceSystem, serviceDomain, or `*`; never a personal \
                identity number (refused with 400 INVALID_PERMISSION)")),
    responses(
        (status = 201, description = "Granted", body = Permission),
        (status = 200, description = "Already granted", body = Permission),
        (status = 400, description = "INVALID_PERMISSION: invalid caller, role or scope", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn put_permission(
    State(permissions): State<Permissions>,
    caller: Caller,
    ApiPath((grantee, role, scope)): ApiPath<(String, String, String)>,
) -> Result<(StatusCode, ApiJson<Permission>), Problem> {
    permissions.require_admin(&caller).await?;
    let grant = grant(&grantee, &role, scope)?;
    let created = permissions
        .store()
        .put(&grant, GrantSource::Admin, Utc::now())
        .await
        .map_err(|e| internal(&e))?;
    let stored = permissions
        .store()
        .list(Some(&grant.caller))
        .await
        .map_err(|e| internal(&e))?
        .into_iter()
        .find(|p| p.role == grant.role && p.scope == grant.scope)
        .ok_or_else(Problem::internal)?;
    tracing::info!(
        admin = %caller,
        grantee = %grant.caller,
        role = grant.role.as_str(),
        scope = %grant.scope,
        created,
        "permission granted"
    );
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ApiJson(stored)))
}

/// Revokes a grant made through this API (grants from the configuration are changed there).
#[utoipa::path(delete, path = "/admin/permissions/{caller}/{role}/{scope}", tag = "security",
    params(
        ("caller" = String, Path, description = "The caller's HSA-id", pattern = "^[!-~]{1,64}$"),
        ("role" = inline(Role), Path, description = "What the caller may act as"),
        ("scope" = String, Path, pattern = "^[!-~]{1,255}$", description = "The scope of the grant")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such grant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Declared in the configuration", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "INVALID_PERMISSION: invalid caller, role or scope", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_permission(
    State(permissions): State<Permissions>,
    caller: Caller,
    ApiPath((grantee, role, scope)): ApiPath<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    permissions.require_admin(&caller).await?;
    let grant = grant(&grantee, &role, scope)?;
    match permissions
        .store()
        .delete(&grant)
        .await
        .map_err(|e| internal(&e))?
    {
        Removal::Removed => {
            tracing::info!(
                admin = %caller,
                grantee = %grant.caller,
                role = grant.role.as_str(),
                scope = %grant.scope,
                "permission revoked"
            );
            Ok(StatusCode::NO_CONTENT)
        }
        Removal::NotFound => Err(Problem::not_found(
            "PERMISSION_NOT_FOUND",
            format!(
                "{} holds no {} grant for scope {}.",
                grant.caller, grant.role, grant.scope
            ),
        )),
        Removal::FromConfig => Err(Problem::conflict(
            "PERMISSION_FROM_CONFIG",
            "This grant is declared in the configuration ([[auth.permissions]]); remove it there.",
        )),
    }
}
