//! AddMessageToPatientPortalInbox: a care system puts a message in a citizen's inbox.

use axum::extract::State;
use chrono::Utc;
use common::audit::{AuditEvent, AuditLog, AuditOutcome};
use common::auth::Caller;
use common::hygiene::TextKind;
use common::permissions::{Permissions, Role};
use common::problem::{ApiJson, Problem};
use common::riv_time;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::access::refused;
use super::contract::{self, ResultCode, invalid, required};
use super::error::ApiError;
use crate::domain::message::{
    self, BODY_MAX_CHARS, CARE_UNIT_NAME_MAX_CHARS, NewMessage, SUBJECT_MAX_CHARS,
};
use crate::domain::{Delivery, truncate_to_micros};

/// What INFO says when the message is delivered but nobody is told.
const DELIVERED_SILENTLY: &str = "The message was delivered. The citizen has no SMS or e-mail \
     notification switched on and sees it at the next sign-in.";

/// A message for a citizen's inbox. Unknown members are ignored (api.md §1), but like every
/// member carry no control character in a name or a string.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "subjectOfCare": "191212121212",
    "healthcare_facility_CareUnit": "SE2321000016-1HZ3",
    "careUnitName": "Vårdcentralen Tolvhälsan",
    "subject": "Hälsodeklaration inför operation",
    "body": "Hej!\nFyll i hälsodeklarationen senast en vecka före ditt besök.",
    "url": "http://127.0.0.1:8083/forms/8d3f2c1e-4b7a-4f0e-9a51-2f1f7c9b0a11",
    "sourceSystem": "SE2321000016-SYS1",
    "expireDate": "20991231"
}))]
pub struct AddMessageToPatientPortalInboxRequest {
    /// The citizen's personal identity number: 12 characters, `^[0-9]{8}[0-9A-Zptf]{4}$`.
    #[schema(value_type = String, required = true, pattern = "^[0-9]{8}[0-9A-Zptf]{4}$", example = "191212121212")]
    subject_of_care: Option<String>,
    /// HSA-id of the care unit sending the message: 1 to 64 printable ASCII characters
    /// without spaces. (`healthcare_Facility_CareUnit` is read as this member too.)
    #[serde(
        rename = "healthcare_facility_CareUnit",
        alias = "healthcare_Facility_CareUnit"
    )]
    #[schema(value_type = String, required = true, pattern = "^[!-~]{1,64}$", example = "SE2321000016-1HZ3")]
    healthcare_facility_care_unit: Option<String>,
    /// The care unit's name as the citizen sees it: not blank, no control character, at most
    /// 255 characters.
    #[schema(value_type = String, required = true, max_length = 255, pattern = "^[\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*[^\\u0000-\\u0020\\u007F\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000-\\u001F\\u007F]*$", example = "Vårdcentralen Tolvhälsan")]
    care_unit_name: Option<String>,
    /// The message's subject: not blank, no control character, at most 255 characters. Never
    /// sent by SMS or e-mail.
    #[schema(value_type = String, required = true, max_length = 255, pattern = "^[\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*[^\\u0000-\\u0020\\u007F\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000-\\u001F\\u007F]*$", example = "Hälsodeklaration inför operation")]
    subject: Option<String>,
    /// The message text: not blank, at most 100 000 characters; TAB and line breaks are kept,
    /// no other control character. Never sent by SMS or e-mail.
    #[schema(value_type = String, required = true, max_length = 100_000, pattern = "^[\\u0009\\u000A\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*[^\\u0000-\\u0020\\u007F\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F]*$")]
    body: Option<String>,
    /// A link shown with the message, typically to a form: an absolute `http://` or `https://`
    /// URL of printable ASCII (at most 2048 characters). Empty or null: no link.
    #[schema(
        max_length = 2048,
        pattern = "^(?:[Hh][Tt][Tt][Pp][Ss]?://[!-.0-~][!-~]*)?$",
        example = "http://127.0.0.1:8083/forms/8d3f2c1e-4b7a-4f0e-9a51-2f1f7c9b0a11"
    )]
    url: Option<String>,
    /// HSA-id of the system that sends the message: 1 to 64 printable ASCII characters
    /// without spaces.
    #[schema(value_type = String, required = true, pattern = "^[!-~]{1,64}$", example = "SE2321000016-SYS1")]
    source_system: Option<String>,
    /// Last day (`YYYYMMDD`, a real date of the Swedish calendar) the message is shown; after
    /// it, it leaves the inbox. Empty or null: no last day.
    #[schema(
        pattern = "^(?:[0-9]{4}(?:(?:0[13578]|1[02])(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)(?:0[1-9]|[12][0-9]|30)|02(?:0[1-9]|1[0-9]|2[0-8]))|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)0229)?$",
        example = "20991231"
    )]
    expire_date: Option<String>,
}

fn text(value: Option<String>, field: &str, kind: TextKind, max: usize) -> Result<String, Problem> {
    contract::clean(field, value.as_deref(), kind)?;
    let value = required(value, field)?;
    message::required_text(&value, max).map_err(|error| invalid(field, error))?;
    Ok(value)
}

impl AddMessageToPatientPortalInboxRequest {
    fn validated(self) -> Result<NewMessage, Problem> {
        let subject_of_care =
            contract::personal_identity_number(self.subject_of_care.as_deref(), "subjectOfCare")?;
        let care_unit = contract::hsa_id(
            self.healthcare_facility_care_unit.as_deref(),
            "healthcare_facility_CareUnit",
        )?;
        let care_unit_name = text(
            self.care_unit_name,
            "careUnitName",
            TextKind::Identifier,
            CARE_UNIT_NAME_MAX_CHARS,
        )?;
        let subject = text(
            self.subject,
            "subject",
            TextKind::Identifier,
            SUBJECT_MAX_CHARS,
        )?;
        let body = text(self.body, "body", TextKind::FreeText, BODY_MAX_CHARS)?;
        contract::clean("url", self.url.as_deref(), TextKind::Identifier)?;
        let url = contract::optional(self.url);
        if let Some(url) = &url {
            message::link(url).map_err(|error| invalid("url", error))?;
        }
        let source_system = contract::hsa_id(self.source_system.as_deref(), "sourceSystem")?;
        contract::clean(
            "expireDate",
            self.expire_date.as_deref(),
            TextKind::Identifier,
        )?;
        let expire_date = contract::optional(self.expire_date)
            .map(|date| riv_time::parse_date(&date))
            .transpose()
            .map_err(|_| invalid("expireDate", "a date is YYYYMMDD"))?;
        Ok(NewMessage {
            subject_of_care,
            care_unit,
            care_unit_name,
            subject,
            body,
            url,
            source_system,
            expire_date,
        })
    }
}

/// The outcome: `OK` delivered and the citizen notified; `INFO` delivered, nobody notified;
/// `ERROR` not delivered (unknown or inactive citizen, already expired).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"resultCode": "OK", "messageId": "0b6f1d5e-3c1a-4e8e-9d0a-6a0c2b1f4e77"}))]
pub struct AddMessageToPatientPortalInboxResponse {
    result_code: ResultCode,
    /// Why the message was refused (`ERROR`) or what to know about it (`INFO`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    comment: Option<String>,
    /// The message's id; absent when it was not delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    message_id: Option<Uuid>,
}

/// AddMessageToPatientPortalInbox: put a message in a citizen's inbox.
///
/// The message is delivered only to a citizen who uses the portal (an active user). For each
/// notification the citizen has switched on, a simulated SMS or e-mail saying "Du har ett nytt
/// meddelande i din inkorg." is recorded (see `GET /admin/notifications`); it never carries the
/// subject or the body.
///
/// The caller needs the role `care_system` for the message's care unit. Every call is audited
/// with the citizen and the care unit (a delivered message in the same transaction).
#[utoipa::path(
    post,
    path = "/patientportal/v1/AddMessageToPatientPortalInbox",
    operation_id = "AddMessageToPatientPortalInbox",
    tag = "patientportal",
    request_body = AddMessageToPatientPortalInboxRequest,
    responses(
        (status = 200, description = "Delivered (`OK`, `INFO`) or refused (`ERROR` with a comment)",
            body = AddMessageToPatientPortalInboxResponse),
        (status = 400, description = "INVALID_REQUEST: a field is missing, malformed, too long or carries a \
            control character; `detail` names it. MALFORMED_JSON: the body is not JSON.",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "UNAUTHORIZED: the caller is not authenticated",
            body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_CARE_UNIT: the caller has no agreement for the message's care unit",
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
pub async fn add_message_to_patient_portal_inbox(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    State(audit): State<AuditLog>,
    caller: Caller,
    ApiJson(request): ApiJson<AddMessageToPatientPortalInboxRequest>,
) -> Result<ApiJson<AddMessageToPatientPortalInboxResponse>, ApiError> {
    let request = request.validated()?;
    let event = AuditEvent::new(
        &caller,
        "AddMessageToPatientPortalInbox",
        AuditOutcome::Success,
    )
    .role(Role::CareSystem)
    .patient(&request.subject_of_care)
    .care_unit(&request.care_unit);
    if let Err(refusal) = permissions
        .require(&caller, Role::CareSystem, request.care_unit.as_str())
        .await
    {
        return Err(refused(&audit, event, refusal).await.into());
    }
    let today = riv_time::today_in_sweden();
    let now = truncate_to_micros(Utc::now());
    let subject_of_care = request.subject_of_care.clone();
    let (message_id, notifications) =
        match state.portal.deliver(request, &event, today, now).await? {
            Delivery::Delivered {
                message_id,
                notifications,
            } => (message_id, notifications),
            Delivery::Refused(refusal) => {
                tracing::info!(%subject_of_care, %refusal, "inbox message refused");
                audit.record(event.outcome(AuditOutcome::Failed)).await?;
                return Ok(ApiJson(AddMessageToPatientPortalInboxResponse {
                    result_code: ResultCode::Error,
                    comment: Some(refusal.to_string()),
                    message_id: None,
                }));
            }
        };
    tracing::info!(
        %subject_of_care,
        %message_id,
        notifications,
        "inbox message delivered"
    );
    let (result_code, comment) = if notifications == 0 {
        (ResultCode::Info, Some(DELIVERED_SILENTLY.to_owned()))
    } else {
        (ResultCode::Ok, None)
    };
    Ok(ApiJson(AddMessageToPatientPortalInboxResponse {
        result_code,
        comment,
        message_id: Some(message_id.as_uuid()),
    }))
}
