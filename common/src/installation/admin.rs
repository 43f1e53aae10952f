//! `/admin/installation` (role admin): the mode, the migration key, the switch to operational;
//! and `/migration/v1/installation`, where a migration client checks its key (seed 000's steps
//! 11 and 12).

use axum::Router;
use axum::extract::{FromRef, State};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use http::{StatusCode, header};
use serde::Serialize;
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::key::{MigrationClient, new_key};
use super::{EntityProgress, Installation, InstallationError, InstallationMode, OPERATIONAL};
use crate::audit::{AuditEvent, AuditLog, AuditOutcome};
use crate::auth::Caller;
use crate::permissions::{Permissions, Role};
use crate::problem::{ApiJson, Problem};

#[derive(Clone, FromRef)]
struct AdminState {
    installation: Installation,
    permissions: Permissions,
    audit: AuditLog,
}

fn admin_routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(get_installation))
        .routes(routes!(create_migration_key))
        .routes(routes!(switch_to_operational))
}

fn migration_routes() -> OpenApiRouter<Installation> {
    OpenApiRouter::new().routes(routes!(migration_installation))
}

/// The admin routes (to be put behind the authenticator) and the migration routes.
pub(super) fn routers(
    installation: Installation,
    permissions: Permissions,
    audit: AuditLog,
) -> (Router, Router) {
    let (migration, _) = migration_routes()
        .with_state(installation.clone())
        .split_for_parts();
    let (admin, _) = admin_routes()
        .with_state(AdminState {
            installation,
            permissions,
            audit,
        })
        .split_for_parts();
    (admin, migration)
}

#[derive(OpenApi)]
#[openapi(
    modifiers(&MigrationKeyScheme),
    tags((name = "installation", description = "The installation's mode (staging while \
        data is migrated in, then operational), its one-time migration key, and the migration \
        endpoints (docs/migration.md)"))
)]
struct InstallationDoc;

/// `migrationKey`: the migration endpoints' credential, `Authorization: Migration <key>`.
struct MigrationKeyScheme;

impl utoipa::Modify for MigrationKeyScheme {
    fn modify(&self, document: &mut OpenApiDocument) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
        document
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "migrationKey",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    "Authorization",
                    "`Migration <key>`: the installation's one-time migration key \
                     (POST /admin/installation/migration-keys)",
                ))),
            );
    }
}

/// The installation's endpoints as documented in every service's OpenAPI document.
pub fn openapi() -> OpenApiDocument {
    let mut document = InstallationDoc::openapi();
    document.merge(admin_routes().split_for_parts().1);
    document.merge(migration_routes().split_for_parts().1);
    document
}

/// The installation, as an admin sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallationStatus {
    /// `form-engine`, `engagement-index` or `patient-portal-stub`.
    pub service: String,
    /// Binds this installation's migration keys to it.
    pub installation_id: String,
    pub mode: InstallationMode,
    pub created_at: DateTime<Utc>,
    /// When the mode last changed (the installation's creation until then).
    pub mode_changed_at: DateTime<Utc>,
    /// Who changed it: the admin's HSA-id (`anonymous` in open mode), or the configuration.
    pub mode_changed_by: String,
    /// The active (not revoked) migration key, never its secret; absent when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_key: Option<MigrationKeyStatus>,
    pub migration: MigrationProgress,
}

/// A migration key without its secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MigrationKeyStatus {
    /// The part of the key before the dot.
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub expires_at: DateTime<Utc>,
    /// True once `expiresAt` has passed: the key is refused; create a new one.
    pub expired: bool,
}

/// What the migration endpoints have taken in so far, per entity (none until a migration
/// client has written something).
#[derive(Debug, Serialize, ToSchema)]
pub struct MigrationProgress {
    pub entities: Vec<EntityProgress>,
}

/// A new migration key, shown this once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"key": "6f1c0b8e2a7d4e0f9b3c5a1d2e4f6a8b.q2Vx1c4m9Kp0yZ7wTn3HfLr5sJd8GbAeUo6iQvXtCk0", "expiresAt": "2026-12-11T09:00:00Z"}))]
pub struct MigrationKeyCreated {
    /// Send as `Authorization: Migration <key>`. Kept only as a hash: it cannot be shown again.
    pub key: String,
    pub expires_at: DateTime<Utc>,
}

/// The installation, as the holder of its migration key sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MigrationSession {
    pub service: String,
    pub installation_id: String,
    pub mode: InstallationMode,
    pub key_id: String,
    pub key_expires_at: DateTime<Utc>,
    pub migration: MigrationProgress,
}

fn internal(error: &InstallationError) -> Problem {
    tracing::error!(%error, "the installation store failed");
    Problem::fault(error)
}

fn already_operational() -> Problem {
    Problem::conflict(
        OPERATIONAL,
        "This installation is operational: it takes no migration key and cannot be switched again.",
    )
}

async fn progress(installation: &Installation) -> Result<MigrationProgress, Problem> {
    let entities = installation
        .store()
        .progress()
        .await
        .map_err(|e| internal(&e))?;
    Ok(MigrationProgress { entities })
}

async fn status(installation: &Installation) -> Result<InstallationStatus, Problem> {
    let store = installation.store();
    let record = store.read().await.map_err(|e| internal(&e))?;
    let key = store.active_key().await.map_err(|e| internal(&e))?;
    let now = installation.now();
    Ok(InstallationStatus {
        service: installation.service().to_owned(),
        installation_id: record.installation_id,
        mode: record.mode,
        created_at: record.created_at,
        mode_changed_at: record.changed_at,
        mode_changed_by: record.changed_by,
        migration_key: key.map(|key| MigrationKeyStatus {
            id: key.id,
            created_at: key.created_at,
            created_by: key.created_by,
            expired: key.expires_at <= now,
            expires_at: key.expires_at,
        }),
        migration: progress(installation).await?,
    })
}

/// Checks the admin role; a refusal is audited (changing the installation is the most
/// consequential thing an admin does).
async fn require_admin(
    permissions: &Permissions,
    audit: &AuditLog,
    caller: &Caller,
    action: &str,
    resource: &str,
) -> Result<(), Problem> {
    if let Err(refused) = permissions.require_admin(caller).await {
        audit
            .record(
                AuditEvent::new(caller, action, AuditOutcome::Refused)
                    .role(Role::Admin)
                    .resource(resource),
            )
            .await?;
        return Err(refused.into());
    }
    Ok(())
}

/// The installation: its mode, when and by whom it last changed, the active migration key
/// (without its secret) and the migration's progress per entity.
#[utoipa::path(get, path = "/admin/installation", tag = "installation",
    responses(
        (status = 200, description = "The installation", body = InstallationStatus),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
async fn get_installation(
    State(installation): State<Installation>,
    State(permissions): State<Permissions>,
    caller: Caller,
) -> Result<ApiJson<InstallationStatus>, Problem> {
    permissions.require_admin(&caller).await?;
    Ok(ApiJson(status(&installation).await?))
}

/// Creates this installation's migration key and shows it this once. It expires after
/// `installation.migration_key_lifetime_secs` (default 7 days); creating another revokes it, and
/// so does the switch to operational. Audited.
#[utoipa::path(post, path = "/admin/installation/migration-keys", tag = "installation",
    responses(
        (status = 201, description = "The key, shown once (`Cache-Control: no-store`)", body = MigrationKeyCreated),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "INSTALLATION_OPERATIONAL: an operational installation takes no migration", body = Problem, content_type = "application/problem+json")))]
async fn create_migration_key(
    State(installation): State<Installation>,
    State(permissions): State<Permissions>,
    State(audit): State<AuditLog>,
    caller: Caller,
) -> Result<impl IntoResponse, Problem> {
    const ACTION: &str = "MigrationKeyCreate";
    require_admin(&permissions, &audit, &caller, ACTION, installation.id()).await?;
    let key = new_key(
        &installation,
        caller.name(),
        installation.inner.config.key_lifetime(),
    );
    let event = AuditEvent::new(&caller, ACTION, AuditOutcome::Success)
        .role(Role::Admin)
        .resource(format!("migration key {}", key.record.id));
    let stored = installation
        .store()
        .replace_key(&key.record, &event)
        .await
        .map_err(|e| internal(&e))?;
    if !stored {
        return Err(already_operational());
    }
    tracing::info!(key_id = %key.record.id, caller = %caller, expires_at = %key.record.expires_at, "a migration key was created");
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        ApiJson(MigrationKeyCreated {
            key: key.text,
            expires_at: key.record.expires_at,
        }),
    ))
}

/// What a migration client says of its verification when it asks for the switch (all optional;
/// an operator's plain POST carries no body).
#[derive(Debug, Default, serde::Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SwitchRequest {
    /// The counts and digests of every entity matched the source's.
    pub verification_passed: Option<bool>,
    /// Source records the migration endpoints refused (a whole number; `5.0` is 5).
    #[serde(default, deserialize_with = "crate::problem::integral")]
    pub rejected: Option<i64>,
    /// Switched although the verification failed or records were refused (`--force`).
    #[serde(default)]
    pub forced: bool,
}

/// Switches a staging installation to operational: the contracts answer from now on, the
/// migration key is revoked and the migration endpoints close (409). One way: an operational
/// installation never goes back to staging. Audited, as `InstallationSwitchToOperationalForced`
/// when the client says it was forced past a failed verification or refused records.
#[utoipa::path(post, path = "/admin/installation/switch-to-operational", tag = "installation",
    request_body(content = Option<SwitchRequest>, description = "What the migration client verified (optional)"),
    responses(
        (status = 200, description = "Switched: the installation as it is now", body = InstallationStatus),
        (status = 400, description = "INVALID_REQUEST: a body that is not a SwitchRequest", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "INSTALLATION_OPERATIONAL: it is operational already", body = Problem, content_type = "application/problem+json")))]
async fn switch_to_operational(
    State(installation): State<Installation>,
    State(permissions): State<Permissions>,
    State(audit): State<AuditLog>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<ApiJson<InstallationStatus>, Problem> {
    const ACTION: &str = "InstallationSwitchToOperational";
    require_admin(&permissions, &audit, &caller, ACTION, installation.id()).await?;
    // No body, or `null` (the document's "optional"), is an operator's plain switch.
    let request: SwitchRequest = if body.iter().all(u8::is_ascii_whitespace) {
        SwitchRequest::default()
    } else {
        serde_json::from_slice::<Option<SwitchRequest>>(&body)
            .map_err(|e| Problem::bad_request("INVALID_REQUEST", format!("the body: {e}")))?
            .unwrap_or_default()
    };
    let action = if request.forced {
        "InstallationSwitchToOperationalForced"
    } else {
        ACTION
    };
    let event = AuditEvent::new(&caller, action, AuditOutcome::Success)
        .role(Role::Admin)
        .resource(installation.id());
    let switched = installation
        .store()
        .switch_to_operational(caller.name(), installation.now(), &event)
        .await
        .map_err(|e| internal(&e))?;
    if switched.is_none() {
        return Err(already_operational());
    }
    installation.mark_operational();
    if request.forced {
        tracing::warn!(service = installation.service(), caller = %caller,
            verification_passed = ?request.verification_passed, rejected = ?request.rejected,
            "the installation was switched to operational by force, past a failed verification or refused records");
    } else {
        tracing::info!(service = installation.service(), caller = %caller,
            verification_passed = ?request.verification_passed, rejected = ?request.rejected,
            "the installation was switched to operational");
    }
    Ok(ApiJson(status(&installation).await?))
}

/// For a migration client: checks its key and shows the installation it is bound to, with the
/// migration's progress.
#[utoipa::path(get, path = "/migration/v1/installation", tag = "installation",
    security(("migrationKey" = [])),
    responses(
        (status = 200, description = "The key is this installation's active key", body = MigrationSession),
        (status = 401, description = "MIGRATION_KEY_REFUSED: no `Authorization: Migration <key>`, or a key that is \
            not this installation's, revoked (replaced, or the installation became operational) or expired", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "INSTALLATION_OPERATIONAL: the installation is operational; migrating is over", body = Problem, content_type = "application/problem+json")))]
async fn migration_installation(
    client: MigrationClient,
) -> Result<ApiJson<MigrationSession>, Problem> {
    let installation = &client.installation;
    Ok(ApiJson(MigrationSession {
        service: installation.service().to_owned(),
        installation_id: installation.id().to_owned(),
        mode: installation.mode().await,
        key_id: client.key_id.clone(),
        key_expires_at: client.expires_at,
        migration: progress(installation).await?,
    }))
}
