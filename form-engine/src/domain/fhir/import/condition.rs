//! `enableWhen` as a questionSuperior, where one expresses it.

use std::collections::BTreeSet;

use super::items::link;
use super::{Importer, OptionValue};
use crate::domain::fhir::resource::EnableWhen;
use crate::domain::template::finding::{FindingCode, Location};
use crate::domain::template::input::InputType;
use crate::domain::template::model::QuestionSuperior;

impl Importer<'_> {
    /// The questionSuperior of an enableWhen, or the reason there is none.
    pub(super) fn superior(
        &mut self,
        at: &Location,
        link_id: &str,
        conditions: &[EnableWhen],
        behavior: Option<&str>,
    ) -> Option<QuestionSuperior> {
        match self.superior_of(link_id, conditions, behavior) {
            Ok(superior) => Some(superior),
            Err((code, text)) => {
                self.error(code, at, &link(link_id, "enableWhen"), &text);
                None
            }
        }
    }

    pub(super) fn superior_of(
        &self,
        link_id: &str,
        conditions: &[EnableWhen],
        behavior: Option<&str>,
    ) -> Result<QuestionSuperior, (FindingCode, String)> {
        let not = |text: String| Err((FindingCode::FhirNotMappable, text));
        let first = &conditions[0].question;
        if conditions.iter().any(|c| &c.question != first) {
            return not(
                "the conditions read different questions; a questionSuperior reads one".into(),
            );
        }
        if conditions.len() > 1 && behavior != Some("any") {
            return not("several conditions that must all hold; a questionSuperior lists alternatives any of which shows the question".into());
        }
        let Some(superior) = self.read.get(first) else {
            return match self.items.get(first.as_str()) {
                None => Err((
                    FindingCode::FhirInvalid,
                    format!("it names item `{first}`, which the Questionnaire does not have"),
                )),
                Some((item, _)) if item.item_type == "group" => not(format!(
                    "it reads group `{first}`; a questionSuperior reads a question"
                )),
                Some((item, _)) if item.item_type == "display" => not(format!(
                    "it reads display item `{first}`, which takes no answer"
                )),
                Some(_) if first == link_id => not("it reads the item itself".into()),
                Some(_) => not(format!(
                    "it reads item `{first}`, which comes later (or is not a question the template keeps); a questionSuperior reads a question answered before"
                )),
            };
        };
        let mut alternatives = BTreeSet::new();
        for condition in conditions {
            let answer = condition_value(condition);
            match condition.operator.as_str() {
                "exists" if conditions.len() == 1 && condition.answer_boolean == Some(true) => {
                    return Ok(QuestionSuperior {
                        superior_question_number: superior.number,
                        superior_answer_alternative_numbers: Vec::new(),
                    });
                }
                "exists" => {
                    return not("`exists` false (shown while a question is unanswered) has no questionSuperior".into());
                }
                "=" | "!=" => {
                    let Some(answer) = answer else {
                        return not(format!(
                            "the condition compares with a value of a kind no alternative has ({})",
                            condition
                                .other
                                .keys()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    };
                    let Some(index) = superior.options.iter().position(|o| same(o, &answer)) else {
                        return not(format!(
                            "the value is none of the answer options of `{}`",
                            superior.id
                        ));
                    };
                    let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
                    if condition.operator == "=" {
                        alternatives.insert(number);
                    } else if superior.input == InputType::Checkbox || conditions.len() > 1 {
                        return not(
                            "`!=` on a question with several answers, or among other conditions"
                                .into(),
                        );
                    } else {
                        let count = u32::try_from(superior.options.len()).unwrap_or(0);
                        alternatives.extend((1..=count).filter(|n| *n != number));
                    }
                }
                operator => {
                    return not(format!(
                        "operator `{operator}` compares numbers or times; a questionSuperior names alternatives"
                    ));
                }
            }
        }
        if superior.options.is_empty() {
            return not(format!(
                "question `{}` has no alternatives to name",
                superior.id
            ));
        }
        Ok(QuestionSuperior {
            superior_question_number: superior.number,
            superior_answer_alternative_numbers: alternatives.into_iter().collect(),
        })
    }
}

fn condition_value(condition: &EnableWhen) -> Option<OptionValue> {
    if let Some(coding) = &condition.answer_coding {
        return Some(OptionValue::Coding(
            coding.system.clone(),
            coding.code.clone(),
        ));
    }
    if let Some(text) = &condition.answer_string {
        return Some(OptionValue::Text(text.clone()));
    }
    if let Some(n) = condition.answer_integer {
        return Some(OptionValue::Integer(n));
    }
    condition.answer_boolean.map(OptionValue::Boolean)
}

/// Whether a condition's value is this option: a Coding by code, and by system when both
/// name one.
fn same(option: &OptionValue, answer: &OptionValue) -> bool {
    match (option, answer) {
        (OptionValue::Coding(s1, c1), OptionValue::Coding(s2, c2)) => {
            c1 == c2 && (s1.is_none() || s2.is_none() || s1 == s2)
        }
        _ => option == answer,
    }
}
