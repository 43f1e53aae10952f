//! FHIR R4 at the edge: import a `Questionnaire` as a template, export a template as a
//! `Questionnaire` and a completed form as a `QuestionnaireResponse` (docs/fhir.md). The
//! mapping is `domain::fhir`; here are the grants, the audit and the wire.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use common::auth::Caller;
use common::identity::HsaId;
use common::permissions::{AllowedScopes, Role};
use common::problem::{ApiJson, ApiPath, ApiQuery, Problem};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::templates::SaveFormTemplateResponse;
use super::wire::ResultCode;
use crate::domain::access::Access;
use crate::domain::fhir::{self, Questionnaire, QuestionnaireResponse};
use crate::domain::template::finding::{self, Finding};
use crate::domain::template::service::{SaveOutcome, TemplateLookup};

/// FHIR's JSON media type, which the exports are answered as.
pub const FHIR_JSON: &str = "application/fhir+json";

/// A FHIR resource answered as `application/fhir+json`.
struct FhirJson<T>(T);

impl<T: Serialize> IntoResponse for FhirJson<T> {
    fn into_response(self) -> Response {
        let mut response = axum::Json(self.0).into_response();
        response
            .headers_mut()
            .insert(CONTENT_TYPE, http::HeaderValue::from_static(FHIR_JSON));
        response
    }
}

/// The care unit an imported Questionnaire becomes a template of.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// The HSA-id of the care unit that will own the template.
    #[serde(rename = "careUnit")]
    #[param(rename = "careUnit", value_type = String, pattern = "^[!-~]{1,64}$", example = "SE0000000001-CU01")]
    pub care_unit: HsaId,
}

/// Imports a FHIR R4 Questionnaire as a template (SDC where it matters) and saves it as
/// SaveFormTemplate does.
///
/// Groups become pages (when every top-level item is a group) and blocks; items questions;
/// answerOption alternatives with their ordinalValue (or itemWeight) as scores; enableWhen a
/// questionSuperior where one expresses it; an SDC calculatedExpression that sums answer
/// scores (`%resource.item.answer.value.ordinal().sum()`, the same over `repeat(item)`, or
/// over items chosen with `where(linkId ...)`) a calculation. Findings of the import come
/// first: FHIR_NOT_CARRIED (a warning: an element the template has no place for),
/// FHIR_NOT_MAPPABLE and FHIR_INVALID (errors: the template is not saved), each naming the
/// item by linkId; then the template checks' findings. The template id is the
/// Questionnaire's id (or its `urn:nordform:templateId` identifier); the next version is
/// made. docs/fhir.md has the mapping table.
#[utoipa::path(post, path = "/forminteraction/v2/fhir/Questionnaire", tag = "fhir", operation_id = "ImportQuestionnaire",
    params(ImportParams),
    request_body(content = Questionnaire, content_type = "application/fhir+json", description = "A FHIR R4 Questionnaire (application/json is accepted too)"),
    responses(
        (status = 200, description = "Saved (OK/INFO, with any warnings) or refused with findings (ERROR), as SaveFormTemplate answers", body = SaveFormTemplateResponse),
        (status = 400, description = "INVALID_REQUEST naming the field: not a Questionnaire (resourceType), a member of the wrong type, a missing linkId, type or status, a control character, careUnit missing or not an HSA-id; MALFORMED_JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "CONCURRENT_CHANGE: another process kept changing the same template (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_CARE_UNIT: no care_system agreement for careUnit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "UNSUPPORTED_MEDIA_TYPE: the body is not JSON (application/fhir+json or application/json)", body = Problem, content_type = "application/problem+json")))]
pub async fn import_questionnaire(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<ImportParams>,
    ApiJson(questionnaire): ApiJson<Questionnaire>,
) -> Result<ApiJson<SaveFormTemplateResponse>, ApiError> {
    state
        .permissions
        .require(&caller, Role::CareSystem, params.care_unit.as_str())
        .await?;
    let imported = fhir::import(&questionnaire, &params.care_unit)
        .map_err(|e| ApiError::invalid(format!("{e}.")))?;
    let mut findings = imported.findings;
    if findings.iter().any(Finding::is_error) {
        return Ok(ApiJson(refused(findings)));
    }
    let response = match state.templates.save(imported.template).await? {
        SaveOutcome::Saved { template, warnings } => {
            findings.extend(warnings);
            SaveFormTemplateResponse {
                result_code: if findings.is_empty() {
                    ResultCode::Ok
                } else {
                    ResultCode::Info
                },
                comment: (!findings.is_empty()).then(|| finding::summarize(&findings)),
                findings,
                form_template: Some(template),
            }
        }
        SaveOutcome::Unchanged { template, warnings } => {
            findings.extend(warnings);
            SaveFormTemplateResponse {
                result_code: ResultCode::Info,
                comment: Some(format!(
                    "Version {} of {} is already stored with this content and status; nothing changed.",
                    template.version(),
                    template.template_id
                )),
                findings,
                form_template: Some(template),
            }
        }
        SaveOutcome::Refused(more) => {
            findings.extend(more);
            refused(findings)
        }
    };
    Ok(ApiJson(response))
}

fn refused(findings: Vec<Finding>) -> SaveFormTemplateResponse {
    SaveFormTemplateResponse {
        result_code: ResultCode::Error,
        comment: Some(finding::summarize(&findings)),
        findings,
        form_template: None,
    }
}

/// Exports a template version as a FHIR R4 Questionnaire.
///
/// For a care system of the template's care unit, or of any unit when the template is
/// shared (templatePropagate), as GetFormTemplate. Pages and blocks are groups (linkIds
/// `#page-1`, `#page-1.block-2`), questions items (linkId = questionId), alternatives
/// answerOptions with ordinalValue scores, questionSuperior enableWhen, and each calculation
/// a read-only decimal item (linkId = calculationId) at the end, with an SDC
/// calculatedExpression when its formula is a sum of scores. What FHIR has no element for
/// travels in the extension `urn:nordform:fhir:fields`, so importing the export gives the
/// template back.
#[utoipa::path(get, path = "/forminteraction/v2/fhir/Questionnaire/{templateId}/{templateVersion}", tag = "fhir", operation_id = "ExportQuestionnaire",
    params(
        ("templateId" = String, Path, description = "The template's id", max_length = 64),
        ("templateVersion" = u32, Path, description = "The version", minimum = 0, maximum = 2_147_483_647)),
    responses(
        (status = 200, description = "The template as a Questionnaire", body = Questionnaire, content_type = "application/fhir+json"),
        (status = 400, description = "INVALID_REQUEST: templateVersion is not a whole number from 0 to 2147483647, or a segment carries a control character", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "TEMPLATE_NOT_FOUND: no such version, or none the caller may read", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_CARE_UNIT: the caller has no care_system agreement at all", body = Problem, content_type = "application/problem+json")))]
pub async fn export_questionnaire(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((template_id, template_version)): ApiPath<(String, u32)>,
) -> Result<Response, ApiError> {
    // The store's column is PostgreSQL's `integer`, as the contracts' bodies state.
    if i32::try_from(template_version).is_err() {
        return Err(ApiError::invalid(format!(
            "templateVersion: {template_version} is larger than {}.",
            i32::MAX
        )));
    }
    let permissions = &state.permissions;
    Access::new(
        caller.clone(),
        permissions,
        &state.audit,
        "ExportQuestionnaire",
    )
    .require_some(&[Role::CareSystem])
    .await?;
    let allowed = permissions
        .allowed_scopes(&caller, Role::CareSystem)
        .await?;
    let not_found = || {
        ApiError::not_found(
            "TEMPLATE_NOT_FOUND",
            format!("No template {template_id} version {template_version}."),
        )
    };
    let found = state
        .templates
        .lookup(&TemplateLookup {
            care_unit: None,
            template_id: Some(template_id.clone()),
            template_version: Some(template_version),
        })
        .await
        .map_err(|e| match e {
            crate::domain::template::service::TemplateError::NotFound(_) => not_found(),
            other => other.into(),
        })?;
    let template = found
        .into_iter()
        .find(|t| {
            matches!(allowed, AllowedScopes::All)
                || allowed.contains(t.health_care_facility_unit.as_str())
                || t.template_propagate.iter().any(|p| p.propagate)
        })
        .ok_or_else(not_found)?;
    Ok(FhirJson(fhir::questionnaire(&template)).into_response())
}

/// Exports a completed form as a FHIR R4 QuestionnaireResponse of its template's
/// Questionnaire.
///
/// For a care system of the form's care unit, as GetForm; audited like it. The answers sit
/// in the Questionnaire's page and block groups; each calculation with an outcome is the
/// valueDecimal answer of its calculated item; `subject` is the citizen's personal identity
/// number (absent for an anonymous form), `authored` the time the form was sent.
#[utoipa::path(get, path = "/forminteraction/v2/fhir/QuestionnaireResponse/{formId}", tag = "fhir", operation_id = "ExportQuestionnaireResponse",
    params(("formId" = String, Path, description = "The form's id (a GUID)", format = "uuid")),
    responses(
        (status = 200, description = "The completed form", body = QuestionnaireResponse, content_type = "application/fhir+json"),
        (status = 400, description = "INVALID_REQUEST: formId is not a GUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "FORM_NOT_FOUND: no such form, or none the caller may see (another care unit's), the same body either way", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "FORM_NOT_COMPLETED: the form has not been sent yet", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_CARE_UNIT: the caller has no care_system agreement at all", body = Problem, content_type = "application/problem+json")))]
pub async fn export_questionnaire_response(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(form_id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = Uuid::parse_str(form_id.trim()).map_err(|_| {
        ApiError::invalid(format!("formId: `{form_id}` is not a form id (a GUID)."))
    })?;
    let access = Access::new(
        caller,
        &state.permissions,
        &state.audit,
        "ExportQuestionnaireResponse",
    );
    let response = state.forms.questionnaire_response_as(id, &access).await?;
    Ok(FhirJson(response).into_response())
}
