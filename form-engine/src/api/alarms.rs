//! The alarm feed of a care unit (docs/follow-up.md): FormExpired when a requested form was
//! not sent by its expireDate, RevocationRequested when the citizen asked for a sent form to be
//! revoked. Serial numbers are gap-free and in commit order per installation; a care unit sees
//! the numbers of its own alarms, in order.

use axum::extract::State;
use chrono::Utc;
use common::audit::{AuditEvent, AuditOutcome};
use common::auth::Caller;
use common::identity::{HsaId, PersonalIdentityNumber};
use common::permissions::Role;
use common::problem::{ApiJson, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::contract::Contract;
use super::error::ApiError;
use crate::domain::follow_up::alarms::{AlarmFeed, DEFAULT_ITEMS, MAX_ITEMS};
use crate::store::follow_up::{Alarm, AlarmKind};

/// The alarm feed request.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"healthcare_facility_CareUnit": "SE0000000001-CU01", "afterSerialNumber": 0, "maxItems": 100}))]
pub struct AlarmsRequest {
    /// The care unit whose alarms to read (`healthcare_Facility_CareUnit` accepted too).
    #[serde(
        rename = "healthcare_facility_CareUnit",
        alias = "healthcare_Facility_CareUnit"
    )]
    #[schema(value_type = String)]
    pub care_unit: HsaId,
    /// Read the alarms after this serial number, acknowledging every alarm up to it. Left
    /// out: after the number acknowledged last (0 at first).
    #[serde(default, rename = "afterSerialNumber")]
    #[schema(minimum = 0, maximum = 9_007_199_254_740_991_i64)]
    pub after_serial_number: Option<i64>,
    /// At most this many alarms (1 to 1000; default 100).
    #[serde(default, rename = "maxItems")]
    #[schema(minimum = 1, maximum = 1000)]
    pub max_items: Option<u32>,
}

/// Why a care unit is alarmed.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[schema(as = AlarmKind)]
pub enum AlarmKindWire {
    /// The form was not sent by its expireDate.
    FormExpired,
    /// The citizen asked for the sent form to be revoked (CancelForm on a COMPLETED form).
    RevocationRequested,
}

impl From<AlarmKind> for AlarmKindWire {
    fn from(kind: AlarmKind) -> Self {
        match kind {
            AlarmKind::FormExpired => Self::FormExpired,
            AlarmKind::RevocationRequested => Self::RevocationRequested,
        }
    }
}

/// One alarm.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlarmView {
    /// Gap-free and in commit order per installation.
    #[serde(rename = "serialNumber")]
    pub serial_number: i64,
    pub kind: AlarmKindWire,
    #[serde(rename = "formId")]
    pub form_id: String,
    /// Absent for an anonymous form.
    #[serde(rename = "subjectOfCare", skip_serializing_if = "Option::is_none")]
    pub subject_of_care: Option<String>,
    #[serde(rename = "templateId")]
    pub template_id: String,
    /// YYYYMMDD: the form's last day to answer.
    #[serde(rename = "expireDate", skip_serializing_if = "Option::is_none")]
    pub expire_date: Option<String>,
    /// When the alarm was raised (YYYYMMDDThhmmss, Swedish time).
    #[serde(rename = "createdDateTime")]
    pub created_date_time: String,
}

impl From<&Alarm> for AlarmView {
    fn from(alarm: &Alarm) -> Self {
        Self {
            serial_number: alarm.serial_number,
            kind: alarm.alarm.kind.into(),
            form_id: alarm.alarm.form_id.to_string(),
            subject_of_care: alarm.alarm.subject_of_care.clone(),
            template_id: alarm.alarm.template_id.clone(),
            expire_date: alarm.alarm.expire_date.map(common::riv_time::format_date),
            created_date_time: common::riv_time::format_form_timestamp(alarm.alarm.created_at),
        }
    }
}

/// The alarm feed response.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlarmsResponse {
    /// In serial-number order; empty when there are no more.
    pub alarm: Vec<AlarmView>,
    /// Ask after this number next (it acknowledges these alarms): the last alarm's, or the
    /// number the read started after.
    #[serde(rename = "lastSerialNumber")]
    pub last_serial_number: i64,
}

/// Reads a care unit's alarms (extension, BRS-style follow-up).
///
/// Alarms are raised when a form the care unit requested was not sent by its expireDate
/// (`FormExpired`, once per form) and when the citizen asks for a sent form to be revoked
/// (`RevocationRequested`, once per form). Asking after a serial number acknowledges every
/// alarm up to it; asking without one starts after the number acknowledged last. The caller
/// needs the role `care_system` for the care unit (else 403 `FORBIDDEN_CARE_UNIT`). Every read
/// is audited, with one row per alarm handed out.
#[utoipa::path(post, path = "/forminteraction/v2/alarms", tag = "forminteraction", operation_id = "alarms",
    request_body = AlarmsRequest,
    responses(
        (status = 200, description = "The alarms after the number", body = AlarmsResponse),
        (status = 400, description = "INVALID_REQUEST naming the field: a body that breaks the schema (a care unit that is not an HSA-id, afterSerialNumber below 0, maxItems outside 1 to 1000), MALFORMED_JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_CARE_UNIT: no agreement for the care unit", body = Problem, content_type = "application/problem+json")))]
pub async fn get_alarms(
    State(state): State<AppState>,
    caller: Caller,
    Contract(request): Contract<AlarmsRequest>,
) -> Result<ApiJson<AlarmsResponse>, ApiError> {
    let event = AuditEvent::new(&caller, "GetAlarms", AuditOutcome::Success)
        .role(Role::CareSystem)
        .care_unit(&request.care_unit);
    if let Err(refusal) = state
        .permissions
        .require(&caller, Role::CareSystem, request.care_unit.as_str())
        .await
    {
        let refusal: Problem = refusal.into();
        state
            .audit
            .record(event.outcome(AuditOutcome::of_problem(&refusal)))
            .await?;
        return Err(refusal.into());
    }
    if let Some(after) = request.after_serial_number
        && after < 0
    {
        return Err(ApiError::invalid("afterSerialNumber: give 0 or more."));
    }
    let max_items = request.max_items.unwrap_or(DEFAULT_ITEMS);
    if !(1..=MAX_ITEMS).contains(&max_items) {
        return Err(ApiError::invalid(format!(
            "maxItems: give 1 to {MAX_ITEMS}."
        )));
    }
    let page = AlarmFeed::new(state.store.follow_up())
        .read(
            request.care_unit.as_str(),
            request.after_serial_number,
            max_items,
            Utc::now(),
        )
        .await
        .map_err(ApiError::internal)?;
    // Recorded before the answer leaves: the read, and one row per alarm handed out.
    let mut events = vec![event.clone()];
    for alarm in &page.alarms {
        let mut row = event.clone().resource(alarm.alarm.form_id.to_string());
        if let Some(subject) = alarm
            .alarm
            .subject_of_care
            .as_deref()
            .and_then(|s| PersonalIdentityNumber::parse(s).ok())
        {
            row = row.patient(&subject);
        }
        events.push(row);
    }
    state.audit.record_all(&events).await?;
    Ok(ApiJson(AlarmsResponse {
        alarm: page.alarms.iter().map(AlarmView::from).collect(),
        last_serial_number: page.last_serial_number,
    }))
}
