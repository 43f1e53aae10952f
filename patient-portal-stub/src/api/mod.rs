//! The HTTP edge of the contracts and the admin endpoints: routes, the OpenAPI document,
//! error mapping. The citizen's pages are in [`crate::web`].

mod active_user;
mod citizens;
mod contract;
mod error;
mod inbox;
mod notifications;

use std::sync::Arc;

use axum::Router;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use crate::engine::FormEngine;
use crate::store::PortalStore;

pub use contract::ResultCode;

/// What every handler, of the contracts and of the pages, can reach.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn PortalStore>,
    /// The form engine's citizen contracts, which the form pages call.
    pub engine: FormEngine,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Patient portal stub",
        description = "A stand-in for the national patient portal: AddMessageToPatientPortalInbox, IsActiveUser, \
            test citizens and the citizen's web pages.\n\n\
            A refused business operation answers HTTP 200 with `resultCode` `ERROR` and a `comment`; `INFO` \
            means done, with a comment to show. Malformed or invalid requests answer an RFC 9457 problem \
            document naming the field. The citizen's web pages (`/sign-in`, `/inbox`, `/notifications`, \
            `/forms/{formId}`) are HTML and not described here; the form pages call the form engine's \
            citizen contracts.",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "patientportal", description = "The patient portal contracts"),
        (name = "admin", description = "Test citizens and the simulated SMS/e-mail log, for operators and tests. \
            Citizens are addressed by an opaque `citizenId`: personal identity numbers never appear in URLs."),
        (name = "operations", description = "Health, metrics and documentation")
    )
)]
struct ApiDoc;

fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(inbox::add_message_to_patient_portal_inbox))
        .routes(routes!(active_user::is_active_user))
        .routes(routes!(citizens::list_citizens, citizens::create_citizen))
        .routes(routes!(
            citizens::get_citizen,
            citizens::replace_citizen,
            citizens::delete_citizen
        ))
        .routes(routes!(notifications::list_notifications))
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
