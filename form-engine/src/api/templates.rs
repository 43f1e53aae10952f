//! The template contracts: SaveFormTemplate, GetFormTemplate, GetFormTemplates,
//! DeleteFormTemplate, and GetFormTemplateSchema (api.md §3).

use axum::extract::State;
use common::auth::Caller;
use common::identity::{HsaId, PersonalIdentityNumber};
use common::permissions::{AllowedScopes, Role};
use common::problem::{ApiJson, Problem};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::AppState;
use super::contract::Contract;
use super::error::ApiError;
use super::wire::ResultCode;
use crate::domain::access::Access;
use crate::domain::template::TemplateKey;
use crate::domain::template::finding::{self, Finding};
use crate::domain::template::info::FormTemplateInfo;
use crate::domain::template::service::{CitizenLookup, DeleteOutcome, SaveOutcome, TemplateLookup};
use crate::domain::template::{FormTemplate, PublishStatus};

fn save_example() -> Value {
    serde_json::json!({ "formTemplate": crate::demo::health_declaration_json() })
}

/// SaveFormTemplate request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = save_example)]
pub struct SaveFormTemplateRequest {
    /// The template. Without `templateVersion` the next version is made; with one, that
    /// version is made or (when its status allows) changed.
    pub form_template: FormTemplate,
}

/// SaveFormTemplate response.
#[derive(Debug, Serialize, ToSchema)]
pub struct SaveFormTemplateResponse {
    /// OK: saved. INFO: saved with warnings, or already stored unchanged. ERROR: not saved.
    #[serde(rename = "ResultCode")]
    pub result_code: ResultCode,
    /// For a person: every finding, numbered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Extension: the findings of the template checks, one object each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Extension: the template as stored, with its version, question ids and counts filled in.
    #[serde(rename = "formTemplate", skip_serializing_if = "Option::is_none")]
    pub form_template: Option<Box<FormTemplate>>,
}

/// Checks a template and stores it as a new or changed version.
///
/// A template that fails a check is refused with `ResultCode: ERROR`; `comment` lists every
/// finding and `findings` gives each with its page, block, question and field.
#[utoipa::path(post, path = "/forminteraction/v2/SaveFormTemplate", tag = "forminteraction", operation_id = "SaveFormTemplate",
    request_body = SaveFormTemplateRequest,
    responses(
        (status = 200, description = "Saved (OK/INFO) or refused with findings (ERROR)", body = SaveFormTemplateResponse),
        (status = 400, description = "Not a template: INVALID_REQUEST naming the field: a body that breaks the schema (pattern, length, bound, type, a control character), MALFORMED_JSON. A well-formed template that breaks a rule of the template checks (a routing cycle, a page no route reaches, a choice without alternatives...) is answered 200 with ResultCode ERROR and its findings instead", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "CONCURRENT_CHANGE: another process kept changing the same template (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_CARE_UNIT: no agreement for the template's care unit (healthCareFacilityUnit)", body = Problem, content_type = "application/problem+json")))]
pub async fn save_form_template(
    State(state): State<AppState>,
    caller: Caller,
    Contract(request): Contract<SaveFormTemplateRequest>,
) -> Result<ApiJson<SaveFormTemplateResponse>, ApiError> {
    state
        .permissions
        .require(
            &caller,
            Role::CareSystem,
            request.form_template.health_care_facility_unit.as_str(),
        )
        .await?;
    let outcome = state.templates.save(request.form_template).await?;
    let response = match outcome {
        SaveOutcome::Saved { template, warnings } => SaveFormTemplateResponse {
            result_code: if warnings.is_empty() {
                ResultCode::Ok
            } else {
                ResultCode::Info
            },
            comment: (!warnings.is_empty()).then(|| finding::summarize(&warnings)),
            findings: warnings,
            form_template: Some(template),
        },
        SaveOutcome::Unchanged { template, warnings } => SaveFormTemplateResponse {
            result_code: ResultCode::Info,
            comment: Some(format!(
                "Version {} of {} is already stored with this content and status; nothing changed.",
                template.version(),
                template.template_id
            )),
            findings: warnings,
            form_template: Some(template),
        },
        SaveOutcome::Refused(findings) => SaveFormTemplateResponse {
            result_code: ResultCode::Error,
            comment: Some(finding::summarize(&findings)),
            findings,
            form_template: None,
        },
    };
    Ok(ApiJson(response))
}

/// GetFormTemplate request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"healthcare_facility_CareUnit": "SE0000000001-CU01", "templateId": "HALSA-1"}))]
pub struct GetFormTemplateRequest {
    /// The owning care unit. Without it, `templateId` is required.
    #[serde(
        default,
        rename = "healthcare_facility_CareUnit",
        alias = "healthcare_Facility_CareUnit"
    )]
    #[schema(value_type = Option<String>)]
    pub care_unit: Option<HsaId>,
    /// Without it, all templates of the care unit.
    #[serde(default)]
    pub template_id: Option<String>,
    /// Without it, every version that is not Archived.
    #[serde(default)]
    pub template_version: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetFormTemplateResponse {
    pub form_templates: Vec<FormTemplate>,
}

/// Gets whole templates by care unit and/or id and version (for care systems).
#[utoipa::path(post, path = "/forminteraction/v2/GetFormTemplate", tag = "forminteraction", operation_id = "GetFormTemplate",
    request_body = GetFormTemplateRequest,
    responses(
        (status = 200, description = "The matching template versions", body = GetFormTemplateResponse),
        (status = 400, description = "INVALID_REQUEST naming the field: a body that breaks the schema (pattern, length, bound, type, a control character), MALFORMED_JSON; neither care unit nor a templateId given", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "TEMPLATE_NOT_FOUND: no template with that id (or no such version)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_CARE_UNIT: no agreement for the care unit asked for (or for any)", body = Problem, content_type = "application/problem+json")))]
pub async fn get_form_template(
    State(state): State<AppState>,
    caller: Caller,
    Contract(request): Contract<GetFormTemplateRequest>,
) -> Result<ApiJson<GetFormTemplateResponse>, ApiError> {
    let permissions = &state.permissions;
    let allowed = if let Some(unit) = &request.care_unit {
        permissions
            .require(&caller, Role::CareSystem, unit.as_str())
            .await?;
        AllowedScopes::All
    } else {
        Access::new(caller.clone(), permissions, &state.audit, "GetFormTemplate")
            .require_some(&[Role::CareSystem])
            .await?;
        permissions
            .allowed_scopes(&caller, Role::CareSystem)
            .await?
    };
    let found = state
        .templates
        .lookup(&TemplateLookup {
            care_unit: request.care_unit,
            template_id: request.template_id.filter(|id| !id.is_empty()),
            template_version: request.template_version,
        })
        .await?;
    // By id alone: the templates of the caller's care units, and those shared with others.
    let found = found
        .into_iter()
        .filter(|t| {
            allowed.contains(t.health_care_facility_unit.as_str())
                || t.template_propagate.iter().any(|p| p.propagate)
        })
        .collect();
    Ok(ApiJson(GetFormTemplateResponse {
        form_templates: found,
    }))
}

/// GetFormTemplates request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"healthcare_Facility_CareUnit": "SE0000000001-CU01", "subjectOfCare": "191212121212"}))]
pub struct GetFormTemplatesRequest {
    /// The care unit whose templates to list.
    #[serde(
        rename = "healthcare_Facility_CareUnit",
        alias = "healthcare_facility_CareUnit"
    )]
    #[schema(value_type = String)]
    pub care_unit: HsaId,
    /// Which publish statuses to list; default Published.
    #[serde(default)]
    pub published_status: Vec<PublishStatus>,
    /// The signed-in citizen. Without it, only anonymous templates are listed.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub subject_of_care: Option<PersonalIdentityNumber>,
    /// Only these template ids.
    #[serde(default)]
    pub template_ids: Vec<String>,
    /// Only the templates of forms in these health matters (the citizen's forms; for an
    /// anonymous lookup the care unit's). Templates carry no such id themselves.
    #[serde(default)]
    pub clinical_process_interest_ids: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetFormTemplatesResponse {
    /// The newest matching version of each template, by templateId, in the citizen-facing
    /// view (FormTemplateInfo).
    pub form_template: Vec<FormTemplateInfo>,
}

/// Lists the templates a citizen can start at a care unit (for e-services).
///
/// The care unit's own templates and those other care units share by `templatePropagate`,
/// the newest version of each, in the citizen-facing view (FormTemplateInfo): no
/// `descriptionInternal`, no sharing details, no calculation not approved for the subject of
/// care. Without `subjectOfCare` only anonymous templates. `clinicalProcessInterestIds` keeps
/// the templates of the citizen's forms in those health matters.
#[utoipa::path(post, path = "/forminteraction/v2/GetFormTemplates", tag = "forminteraction", operation_id = "GetFormTemplates",
    request_body = GetFormTemplatesRequest,
    responses(
        (status = 200, description = "The templates available", body = GetFormTemplatesResponse),
        (status = 400, description = "INVALID_REQUEST naming the field: a body that breaks the schema (pattern, length, bound, type, a control character), MALFORMED_JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ESERVICE: the caller may not act as the e-service for this care unit", body = Problem, content_type = "application/problem+json")))]
pub async fn get_form_templates(
    State(state): State<AppState>,
    caller: Caller,
    Contract(request): Contract<GetFormTemplatesRequest>,
) -> Result<ApiJson<GetFormTemplatesResponse>, ApiError> {
    state
        .permissions
        .require(&caller, Role::Eservice, request.care_unit.as_str())
        .await?;
    let found = state
        .templates
        .for_citizen(&CitizenLookup {
            care_unit: request.care_unit,
            statuses: request.published_status,
            subject_of_care: request.subject_of_care,
            template_ids: request.template_ids,
            clinical_process_interest_ids: request.clinical_process_interest_ids,
        })
        .await?;
    Ok(ApiJson(GetFormTemplatesResponse {
        form_template: found,
    }))
}

/// DeleteFormTemplate request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"templateId": "HALSA-1", "templateVersion": 1, "healthCareFacilityUnit": "SE0000000001-CU01"}))]
pub struct DeleteFormTemplateRequest {
    pub template_id: String,
    pub template_version: u32,
    /// The owning care unit.
    #[schema(value_type = String)]
    pub health_care_facility_unit: HsaId,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeleteFormTemplateResponse {
    #[serde(rename = "ResultCode")]
    pub result_code: ResultCode,
    /// Why the template was not deleted.
    #[serde(rename = "resultText", skip_serializing_if = "Option::is_none")]
    pub result_text: Option<String>,
}

/// Deletes (revokes) an Archived template version that no active form uses.
///
/// The version disappears from every lookup; completed forms made from it keep showing it,
/// and its number is never used again.
#[utoipa::path(post, path = "/forminteraction/v2/DeleteFormTemplate", tag = "forminteraction", operation_id = "DeleteFormTemplate",
    request_body = DeleteFormTemplateRequest,
    responses(
        (status = 200, description = "Deleted (OK) or refused (ERROR, with resultText)", body = DeleteFormTemplateResponse),
        (status = 400, description = "INVALID_REQUEST naming the field: a body that breaks the schema (pattern, length, bound, type, a control character), MALFORMED_JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_CARE_UNIT: no agreement for healthCareFacilityUnit; CARE_UNIT_MISMATCH: the template belongs to another care unit", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "TEMPLATE_NOT_FOUND: no such template version", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_form_template(
    State(state): State<AppState>,
    caller: Caller,
    Contract(request): Contract<DeleteFormTemplateRequest>,
) -> Result<ApiJson<DeleteFormTemplateResponse>, ApiError> {
    state
        .permissions
        .require(
            &caller,
            Role::CareSystem,
            request.health_care_facility_unit.as_str(),
        )
        .await?;
    let key = TemplateKey {
        template_id: request.template_id,
        template_version: request.template_version,
    };
    let outcome = state
        .templates
        .delete(&key, &request.health_care_facility_unit)
        .await?;
    Ok(ApiJson(match outcome {
        DeleteOutcome::Deleted => DeleteFormTemplateResponse {
            result_code: ResultCode::Ok,
            result_text: None,
        },
        DeleteOutcome::Refused(text) => DeleteFormTemplateResponse {
            result_code: ResultCode::Error,
            result_text: Some(text),
        },
    }))
}

/// GetFormTemplateSchema request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"templateId": "HALSA-1", "templateVersion": 1}))]
pub struct GetFormTemplateSchemaRequest {
    pub template_id: String,
    /// Without it, the newest Published version.
    #[serde(default)]
    pub template_version: Option<u32>,
}

/// The schema of one page's answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageSchema {
    pub page_number: u32,
    /// JSON Schema (draft 2020-12) of the page's answers: an object from questionId to value.
    #[schema(value_type = Object)]
    pub schema: Value,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetFormTemplateSchemaResponse {
    pub template_id: String,
    pub template_version: u32,
    /// JSON Schema (draft 2020-12) of all answers of a completed form.
    #[schema(value_type = Object)]
    pub form: Value,
    pub pages: Vec<PageSchema>,
}

/// The JSON Schemas (draft 2020-12) answers to a template version are validated against.
///
/// Answers are an object from questionId to value. Beyond standard JSON Schema the schemas use
/// the formats `riv-date` (YYYYMMDD), `riv-time` (hh:mm), `riv-datetime` (YYYYMMDDThhmmss),
/// `riv-month` (YYYYMM), `riv-week` (YYYY-Www) and `riv-url`, the keywords `formatMinimum` and
/// `formatMaximum` (bounds of those, compared as text) and `stepFrom` (`{"base","step"}`).
#[utoipa::path(post, path = "/forminteraction/v2/GetFormTemplateSchema", tag = "forminteraction", operation_id = "GetFormTemplateSchema",
    request_body = GetFormTemplateSchemaRequest,
    responses(
        (status = 200, description = "The schemas of the form and of each page", body = GetFormTemplateSchemaResponse),
        (status = 400, description = "INVALID_REQUEST naming the field: a body that breaks the schema (pattern, length, bound, type, a control character), MALFORMED_JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "TEMPLATE_NOT_FOUND: no such template version, or none Published", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_CARE_UNIT: the caller is neither a care system nor the e-service", body = Problem, content_type = "application/problem+json")))]
pub async fn get_form_template_schema(
    State(state): State<AppState>,
    caller: Caller,
    Contract(request): Contract<GetFormTemplateSchemaRequest>,
) -> Result<ApiJson<GetFormTemplateSchemaResponse>, ApiError> {
    Access::new(
        caller,
        &state.permissions,
        &state.audit,
        "GetFormTemplateSchema",
    )
    .require_some(&[Role::CareSystem, Role::Eservice])
    .await?;
    let version = match request.template_version {
        Some(version) => version,
        None => state
            .templates
            .newest_published(&request.template_id)
            .await?
            .map(|t| t.template.version())
            .ok_or_else(|| {
                ApiError::not_found(
                    "TEMPLATE_NOT_FOUND",
                    format!("Template {} has no Published version.", request.template_id),
                )
            })?,
    };
    let key = TemplateKey {
        template_id: request.template_id,
        template_version: version,
    };
    let compiled = state.templates.compiled(&key).await?;
    let pages = compiled
        .page_numbers()
        .filter_map(|n| {
            Some(PageSchema {
                page_number: n,
                schema: compiled.page_schema(n)?.clone(),
            })
        })
        .collect();
    Ok(ApiJson(GetFormTemplateSchemaResponse {
        template_id: key.template_id,
        template_version: key.template_version,
        form: compiled.form_schema().clone(),
        pages,
    }))
}
