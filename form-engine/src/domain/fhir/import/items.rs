//! What an item is, read from its type and extensions.

use serde_json::{Map, Value};

use crate::domain::fhir::resource::{AnswerOption, Extension, Item};
use crate::domain::fhir::vocabulary as v;

pub(super) fn is_calculation(item: &Item) -> bool {
    item.extension
        .iter()
        .any(|e| e.url == v::CALCULATED_EXPRESSION)
        || engine_fields_of(&item.extension).is_some_and(|f| f.contains_key("formula"))
}

pub(super) fn engine_fields_of(extensions: &[Extension]) -> Option<Map<String, Value>> {
    let text = extensions
        .iter()
        .find(|e| e.url == v::ENGINE_FIELDS)?
        .value("String")?
        .as_str()?;
    match serde_json::from_str(text) {
        Ok(Value::Object(fields)) => Some(fields),
        _ => None,
    }
}

/// A question id from a linkId: kept when it is one, else its letters, digits and `_-.`,
/// starting with `q` when it does not start with a letter (`/44250-9` → `q44250-9`).
pub(super) fn question_id_of(link_id: &str) -> String {
    let kept: String = link_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .collect();
    let mut id = if kept.starts_with(|c: char| c.is_ascii_alphabetic()) {
        kept
    } else {
        format!("q{kept}")
    };
    id.truncate(60);
    id
}

pub(super) fn item_control(item: &Item) -> Option<&str> {
    item.extension
        .iter()
        .find(|e| e.url == v::ITEM_CONTROL)?
        .value("CodeableConcept")?
        .pointer("/coding/0/code")?
        .as_str()
}

pub(super) fn is_help(item: &Item) -> bool {
    item.item_type == "display"
        && (matches!(item_control(item), Some("help" | "flyover"))
            || item.extension.iter().any(|e| e.url == v::DISPLAY_CATEGORY))
}

/// A display item that is an image question of this engine.
pub(super) fn is_image(item: &Item) -> bool {
    item.item_type == "display"
        && engine_fields_of(&item.extension)
            .is_some_and(|f| f.get("input") == Some(&Value::from("image")))
}

fn score_of(extensions: impl IntoIterator<Item = (String, Option<Value>)>) -> Option<f64> {
    extensions.into_iter().find_map(|(url, value)| {
        [v::ORDINAL_VALUE, v::ITEM_WEIGHT, v::CO_VALUE]
            .contains(&url.as_str())
            .then(|| value.and_then(|v| v.as_f64()))
            .flatten()
    })
}

pub(super) fn option_score(option: &AnswerOption) -> Option<f64> {
    let own = option.extension.iter().map(|e| {
        (
            e.url.clone(),
            e.value("Decimal").or(e.value("Integer")).cloned(),
        )
    });
    let coding = option.value_coding.iter().flat_map(|c| {
        c.extension.iter().map(|e| {
            (
                e.url.clone(),
                e.value("Decimal").or(e.value("Integer")).cloned(),
            )
        })
    });
    score_of(own.chain(coding))
}

pub(super) fn link(link_id: &str, element: &str) -> String {
    if element.is_empty() {
        format!("item `{link_id}`")
    } else {
        format!("item `{link_id}`.{element}")
    }
}
