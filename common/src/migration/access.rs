//! Who may read a digest: the holder of the migration key while staging (the client verifies
//! before the switch), or an admin in any mode (the client verifies again after it, when the
//! key is revoked). The digest route sits with the migration endpoints, outside the service's
//! authentication layer, so the admin is authenticated here as that layer would.

use axum::extract::{FromRef, FromRequestParts};
use axum::response::{IntoResponse, Response};
use http::header;
use http::request::Parts;

use crate::auth::{Authenticator, Caller};
use crate::installation::{MIGRATION_SCHEME, MigrationClient};
use crate::permissions::Permissions;
use crate::problem::Problem;

/// The caller of a digest: the migration key's holder or an admin.
pub enum KeyOrAdmin {
    Key(MigrationClient),
    Admin(Caller),
}

/// Whether the request presents a migration key (`Authorization: Migration ...`).
fn presents_key(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case(MIGRATION_SCHEME))
}

/// A request with a migration key is judged by the key (409 once operational, 401 for a wrong
/// key); any other by the service's authentication and the role admin.
pub async fn key_or_admin<S>(parts: &mut Parts, state: &S) -> Result<KeyOrAdmin, Response>
where
    S: Send + Sync,
    crate::installation::Installation: FromRef<S>,
    Authenticator: FromRef<S>,
    Permissions: FromRef<S>,
{
    if presents_key(parts) {
        return MigrationClient::from_request_parts(parts, state)
            .await
            .map(KeyOrAdmin::Key)
            .map_err(IntoResponse::into_response);
    }
    let caller = Authenticator::from_ref(state)
        .authenticate(&parts.headers, &parts.extensions)
        .await
        .map_err(IntoResponse::into_response)?;
    Permissions::from_ref(state)
        .require_admin(&caller)
        .await
        .map_err(|refusal| Problem::from(refusal).into_response())?;
    Ok(KeyOrAdmin::Admin(caller))
}

impl<S> FromRequestParts<S> for KeyOrAdmin
where
    S: Send + Sync,
    crate::installation::Installation: FromRef<S>,
    Authenticator: FromRef<S>,
    Permissions: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        key_or_admin(parts, state).await
    }
}
