//! The form template as it travels and as it is stored: FormTemplateType of the contracts
//! (contracts.md §2.4) in JSON, with the element names of the RIV-TA information model.
//!
//! The same types are the wire format and the stored document, so a template reads back
//! exactly as it was saved (after [`super::normalize`]). Elements whose fields the sources do
//! not give (media, gridConfig, gridValue) are kept as opaque JSON objects.

use common::identity::HsaId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::input::InputType;

/// A form template: what a care unit designs and citizens answer forms from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FormTemplate {
    /// The template's id, chosen by its owner (KV Malltyp, e.g. `HALSA-1`). With
    /// `templateVersion` it names one version.
    #[schema(example = "HALSA-1")]
    pub template_id: String,
    /// The version. Omitted on SaveFormTemplate: the next version is made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 1)]
    pub template_version: Option<u32>,
    /// The form's name, shown in lists.
    #[schema(example = "Hälsodeklaration")]
    pub form_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Inför operation")]
    pub form_title: Option<String>,
    /// Shown to the citizen before the first page (DocBook allowed, passed through).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// For staff only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_internal: Option<String>,
    /// KV Formulärkategori, free text: `Anmälan`, `Registrering`, `Deklaration`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Deklaration")]
    pub category: Option<String>,
    /// The instrument the template implements, e.g. `1177.forms.phq-9`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
    /// Shown when the form has been sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_complete_text: Option<String>,
    /// ISO 639-2 language code (KV Språk), lower case. Default `swe`.
    #[serde(default = "default_language")]
    #[schema(example = "swe")]
    pub language: String,
    /// True: answered without identity; subjectOfCare must not be sent for its forms.
    #[serde(default)]
    pub anonymous_form: bool,
    /// Unpublished, Pending, Published or Archived. Default Unpublished.
    #[serde(default)]
    pub publish_status: PublishStatus,
    /// Whether answering is mandatory for the citizen.
    #[serde(default)]
    pub mandatory: bool,
    /// Terms the citizen accepts by sending the form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Jag intygar att uppgifterna är riktiga.")]
    pub term: Option<String>,
    /// The HSA-id of the care unit that owns the template.
    #[schema(value_type = String, example = "SE0000000001-CU01")]
    pub health_care_facility_unit: HsaId,
    /// Sharing with other care units (national or per county).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub template_propagate: Vec<TemplatePropagate>,
    #[serde(
        default,
        rename = "informationURL",
        skip_serializing_if = "Option::is_none"
    )]
    pub information_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub media: Option<Value>,
    /// Calculation formulas (2.1 extension), e.g. a PHQ-9 sum.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub formula: Vec<CalculationFormula>,
    /// Computed on save: the fewest pages a citizen can pass through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_number_of_pages: Option<u32>,
    /// Computed on save: the most pages a citizen can pass through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_number_of_pages: Option<u32>,
    /// Computed on save: the fewest questions on a path through the form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_number_of_question: Option<u32>,
    /// Computed on save: the most questions on a path through the form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_number_of_question: Option<u32>,
    /// Extension: days before expireDate the citizen is reminded of a form not yet sent
    /// (docs/follow-up.md); none by default. CreateFormRequest may say otherwise per form.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = crate::domain::follow_up::policy::days_before_schema)]
    pub reminder_days_before: Vec<u32>,
    /// The pages, each with its routing.
    #[serde(default)]
    pub pages: Vec<RoutedPage>,
}

fn default_language() -> String {
    String::from("swe")
}

/// KV Publiceringsstatus.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum PublishStatus {
    /// Being designed; can be changed.
    #[default]
    Unpublished,
    /// Waiting for review; can be changed or sent back to Unpublished.
    Pending,
    /// In use: forms can be created from it; its content can no longer change.
    Published,
    /// Retired: no new forms; existing forms keep it. Can then be deleted.
    Archived,
}

impl PublishStatus {
    pub const ALL: [Self; 4] = [
        Self::Unpublished,
        Self::Pending,
        Self::Published,
        Self::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unpublished => "Unpublished",
            Self::Pending => "Pending",
            Self::Published => "Published",
            Self::Archived => "Archived",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

impl std::fmt::Display for PublishStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// CodeType: a code in a code system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Code {
    #[schema(example = "1177.forms.phq-9")]
    pub code_value: String,
    #[schema(example = "1.2.752.129.2.2.3.1")]
    pub code_system: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// TemplatePropagateType: whether the template is shared, and with which counties.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplatePropagate {
    pub propagate: bool,
    /// KV Länskod; empty = shared without limits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countycode: Vec<String>,
}

/// CalculationFormulaType (2.1 extension): a score computed from the answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CalculationFormula {
    #[schema(example = "phq9-sum")]
    pub calculation_id: String,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_care_actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_subject_of_care: Option<String>,
    /// Absent means true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_for_subject_of_care: Option<bool>,
    /// The formula language, e.g. `drools` or `json`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub formula_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_presentation_precision: Option<i32>,
    /// The formula text, kept as given.
    pub formula: String,
    /// Extension: the code of the result (e.g. LOINC 44261-6, the PHQ-9 total), carried as
    /// a calculated item's code in FHIR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
}

/// TemplateRoutedPageType: a page and where the citizen goes after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoutedPage {
    pub page: TemplatePage,
    /// Absent: the next page in page-number order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<Routing>,
}

/// TemplateRoutingType: the routes out of a page, tried in order; the first whose rules all
/// hold is taken. A route without rules always holds. When none holds, the citizen goes to
/// the next page in page-number order (or the form ends after the last page).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Routing {
    pub routes: Vec<Route>,
}

/// TemplateRouteType: go to `pageNumber` when every rule holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    #[schema(example = 3)]
    pub page_number: u32,
    #[serde(default)]
    pub rules: Vec<RouteRule>,
}

/// TemplateRuleType: a condition on the answer to a question on this page or an earlier one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteRule {
    /// The block holding the question.
    pub block_number: u32,
    /// The question's number (running number within the form).
    pub question_number: u32,
    /// Default: `equals` when an operand is given, else `answered`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<RuleOperator>,
    /// For radio, select and checkbox questions: the alternatives compared with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answer_alternative_numbers: Vec<u32>,
    /// For number and range questions: the number compared with.
    #[serde(
        default,
        serialize_with = "optional_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<f64>,
}

/// OperatorType. The sources name the type but not its values; these are this engine's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum RuleOperator {
    /// The answer is one of `answerAlternativeNumbers` (a checkbox answer: includes one of
    /// them), or equals `value`.
    Equals,
    /// The negation of `equals` (an unanswered question is not equal).
    NotEquals,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
    /// The question has an answer.
    Answered,
    /// The question has no answer.
    NotAnswered,
}

/// TemplatePageType.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplatePage {
    #[schema(example = 1)]
    pub page_number: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Allmänt")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(
        default,
        rename = "informationURL",
        skip_serializing_if = "Option::is_none"
    )]
    pub information_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub media: Option<Value>,
    pub question_blocks: Vec<QuestionBlock>,
}

/// TemplateQuestionBlockType.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuestionBlock {
    #[schema(example = 1)]
    pub block_number: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(
        default,
        rename = "informationURL",
        skip_serializing_if = "Option::is_none"
    )]
    pub information_url: Option<String>,
    /// How many questions the block has; filled in on save when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_questions: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub grid_config: Option<Value>,
    pub questions: Vec<TemplateQuestion>,
}

/// TemplateQuestionType: one question and the rules for its answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateQuestion {
    /// Running number within the form, unique.
    #[schema(example = 1)]
    pub question_number: u32,
    /// The id answers name the question by (`valueID`); `q<questionNumber>` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "smoker")]
    pub question_id: Option<String>,
    #[schema(example = "Röker du?")]
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(
        default,
        rename = "informationURL",
        skip_serializing_if = "Option::is_none"
    )]
    pub information_url: Option<String>,
    /// KV Inmatningstyp, lower case.
    pub input: InputType,
    #[serde(default)]
    pub mandatory: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_number_of_choices: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_number_of_choices: Option<u32>,
    /// SI unit shown beside the answer (`kg`, `mm Hg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_unit: Option<String>,
    /// Smallest answer: a number, or for date-like inputs a value in the answer's format
    /// (`YYYYMMDD` for date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_min: Option<Bound>,
    /// Largest answer, as `answerMin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_max: Option<Bound>,
    /// Longest text answer, in characters.
    #[serde(
        default,
        alias = "answerMaxLenght",
        skip_serializing_if = "Option::is_none"
    )]
    pub answer_max_length: Option<u32>,
    /// A regular expression the whole text answer must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_pattern: Option<String>,
    /// For number and range: answers are `answerMin` (or 0) plus a whole number of steps.
    #[serde(
        default,
        serialize_with = "optional_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub answer_step: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_min_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_max_label: Option<String>,
    #[serde(
        default,
        alias = "answerPlaceHolder",
        skip_serializing_if = "Option::is_none"
    )]
    pub answer_placeholder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question_align: Option<QuestionAlign>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
    /// The choices of a radio, select or checkbox question, numbered 1..n.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answer_alternatives: Vec<AnswerAlternative>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub media: Option<Value>,
    /// The texts shown when an answer breaks a rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validation_events: Vec<ValidationEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub grid_value: Option<Value>,
    /// Shown (and required when mandatory) only when the superior question is answered,
    /// with one of the given alternatives when any are given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question_superior: Option<QuestionSuperior>,
}

impl TemplateQuestion {
    /// The id answers use; [`super::normalize`] fills it in, so after that this never falls back.
    pub fn id(&self) -> String {
        self.question_id
            .clone()
            .unwrap_or_else(|| format!("q{}", self.question_number))
    }

    /// The validation text the template gives for `event`, if any.
    pub fn event_text(&self, event: ValidationEventKind) -> Option<&str> {
        self.validation_events
            .iter()
            .find(|e| e.event == event)
            .map(|e| e.text.as_str())
    }
}

/// A bound of an answer: a number, or a value in the answer's own text format.
#[derive(Clone, Debug, PartialEq, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Bound {
    Number(f64),
    Text(String),
}

impl Serialize for Bound {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Number(n) => number(*n).serialize(serializer),
            Self::Text(t) => t.serialize(serializer),
        }
    }
}

/// A number as JSON, written as an integer when it is one, so `250` reads back as `250`
/// rather than `250.0`.
pub fn number(n: f64) -> Value {
    #[allow(clippy::cast_possible_truncation)] // checked: integral and within ±2^53
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        return Value::from(n as i64);
    }
    serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
}

// serde's `serialize_with` hands over `&Option<f64>`.
#[allow(clippy::ref_option)]
fn optional_number<S: serde::Serializer>(
    value: &Option<f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    value.map(number).serialize(serializer)
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::Text(t) => f.write_str(t),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QuestionAlign {
    Left,
    Right,
    Center,
    Vertical,
    Horizontal,
}

/// AnswerAlternativeType.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnswerAlternative {
    /// 1..n within the question.
    #[schema(example = 1)]
    pub answer_alternative_number: u32,
    #[schema(example = "Ja")]
    pub alternative_value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_help: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_type: Option<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub media: Option<Value>,
    /// The alternative's score in the template's calculations (an extension of this
    /// engine), e.g. 0 to 3 on a PHQ-9 item.
    #[serde(
        default,
        serialize_with = "optional_number",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(example = 2)]
    pub score: Option<f64>,
}

/// ValidationEventType: the text shown when an answer breaks the rule named by `event`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ValidationEvent {
    pub event: ValidationEventKind,
    #[schema(example = "Svara ja eller nej.")]
    pub text: String,
}

/// KV Valideringshändelse, spelled as the TKB spells it (`...Choises`), plus two extensions
/// of this engine: `answerStep` and `answerFormat` (an answer of the wrong kind or format).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum ValidationEventKind {
    #[serde(rename = "mandatory")]
    Mandatory,
    #[serde(rename = "answerMax")]
    AnswerMax,
    #[serde(rename = "answerMin")]
    AnswerMin,
    #[serde(rename = "answerMaxLength", alias = "answerMaxLenght")]
    AnswerMaxLength,
    #[serde(rename = "answerPattern")]
    AnswerPattern,
    #[serde(rename = "maxNumberOfChoises", alias = "maxNumberOfChoices")]
    MaxNumberOfChoices,
    #[serde(rename = "minNumberOfChoises", alias = "minNumberOfChoices")]
    MinNumberOfChoices,
    #[serde(rename = "answerSuperior")]
    AnswerSuperior,
    #[serde(rename = "answerStep")]
    AnswerStep,
    #[serde(rename = "answerFormat")]
    AnswerFormat,
}

impl ValidationEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mandatory => "mandatory",
            Self::AnswerMax => "answerMax",
            Self::AnswerMin => "answerMin",
            Self::AnswerMaxLength => "answerMaxLength",
            Self::AnswerPattern => "answerPattern",
            Self::MaxNumberOfChoices => "maxNumberOfChoises",
            Self::MinNumberOfChoices => "minNumberOfChoises",
            Self::AnswerSuperior => "answerSuperior",
            Self::AnswerStep => "answerStep",
            Self::AnswerFormat => "answerFormat",
        }
    }
}

/// QuestionSuperiorType.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuestionSuperior {
    #[schema(example = 1)]
    pub superior_question_number: u32,
    /// Empty: any answer to the superior question shows this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(example = json!([1]))]
    pub superior_answer_alternative_numbers: Vec<u32>,
}

impl FormTemplate {
    /// Every question with the page and block it is on, in document order.
    pub fn questions(
        &self,
    ) -> impl Iterator<Item = (&TemplatePage, &QuestionBlock, &TemplateQuestion)> {
        self.pages.iter().flat_map(|routed| {
            let page = &routed.page;
            page.question_blocks
                .iter()
                .flat_map(move |block| block.questions.iter().map(move |q| (page, block, q)))
        })
    }

    pub fn page(&self, page_number: u32) -> Option<&RoutedPage> {
        self.pages
            .iter()
            .find(|p| p.page.page_number == page_number)
    }

    /// The version; 0 only before the template has been saved.
    pub fn version(&self) -> u32 {
        self.template_version.unwrap_or(0)
    }
}
