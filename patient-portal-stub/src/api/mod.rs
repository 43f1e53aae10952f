//! The HTTP edge of the contracts and the admin endpoints: routes, extractors, the wire types
//! (each beside its handler), the OpenAPI document, and the one edge error (`error::ApiError`)
//! that maps the domain's failures to problem documents. The citizen's pages are in
//! [`crate::web`].

mod access;
mod active_user;
mod citizens;
mod contract;
mod error;
mod inbox;
mod notifications;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use common::audit::AuditLog;
use common::auth::Authenticator;
use common::permissions::Permissions;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use crate::domain::Portal;
use crate::engine::FormEngine;

pub use contract::ResultCode;

/// What every handler, of the contracts and of the pages, can reach.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The portal's operations, over its store.
    pub portal: Portal,
    /// The form engine's citizen contracts, which the form pages call.
    pub engine: FormEngine,
    /// The permission table the contracts and admin endpoints check.
    pub permissions: Permissions,
    /// The audit log of the citizens' data.
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
            citizen contracts.\n\n\
            Callers authenticate as the deployment configures (mutual TLS, bearer token, or open on a \
            developer machine). AddMessageToPatientPortalInbox needs the role care_system for the message's \
            care unit, IsActiveUser care_system for some care unit, /admin the role admin \
            (docs/security.md).",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "patientportal", description = "The patient portal contracts"),
        (name = "admin", description = "Test citizens and the simulated SMS/e-mail log, for operators and tests. \
            Citizens are addressed by an opaque `citizenId`: personal identity numbers never appear in URLs."),
        (name = "security", description = "The permission table and the audit log (role admin)"),
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
        .merge(common::permissions::admin_routes())
        .merge(common::audit::admin_routes())
}

/// The routes of the contracts and admin endpoints, behind `authenticator` (and its rate
/// limit), and their OpenAPI document. The citizen's pages are added beside them.
pub fn router(state: AppState, authenticator: &Authenticator) -> (Router, OpenApiDocument) {
    let (routes, document) = routes().with_state(state).split_for_parts();
    (authenticator.protect(routes), refined(&document))
}

/// The complete OpenAPI document as served at `/openapi.json`.
pub fn openapi() -> OpenApiDocument {
    let (_, document) = routes().split_for_parts();
    common::openapi::complete(refined(&document))
}

/// The request bodies' schemas, whose unknown members are ignored but, like every string of
/// a body (`ApiJson`), carry no control character in a name or a string.
const REQUEST_SCHEMAS: [&str; 4] = [
    "AddMessageToPatientPortalInboxRequest",
    "IsActiveUserRequest",
    "NewCitizen",
    "CitizenChange",
];

/// The schema of an unknown member, by the name the other services' documents give it.
const EXTENSION_VALUE: &str = "ExtensionValue";

/// What the schema attributes cannot say:
/// - an unknown member is ignored, but neither its name nor any name or string inside it
///   carries a control character (`ApiJson` refuses the body, naming the member);
/// - a notification switched on needs its address (`notificationSms: true` needs a `phone`,
///   `notificationEmail: true` an `email`), said with `anyOf` (switch off or absent, or the
///   address given), which the document model keeps.
fn refined(document: &OpenApiDocument) -> OpenApiDocument {
    use serde_json::{Value, json};
    let mut value = serde_json::to_value(document).expect("an OpenAPI document serialises");
    let identifier = common::hygiene::pattern(common::hygiene::TextKind::Identifier);
    let extension = json!({"$ref": format!("#/components/schemas/{EXTENSION_VALUE}")});
    for name in REQUEST_SCHEMAS {
        if let Some(schema) = value
            .pointer_mut(&format!("/components/schemas/{name}"))
            .and_then(Value::as_object_mut)
        {
            schema.insert(
                "propertyNames".to_owned(),
                json!({"type": "string", "pattern": identifier}),
            );
            schema.insert("additionalProperties".to_owned(), extension.clone());
        }
    }
    if let Some(schemas) = value
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert(
            EXTENSION_VALUE.to_owned(),
            json!({
                "description": "An unknown member: ignored, but no name or string in it carries a control character.",
                "anyOf": [
                    {"type": ["null", "boolean", "number"]},
                    {"type": "string", "pattern": identifier},
                    {"type": "array", "items": extension},
                    {"type": "object",
                     "propertyNames": {"type": "string", "pattern": identifier},
                     "additionalProperties": extension}
                ]
            }),
        );
    }
    let needs = |switch: &str, address: &str| {
        json!({"anyOf": [
            {"type": "object", "properties": {switch: {"type": "boolean", "enum": [false]}}},
            {"type": "object", "required": [address],
             "properties": {address: {"type": "string", "minLength": 1}}}
        ]})
    };
    for name in ["NewCitizen", "CitizenChange"] {
        if let Some(schema) = value.pointer_mut(&format!("/components/schemas/{name}")) {
            let object = schema.take();
            *schema = json!({"allOf": [
                object,
                needs("notificationSms", "phone"),
                needs("notificationEmail", "email")
            ]});
        }
    }
    let refined: OpenApiDocument =
        serde_json::from_value(value).expect("the refined OpenAPI document reads back");
    debug_assert!(
        serde_json::to_value(&refined).is_ok_and(|v| v
            .pointer("/components/schemas/NewCitizen/allOf/1/anyOf/1/required")
            .is_some_and(Value::is_array)
            && v.pointer("/components/schemas/IsActiveUserRequest/propertyNames")
                .is_some()),
        "the document model keeps the rules"
    );
    refined
}
