//! The form contracts after creation: CreateForm, GetForms, GetForm, GetFormQuestionPage,
//! SaveFormPage, SaveForm and CancelForm (api.md §3).

use axum::extract::State;
use axum::http::HeaderMap;
use chrono::{DateTime, Days, NaiveDate, Utc};
use common::audit::AuditOutcome;
use common::auth::Caller;
use common::identity::{HsaId, PersonalIdentityNumber};
use common::permissions::{AllowedScopes, Permissions, Role};
use common::problem::{ApiJson, Problem};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::contract::Contract;
use super::error::ApiError;
use super::form_wire::{Audience, Content, FormView, PageAnswers, ReminderView, form_view};
use super::headers::idempotency;
use super::wire::ResultCode;
use crate::domain::access::Access;
use crate::domain::form::answering::{Given, PageSave};
use crate::domain::form::engagement::{MAX_CLINICAL_PROCESS_INTEREST_ID, post_value};
use crate::domain::form::model::{Actor, FormStatus};
use crate::domain::form::navigation::Direction;
use crate::domain::form::service::{
    Cancelled, CitizenStart, Listing, PageSaved, Sent, Started, Viewed,
};
use crate::store::FormQuery;

/// GetForms' page size when none is asked for, and the largest.
pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;

/// What the role a caller was admitted as may see of a form's calculations.
fn audience(role: Role) -> Audience {
    if role == Role::CareSystem {
        Audience::CareSystem
    } else {
        Audience::SubjectOfCare
    }
}

fn form_id(value: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value.trim())
        .map_err(|_| ApiError::invalid(format!("formId: `{value}` is not a form id (a GUID).")))
}

/// A form with its status and a comment, as the write contracts answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormResult {
    #[serde(rename = "resultCode")]
    pub result_code: ResultCode,
    /// For the citizen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<FormView>,
}

/// A result without a form (SaveForm, CancelForm).
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultOnly {
    #[serde(rename = "resultCode")]
    pub result_code: ResultCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// CreateForm request.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = CreateFormBody, example = json!({"healthcare_facility_CareUnit": "SE0000000001-CU01", "subjectOfCare": "191212121212", "templateId": "HALSA-1"}))]
pub struct CreateFormRequestBody {
    /// The care unit offering the form (`healthcare_Facility_CareUnit` accepted too).
    #[serde(
        rename = "healthcare_facility_CareUnit",
        alias = "healthcare_Facility_CareUnit"
    )]
    #[schema(value_type = String)]
    pub care_unit: HsaId,
    #[serde(default, rename = "clinicalProcessInterestId")]
    pub clinical_process_interest_id: Option<String>,
    /// The citizen; left out for an anonymous template.
    #[serde(default, rename = "subjectOfCare")]
    #[schema(value_type = Option<String>)]
    pub subject_of_care: Option<PersonalIdentityNumber>,
    #[serde(rename = "templateId")]
    pub template_id: String,
    /// Left out: the newest Published version.
    #[serde(default, rename = "templateVersion")]
    pub template_version: Option<u32>,
    #[serde(default)]
    pub actor: Option<Actor>,
}

/// A citizen starts a form from a Published template; the form comes with its first page.
///
/// Posted to the engagement index as FormCreated unless anonymous. With an `Idempotency-Key`
/// header, a retry returns the first answer.
#[utoipa::path(post, path = "/forminteraction/v2/CreateForm", tag = "forminteraction", operation_id = "CreateForm",
    request_body = CreateFormRequestBody,
    params(("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,255}$", description = "Makes a retry return the first answer: 1 to 255 printable ASCII characters without spaces (a UUID, say)")),
    responses(
        (status = 200, description = "Created (OK, with the form) or refused (ERROR)", body = FormResult),
        (status = 400, description = "INVALID_REQUEST naming the field: a body that breaks the schema (pattern, length, bound, type, a control character), MALFORMED_JSON; subjectOfCare given for an anonymous template or missing for another (it depends on the stored template, which the schema cannot see); a clinicalProcessInterestId the engagement index would refuse", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "TEMPLATE_NOT_FOUND: no such template (or version)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "IDEMPOTENCY_KEY_REUSED: the Idempotency-Key was used for a different request", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ESERVICE: the caller may not act as the e-service for this care unit", body = Problem, content_type = "application/problem+json")))]
pub async fn create_form(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Contract(request): Contract<Value>,
) -> Result<ApiJson<Value>, ApiError> {
    let idempotency = idempotency(&headers, &caller, "CreateForm", &request)?;
    let body: CreateFormRequestBody = serde_path_to_error::deserialize(request).map_err(|e| {
        ApiError::invalid(format!(
            "The body does not match the contract: {}: {}",
            e.path(),
            e.inner()
        ))
    })?;
    let access = Access::new(caller, &state.permissions, &state.audit, "CreateForm");
    if let Err(refusal) = state
        .permissions
        .require(access.caller(), Role::Eservice, body.care_unit.as_str())
        .await
    {
        let mut event = access
            .event(AuditOutcome::Refused)
            .role(Role::Eservice)
            .care_unit(&body.care_unit);
        if let Some(subject) = &body.subject_of_care {
            event = event.patient(subject);
        }
        state.audit.record(event).await?;
        return Err(refusal.into());
    }
    // Posted to the engagement index: refused here if the index would refuse it.
    let clinical_process_interest_id = post_value(
        body.clinical_process_interest_id,
        MAX_CLINICAL_PROCESS_INTEREST_ID,
    )
    .map_err(|e| ApiError::invalid(format!("clinicalProcessInterestId: {e}.")))?;
    let start = CitizenStart {
        care_unit: body.care_unit,
        clinical_process_interest_id,
        subject_of_care: body.subject_of_care,
        template_id: body.template_id,
        template_version: body.template_version,
        actor: body.actor,
    };
    let response = state
        .forms
        .start_as(
            start,
            idempotency,
            |started| {
                let result = match started {
                    Started::Created(form, template) => FormResult {
                        result_code: ResultCode::Ok,
                        comment: None,
                        form: Some(form_view(
                            form,
                            template,
                            Content::AsStored,
                            Audience::SubjectOfCare,
                        )),
                    },
                    Started::Refused(reason) => FormResult {
                        result_code: ResultCode::Error,
                        comment: Some(reason.clone()),
                        form: None,
                    },
                };
                serde_json::to_value(result).unwrap_or_default()
            },
            &access,
        )
        .await?;
    Ok(ApiJson(response))
}

/// GetForms request.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"subjectOfCare": "191212121212", "formStatus": ["ONGOING"], "limit": 20}))]
pub struct GetFormsRequest {
    #[serde(default, rename = "clinicalProcessInterestIds")]
    pub clinical_process_interest_ids: Vec<String>,
    /// At least one of the care unit and subjectOfCare is required.
    #[serde(
        default,
        rename = "healthcare_facility_CareUnit",
        alias = "healthcare_Facility_CareUnit"
    )]
    #[schema(value_type = Option<String>)]
    pub care_unit: Option<HsaId>,
    #[serde(default, rename = "subjectOfCare")]
    #[schema(value_type = Option<String>)]
    pub subject_of_care: Option<PersonalIdentityNumber>,
    #[serde(default, rename = "templateIds")]
    pub template_ids: Vec<String>,
    /// Extension: only forms in these statuses.
    #[serde(default, rename = "formStatus")]
    pub form_status: Vec<FormStatus>,
    /// Extension: created on or after this day (YYYYMMDD, Swedish time).
    #[serde(default, rename = "createdFrom")]
    pub created_from: Option<String>,
    /// Extension: created on or before this day (YYYYMMDD, Swedish time).
    #[serde(default, rename = "createdTo")]
    pub created_to: Option<String>,
    /// Extension: forms a page, default 100, at most 1000.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<u32>,
    /// Extension: `nextPageToken` of the page before.
    #[serde(default, rename = "pageToken")]
    pub page_token: Option<String>,
    /// Extension, for the e-service: also list the citizen's forms whose expireDate has passed
    /// unanswered (left out by default: they are out of the citizen's active list). A care
    /// system always gets them (marked `expired`), until they are purged after keepUntil.
    #[serde(default, rename = "includeExpired")]
    pub include_expired: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GetFormsResponse {
    /// Newest first; without pages.
    pub forms: Vec<FormView>,
    /// Extension: pass it as `pageToken` for the next page; absent on the last page.
    #[serde(rename = "nextPageToken", skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    /// Extension: `true` when subjectOfCare was linked to another number of the same person
    /// and its forms moved there (the other number is not disclosed); absent otherwise.
    #[serde(rename = "identityLinked", skip_serializing_if = "std::ops::Not::not")]
    pub identity_linked: bool,
}

/// Midnight at the start of `day` in Sweden.
fn start_of(day: NaiveDate) -> DateTime<Utc> {
    common::riv_time::stockholm_to_utc(day.and_hms_opt(0, 0, 0).unwrap_or_default())
}

fn day(field: &str, value: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            common::riv_time::parse_date(v).map_err(|e| ApiError::invalid(format!("{field}: {e}")))
        })
        .transpose()
}

/// Lists forms by care unit and/or citizen, newest first, a page at a time.
///
/// A care system sees the forms of the care units it has an agreement for (without a care unit
/// in the request, the list is narrowed to them), expired ones included (`"expired": true`)
/// until they are purged after keepUntil; the e-service sees the forms of the citizen it names
/// in `subjectOfCare`, expired unanswered ones only with `includeExpired: true`. Every form
/// listed is audited.
#[utoipa::path(post, path = "/forminteraction/v2/GetForms", tag = "forminteraction", operation_id = "GetForms",
    request_body = GetFormsRequest,
    responses(
        (status = 200, description = "The forms. None, with `identityLinked: true` and this header, when subjectOfCare was linked to another number and its forms moved there (the other number is not disclosed)", body = GetFormsResponse,
            headers(("Nordform-Identity-Linked" = String, description = "`true` when subjectOfCare was linked to another number; absent otherwise"))),
        (status = 400, description = "INVALID_REQUEST naming the field: a body that breaks the schema (pattern, length, bound, type, a control character), MALFORMED_JSON; neither care unit nor subjectOfCare; createdFrom after createdTo (a rule between two fields, which the schema cannot state); a pageToken this service did not give", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_CARE_UNIT: no agreement for the care unit asked for (or for any); FORBIDDEN_ESERVICE: the e-service did not name the citizen", body = Problem, content_type = "application/problem+json")))]
pub async fn get_forms(
    State(state): State<AppState>,
    caller: Caller,
    Contract(request): Contract<GetFormsRequest>,
) -> Result<axum::response::Response, ApiError> {
    let access = Access::new(caller, &state.permissions, &state.audit, "GetForms");
    let (role, care_units) = match lister(
        &state.permissions,
        &access,
        request.care_unit.as_ref(),
        request.subject_of_care.as_ref(),
    )
    .await
    {
        Ok(allowed) => allowed,
        Err(refusal) => {
            let mut event = access.event(AuditOutcome::Refused);
            if let Some(subject) = &request.subject_of_care {
                event = event.patient(subject);
            }
            if let Some(unit) = &request.care_unit {
                event = event.care_unit(unit);
            }
            state.audit.record(event).await?;
            return Err(refusal.into());
        }
    };
    let limit = request.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(format!("limit: give 1 to {MAX_LIMIT}.")));
    }
    let from = day("createdFrom", request.created_from.as_deref())?;
    let to = day("createdTo", request.created_to.as_deref())?;
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(ApiError::invalid("createdFrom is after createdTo."));
    }
    let listing = Listing {
        query: FormQuery {
            subject_of_care: request
                .subject_of_care
                .as_ref()
                .map(|s| s.as_str().to_owned()),
            care_unit: request.care_unit.map(|c| c.to_string()),
            clinical_process_interest_ids: request.clinical_process_interest_ids,
            template_ids: request.template_ids,
            statuses: request.form_status,
            created_from: from.map(start_of),
            created_before: to
                .and_then(|t| t.checked_add_days(Days::new(1)))
                .map(start_of),
            // A care system sees its forms until they are purged; the citizen's active list
            // leaves expired unanswered ones out unless asked (api.md §5).
            include_expired: request.include_expired || role == Role::CareSystem,
            today: Some(common::riv_time::today_in_sweden()),
            care_units,
            after: None,
            limit,
        },
        page_token: request.page_token.filter(|t| !t.is_empty()),
    };
    let (forms, next) = state.forms.list(listing).await?;
    // Recorded before the answer leaves: one row per form listed.
    let events: Vec<_> = forms
        .iter()
        .map(|form| access.form_event(form, role, AuditOutcome::Success))
        .collect();
    state.audit.record_all(&events).await?;
    let mut views = Vec::with_capacity(forms.len());
    for form in forms {
        let template = state.templates.compiled_for_form(&form.template).await?;
        views.push(form_view(
            &form,
            &template,
            Content::Summary,
            audience(role),
        ));
    }
    with_reminders(&state, &mut views).await?;
    let identity_linked =
        super::identity_links::linked(&state, request.subject_of_care.as_ref(), views.is_empty())
            .await?;
    let response = ApiJson(GetFormsResponse {
        forms: views,
        next_page_token: next,
        identity_linked,
    });
    Ok(super::identity_links::linked_header(
        identity_linked,
        response,
    ))
}

/// GetForm request.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"formId": "0b7e5a1c-2f4d-4c1e-9a57-3f1d2b8c9e10", "subjectOfCare": "191212121212"}))]
pub struct GetFormRequest {
    #[serde(rename = "formId")]
    pub form_id: String,
    /// On behalf of a citizen: the form must be theirs. Left out by care systems.
    #[serde(default, rename = "subjectOfCare")]
    #[schema(value_type = Option<String>)]
    pub subject_of_care: Option<PersonalIdentityNumber>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GetFormResponse {
    pub form: FormView,
}

/// Gets one form: ONGOING with its current page, PENDING_COMPLETION and COMPLETED with every
/// page's answers.
#[utoipa::path(post, path = "/forminteraction/v2/GetForm", tag = "forminteraction", operation_id = "GetForm",
    request_body = GetFormRequest,
    responses(
        (status = 200, description = "The form", body = GetFormResponse),
        (status = 400, description = "INVALID_REQUEST naming the field: a body that breaks the schema (pattern, length, bound, type, a control character), MALFORMED_JSON (formId not a GUID, subjectOfCare not an identity number)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_CARE_UNIT / FORBIDDEN_ESERVICE: the caller holds none of the contract's roles", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such form, or none the caller may see (another care unit's, another citizen's, in every auth mode): FORM_NOT_FOUND, the same body either way", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json")))]
pub async fn get_form(
    State(state): State<AppState>,
    caller: Caller,
    Contract(request): Contract<GetFormRequest>,
) -> Result<ApiJson<GetFormResponse>, ApiError> {
    let id = form_id(&request.form_id)?;
    let access = Access::new(caller, &state.permissions, &state.audit, "GetForm");
    let (Viewed { form, template }, role) = state
        .forms
        .get_with_role(id, request.subject_of_care.as_ref(), &access)
        .await?;
    let mut views = [form_view(
        &form,
        &template,
        Content::AsStored,
        audience(role),
    )];
    with_reminders(&state, &mut views).await?;
    let [form] = views;
    Ok(ApiJson(GetFormResponse { form }))
}

/// The reminders of each form (extension, docs/follow-up.md).
async fn with_reminders(state: &AppState, views: &mut [FormView]) -> Result<(), ApiError> {
    let ids: Vec<Uuid> = views
        .iter()
        .filter_map(|v| Uuid::parse_str(&v.form_id).ok())
        .collect();
    let mut reminders = state
        .store
        .follow_up()
        .reminders_of(&ids)
        .await
        .map_err(ApiError::internal)?;
    for view in views {
        if let Some(attempts) = Uuid::parse_str(&view.form_id)
            .ok()
            .and_then(|id| reminders.remove(&id))
        {
            view.reminders = attempts.iter().filter_map(ReminderView::of).collect();
        }
    }
    Ok(())
}

/// Direction of GetFormQuestionPage.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum DirectionWire {
    Forward,
    Back,
}

/// GetFormQuestionPage request.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"formId": "0b7e5a1c-2f4d-4c1e-9a57-3f1d2b8c9e10", "pageNumber": 2, "direction": "BACK", "subjectOfCare": "191212121212"}))]
pub struct GetFormQuestionPageRequest {
    #[serde(rename = "formId")]
    pub form_id: String,
    /// The page to move from; 0 with FORWARD is the first page, 0 with BACK the last page
    /// reached.
    #[serde(rename = "pageNumber")]
    pub page_number: u32,
    pub direction: DirectionWire,
    #[serde(default, rename = "subjectOfCare")]
    #[schema(value_type = Option<String>)]
    pub subject_of_care: Option<PersonalIdentityNumber>,
}

/// Moves FORWARD or BACK among the pages the citizen has reached.
///
/// Going BACK from the summary of a PENDING_COMPLETION form (pageNumber 0, or a page of it)
/// reopens it (ONGOING) until its last page is saved again. FORWARD never changes the status:
/// on a PENDING_COMPLETION form it shows the page, still PENDING_COMPLETION and ready to send.
#[utoipa::path(post, path = "/forminteraction/v2/GetFormQuestionPage", tag = "forminteraction", operation_id = "GetFormQuestionPage",
    request_body = GetFormQuestionPageRequest,
    responses(
        (status = 200, description = "The form on the page moved to", body = GetFormResponse),
        (status = 400, description = "NAVIGATION_NOT_ALLOWED: a move the form does not allow (BACK from the first page, FORWARD from a page not yet saved or past the last page, a page not reached: it depends on the stored form); INVALID_REQUEST naming the field: a body that breaks the schema (pattern, length, bound, type, a control character), MALFORMED_JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_CARE_UNIT / FORBIDDEN_ESERVICE: the caller holds none of the contract's roles", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such form, or none the caller may see (another care unit's, another citizen's, in every auth mode): FORM_NOT_FOUND, the same body either way", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "FORM_COMPLETED: the form has been sent; CONCURRENT_CHANGE: the form kept changing under the request (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json")))]
pub async fn get_form_question_page(
    State(state): State<AppState>,
    caller: Caller,
    Contract(request): Contract<GetFormQuestionPageRequest>,
) -> Result<ApiJson<GetFormResponse>, ApiError> {
    let id = form_id(&request.form_id)?;
    let access = Access::new(
        caller,
        &state.permissions,
        &state.audit,
        "GetFormQuestionPage",
    );
    let direction = match request.direction {
        DirectionWire::Forward => Direction::Forward,
        DirectionWire::Back => Direction::Back,
    };
    let (page, Viewed { form, template }) = state
        .forms
        .navigate_as(
            id,
            request.subject_of_care.as_ref(),
            request.page_number,
            direction,
            &access,
        )
        .await?;
    // The page moved to, also on a summary read FORWARD (its status unchanged).
    Ok(ApiJson(GetFormResponse {
        form: form_view(
            &form,
            &template,
            Content::Page(page),
            Audience::SubjectOfCare,
        ),
    }))
}

/// SaveFormPage request.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"formId": "0b7e5a1c-2f4d-4c1e-9a57-3f1d2b8c9e10", "subjectOfCare": "191212121212",
    "temporarySave": false, "pageAnswers": {"pageNumber": 1, "questionAnswerBlocks": [
        {"blockNumber": 1, "answers": [{"valueID": "height", "value": 178}, {"valueID": "weight", "value": 72.5}]},
        {"blockNumber": 2, "answers": [{"valueID": "smoker", "value": 2}]}]}}))]
pub struct SaveFormPageRequest {
    #[serde(rename = "formId")]
    pub form_id: String,
    #[serde(default, rename = "subjectOfCare")]
    #[schema(value_type = Option<String>)]
    pub subject_of_care: Option<PersonalIdentityNumber>,
    /// True: keep the answers as given, without checking them, and stay on the page.
    #[serde(default, rename = "temporarySave")]
    pub temporary_save: bool,
    #[serde(rename = "pageAnswers")]
    pub page_answers: PageAnswers,
    #[serde(default)]
    pub actor: Option<Actor>,
}

fn comment_for_problems(count: usize, swedish: bool) -> String {
    match (count, swedish) {
        (1, true) => String::from("Ett svar behöver ändras."),
        (n, true) => format!("{n} svar behöver ändras."),
        (1, false) => String::from("One answer needs changing."),
        (n, false) => format!("{n} answers need changing."),
    }
}

/// Saves one page of answers and gives the next page.
///
/// The answers are checked against the page's JSON Schema (GetFormTemplateSchema). Broken
/// rules: `resultCode: ERROR`, nothing kept, the page back with an `answerStatus` per answer
/// (the question's validation text). Valid: kept, and the routing chooses the next page;
/// after the last page the form is PENDING_COMPLETION and `form` is left out.
/// `temporarySave: true` keeps the answers unchecked and stays on the page.
#[utoipa::path(post, path = "/forminteraction/v2/SaveFormPage", tag = "forminteraction", operation_id = "SaveFormPage",
    request_body = SaveFormPageRequest,
    responses(
        (status = 200, description = "Saved (OK: the next page, or no form when complete) or not (ERROR, with the page and a status per answer)", body = FormResult),
        (status = 400, description = "ANSWERS_DO_NOT_FIT_PAGE: an answer names a question (valueID) or block not on the page; PAGE_NOT_REACHED: the page is not the one to save (both depend on the form's template and progress, which the schema cannot see); INVALID_REQUEST naming the field: a body that breaks the schema (pattern, length, bound, type, a control character), MALFORMED_JSON; subjectOfCare missing for a form that is not anonymous", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_CARE_UNIT / FORBIDDEN_ESERVICE: the caller holds none of the contract's roles", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such form, or none the caller may see (another care unit's, another citizen's, in every auth mode): FORM_NOT_FOUND, the same body either way", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "CONCURRENT_CHANGE: the form kept changing under the request (retry)", body = Problem, content_type = "application/problem+json")))]
pub async fn save_form_page(
    State(state): State<AppState>,
    caller: Caller,
    Contract(request): Contract<SaveFormPageRequest>,
) -> Result<ApiJson<FormResult>, ApiError> {
    let id = form_id(&request.form_id)?;
    let access = Access::new(caller, &state.permissions, &state.audit, "SaveFormPage");
    let page = request.page_answers.page_number;
    let given: Vec<Given> = request
        .page_answers
        .question_answer_blocks
        .into_iter()
        .flat_map(|block| {
            block.answers.into_iter().map(move |a| Given {
                block: block.block_number,
                value_id: a.value_id,
                value: a.value,
            })
        })
        .collect();
    let saved = state
        .forms
        .save_page_as(
            id,
            request.subject_of_care.as_ref(),
            page,
            &given,
            request.temporary_save,
            request.actor,
            &access,
        )
        .await?;
    let result = match saved {
        PageSaved::Refused(reason, Viewed { form, template }) => FormResult {
            result_code: ResultCode::Error,
            comment: Some(reason),
            form: Some(form_view(
                &form,
                &template,
                Content::AsStored,
                Audience::SubjectOfCare,
            )),
        },
        PageSaved::Done {
            outcome,
            form: stored,
            template,
        } => {
            let swedish = template.template().language == "swe";
            match outcome {
                PageSave::Next { form, .. } | PageSave::Temporary { form, .. } => FormResult {
                    result_code: ResultCode::Ok,
                    comment: None,
                    form: Some(form_view(
                        &form,
                        &template,
                        Content::AsStored,
                        Audience::SubjectOfCare,
                    )),
                },
                PageSave::Complete { .. } => FormResult {
                    result_code: ResultCode::Ok,
                    comment: None,
                    form: None,
                },
                PageSave::Invalid {
                    page,
                    answers,
                    problems,
                } => {
                    let form = stored;
                    FormResult {
                        result_code: ResultCode::Error,
                        comment: Some(comment_for_problems(problems.len(), swedish)),
                        form: Some(form_view(
                            &form,
                            &template,
                            Content::Checked {
                                page,
                                answers,
                                problems,
                            },
                            Audience::SubjectOfCare,
                        )),
                    }
                }
                PageSave::EarlierPageInvalid {
                    form,
                    page,
                    problems,
                } => {
                    let answers = form
                        .progress
                        .answers
                        .get(&page)
                        .cloned()
                        .unwrap_or_default();
                    FormResult {
                        result_code: ResultCode::Error,
                        comment: Some(if swedish {
                            format!("Sidan {page} behöver ändras innan formuläret kan skickas.")
                        } else {
                            format!("Page {page} needs changes before the form can be sent.")
                        }),
                        form: Some(form_view(
                            &form,
                            &template,
                            Content::Checked {
                                page,
                                answers,
                                problems,
                            },
                            Audience::SubjectOfCare,
                        )),
                    }
                }
            }
        }
    };
    Ok(ApiJson(result))
}

/// SaveForm request.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"formId": "0b7e5a1c-2f4d-4c1e-9a57-3f1d2b8c9e10", "subjectOfCare": "191212121212"}))]
pub struct SaveFormRequest {
    #[serde(rename = "formId")]
    pub form_id: String,
    #[serde(default, rename = "subjectOfCare")]
    #[schema(value_type = Option<String>)]
    pub subject_of_care: Option<PersonalIdentityNumber>,
    #[serde(default)]
    pub actor: Option<Actor>,
}

/// Sends a form whose pages are all answered (PENDING_COMPLETION → COMPLETED, read-only).
///
/// Posted to the engagement index as FormComplete, the FormCreated post deleted in the same
/// Update. `resultCode: INFO` with the template's formCompleteText as `comment` when the
/// template has one, else `OK` without a comment.
#[utoipa::path(post, path = "/forminteraction/v2/SaveForm", tag = "forminteraction", operation_id = "SaveForm",
    request_body = SaveFormRequest,
    responses(
        (status = 200, description = "Sent (INFO with the template's formCompleteText as comment, or OK when it has none) or not (ERROR: not every page answered, already sent, expired)", body = ResultOnly),
        (status = 400, description = "INVALID_REQUEST naming the field: a body that breaks the schema (pattern, length, bound, type, a control character), MALFORMED_JSON; subjectOfCare missing for a form that is not anonymous", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_CARE_UNIT / FORBIDDEN_ESERVICE: the caller holds none of the contract's roles", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such form, or none the caller may see (another care unit's, another citizen's, in every auth mode): FORM_NOT_FOUND, the same body either way", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "CONCURRENT_CHANGE: the form kept changing under the request (retry)", body = Problem, content_type = "application/problem+json")))]
pub async fn save_form(
    State(state): State<AppState>,
    caller: Caller,
    Contract(request): Contract<SaveFormRequest>,
) -> Result<ApiJson<ResultOnly>, ApiError> {
    let id = form_id(&request.form_id)?;
    let access = Access::new(caller, &state.permissions, &state.audit, "SaveForm");
    let sent = state
        .forms
        .send_as(id, request.subject_of_care.as_ref(), request.actor, &access)
        .await?;
    Ok(ApiJson(match sent {
        // INFO: done, with the template's message to show the citizen (api.md §5).
        Sent::Completed(Viewed { template, .. }) => {
            let text = template.template().form_complete_text.clone();
            ResultOnly {
                result_code: if text.is_some() {
                    ResultCode::Info
                } else {
                    ResultCode::Ok
                },
                comment: text,
            }
        }
        Sent::Refused(reason, _) => ResultOnly {
            result_code: ResultCode::Error,
            comment: Some(reason),
        },
    }))
}

/// CancelForm request.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"formId": "0b7e5a1c-2f4d-4c1e-9a57-3f1d2b8c9e10"}))]
pub struct CancelFormRequest {
    #[serde(rename = "formId")]
    pub form_id: String,
    #[serde(default, rename = "subjectOfCare")]
    #[schema(value_type = Option<String>)]
    pub subject_of_care: Option<PersonalIdentityNumber>,
}

/// Cancels a form: ONGOING and PENDING_COMPLETION forms are deleted (with their
/// engagement-index post); for a COMPLETED form a request for revocation is recorded (INFO).
#[utoipa::path(post, path = "/forminteraction/v2/CancelForm", tag = "forminteraction", operation_id = "CancelForm",
    request_body = CancelFormRequest,
    responses(
        (status = 200, description = "Deleted (OK) or revocation requested (INFO)", body = ResultOnly),
        (status = 400, description = "INVALID_REQUEST naming the field: a body that breaks the schema (pattern, length, bound, type, a control character), MALFORMED_JSON; subjectOfCare missing for a form that is not anonymous", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_CARE_UNIT / FORBIDDEN_ESERVICE: the caller holds none of the contract's roles", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such form, or none the caller may see (another care unit's, another citizen's, in every auth mode): FORM_NOT_FOUND, the same body either way", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "CONCURRENT_CHANGE: the form kept changing under the request (retry)", body = Problem, content_type = "application/problem+json")))]
pub async fn cancel_form(
    State(state): State<AppState>,
    caller: Caller,
    Contract(request): Contract<CancelFormRequest>,
) -> Result<ApiJson<ResultOnly>, ApiError> {
    let id = form_id(&request.form_id)?;
    let access = Access::new(caller, &state.permissions, &state.audit, "CancelForm");
    let cancelled = state
        .forms
        .cancel_as(id, request.subject_of_care.as_ref(), &access)
        .await?;
    Ok(ApiJson(match cancelled {
        Cancelled::Deleted => ResultOnly {
            result_code: ResultCode::Ok,
            comment: None,
        },
        Cancelled::RevocationRequested { first } => ResultOnly {
            result_code: ResultCode::Info,
            comment: Some(String::from(if first {
                "The form has been sent and cannot be deleted; a request to revoke it has been recorded for the care unit."
            } else {
                "The form has been sent and cannot be deleted; a request to revoke it was already recorded."
            })),
        },
    }))
}

/// Who lists forms as what, and the care units the list is narrowed to (empty: any).
async fn lister(
    permissions: &Permissions,
    access: &Access,
    care_unit: Option<&HsaId>,
    subject: Option<&PersonalIdentityNumber>,
) -> Result<(Role, Vec<String>), Problem> {
    let caller = access.caller();
    if !permissions.is_enforced() {
        let role = if subject.is_some() {
            Role::Eservice
        } else {
            Role::CareSystem
        };
        return Ok((role, Vec::new()));
    }
    let narrowed = |scopes: AllowedScopes| match scopes {
        AllowedScopes::All => Vec::new(),
        AllowedScopes::Only(units) => units.into_iter().collect(),
    };
    let eservice = permissions.allowed_scopes(caller, Role::Eservice).await?;
    let care_system = permissions.allowed_scopes(caller, Role::CareSystem).await?;
    let none = |scopes: &AllowedScopes| matches!(scopes, AllowedScopes::Only(s) if s.is_empty());
    if subject.is_some() && !none(&eservice) {
        if let Some(unit) = care_unit {
            permissions
                .require(caller, Role::Eservice, unit.as_str())
                .await?;
        }
        return Ok((Role::Eservice, narrowed(eservice)));
    }
    if !none(&care_system) {
        if let Some(unit) = care_unit {
            permissions
                .require(caller, Role::CareSystem, unit.as_str())
                .await?;
        }
        return Ok((Role::CareSystem, narrowed(care_system)));
    }
    if !none(&eservice) {
        tracing::warn!(caller = %caller, "the e-service listed forms without naming the citizen");
        return Err(Problem::forbidden(
            "FORBIDDEN_ESERVICE",
            format!(
                "The caller {} lists forms as the e-service only for the citizen it acts for: give subjectOfCare.",
                caller.name()
            ),
        ));
    }
    access
        .require_some(&[Role::CareSystem, Role::Eservice])
        .await?;
    Ok((Role::CareSystem, Vec::new()))
}
