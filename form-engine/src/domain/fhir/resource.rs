//! The parts of the FHIR R4 resources the engine reads and writes: `Questionnaire` (with the
//! SDC extensions it maps) and `QuestionnaireResponse`, as plain serde types.
//!
//! Hand-written rather than taken from a FHIR crate: the engine needs two resources and a
//! handful of data types, while the Rust FHIR model crates generate every resource of a
//! release (hundreds of thousands of lines to compile on a two-core machine) for no gain
//! here. Every member the engine does not model is kept in `other`, so an import can name
//! what it did not carry instead of dropping it unseen.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::template::model::number;

/// Members of a FHIR element that the engine does not model, by name.
pub type Other = BTreeMap<String, Value>;

/// Questionnaire (FHIR R4): a form definition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = FhirQuestionnaire)]
pub struct Questionnaire {
    /// Always `Questionnaire`.
    #[schema(example = "Questionnaire", pattern = "^Questionnaire$")]
    pub resource_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modifier_extension: Vec<Extension>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// draft | active | retired | unknown.
    #[schema(example = "active", pattern = "^(draft|active|retired|unknown)$")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code: Vec<Coding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item: Vec<Item>,
    /// Members not modelled (meta, text, contact...).
    #[serde(flatten)]
    #[schema(ignore)]
    pub other: Other,
}

/// Questionnaire.item: a group, a display text or a question.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = FhirQuestionnaireItem)]
pub struct Item {
    pub link_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modifier_extension: Vec<Extension>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code: Vec<Coding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// group | display | boolean | decimal | integer | date | dateTime | time | string |
    /// text | url | choice | open-choice | attachment | reference | quantity.
    #[serde(rename = "type")]
    #[schema(example = "choice")]
    pub item_type: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enable_when: Vec<EnableWhen>,
    /// all | any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_behavior: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_value_set: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answer_option: Vec<AnswerOption>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(no_recursion)]
    pub item: Vec<Item>,
    /// Members not modelled (definition, initial...).
    #[serde(flatten)]
    #[schema(ignore)]
    pub other: Other,
}

/// Questionnaire.item.enableWhen: the item is shown only when this holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = FhirEnableWhen)]
pub struct EnableWhen {
    /// The linkId of the question the condition reads.
    pub question: String,
    /// exists | = | != | > | < | >= | <=.
    pub operator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_boolean: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_integer: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_string: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_coding: Option<Coding>,
    /// answerDecimal, answerDate, answerQuantity... (not expressible as a questionSuperior).
    #[serde(flatten)]
    #[schema(ignore)]
    pub other: Other,
}

/// Questionnaire.item.answerOption: one permitted answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = FhirAnswerOption)]
pub struct AnswerOption {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_coding: Option<Coding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_integer: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_string: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_time: Option<String>,
    /// valueReference, initialSelected...
    #[serde(flatten)]
    #[schema(ignore)]
    pub other: Other,
}

/// Coding: a code in a code system.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = FhirCoding)]
pub struct Coding {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// version, userSelected...
    #[serde(flatten)]
    #[schema(ignore)]
    pub other: Other,
}

/// Identifier: a business identifier in a system.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = FhirIdentifier)]
pub struct Identifier {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub other: Other,
}

/// Extension: `url` and one `value[x]` (or nested extensions), kept as JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = FhirExtension)]
pub struct Extension {
    pub url: String,
    /// `valueDecimal`, `valueExpression`, `extension`...
    #[serde(flatten)]
    #[schema(ignore)]
    pub value: Other,
}

impl Extension {
    pub fn new(url: &str, kind: &str, value: Value) -> Self {
        Self {
            url: url.to_owned(),
            value: BTreeMap::from([(format!("value{kind}"), value)]),
        }
    }

    /// The `value<kind>` member, e.g. `value("Decimal")`.
    pub fn value(&self, kind: &str) -> Option<&Value> {
        self.value.get(&format!("value{kind}"))
    }

    /// The value of whatever kind, with its kind (`Decimal`, `String`...).
    pub fn any_value(&self) -> Option<(&str, &Value)> {
        self.value
            .iter()
            .find_map(|(k, v)| k.strip_prefix("value").map(|kind| (kind, v)))
    }
}

/// QuestionnaireResponse (FHIR R4): the answers to a Questionnaire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = FhirQuestionnaireResponse)]
pub struct QuestionnaireResponse {
    /// Always `QuestionnaireResponse`.
    #[schema(example = "QuestionnaireResponse")]
    pub resource_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The Questionnaire answered: its canonical URL and version (`url|version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub questionnaire: Option<String>,
    /// completed (the engine exports only completed forms).
    pub status: String,
    /// The citizen, by personal identity number; absent for an anonymous form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Reference>,
    /// When the form was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authored: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item: Vec<ResponseItem>,
}

/// QuestionnaireResponse.item: the answers to one item, or a group of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = FhirQuestionnaireResponseItem)]
pub struct ResponseItem {
    pub link_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answer: Vec<ResponseAnswer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(no_recursion)]
    pub item: Vec<ResponseItem>,
}

/// QuestionnaireResponse.item.answer: one value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = FhirQuestionnaireResponseAnswer)]
pub enum ResponseAnswer {
    #[serde(rename = "valueBoolean")]
    Boolean(bool),
    #[serde(rename = "valueDecimal", serialize_with = "decimal")]
    Decimal(f64),
    #[serde(rename = "valueInteger")]
    Integer(i64),
    #[serde(rename = "valueDate")]
    Date(String),
    #[serde(rename = "valueDateTime")]
    DateTime(String),
    #[serde(rename = "valueTime")]
    Time(String),
    #[serde(rename = "valueString")]
    String(String),
    #[serde(rename = "valueUri")]
    Uri(String),
    #[serde(rename = "valueCoding")]
    Coding(Coding),
}

// serde's `serialize_with` hands over a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn decimal<S: serde::Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    number(*value).serialize(serializer)
}

/// Reference: to the citizen, by identifier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = FhirReference)]
pub struct Reference {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub reference_type: Option<String>,
    pub identifier: Identifier,
}
