//! The HTTP edge: routes, the OpenAPI document, error mapping.

pub mod admin;
pub mod alarms;
pub mod contract;
pub mod error;
pub mod fhir;
pub mod form_requests;
pub mod form_wire;
pub mod forms;
pub mod headers;
pub mod identity_links;
pub mod instruments;
mod links;
pub mod migration;
pub mod notification_routes;
pub mod templates;
pub mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use common::audit::AuditLog;
use common::auth::Authenticator;
use common::permissions::Permissions;
use tokio::sync::Notify;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use crate::domain::form::engagement::Poster;
use crate::domain::form::service::FormService;
use crate::domain::template::service::TemplateService;
use crate::store::FormStore;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn FormStore>,
    pub templates: Arc<TemplateService>,
    pub forms: Arc<FormService>,
    /// Wakes the delivery worker when a post was written to the outbox.
    pub outbox: Arc<Notify>,
    /// The permission table every contract checks.
    pub permissions: Permissions,
    /// The audit log of every access to a form.
    pub audit: AuditLog,
}

impl FromRef<AppState> for Permissions {
    fn from_ref(state: &AppState) -> Self {
        state.permissions.clone()
    }
}

impl FromRef<AppState> for AuditLog {
    fn from_ref(state: &AppState) -> Self {
        state.audit.clone()
    }
}

impl AppState {
    /// The state in open mode (every permission check passes; accesses are still audited).
    pub fn new(config: Config, store: Arc<dyn FormStore>, outbox: Arc<Notify>) -> Self {
        let permissions = Permissions::new(store.permission_store(), &Authenticator::open());
        Self::with_security(config, store, outbox, permissions)
    }

    /// The state with `permissions` (enforced unless the authenticator is open).
    pub fn with_security(
        config: Config,
        store: Arc<dyn FormStore>,
        outbox: Arc<Notify>,
        permissions: Permissions,
    ) -> Self {
        let templates = Arc::new(TemplateService::new(Arc::clone(&store)));
        let forms = Arc::new(FormService::new(
            Arc::clone(&store),
            Arc::clone(&templates),
            poster(&config),
            config.forms.rules(),
            Arc::clone(&outbox),
        ));
        let audit = AuditLog::grouped(store.audit_store(), config.database.response_timeout());
        Self {
            config: Arc::new(config),
            audit,
            store,
            templates,
            forms,
            outbox,
            permissions,
        }
    }
}

/// Who the engine's engagement-index posts are from.
pub fn poster(config: &Config) -> Poster {
    Poster {
        engine: config.hsa_id.clone(),
        service_domain: config.service_domain.clone(),
        routes: Arc::new(config.notification.routes()),
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Form engine",
        description = "RIV-TA infrastructure:eservicesupply:forminteraction 2.x over HTTP/JSON: form templates, \
            form requests and the citizen's form lifecycle. \
            Callers authenticate as the deployment configures (mutual TLS, bearer token, or open on a \
            developer machine). Template contracts and CreateFormRequest need the role care_system for the \
            care unit; the citizen's contracts the role eservice, with the citizen as subjectOfCare; GetForms, \
            GetForm and CancelForm either. A form of another care unit or another citizen answers exactly \
            like an unknown one (404 FORM_NOT_FOUND). /admin needs the role admin (docs/security.md). \
            Every request body is checked against the schema below before it is read, and a body that \
            breaks it is refused with 400 INVALID_REQUEST naming the field. Unknown members are ignored, \
            but like every string their names and strings carry no control character. Accepted beside \
            the schema's spellings: the care unit as healthcare_facility_CareUnit or \
            healthcare_Facility_CareUnit, answerMaxLenght and answerPlaceHolder for answerMaxLength and \
            answerPlaceholder, and a whole number written with a fraction of zero (7.0).",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "forminteraction", description = "The form interaction contracts"),
        (name = "fhir", description = "FHIR R4 (SDC): templates as Questionnaires in and out, completed forms as QuestionnaireResponses (docs/fhir.md)"),
        (name = "admin", description = "The outbox of engagement-index posts, for operators"),
        (name = "security", description = "The permission table and the audit log (role admin)"),
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
        .routes(routes!(form_requests::create_form_request))
        .routes(routes!(forms::create_form))
        .routes(routes!(forms::get_forms))
        .routes(routes!(forms::get_form))
        .routes(routes!(forms::get_form_question_page))
        .routes(routes!(forms::save_form_page))
        .routes(routes!(forms::save_form))
        .routes(routes!(forms::cancel_form))
        .routes(routes!(alarms::get_alarms))
        .routes(routes!(fhir::import_questionnaire))
        .routes(routes!(fhir::export_questionnaire))
        .routes(routes!(fhir::export_questionnaire_response))
        .routes(routes!(admin::overview))
        .routes(routes!(admin::deliveries))
        .routes(routes!(admin::redrive))
        .routes(routes!(identity_links::link_identities))
        .routes(routes!(identity_links::search_identity_links))
        .routes(routes!(notification_routes::list))
        .routes(routes!(notification_routes::deliveries))
        .routes(routes!(notification_routes::redrive))
        .routes(routes!(instruments::list, instruments::load))
        .merge(common::permissions::admin_routes())
        .merge(common::audit::admin_routes())
}

/// The routes of this service in open mode, and its OpenAPI document.
pub fn router(state: AppState) -> (Router, OpenApiDocument) {
    secured_router(state, &Authenticator::open())
}

/// The routes of this service behind `authenticator` (and its rate limit), and its OpenAPI
/// document.
pub fn secured_router(state: AppState, authenticator: &Authenticator) -> (Router, OpenApiDocument) {
    let (routes, document) = routes().with_state(state).split_for_parts();
    (authenticator.protect(routes), tightened(&document))
}

/// The complete OpenAPI document as served at `/openapi.json`.
pub fn openapi() -> OpenApiDocument {
    let (_, mut document) = routes().split_for_parts();
    document.merge(migration::openapi());
    common::openapi::complete(tightened(&document))
}

/// The document with the engine's field rules, which [`contract::Contract`] enforces, and the
/// links between its contracts.
pub(crate) fn tightened(document: &OpenApiDocument) -> OpenApiDocument {
    let mut value = serde_json::to_value(document).expect("an OpenAPI document serialises");
    contract::tighten(&mut value);
    links::add(&mut value);
    common::openapi::read_back(value).expect("the tightened OpenAPI document reads back")
}
