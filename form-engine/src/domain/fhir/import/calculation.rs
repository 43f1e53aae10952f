//! Calculated items (SDC `calculatedExpression`) as calculations in the engine's formula
//! language.

use serde_json::{Value, json};

use super::Importer;
use super::items::{engine_fields_of, link};
use crate::domain::fhir::fhirpath;
use crate::domain::fhir::resource::{Item, Questionnaire};
use crate::domain::fhir::vocabulary as v;
use crate::domain::template::finding::{FindingCode, Location};
use crate::domain::template::model::CalculationFormula;

impl<'q> Importer<'q> {
    /// A calculated item as a calculation.
    pub(super) fn calculation(&mut self, q: &'q Questionnaire, item: &'q Item) -> Option<Value> {
        let at = Location::template();
        let field = link(&item.link_id, "");
        let mut fields = engine_fields_of(&item.extension).unwrap_or_default();
        fields.insert("calculationId".into(), json!(item.link_id));
        fields.insert(
            "subject".into(),
            json!(item.text.clone().unwrap_or_else(|| item.link_id.clone())),
        );
        let mut mapped = vec![v::CALCULATED_EXPRESSION, v::DISPLAY_CATEGORY, v::UNIT];
        if !fields.contains_key("formula") {
            let expression = item
                .extension
                .iter()
                .find(|e| e.url == v::CALCULATED_EXPRESSION)
                .and_then(|e| e.value("Expression"));
            let language = expression
                .and_then(|e| e.get("language"))
                .and_then(Value::as_str);
            let text = expression
                .and_then(|e| e.get("expression"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            if language != Some("text/fhirpath") {
                self.not_mappable(
                    &at,
                    &link(&item.link_id, "calculatedExpression"),
                    &format!(
                        "the expression is in `{}`; the engine reads FHIRPath sums of scores",
                        language.unwrap_or("no language")
                    ),
                );
                return None;
            }
            let formula = self.score_sum(q, item, text)?;
            fields.insert("formula".into(), json!(formula));
            if item.item_type == "integer" {
                fields.insert("outcomePresentationPrecision".into(), json!(0));
            }
            let described: Vec<&str> = item
                .extension
                .iter()
                .filter(|e| e.url == v::DISPLAY_CATEGORY)
                .filter_map(|e| e.value("CodeableConcept")?.get("text")?.as_str())
                .collect();
            if !described.is_empty() {
                fields.insert("descriptionCareActor".into(), json!(described.join("\n\n")));
            }
        }
        if let Some(unit) = item
            .extension
            .iter()
            .find(|e| e.url == v::UNIT)
            .and_then(|e| e.value("Coding"))
        {
            let unit = unit
                .get("code")
                .or_else(|| unit.get("display"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            // A UCUM annotation alone (`{score}`) or `1` is no unit: nothing is lost.
            let dimensionless = unit == "1" || (unit.starts_with('{') && unit.ends_with('}'));
            if !dimensionless {
                self.warn(
                    &at,
                    &link(&item.link_id, "extension"),
                    &format!("a calculation has no unit; `{unit}` is not carried"),
                );
            }
        }
        if let Some(code) = self.code(&at, &link(&item.link_id, "code"), &item.code) {
            fields.insert("code".into(), code);
        }
        if !item.enable_when.is_empty() {
            self.warn(
                &at,
                &link(&item.link_id, "enableWhen"),
                "a calculation is always computed; its enableWhen is not carried",
            );
        }
        mapped.push(v::ENGINE_FIELDS);
        self.extensions(
            &at,
            &field,
            &item.extension,
            &item.modifier_extension,
            &mapped,
        );
        for name in item.other.keys() {
            self.warn(
                &at,
                &link(&item.link_id, name),
                "the element is not carried into the template",
            );
        }
        match serde_json::from_value::<CalculationFormula>(Value::Object(fields.clone())) {
            Ok(_) => Some(Value::Object(fields)),
            Err(e) => {
                self.error(
                    FindingCode::FhirInvalid,
                    &at,
                    &field,
                    &format!("the calculation read from it is not valid: {e}"),
                );
                None
            }
        }
    }

    /// The engine's formula of a FHIRPath score sum over `q`'s items.
    pub(super) fn score_sum(
        &mut self,
        q: &'q Questionnaire,
        item: &Item,
        expression: &str,
    ) -> Option<String> {
        let at = Location::template();
        let field = link(&item.link_id, "calculatedExpression");
        let Some(sum) = fhirpath::score_sum(expression) else {
            self.not_mappable(
                &at,
                &field,
                &format!("`{expression}` is not a sum of answer scores the engine reads (docs/fhir.md lists the forms)"),
            );
            return None;
        };
        let mut terms = Vec::new();
        let mut stack: Vec<(&Item, usize)> = q.item.iter().rev().map(|i| (i, 0)).collect();
        while let Some((candidate, depth)) = stack.pop() {
            stack.extend(candidate.item.iter().rev().map(|i| (i, depth + 1)));
            if !sum.selects(&candidate.link_id, depth) {
                continue;
            }
            // Only answers with a score count; other items add nothing to the FHIRPath sum.
            let Some(read) = self.read.get(&candidate.link_id) else {
                continue;
            };
            match read.scored {
                Some(true) => {}
                None => continue,
                Some(false) => {
                    let located = read.location.clone();
                    self.not_mappable(
                        &located,
                        &field,
                        &format!("it sums question `{}`, whose options have scores only in part; give every option an ordinalValue", read.id),
                    );
                    return None;
                }
            }
            let name = formula_name(&read.id);
            // FHIRPath's sum() passes over an unanswered item; the engine's needs the answer.
            if read.mandatory && !read.conditional {
                terms.push(name);
            } else {
                terms.push(format!("if(answered({name}), {name}, 0)"));
            }
        }
        if terms.is_empty() {
            self.not_mappable(
                &at,
                &field,
                "the sum reads no question with scored answer options",
            );
            return None;
        }
        Some(format!("sum({})", terms.join(", ")))
    }
}

/// A name as the formula language writes it: bare when it is a plain name, else in backticks.
fn formula_name(id: &str) -> String {
    let plain = id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !matches!(id, "and" | "or" | "not" | "true" | "false");
    if plain {
        id.to_owned()
    } else {
        format!("`{id}`")
    }
}
