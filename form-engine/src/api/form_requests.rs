//! CreateFormRequest: a care system asks patients to fill in forms. Each item is served or
//! refused on its own; an `Idempotency-Key` makes a retry return the first answer.

use axum::extract::State;
use axum::http::HeaderMap;
use common::audit::{AuditEvent, AuditOutcome};
use common::auth::Caller;
use common::identity::{HsaId, PersonalIdentityNumber};
use common::permissions::Role;
use common::problem::{ApiJson, Problem};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::AppState;
use super::contract::Contract;
use super::error::ApiError;
use super::headers::idempotency;
use super::wire::ResultCode;
use crate::domain::access::Access;
use crate::domain::follow_up::policy;
use crate::domain::form::engagement::{MAX_CLINICAL_PROCESS_INTEREST_ID, post_value};
use crate::domain::form::service::{FormOrder, ItemOutcome};

/// Most items one request may carry (as an engagement-index Update).
pub const MAX_ITEMS: usize = 1000;

/// The request as read: items are checked one by one, so one bad item does not fail the rest.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawCreateFormRequest {
    pub form_requests: Vec<Value>,
}

/// CreateFormRequest request (for the documentation; items are read one by one).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"formRequests": [{
    "healthcare_Facility_CareUnit": "SE0000000001-CU01", "healthcare_systemID": "SE0000000001-CS01",
    "subjectOfCare": "191212121212", "templateId": "HALSA-1",
    "formText": "Hälsodeklaration inför din operation", "expireDate": "20261231", "keepUntil": "20271231"}]}))]
pub struct CreateFormRequestBody {
    /// 1 to 1000 forms to create.
    #[schema(min_items = 1, max_items = 1000)]
    pub form_requests: Vec<FormRequestItem>,
}

/// FormRequestType: one form to create.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FormRequestItem {
    /// The care giver (information owner).
    #[serde(default, rename = "healthcare_CareGiver")]
    #[schema(value_type = Option<String>)]
    pub care_giver: Option<HsaId>,
    /// The medically responsible unit.
    #[serde(default, rename = "healthcare_MedUnit")]
    #[schema(value_type = Option<String>)]
    pub med_unit: Option<HsaId>,
    /// The care unit that offers and owns the form (`healthcare_facility_CareUnit` accepted too).
    #[serde(
        rename = "healthcare_Facility_CareUnit",
        alias = "healthcare_facility_CareUnit"
    )]
    #[schema(value_type = String)]
    pub care_unit: HsaId,
    /// Extension: the care unit's name, shown to the citizen (default: its HSA-id).
    #[serde(default, rename = "healthcare_facility_CareUnitName")]
    pub care_unit_name: Option<String>,
    /// The requesting care system.
    #[serde(default, rename = "healthcare_systemID")]
    #[schema(value_type = Option<String>)]
    pub system_id: Option<HsaId>,
    /// The patient; left out for an anonymous template.
    #[serde(default, rename = "subjectOfCare")]
    #[schema(value_type = Option<String>)]
    pub subject_of_care: Option<PersonalIdentityNumber>,
    #[serde(rename = "templateId")]
    pub template_id: String,
    /// Left out: the newest Published version.
    #[serde(default, rename = "templateVersion")]
    pub template_version: Option<u32>,
    #[serde(default, rename = "clinicalProcessInterestId")]
    pub clinical_process_interest_id: Option<String>,
    /// A text naming this request to the patient.
    #[serde(default, rename = "formText")]
    pub form_text: Option<String>,
    /// YYYYMMDD: the last day the patient can answer (mandatory).
    #[serde(default, rename = "expireDate")]
    pub expire_date: Option<String>,
    /// YYYYMMDD: the form is deleted after this day; empty = kept until deleted.
    #[serde(default, rename = "keepUntil")]
    pub keep_until: Option<String>,
    /// Extension: days before expireDate the citizen is reminded, instead of the template's
    /// `reminderDaysBefore`; `[]` = no reminders (docs/follow-up.md).
    #[serde(default, rename = "reminderDaysBefore")]
    #[schema(schema_with = crate::domain::follow_up::policy::days_before_schema)]
    pub reminder_days_before: Option<Vec<u32>>,
}

/// FormRequestResponseType: a form that was created.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormRequestResponse {
    #[serde(rename = "formId")]
    pub form_id: String,
    #[serde(rename = "healthcare_facility_CareUnit")]
    pub care_unit: String,
    #[serde(rename = "subjectOfCare", skip_serializing_if = "Option::is_none")]
    pub subject_of_care: Option<String>,
    #[serde(
        rename = "clinicalProcessInterestId",
        skip_serializing_if = "Option::is_none"
    )]
    pub clinical_process_interest_id: Option<String>,
}

/// Extension: what became of one item, in request order.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormRequestResult {
    #[serde(rename = "resultCode")]
    pub result_code: ResultCode,
    /// Why the item was not served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(rename = "formId", skip_serializing_if = "Option::is_none")]
    pub form_id: Option<String>,
}

/// CreateFormRequest response.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreateFormRequestResponse {
    /// OK: every form created. INFO: some. ERROR: none.
    #[serde(rename = "resultCode")]
    pub result_code: ResultCode,
    /// The items that were not served, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// One per created form.
    #[serde(rename = "formRequestResponses")]
    pub form_request_responses: Vec<FormRequestResponse>,
    /// Extension: one per item, in request order.
    #[serde(rename = "formRequestResults")]
    pub form_request_results: Vec<FormRequestResult>,
}

/// Reads one item; a field error names the item and the field.
fn order(index: usize, item: Value) -> Result<FormOrder, String> {
    let at = |field: &str| format!("formRequests[{index}].{field}");
    let item: FormRequestItem = serde_path_to_error::deserialize(item).map_err(|e| {
        let path = e.path().to_string();
        let place = if path == "." {
            format!("formRequests[{index}]")
        } else {
            at(&path)
        };
        format!("{place}: {}", e.into_inner())
    })?;
    let date = |field: &str, value: Option<String>| -> Result<Option<chrono::NaiveDate>, String> {
        match value.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => common::riv_time::parse_date(text)
                .map(Some)
                .map_err(|e| format!("{}: {e}", at(field))),
        }
    };
    let text = |field: &str, value: Option<String>, max: usize| -> Result<Option<String>, String> {
        match value {
            Some(v) if v.trim().is_empty() => Ok(None),
            Some(v) if v.chars().count() > max => {
                Err(format!("{}: longer than {max} characters", at(field)))
            }
            other => Ok(other),
        }
    };
    Ok(FormOrder {
        care_unit: item.care_unit,
        care_unit_name: text("healthcare_facility_CareUnitName", item.care_unit_name, 255)?,
        care_giver: item.care_giver,
        med_unit: item.med_unit,
        system_id: item.system_id,
        subject_of_care: item.subject_of_care,
        template_id: item.template_id,
        template_version: item.template_version,
        // Posted to the engagement index: refused here, per item, if the index would refuse it.
        clinical_process_interest_id: post_value(
            item.clinical_process_interest_id,
            MAX_CLINICAL_PROCESS_INTEREST_ID,
        )
        .map_err(|e| format!("{}: {e}", at("clinicalProcessInterestId")))?,
        form_text: text("formText", item.form_text, 4000)?,
        expire_date: date("expireDate", item.expire_date)?,
        keep_until: date("keepUntil", item.keep_until)?,
        reminder_days_before: item
            .reminder_days_before
            .map(|days| policy::checked_days(&days))
            .transpose()
            .map_err(|e| format!("{}: {e}", at("reminderDaysBefore")))?,
    })
}

fn render(outcomes: &[ItemOutcome]) -> Value {
    let mut responses = Vec::new();
    let mut results = Vec::new();
    let mut refusals = Vec::new();
    for (index, outcome) in outcomes.iter().enumerate() {
        match outcome {
            ItemOutcome::Created(form) => {
                responses.push(FormRequestResponse {
                    form_id: form.id.to_string(),
                    care_unit: form.care_unit.to_string(),
                    subject_of_care: form.subject_of_care.as_ref().map(|s| s.as_str().to_owned()),
                    clinical_process_interest_id: form.clinical_process_interest_id.clone(),
                });
                results.push(FormRequestResult {
                    result_code: ResultCode::Ok,
                    comment: None,
                    form_id: Some(form.id.to_string()),
                });
            }
            ItemOutcome::Refused(reason) => {
                let place = format!("formRequests[{index}]");
                let reason = if reason.starts_with(&place) {
                    reason.clone()
                } else {
                    format!("{place}: {reason}")
                };
                refusals.push(reason.clone());
                results.push(FormRequestResult {
                    result_code: ResultCode::Error,
                    comment: Some(reason),
                    form_id: None,
                });
            }
        }
    }
    let result_code = match (responses.len(), refusals.len()) {
        (_, 0) => ResultCode::Ok,
        (0, _) => ResultCode::Error,
        _ => ResultCode::Info,
    };
    let comment = (!refusals.is_empty()).then(|| {
        format!(
            "{} of {} forms were created. {}",
            responses.len(),
            outcomes.len(),
            refusals.join("; ")
        )
    });
    serde_json::to_value(CreateFormRequestResponse {
        result_code,
        comment,
        form_request_responses: responses,
        form_request_results: results,
    })
    .unwrap_or_default()
}

/// Creates forms for patients (for care systems).
///
/// Each item becomes a form in ONGOING pinned to its template version, posted to the
/// engagement index as FormCreated (unless anonymous). An item that cannot be served is
/// reported in `comment` and `formRequestResults` without failing the others. With an
/// `Idempotency-Key` header, a retry of the same request returns the first answer and creates
/// nothing; the same key with a different request is refused (409).
///
/// The caller needs the role `care_system` for the care unit of every item (else 403
/// `FORBIDDEN_CARE_UNIT` and nothing is created). Every created form is audited in its
/// transaction.
#[utoipa::path(post, path = "/forminteraction/v2/CreateFormRequest", tag = "forminteraction", operation_id = "CreateFormRequest",
    request_body = CreateFormRequestBody,
    params(("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,255}$", description = "Makes a retry return the first answer (kept for 24 hours): 1 to 255 printable ASCII characters without spaces (a UUID, say)")),
    responses(
        (status = 200, description = "The forms created (OK/INFO) or none (ERROR)", body = CreateFormRequestResponse),
        (status = 400, description = "Not a request: no formRequests, more than 1000, INVALID_REQUEST naming the field: a body that breaks the schema (pattern, length, bound, type, a control character), MALFORMED_JSON outside the items. An item that breaks FormRequestItem is refused on its own in the 200 answer (formRequestResults), naming the item and the field", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_CARE_UNIT: no agreement for the care unit of an item; nothing created", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "IDEMPOTENCY_KEY_REUSED: the Idempotency-Key was used for a different request", body = Problem, content_type = "application/problem+json")))]
pub async fn create_form_request(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Contract(request): Contract<Value>,
) -> Result<ApiJson<Value>, ApiError> {
    let idempotency = idempotency(&headers, &caller, "CreateFormRequest", &request)?;
    let raw: RawCreateFormRequest = serde_json::from_value(request)
        .map_err(|e| ApiError::invalid(format!("The body does not match the contract: {e}")))?;
    if raw.form_requests.is_empty() {
        return Err(ApiError::invalid(
            "formRequests is empty: give at least one form request.",
        ));
    }
    if raw.form_requests.len() > MAX_ITEMS {
        return Err(ApiError::invalid(format!(
            "formRequests has {} items; at most {MAX_ITEMS} fit in one request.",
            raw.form_requests.len()
        )));
    }
    let orders = raw
        .form_requests
        .into_iter()
        .enumerate()
        .map(|(index, item)| order(index, item))
        .collect::<Vec<_>>();
    let access = Access::new(
        caller,
        &state.permissions,
        &state.audit,
        "CreateFormRequest",
    );
    if let Err(refusal) = require_every_care_unit(&access, &orders).await {
        // Nothing is created: each item is recorded as refused.
        let events: Vec<AuditEvent> = orders
            .iter()
            .flatten()
            .map(|item| {
                let event = access
                    .event(AuditOutcome::Refused)
                    .role(Role::CareSystem)
                    .care_unit(&item.care_unit);
                match &item.subject_of_care {
                    Some(subject) => event.patient(subject),
                    None => event,
                }
            })
            .collect();
        state.audit.record_all(&events).await?;
        return Err(refusal.into());
    }
    let response = state
        .forms
        .request_forms_as(orders, idempotency, render, &access)
        .await?;
    Ok(ApiJson(response))
}

/// `Ok` when the caller holds `care_system` for the care unit of every item (one lookup of its
/// grants); else the refusal of the first care unit it lacks, logged.
async fn require_every_care_unit(
    access: &Access,
    orders: &[Result<FormOrder, String>],
) -> Result<(), Problem> {
    let permissions = access.permissions();
    let allowed = permissions
        .allowed_scopes(access.caller(), Role::CareSystem)
        .await?;
    let units: std::collections::BTreeSet<&str> = orders
        .iter()
        .flatten()
        .map(|item| item.care_unit.as_str())
        .collect();
    for unit in units {
        if !allowed.contains(unit) {
            permissions
                .require(access.caller(), Role::CareSystem, unit)
                .await?;
        }
    }
    Ok(())
}
