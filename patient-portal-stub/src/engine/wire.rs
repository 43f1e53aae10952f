//! The form engine's citizen contracts as JSON (api.md §3.1), as far as the pages need them.
//!
//! The portal reads the engine's answers leniently: unknown fields are ignored and every
//! element the pages can do without is optional, so a newer engine (or one that omits an
//! empty element) does not break the pages. What the portal sends is exactly the contract.
//!
//! These are another service's contract as its client sees it, so they live with the client
//! (`engine::client`), not in [`crate::api`], which holds the portal's own wire types.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::answer::InputType;

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

/// KV Statuskod.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ResultCode {
    Ok,
    Info,
    Error,
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

/// PageType (and TemplatePageType, which has the same fields the pages use).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub page_number: u32,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, rename = "informationURL")]
    pub information_url: Option<String>,
    /// True: the next step is the summary, where the form is sent.
    #[serde(default)]
    pub last_page: bool,
    #[serde(default)]
    pub question_blocks: Vec<QuestionBlock>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionBlock {
    pub block_number: u32,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub questions: Vec<Question>,
}

/// QuestionType: a question with the rules for its answer and any saved answer.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Question {
    /// Running number within the form; what `questionSuperior` refers to.
    #[serde(default)]
    pub question_number: Option<u32>,
    /// What the answer names the question by (`valueID`).
    #[serde(default)]
    pub question_id: Option<String>,
    pub subject: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, rename = "informationURL")]
    pub information_url: Option<String>,
    pub input: InputType,
    #[serde(default)]
    pub mandatory: bool,
    #[serde(default)]
    pub max_number_of_choices: Option<u32>,
    #[serde(default)]
    pub min_number_of_choices: Option<u32>,
    #[serde(default)]
    pub input_unit: Option<String>,
    /// A number, or for date-like inputs a value in the answer's format.
    #[serde(default)]
    pub answer_min: Option<Value>,
    #[serde(default)]
    pub answer_max: Option<Value>,
    #[serde(default, alias = "answerMaxLenght")]
    pub answer_max_length: Option<u32>,
    #[serde(default)]
    pub answer_pattern: Option<String>,
    #[serde(default)]
    pub answer_step: Option<f64>,
    #[serde(default)]
    pub answer_min_label: Option<String>,
    #[serde(default)]
    pub answer_max_label: Option<String>,
    #[serde(default, alias = "answerPlaceHolder")]
    pub answer_placeholder: Option<String>,
    #[serde(default)]
    pub answer_alternatives: Vec<AnswerAlternative>,
    #[serde(default)]
    pub validation_events: Vec<ValidationEvent>,
    #[serde(default)]
    pub question_superior: Option<QuestionSuperior>,
    /// The saved answer (one; an array for the contract's sake), with its status after a
    /// SaveFormPage that found errors.
    #[serde(default)]
    pub answers: Vec<Answer>,
}

impl Question {
    /// The id answers use: `questionId`, or `q<questionNumber>` as the engine assigns it.
    pub fn value_id(&self) -> Option<String> {
        self.question_id
            .clone()
            .filter(|id| !id.is_empty())
            .or_else(|| self.question_number.map(|n| format!("q{n}")))
    }

    pub fn answer(&self) -> Option<&Answer> {
        self.answers.first()
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerAlternative {
    pub answer_alternative_number: u32,
    pub alternative_value: String,
    #[serde(default)]
    pub answer_help: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ValidationEvent {
    pub event: String,
    pub text: String,
}

/// Show the question only when the superior question is answered (with one of the given
/// alternatives, when any are given).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionSuperior {
    pub superior_question_number: u32,
    #[serde(default)]
    pub superior_answer_alternative_numbers: Vec<u32>,
}

/// AnswerType: a value for the question named by `valueID`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Answer {
    #[serde(rename = "valueID")]
    pub value_id: String,
    /// Absent or null in a refused answer to a question left empty.
    #[serde(default)]
    pub value: Value,
    #[serde(
        default,
        rename = "answerStatus",
        skip_serializing_if = "Option::is_none"
    )]
    pub answer_status: Option<AnswerStatus>,
}

impl Answer {
    /// The engine's message when it refused this answer.
    pub fn error_text(&self) -> Option<&str> {
        self.answer_status
            .as_ref()
            .filter(|s| s.result_code == Some(ResultCode::Error))
            .map(|s| s.result_code_text.as_deref().unwrap_or_default())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerStatus {
    #[serde(default)]
    pub result_code: Option<ResultCode>,
    #[serde(default)]
    pub result_code_text: Option<String>,
}

/// PageAnswerType: one page's answers, as SaveFormPage takes them and COMPLETED forms carry them.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageAnswers {
    pub page_number: u32,
    #[serde(default)]
    pub question_answer_blocks: Vec<BlockAnswers>,
}

impl PageAnswers {
    pub fn answers(&self) -> impl Iterator<Item = &Answer> {
        self.question_answer_blocks
            .iter()
            .flat_map(|block| block.answers.iter())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockAnswers {
    pub block_number: u32,
    #[serde(default)]
    pub answers: Vec<Answer>,
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
