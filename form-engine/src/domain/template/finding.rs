//! What the template checks report: each finding names where in the template it is (page,
//! block, question, field) and says what to change.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An error refuses the template; a warning is reported but the template is saved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Error,
    Warning,
}

/// The kind of finding, a stable code a designer tool can test on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FindingCode {
    BlankText,
    InvalidTemplateId,
    InvalidLanguage,
    NoPages,
    InvalidPageNumber,
    DuplicatePageNumber,
    EmptyPage,
    DuplicateBlockNumber,
    EmptyBlock,
    NumberOfQuestionsMismatch,
    InvalidQuestionNumber,
    DuplicateQuestionNumber,
    InvalidQuestionId,
    DuplicateQuestionId,
    AlternativesMissing,
    AlternativesNotAllowed,
    AlternativeNumbering,
    DuplicateAlternativeValue,
    ChoicesInconsistent,
    AttributeNotApplicable,
    InvalidBound,
    BoundsInconsistent,
    InvalidStep,
    InvalidPattern,
    InvalidMaxLength,
    RangeWithoutBounds,
    MandatoryWithoutAnswer,
    DuplicateValidationEvent,
    ValidationEventNotApplicable,
    SuperiorUnknown,
    SuperiorNotEarlier,
    SuperiorWithoutAnswer,
    SuperiorAlternativeUnknown,
    RoutePageUnknown,
    RouteToSamePage,
    RouteNeverTaken,
    RuleQuestionUnknown,
    RuleBlockMismatch,
    RuleQuestionNotEarlier,
    RuleOperandInvalid,
    RoutingCycle,
    UnreachablePage,
    DuplicateCalculationId,
    /// An answer alternative's score is not a finite number.
    InvalidScore,
    /// A formula cannot be read; the message says where.
    FormulaSyntax,
    /// A formula names no question or calculation of the template, or a name that is both.
    FormulaUnknownReference,
    /// A formula uses a question or value in a way it does not fit (the score of a text
    /// question, a comparison added to a number...).
    FormulaType,
    /// Calculations that need each other's outcome.
    CalculationCycle,
    /// A formula of another language (its `type`): stored, not evaluated (a warning).
    FormulaNotEvaluated,
    /// Versioning and publish-status refusals (not about the content).
    VersionConflict,
    PublishStatusTransition,
    PublishedContentChanged,
    OwnerMismatch,
    /// A FHIR Questionnaire import: an element the template has no place for, left out (a
    /// warning).
    FhirNotCarried,
    /// A FHIR Questionnaire import: an element whose meaning the engine cannot keep (an
    /// enableWhen no questionSuperior expresses, an item type without an input type...).
    FhirNotMappable,
    /// A FHIR Questionnaire import: the Questionnaire breaks a rule of FHIR itself (a linkId
    /// used twice, an enableWhen naming no item...).
    FhirInvalid,
}

/// One result of the template checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub severity: Severity,
    pub code: FindingCode,
    /// The page the finding is on, when it is on one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_number: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_number: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question_number: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question_id: Option<String>,
    /// The element of the template at fault, e.g. `answerMax`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The whole finding for a person, starting with where it is.
    #[schema(
        example = "page 1, block 1, question 2 (`cigs`), questionSuperior: question 7 does not exist"
    )]
    pub message: String,
}

/// Where in a template something is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    pub page: Option<u32>,
    pub block: Option<u32>,
    pub question: Option<u32>,
    pub question_id: Option<String>,
}

impl Location {
    pub fn template() -> Self {
        Self::default()
    }

    pub fn page(page: u32) -> Self {
        Self {
            page: Some(page),
            ..Self::default()
        }
    }

    pub fn block(page: u32, block: u32) -> Self {
        Self {
            page: Some(page),
            block: Some(block),
            ..Self::default()
        }
    }

    pub fn question(page: u32, block: u32, question: u32, id: Option<&str>) -> Self {
        Self {
            page: Some(page),
            block: Some(block),
            question: Some(question),
            question_id: id.map(str::to_owned),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(page) = self.page {
            parts.push(format!("page {page}"));
        }
        if let Some(block) = self.block {
            parts.push(format!("block {block}"));
        }
        if let Some(question) = self.question {
            match &self.question_id {
                Some(id) => parts.push(format!("question {question} (`{id}`)")),
                None => parts.push(format!("question {question}")),
            }
        }
        if parts.is_empty() {
            f.write_str("the template")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

impl Finding {
    pub fn error(code: FindingCode, at: &Location, field: Option<&str>, text: &str) -> Self {
        Self::new(Severity::Error, code, at, field, text)
    }

    pub fn warning(code: FindingCode, at: &Location, field: Option<&str>, text: &str) -> Self {
        Self::new(Severity::Warning, code, at, field, text)
    }

    fn new(
        severity: Severity,
        code: FindingCode,
        at: &Location,
        field: Option<&str>,
        text: &str,
    ) -> Self {
        let message = match field {
            Some(field) => format!("{at}, {field}: {text}"),
            None => format!("{at}: {text}"),
        };
        Self {
            severity,
            code,
            page_number: at.page,
            block_number: at.block,
            question_number: at.question,
            question_id: at.question_id.clone(),
            field: field.map(str::to_owned),
            message,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The findings as one `comment` text: how many, then each, numbered.
pub fn summarize(findings: &[Finding]) -> String {
    let errors = findings.iter().filter(|f| f.is_error()).count();
    let warnings = findings.len() - errors;
    let head = match (errors, warnings) {
        (0, w) => format!("The template was saved with {}.", plural(w, "warning")),
        (e, 0) => format!("The template was not saved: {}.", plural(e, "error")),
        (e, w) => format!(
            "The template was not saved: {} and {}.",
            plural(e, "error"),
            plural(w, "warning")
        ),
    };
    let items: Vec<String> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let kind = if f.is_error() { "" } else { "warning: " };
            format!("{}) {kind}{}", i + 1, f.message)
        })
        .collect();
    format!("{head} {}", items.join("; "))
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
