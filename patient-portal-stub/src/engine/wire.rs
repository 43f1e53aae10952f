//! The form engine's citizen contracts as JSON (api.md §3.1), as far as the pages need them.
//!
//! The portal reads the engine's answers leniently: unknown fields are ignored and every
//! element the pages can do without is optional, so a newer engine (or one that omits an
//! empty element) does not break the pages. What the portal sends is exactly the contract.
//!
//! These are another service's contract as its client sees it, so they live with the client
//! (`engine::client`), not in [`crate::api`], which holds the portal's own wire types.

use serde::{Deserialize, Serialize};

pub use form_render::wire::{
    Answer, AnswerAlternative, AnswerStatus, BlockAnswers, Page, PageAnswers, Question,
    QuestionBlock, QuestionSuperior, ResultCode, ValidationEvent,
};

/// KV Form Status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FormStatus {
    /// Being answered; answers may be saved temporarily.
    Ongoing,
    /// Every page answered, not yet sent.
    PendingCompletion,
    /// Sent; read-only.
    Completed,
}

/// GetFormQuestionPage's direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Direction {
    Forward,
    Back,
}

/// FormType: one form of one citizen.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Form {
    #[serde(alias = "formID")]
    pub form_id: String,
    pub form_status: FormStatus,
    #[serde(default)]
    pub subject_of_care: Option<String>,
    /// The care unit's HSA-id.
    #[serde(
        default,
        rename = "healthcare_facility_CareUnit",
        alias = "healthcare_Facility_CareUnit"
    )]
    pub care_unit: Option<String>,
    #[serde(
        default,
        rename = "healthcare_facility_CareUnitName",
        alias = "healthcare_Facility_CareUnitName"
    )]
    pub care_unit_name: Option<String>,
    /// `YYYYMMDDThhmmss`, Swedish local time.
    #[serde(default)]
    pub created_date_time: Option<String>,
    /// `YYYYMMDD`: the last day the form can be answered.
    #[serde(default)]
    pub expire_date: Option<String>,
    /// `YYYYMMDDThhmmss`.
    #[serde(default)]
    pub last_saved_date: Option<String>,
    /// Extension of this project's engine: when the form was sent (`YYYYMMDDThhmmss`).
    #[serde(default)]
    pub completed_date_time: Option<String>,
    /// Extension of this project's engine: expireDate has passed without the form being sent.
    #[serde(default)]
    pub expired: bool,
    /// Extension of this project's engine: the citizen has asked for the sent answers to be
    /// withdrawn (CancelForm on a COMPLETED form); the care unit has it on its alarm feed.
    #[serde(default)]
    pub revocation_requested: bool,
    #[serde(default)]
    pub form_text: Option<String>,
    #[serde(default)]
    pub form_template: Option<FormTemplateRef>,
    /// ONGOING forms: the page the citizen is on.
    #[serde(default)]
    pub current_page: Option<Page>,
    /// Every saved page's answers (COMPLETED forms, and the summary of PENDING_COMPLETION).
    #[serde(default)]
    pub page_answers: Vec<PageAnswers>,
    /// CalculationOutcomeType (2.1 extension): the template's calculations on the saved
    /// answers, as the engine shows them to the citizen (only the approved ones).
    #[serde(default)]
    pub calculation_outcome: Vec<CalculationOutcome>,
}

/// CalculationOutcomeType: a calculation's result, with the texts to label it by.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalculationOutcome {
    pub calculation_id: String,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub description_subject_of_care: Option<String>,
    /// Absent means true; the engine sends the citizen only approved outcomes, and the
    /// portal shows no other.
    #[serde(default)]
    pub approved_for_subject_of_care: Option<bool>,
    /// Rounded by the engine to the calculation's precision; absent when it cannot be
    /// computed.
    #[serde(default)]
    pub outcome: Option<f64>,
    #[serde(default)]
    pub error_message: Option<String>,
}

/// The template a form was made from.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormTemplateRef {
    pub template_id: String,
    #[serde(default)]
    pub template_version: Option<u32>,
    #[serde(default)]
    pub form_name: Option<String>,
}

/// The requests: every one names the signed-in citizen as `subjectOfCare`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetFormRequest<'a> {
    pub form_id: &'a str,
    pub subject_of_care: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetFormQuestionPageRequest<'a> {
    pub form_id: &'a str,
    pub page_number: u32,
    pub direction: Direction,
    pub subject_of_care: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SaveFormPageRequest<'a> {
    pub form_id: &'a str,
    pub subject_of_care: &'a str,
    pub temporary_save: bool,
    pub page_answers: &'a PageAnswers,
}

/// SaveForm and CancelForm take the same two fields.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FormIdRequest<'a> {
    pub form_id: &'a str,
    pub subject_of_care: &'a str,
}

#[derive(Debug, Serialize)]
pub struct GetFormTemplateRequest<'a> {
    #[serde(rename = "templateId")]
    pub template_id: &'a str,
    #[serde(rename = "templateVersion", skip_serializing_if = "Option::is_none")]
    pub template_version: Option<u32>,
}

/// GetFormTemplates: the e-service's way to a template.
#[derive(Debug, Serialize)]
pub struct GetFormTemplatesRequest<'a> {
    #[serde(rename = "healthcare_Facility_CareUnit")]
    pub care_unit: &'a str,
    #[serde(rename = "subjectOfCare")]
    pub subject_of_care: &'a str,
    #[serde(rename = "templateIds")]
    pub template_ids: [&'a str; 1],
    /// A form's template may have been archived since the form was made.
    #[serde(rename = "publishedStatus")]
    pub published_status: [&'static str; 2],
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetFormTemplatesResponse {
    #[serde(default)]
    pub form_template: Vec<FormTemplate>,
}

/// GetForm and GetFormQuestionPage answer the form, or nothing.
#[derive(Debug, Deserialize)]
pub struct FormResponse {
    #[serde(default)]
    pub form: Option<Form>,
}

/// SaveFormPage, SaveForm and CancelForm: a result, a comment to show, maybe the form.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultResponse {
    #[serde(alias = "ResultCode")]
    pub result_code: ResultCode,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub form: Option<Form>,
}

/// GetFormTemplate: the template a form was made from, for the question texts of the
/// summary and the receipt (a saved answer names only its question's id).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetFormTemplateResponse {
    #[serde(default)]
    pub form_templates: Vec<FormTemplate>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormTemplate {
    pub template_id: String,
    #[serde(default)]
    pub template_version: Option<u32>,
    #[serde(default)]
    pub form_name: Option<String>,
    /// ISO 639-2, e.g. `swe`.
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub term: Option<String>,
    #[serde(default)]
    pub form_complete_text: Option<String>,
    #[serde(default)]
    pub pages: Vec<RoutedPage>,
}

impl FormTemplate {
    pub fn page(&self, page_number: u32) -> Option<&Page> {
        self.pages
            .iter()
            .map(|routed| &routed.page)
            .find(|page| page.page_number == page_number)
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct RoutedPage {
    pub page: Page,
}
