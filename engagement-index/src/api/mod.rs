//! The HTTP edge: routes, the OpenAPI document, error mapping, who may call what.

mod access;
mod error;
mod find_content;
mod get_updates;
mod identity_links;
pub mod migration;
mod process_notification;
mod pull;
mod queues;
mod recording;
mod subscribers;
mod update;
pub mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use common::audit::AuditLog;
use common::auth::Authenticator;
use common::delivery::DeliveryStore;
use common::permissions::Permissions;
use tokio::sync::Notify;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use crate::store::{EngagementStore, SubscriberStore};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn EngagementStore>,
    pub subscribers: Arc<dyn SubscriberStore>,
    pub deliveries: Arc<dyn DeliveryStore>,
    /// Notify after committing accepted changes: they are fanned out at once.
    pub changes_waker: Arc<Notify>,
    /// Notify after redriving: delivery starts at once.
    pub delivery_waker: Arc<Notify>,
}

/// Who may call and what is recorded: the caller's authentication, the permission table and
/// the audit log.
#[derive(Clone)]
pub struct Security {
    pub authenticator: Authenticator,
    pub permissions: Permissions,
    pub audit: AuditLog,
}

impl Security {
    /// Open mode on `store`'s database (tests, tools): no proof asked, every permission check
    /// passes, and every access to patient data is still audited.
    pub fn open(store: &dyn EngagementStore) -> Self {
        let authenticator = Authenticator::open();
        Self {
            permissions: Permissions::new(store.permission_store(), &authenticator),
            audit: AuditLog::new(store.audit_store()),
            authenticator,
        }
    }
}

/// The routes' state: the service's, and the security handlers and the admin routes of
/// `common` need.
#[derive(Clone, FromRef)]
struct ApiState {
    app: AppState,
    permissions: Permissions,
    audit: AuditLog,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Engagement index",
        description = "RIV-TA itintegration:engagementindex 1.0 over HTTP/JSON: Update, FindContent, \
            ProcessNotification, GetUpdates, and the subscriber registry with notification delivery. \
            Callers authenticate as the deployment configures (mutual TLS, bearer token, or open on a \
            developer machine); Update and ProcessNotification need the role source_system, FindContent \
            and GetUpdates the role reader, /admin the role admin (docs/security.md).",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "engagementindex", description = "The engagement index contracts"),
        (name = "subscribers", description = "Subscriber registry, notification delivery and the pull point"),
        (name = "identity", description = "Identity links: the posts of a number move to another number of the same person (role admin)"),
        (name = "security", description = "The permission table and the audit log (role admin)"),
        (name = "operations", description = "Health, metrics and documentation")
    )
)]
struct ApiDoc;

fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(update::update))
        .routes(routes!(find_content::find_content))
        .routes(routes!(process_notification::process_notification))
        .routes(routes!(get_updates::get_updates))
        .routes(routes!(subscribers::list_subscribers))
        .routes(routes!(
            subscribers::put_subscriber,
            subscribers::get_subscriber,
            subscribers::delete_subscriber
        ))
        .routes(routes!(subscribers::list_deliveries))
        .routes(routes!(subscribers::redrive))
        .routes(routes!(pull::pull_notifications))
        .routes(routes!(identity_links::link_identities))
        .routes(routes!(identity_links::search_identity_links))
        .routes(routes!(identity_links::link_registered_resident_identity))
        .merge(common::permissions::admin_routes())
        .merge(common::audit::admin_routes())
}

/// The routes of this service in open mode on its own database, and its OpenAPI document.
pub fn router(state: AppState) -> (Router, OpenApiDocument) {
    let security = Security::open(state.store.as_ref());
    secured_router(state, security)
}

/// The routes of this service, every one behind `security`'s authentication (and rate
/// limit), and its OpenAPI document.
pub fn secured_router(state: AppState, security: Security) -> (Router, OpenApiDocument) {
    let Security {
        authenticator,
        permissions,
        audit,
    } = security;
    let (routes, document) = routes()
        .with_state(ApiState {
            app: state,
            permissions,
            audit,
        })
        .split_for_parts();
    (authenticator.protect(routes), document)
}

/// The complete OpenAPI document as served at `/openapi.json`.
pub fn openapi() -> OpenApiDocument {
    let (_, mut document) = routes().split_for_parts();
    document.merge(migration::openapi());
    common::openapi::complete_with(document, &[queues::BACKBONE_ANSWER])
}
