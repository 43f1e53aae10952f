//! A form page as the form engine's citizen contracts give it (api.md §3.1: PageType and its
//! questions and answers), as far as the page's rendering needs it.
//!
//! Read leniently: unknown fields are ignored and every element the page can do without is
//! optional, so a newer engine (or one that omits an empty element) does not break the page.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::answer::InputType;

/// KV Statuskod.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ResultCode {
    Ok,
    Info,
    Error,
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
