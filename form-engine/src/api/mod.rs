//! The HTTP edge: routes, the OpenAPI document, error mapping.

pub mod error;
pub mod templates;
pub mod wire;

use std::sync::Arc;

use axum::Router;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use crate::domain::template::service::TemplateService;
use crate::store::FormStore;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn FormStore>,
    pub templates: Arc<TemplateService>,
}

impl AppState {
    pub fn new(config: Config, store: Arc<dyn FormStore>) -> Self {
        Self {
            config: Arc::new(config),
            templates: Arc::new(TemplateService::new(Arc::clone(&store))),
            store,
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Form engine",
        description = "RIV-TA infrastructure:eservicesupply:forminteraction 2.x over HTTP/JSON: form templates, \
            form requests and the citizen's form lifecycle.",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "forminteraction", description = "The form interaction contracts"),
        (name = "operations", description = "Health, metrics and documentation")
    )
)]
struct ApiDoc;

fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(templates::save_form_template))
        .routes(routes!(templates::get_form_template))
        .routes(routes!(templates::get_form_templates))
        .routes(routes!(templates::delete_form_template))
        .routes(routes!(templates::get_form_template_schema))
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
