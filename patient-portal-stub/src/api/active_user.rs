//! IsActiveUser: whether a person uses the portal and has switched on SMS or e-mail
//! notification. Only the status is answered, never a phone number or address.

use axum::extract::State;
use common::audit::{AuditEvent, AuditLog, AuditOutcome};
use common::auth::Caller;
use common::permissions::{Permissions, Role};
use common::problem::{ApiJson, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::access::{refused, require_some_care_unit};
use super::contract::{self, ResultCode};
use super::error::ApiError;

const NOT_A_USER: &str = "No patient portal user has this personal identity number.";

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"subjectOfCare": "191212121212"}))]
/// Unknown members are ignored (api.md §1), but carry no control character.
pub struct IsActiveUserRequest {
    /// The person's personal identity number: 12 characters, `^[0-9]{8}[0-9A-Zptf]{4}$`.
    #[schema(value_type = String, required = true, pattern = "^[0-9]{8}[0-9A-Zptf]{4}$", example = "191212121212")]
    subject_of_care: Option<String>,
}

/// The person's status. Notifications count only for an active user: an inactive one is told
/// nothing, whatever the switches say.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"resultCode": "OK", "isActive": true, "notificationSms": true, "notificationEmail": true}))]
pub struct IsActiveUserResponse {
    /// `OK` for a known person; `INFO` (with a comment) when the portal does not know the person.
    result_code: ResultCode,
    /// Present with `INFO`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    comment: Option<String>,
    /// Uses the portal: messages can be delivered.
    is_active: bool,
    /// A new message is announced by SMS.
    notification_sms: bool,
    /// A new message is announced by e-mail.
    notification_email: bool,
}

/// IsActiveUser: does this person use the patient portal, and will they be notified?
///
/// The caller needs the role `care_system` for some care unit (the request names none). Every
/// call is audited with the person asked about.
#[utoipa::path(
    post,
    path = "/patientportal/v1/IsActiveUser",
    operation_id = "IsActiveUser",
    tag = "patientportal",
    request_body = IsActiveUserRequest,
    responses(
        (status = 200, description = "The person's status", body = IsActiveUserResponse),
        (status = 400, description = "INVALID_REQUEST: `subjectOfCare` is missing, malformed or carries a \
            control character. MALFORMED_JSON: the body is not JSON.", body = Problem,
            content_type = "application/problem+json"),
        (status = 401, description = "UNAUTHORIZED: the caller is not authenticated", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_CARE_UNIT: the caller has no agreement for any care unit",
            body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "PAYLOAD_TOO_LARGE: the body is larger than the service accepts",
            body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "UNSUPPORTED_MEDIA_TYPE: the body is not sent as JSON",
            body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "RATE_LIMITED: too many requests; see Retry-After",
            body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "INTERNAL_ERROR: a fault in the service; the cause is logged", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "TIMEOUT, NOT_READY: the service cannot answer now; retry after Retry-After",
            body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn is_active_user(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    State(audit): State<AuditLog>,
    caller: Caller,
    ApiJson(request): ApiJson<IsActiveUserRequest>,
) -> Result<ApiJson<IsActiveUserResponse>, ApiError> {
    let number =
        contract::personal_identity_number(request.subject_of_care.as_deref(), "subjectOfCare")?;
    let event = AuditEvent::new(&caller, "IsActiveUser", AuditOutcome::Success)
        .role(Role::CareSystem)
        .patient(&number);
    if let Err(refusal) = require_some_care_unit(&permissions, &caller).await {
        return Err(refused(&audit, event, refusal).await.into());
    }
    let citizen = state.portal.find_citizen(&number).await?;
    // Recorded before the answer leaves; an unknown person is `not_found`.
    let outcome = if citizen.is_some() {
        AuditOutcome::Success
    } else {
        AuditOutcome::NotFound
    };
    audit.record(event.outcome(outcome)).await?;
    let response = match citizen {
        Some(citizen) => IsActiveUserResponse {
            result_code: ResultCode::Ok,
            comment: None,
            is_active: citizen.profile.active,
            notification_sms: citizen.notified_by_sms(),
            notification_email: citizen.notified_by_email(),
        },
        None => IsActiveUserResponse {
            result_code: ResultCode::Info,
            comment: Some(NOT_A_USER.to_owned()),
            is_active: false,
            notification_sms: false,
            notification_email: false,
        },
    };
    tracing::debug!(subject_of_care = %number, is_active = response.is_active, "IsActiveUser");
    Ok(ApiJson(response))
}
