//! Admin endpoints for the test citizens. A citizen is addressed by its opaque `citizenId`;
//! the personal identity number travels only in bodies (api.md §1: never in URLs).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use common::audit::{AuditEvent, AuditLog, AuditOutcome};
use common::auth::Caller;
use common::hygiene::TextKind;
use common::permissions::{Permissions, Role};
use common::problem::{ApiJson, ApiPath, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::contract::{self, invalid};
use super::error::{ApiError, citizen_not_found};
use crate::domain::citizen::{Citizen, CitizenId, CitizenProfile};
use crate::domain::truncate_to_micros;

/// A test citizen.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "citizenId": "5f0c7a8e-2a4b-4c1d-9e3f-1a2b3c4d5e6f",
    "personalIdentityNumber": "191212121212",
    "name": "Tolvan Tolvansson",
    "active": true,
    "notificationSms": true,
    "notificationEmail": true,
    "phone": "+46701740605",
    "email": "tolvan.tolvansson@example.com"
}))]
pub struct CitizenResource {
    /// Opaque id: what the admin URLs carry.
    citizen_id: Uuid,
    personal_identity_number: String,
    name: String,
    /// Uses the portal: messages can be delivered.
    active: bool,
    /// New messages are announced by SMS (to `phone`).
    notification_sms: bool,
    /// New messages are announced by e-mail (to `email`).
    notification_email: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    email: Option<String>,
}

impl From<Citizen> for CitizenResource {
    fn from(citizen: Citizen) -> Self {
        let profile = citizen.profile;
        Self {
            citizen_id: citizen.id.as_uuid(),
            personal_identity_number: profile.personal_identity_number.as_str().to_owned(),
            name: profile.name,
            active: profile.active,
            notification_sms: profile.notification_sms,
            notification_email: profile.notification_email,
            phone: profile.phone,
            email: profile.email,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CitizenList {
    /// By name.
    citizens: Vec<CitizenResource>,
}

/// Declares a request body about a citizen: its own doc and example, its own rule for the
/// personal identity number, then the details both requests share (so the two schemas state
/// them in the same words).
macro_rules! citizen_request {
    ($(#[$meta:meta])* $name:ident { $(#[$number:meta])* }) => {
        #[derive(Deserialize, ToSchema)]
        #[serde(rename_all = "camelCase")]
        $(#[$meta])*
        pub struct $name {
            $(#[$number])*
            personal_identity_number: Option<String>,
            /// The name shown on the pages: not blank, no control character, at most 200 characters
            /// (kept trimmed).
            #[schema(value_type = String, required = true, max_length = 200, pattern = "^[\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*[^\\u0000-\\u0020\\u007F\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000-\\u001F\\u007F]*$")]
            name: Option<String>,
            /// Uses the portal; default true.
            #[serde(default = "yes")]
            active: bool,
            /// Default false. When true, `phone` is needed.
            #[serde(default)]
            notification_sms: bool,
            /// Default false. When true, `email` is needed.
            #[serde(default)]
            notification_email: bool,
            /// 5 to 20 digits, optionally starting with +, grouped by single spaces or hyphens; at
            /// most 32 characters. Empty or null: none.
            #[schema(max_length = 32, pattern = "^(?:\\+?[0-9](?:[ -]?[0-9]){4,19})?$")]
            phone: Option<String>,
            /// `local@domain` (at most 254 characters). Empty or null: none.
            #[schema(
                max_length = 254,
                pattern = "^(?:[^\\u0000-\\u0020\\u007F@]+@[^\\u0000-\\u0020\\u007F@.]+(?:\\.[^\\u0000-\\u0020\\u007F@.]+)+)?$"
            )]
            email: Option<String>,
        }

        impl $name {
            fn details(self) -> (Option<String>, CitizenDetails) {
                let details = CitizenDetails {
                    name: self.name,
                    active: self.active,
                    notification_sms: self.notification_sms,
                    notification_email: self.notification_email,
                    phone: self.phone,
                    email: self.email,
                };
                (self.personal_identity_number, details)
            }
        }
    };
}

citizen_request!(
    /// A new test citizen. A notification switched on needs its phone number or e-mail address.
    /// Unknown members are ignored (api.md §1), but carry no control character.
    #[schema(example = json!({
        "personalIdentityNumber": "199001012385",
        "name": "Lena Andersson",
        "active": true,
        "notificationSms": true,
        "phone": "+46701740606"
    }))]
    NewCitizen {
        #[schema(value_type = String, required = true, pattern = "^[0-9]{8}[0-9A-Zptf]{4}$")]
    }
);

citizen_request!(
    /// A test citizen's details, replaced as a whole. The personal identity number cannot change:
    /// when given it must be the citizen's own (delete and create to change it). Unknown members
    /// are ignored (api.md §1), but carry no control character.
    #[schema(example = json!({
        "name": "Tolvan Tolvansson",
        "active": true,
        "notificationSms": false,
        "notificationEmail": true,
        "email": "tolvan.tolvansson@example.com"
    }))]
    CitizenChange {
        /// When given (not empty), the citizen's own number; another answers 409.
        #[schema(pattern = "^(?:[0-9]{8}[0-9A-Zptf]{4})?$")]
    }
);

/// What both requests say about the citizen besides the number.
struct CitizenDetails {
    name: Option<String>,
    active: bool,
    notification_sms: bool,
    notification_email: bool,
    phone: Option<String>,
    email: Option<String>,
}

fn yes() -> bool {
    true
}

impl CitizenDetails {
    fn into_profile(
        self,
        personal_identity_number: common::identity::PersonalIdentityNumber,
    ) -> Result<CitizenProfile, Problem> {
        for (field, value) in [
            ("name", self.name.as_deref()),
            ("phone", self.phone.as_deref()),
            ("email", self.email.as_deref()),
        ] {
            contract::clean(field, value, TextKind::Identifier)?;
        }
        CitizenProfile {
            personal_identity_number,
            name: contract::required(self.name, "name")?,
            active: self.active,
            notification_sms: self.notification_sms,
            notification_email: self.notification_email,
            phone: self.phone,
            email: self.email,
        }
        .validated()
        .map_err(|error| {
            // The domain's message starts with the field's domain name; the contract's is camel case.
            let reason = error.to_string();
            let reason = reason.split_once(": ").map_or(reason.as_str(), |(_, r)| r);
            invalid(error.field(), reason)
        })
    }
}

/// The audit row of an admin's access to a test citizen: the citizen is the patient, the
/// opaque citizenId the resource.
fn admin_event(caller: &Caller, action: &str, citizen: &Citizen) -> AuditEvent {
    AuditEvent::new(caller, action, AuditOutcome::Success)
        .role(Role::Admin)
        .patient(&citizen.profile.personal_identity_number)
        .resource(citizen.id.to_string())
}

/// A path id that is not a UUID names no citizen.
fn citizen_id(value: &str) -> Result<CitizenId, Problem> {
    CitizenId::parse(value).ok_or_else(citizen_not_found)
}

/// List the test citizens.
#[utoipa::path(get, path = "/admin/citizens", tag = "admin",
    responses(
        (status = 200, description = "Every test citizen, by name", body = CitizenList),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn list_citizens(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    State(audit): State<AuditLog>,
    caller: Caller,
) -> Result<ApiJson<CitizenList>, ApiError> {
    permissions.require_admin(&caller).await?;
    let citizens = state.portal.citizens().await?;
    let events: Vec<AuditEvent> = citizens
        .iter()
        .map(|citizen| admin_event(&caller, "ListTestCitizens", citizen))
        .collect();
    audit.record_all(&events).await?;
    Ok(ApiJson(CitizenList {
        citizens: citizens.into_iter().map(CitizenResource::from).collect(),
    }))
}

/// Add a test citizen.
#[utoipa::path(post, path = "/admin/citizens", tag = "admin", request_body = NewCitizen,
    responses(
        (status = 201, description = "Created; `Location` is its URL", body = CitizenResource,
            headers(("Location" = String, description = "/admin/citizens/{citizenId}"))),
        (status = 400, description = "Invalid; `detail` names the field", body = Problem,
            content_type = "application/problem+json"),
        (status = 409, description = "`CITIZEN_EXISTS`: a citizen has this personal identity number",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn create_citizen(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    State(audit): State<AuditLog>,
    caller: Caller,
    ApiJson(request): ApiJson<NewCitizen>,
) -> Result<Response, ApiError> {
    permissions.require_admin(&caller).await?;
    let (number, details) = request.details();
    let number = contract::personal_identity_number(number.as_deref(), "personalIdentityNumber")?;
    let profile = details.into_profile(number)?;
    let now = truncate_to_micros(Utc::now());
    let citizen = state.portal.create_citizen(profile, now).await?;
    tracing::info!(citizen_id = %citizen.id, "test citizen created");
    audit
        .record(admin_event(&caller, "CreateTestCitizen", &citizen))
        .await?;
    let location = format!("/admin/citizens/{}", citizen.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        ApiJson(CitizenResource::from(citizen)),
    )
        .into_response())
}

/// Read a test citizen.
#[utoipa::path(get, path = "/admin/citizens/{citizenId}", tag = "admin",
    params(("citizenId" = Uuid, Path, description = "The citizen's opaque id; any other value names no citizen (404)")),
    responses(
        (status = 200, description = "The citizen", body = CitizenResource),
        (status = 404, description = "`CITIZEN_NOT_FOUND`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn get_citizen(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    State(audit): State<AuditLog>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<CitizenResource>, ApiError> {
    permissions.require_admin(&caller).await?;
    let citizen = state.portal.citizen(citizen_id(&id)?).await?;
    audit
        .record(admin_event(&caller, "GetTestCitizen", &citizen))
        .await?;
    Ok(ApiJson(citizen.into()))
}

/// Replace a test citizen's details (name, active, notifications, phone, e-mail).
#[utoipa::path(put, path = "/admin/citizens/{citizenId}", tag = "admin", request_body = CitizenChange,
    params(("citizenId" = Uuid, Path, description = "The citizen's opaque id; any other value names no citizen (404)")),
    responses(
        (status = 200, description = "The citizen as now kept", body = CitizenResource),
        (status = 400, description = "Invalid; `detail` names the field", body = Problem,
            content_type = "application/problem+json"),
        (status = 404, description = "`CITIZEN_NOT_FOUND`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`PERSONAL_IDENTITY_NUMBER_FIXED`: the body names another number",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn replace_citizen(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    State(audit): State<AuditLog>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<CitizenChange>,
) -> Result<ApiJson<CitizenResource>, ApiError> {
    permissions.require_admin(&caller).await?;
    let (given, details) = request.details();
    // The body is checked before the citizen is looked up: a malformed body is 400 whoever
    // it names.
    contract::clean(
        "personalIdentityNumber",
        given.as_deref(),
        TextKind::Identifier,
    )?;
    let given = contract::optional(given)
        .map(|number| contract::personal_identity_number(Some(&number), "personalIdentityNumber"))
        .transpose()?;
    let stored = state
        .portal
        .citizen_to_change(citizen_id(&id)?, given.as_ref())
        .await?;
    let citizen = Citizen {
        id: stored.id,
        profile: details.into_profile(stored.profile.personal_identity_number)?,
    };
    let now = truncate_to_micros(Utc::now());
    state.portal.change_citizen(&citizen, now).await?;
    tracing::info!(citizen_id = %citizen.id, "test citizen changed");
    audit
        .record(admin_event(&caller, "ChangeTestCitizen", &citizen))
        .await?;
    Ok(ApiJson(citizen.into()))
}

/// Delete a test citizen with their messages, notifications and sessions.
#[utoipa::path(delete, path = "/admin/citizens/{citizenId}", tag = "admin",
    params(("citizenId" = Uuid, Path, description = "The citizen's opaque id; any other value names no citizen (404)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`CITIZEN_NOT_FOUND`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_citizen(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    State(audit): State<AuditLog>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    permissions.require_admin(&caller).await?;
    let citizen = state.portal.delete_citizen(citizen_id(&id)?).await?;
    tracing::info!(citizen_id = %citizen.id, "test citizen deleted");
    audit
        .record(admin_event(&caller, "DeleteTestCitizen", &citizen))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
