//! The HTTP edge: routes, the OpenAPI document, error mapping.

mod error;
mod find_content;
mod get_updates;
mod process_notification;
mod pull;
mod recording;
mod subscribers;
mod update;

use std::sync::Arc;

use axum::Router;
use common::delivery::DeliveryStore;
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
        (name = "subscribers", description = "Subscriber registry, notification delivery and the pull point"),
        (name = "operations", description = "Health, metrics and documentation")
    )
)]
struct ApiDoc;

fn routes() -> OpenApiRouter<AppState> {
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
