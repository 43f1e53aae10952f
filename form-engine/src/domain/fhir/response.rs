//! A completed form as a FHIR R4 `QuestionnaireResponse` of its template's Questionnaire:
//! the answers in the Questionnaire's groups (pages and blocks), each calculation's outcome
//! as the answer of its calculated item, the citizen as subject and the time it was sent.

use chrono::SecondsFormat;
use serde_json::Value;

use super::export::{block_link_id, canonical, item_type, option_coding, page_link_id};
use super::resource::{Identifier, QuestionnaireResponse, Reference, ResponseAnswer, ResponseItem};
use super::vocabulary as v;
use crate::domain::form::model::{Form, FormStatus};
use crate::domain::template::formula::CalculationOutcome;
use crate::domain::template::input::InputType;
use crate::domain::template::model::{FormTemplate, TemplateQuestion};

/// Why a form has no QuestionnaireResponse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("form {0} is {1}, not COMPLETED; a QuestionnaireResponse is made of a sent form")]
    NotCompleted(uuid::Uuid, FormStatus),
}

/// The QuestionnaireResponse of a completed `form` made from `template`, with the
/// calculations' `outcomes` (as stored with the form when it was sent).
pub fn questionnaire_response(
    form: &Form,
    template: &FormTemplate,
    outcomes: &[CalculationOutcome],
) -> Result<QuestionnaireResponse, ResponseError> {
    if form.status != FormStatus::Completed {
        return Err(ResponseError::NotCompleted(form.id, form.status));
    }
    let answers = form.all_answers();
    let mut items = Vec::new();
    for routed in &template.pages {
        let page = &routed.page;
        let blocks: Vec<ResponseItem> = page
            .question_blocks
            .iter()
            .filter_map(|block| {
                let questions: Vec<ResponseItem> = block
                    .questions
                    .iter()
                    .filter_map(|q| question_answers(q, answers.get(&q.id())?))
                    .collect();
                group(
                    block_link_id(page.page_number, block.block_number),
                    block.subject.clone(),
                    questions,
                )
            })
            .collect();
        items.extend(group(
            page_link_id(page.page_number),
            page.subject.clone(),
            blocks,
        ));
    }
    for formula in &template.formula {
        let outcome = outcomes
            .iter()
            .find(|o| o.calculation_id == formula.calculation_id)
            .and_then(|o| o.outcome);
        if let Some(outcome) = outcome {
            items.push(ResponseItem {
                link_id: formula.calculation_id.clone(),
                text: Some(formula.subject.clone()),
                answer: vec![ResponseAnswer::Decimal(outcome)],
                item: Vec::new(),
            });
        }
    }
    Ok(QuestionnaireResponse {
        resource_type: "QuestionnaireResponse".into(),
        id: Some(form.id.to_string()),
        questionnaire: Some(match template.template_version {
            Some(version) => format!("{}|{version}", canonical(template)),
            None => canonical(template),
        }),
        status: "completed".into(),
        subject: form.subject_of_care.as_ref().map(|pin| Reference {
            reference_type: Some("Patient".into()),
            identifier: Identifier {
                system: Some(format!("urn:oid:{}", identity_oid(pin.as_str()))),
                value: Some(pin.as_str().to_owned()),
                ..Identifier::default()
            },
        }),
        authored: form
            .completed_at
            .map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        item: items,
    })
}

/// A group with what it holds, or nothing when it holds nothing.
fn group(link_id: String, text: Option<String>, item: Vec<ResponseItem>) -> Option<ResponseItem> {
    (!item.is_empty()).then_some(ResponseItem {
        link_id,
        text,
        answer: Vec::new(),
        item,
    })
}

/// Samordningsnummer have 60 added to the day of birth.
fn identity_oid(pin: &str) -> &'static str {
    match pin.get(6..8).and_then(|d| d.parse::<u32>().ok()) {
        Some(day) if day > 60 => v::SAMORDNINGSNUMMER_OID,
        _ => v::PERSONNUMMER_OID,
    }
}

fn question_answers(question: &TemplateQuestion, value: &Value) -> Option<ResponseItem> {
    let answer: Vec<ResponseAnswer> = match question.input {
        InputType::Radio | InputType::Select => vec![choice(question, value)?],
        InputType::Checkbox => value
            .as_array()?
            .iter()
            .filter_map(|n| choice(question, n))
            .collect(),
        InputType::Text | InputType::Textarea | InputType::Week => {
            vec![ResponseAnswer::String(value.as_str()?.to_owned())]
        }
        InputType::Url => vec![ResponseAnswer::Uri(value.as_str()?.to_owned())],
        InputType::Number | InputType::Range => {
            let n = value.as_f64()?;
            #[allow(clippy::cast_possible_truncation)] // whole and within i64: checked
            if item_type(question) == "integer" && n.fract() == 0.0 && n.abs() < 9e15 {
                vec![ResponseAnswer::Integer(n as i64)]
            } else {
                vec![ResponseAnswer::Decimal(n)]
            }
        }
        InputType::Date | InputType::Month => {
            vec![ResponseAnswer::Date(v::fhir_date(value.as_str()?)?)]
        }
        InputType::Time => vec![ResponseAnswer::Time(v::fhir_time(value.as_str()?)?)],
        InputType::Datetime | InputType::DatetimeLocal => {
            // Swedish local time, as FHIR wants it: an instant with its zone.
            let local =
                chrono::NaiveDateTime::parse_from_str(value.as_str()?, "%Y%m%dT%H%M%S").ok()?;
            let instant = common::riv_time::stockholm_to_utc(local);
            vec![ResponseAnswer::DateTime(
                instant.to_rfc3339_opts(SecondsFormat::Secs, true),
            )]
        }
        InputType::Image => return None,
    };
    (!answer.is_empty()).then(|| ResponseItem {
        link_id: question.id(),
        text: Some(question.subject.clone()),
        answer,
        item: Vec::new(),
    })
}

fn choice(question: &TemplateQuestion, value: &Value) -> Option<ResponseAnswer> {
    let number = u32::try_from(value.as_u64()?).ok()?;
    let alternative = question
        .answer_alternatives
        .iter()
        .find(|a| a.answer_alternative_number == number)?;
    Some(ResponseAnswer::Coding(option_coding(alternative)))
}
