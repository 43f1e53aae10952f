//! The HTTP edge: routes, the OpenAPI document, error mapping.

use std::sync::Arc;

use axum::Router;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa_axum::router::OpenApiRouter;

use crate::config::Config;
use crate::store::EngagementStore;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn EngagementStore>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Engagement index",
        description = "RIV-TA itintegration:engagementindex 1.0 over HTTP/JSON: Update, FindContent, \
            ProcessNotification, GetUpdates, and the subscriber registry with notification delivery.",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "engagementindex", description = "The engagement index contracts"),
        (name = "operations", description = "Health, metrics and documentation")
    )
)]
struct ApiDoc;

fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
}

/// The routes of this service with their state, and its OpenAPI document.
pub fn router(state: AppState) -> (Router, OpenApiDocument) {
    routes().with_state(state).split_for_parts()
}

/// The complete OpenAPI document as served at `/openapi.json`.
pub fn openapi() -> OpenApiDocument {
    let (_, mut document) = routes().split_for_parts();
    document.merge(common::server::operational_openapi());
    document
}
