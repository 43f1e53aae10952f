//! Checks of each question on its own: alternatives, choices, bounds, step, length, pattern
//! and validation texts, each against what the question's input type takes.

use std::collections::{BTreeSet, HashMap};

use super::{Findings, info::check_code, is_blank, question_location};
use crate::domain::template::finding::{FindingCode, Location};
use crate::domain::template::input::{AnswerKind, InputType};
use crate::domain::template::model::{Bound, FormTemplate, TemplateQuestion, ValidationEventKind};
use crate::domain::template::schema;

pub(super) fn check(template: &FormTemplate, findings: &mut Findings) {
    // Forms repeat the same patterns (postcodes, names); each is compiled once per check.
    let mut patterns: HashMap<&str, Result<(), String>> = HashMap::new();
    for (page, block, question) in template.questions() {
        let at = question_location(page.page_number, block.block_number, question);
        if is_blank(&question.subject) {
            findings.error(
                FindingCode::BlankText,
                &at,
                Some("subject"),
                "the question has no text",
            );
        }
        if let Some(code) = &question.code {
            check_code(code, &at, "code", findings);
        }
        alternatives(question, &at, findings);
        choices(question, &at, findings);
        bounds(question, &at, findings);
        text_rules(question, &at, &mut patterns, findings);
        if question.input == InputType::Image && question.mandatory {
            findings.error(
                FindingCode::MandatoryWithoutAnswer,
                &at,
                Some("mandatory"),
                "an image question takes no answer, so it cannot be mandatory",
            );
        }
        validation_events(question, &at, findings);
    }
}

fn alternatives(question: &TemplateQuestion, at: &Location, findings: &mut Findings) {
    let alternatives = &question.answer_alternatives;
    if !question.input.is_choice() {
        if !alternatives.is_empty() {
            findings.error(
                FindingCode::AlternativesNotAllowed,
                at,
                Some("answerAlternatives"),
                &format!(
                    "a {} question takes no alternatives; use radio, select or checkbox for a choice",
                    question.input
                ),
            );
        }
        return;
    }
    if alternatives.is_empty() {
        findings.error(
            FindingCode::AlternativesMissing,
            at,
            Some("answerAlternatives"),
            &format!("a {} question needs answer alternatives", question.input),
        );
        return;
    }
    let numbers: Vec<u32> = alternatives
        .iter()
        .map(|a| a.answer_alternative_number)
        .collect();
    let expected: Vec<u32> = (1..=u32::try_from(numbers.len()).unwrap_or(u32::MAX)).collect();
    if numbers != expected {
        findings.error(
            FindingCode::AlternativeNumbering,
            at,
            Some("answerAlternativeNumber"),
            &format!(
                "the alternatives are numbered {}; number them 1 to {} in order",
                join(&numbers),
                numbers.len()
            ),
        );
    }
    let mut values = BTreeSet::new();
    for alternative in alternatives {
        let value = alternative.alternative_value.trim();
        if value.is_empty() {
            findings.error(
                FindingCode::BlankText,
                at,
                Some("alternativeValue"),
                &format!(
                    "alternative {} has no text",
                    alternative.answer_alternative_number
                ),
            );
        } else if !values.insert(value.to_lowercase()) {
            findings.warning(
                FindingCode::DuplicateAlternativeValue,
                at,
                Some("alternativeValue"),
                &format!(
                    "alternative {} reads the same as an earlier one (`{value}`)",
                    alternative.answer_alternative_number
                ),
            );
        }
        if let Some(code) = &alternative.code_type {
            check_code(code, at, "answerAlternatives.codeType", findings);
        }
        if alternative.score.is_some_and(|score| !score.is_finite()) {
            findings.error(
                FindingCode::InvalidScore,
                at,
                Some("answerAlternatives.score"),
                &format!(
                    "the score of alternative {} is not a finite number",
                    alternative.answer_alternative_number
                ),
            );
        }
    }
}

fn choices(question: &TemplateQuestion, at: &Location, findings: &mut Findings) {
    let (min, max) = (
        question.min_number_of_choices,
        question.max_number_of_choices,
    );
    if min.is_none() && max.is_none() {
        return;
    }
    match question.input.answer_kind() {
        AnswerKind::MultipleChoice => {}
        AnswerKind::SingleChoice => {
            if min.unwrap_or(0) > 1 || max.unwrap_or(1) != 1 {
                findings.error(
                    FindingCode::ChoicesInconsistent,
                    at,
                    Some("maxNumberOfChoices"),
                    &format!(
                        "a {} answer is exactly one alternative; use checkbox to allow several",
                        question.input
                    ),
                );
            }
            return;
        }
        _ => {
            findings.error(
                FindingCode::AttributeNotApplicable,
                at,
                Some(if max.is_some() {
                    "maxNumberOfChoices"
                } else {
                    "minNumberOfChoices"
                }),
                &format!(
                    "numbers of choices apply to checkbox questions, not {}",
                    question.input
                ),
            );
            return;
        }
    }
    let available = u32::try_from(question.answer_alternatives.len()).unwrap_or(u32::MAX);
    if let Some(max) = max {
        if max == 0 {
            findings.error(
                FindingCode::ChoicesInconsistent,
                at,
                Some("maxNumberOfChoices"),
                "0 allows no choice at all; leave it out or give at least 1",
            );
        } else if max > available && available > 0 {
            findings.error(
                FindingCode::ChoicesInconsistent,
                at,
                Some("maxNumberOfChoices"),
                &format!("is {max} but the question has only {available} alternatives"),
            );
        }
    }
    if let Some(min) = min {
        if min > available && available > 0 {
            findings.error(
                FindingCode::ChoicesInconsistent,
                at,
                Some("minNumberOfChoices"),
                &format!("is {min} but the question has only {available} alternatives"),
            );
        }
        if let Some(max) = max
            && min > max
        {
            findings.error(
                FindingCode::ChoicesInconsistent,
                at,
                Some("minNumberOfChoices"),
                &format!("is {min}, more than maxNumberOfChoices {max}"),
            );
        }
        if min == 0 && question.mandatory {
            findings.error(
                FindingCode::ChoicesInconsistent,
                at,
                Some("minNumberOfChoices"),
                "a mandatory question needs at least one choice: give 1 or more, or leave it out",
            );
        }
    }
}

fn bounds(question: &TemplateQuestion, at: &Location, findings: &mut Findings) {
    let kind = question.input.answer_kind();
    let takes_bounds = matches!(kind, AnswerKind::Number | AnswerKind::Temporal(_));
    for (field, bound) in [
        ("answerMin", &question.answer_min),
        ("answerMax", &question.answer_max),
    ] {
        let Some(bound) = bound else { continue };
        if !takes_bounds {
            findings.error(
                FindingCode::AttributeNotApplicable,
                at,
                Some(field),
                &format!(
                    "bounds apply to number, range and date-like questions, not {}",
                    question.input
                ),
            );
            continue;
        }
        if let Err(why) = schema::bound_value(kind, bound) {
            findings.error(FindingCode::InvalidBound, at, Some(field), &why);
        }
    }
    if takes_bounds
        && let (Some(min), Some(max)) = (&question.answer_min, &question.answer_max)
        && let (Ok(low), Ok(high)) = (
            schema::bound_value(kind, min),
            schema::bound_value(kind, max),
        )
        && low >= high
    {
        findings.error(
            FindingCode::BoundsInconsistent,
            at,
            Some("answerMin"),
            &format!("answerMin {min} must be smaller than answerMax {max}"),
        );
    }
    if question.input == InputType::Range
        && (question.answer_min.is_none() || question.answer_max.is_none())
    {
        findings.error(
            FindingCode::RangeWithoutBounds,
            at,
            Some("answerMin"),
            "a range (scale) question needs both answerMin and answerMax",
        );
    }
    if let Some(step) = question.answer_step {
        step_rules(question, step, at, findings);
    }
}

fn step_rules(question: &TemplateQuestion, step: f64, at: &Location, findings: &mut Findings) {
    if question.input.answer_kind() != AnswerKind::Number {
        findings.error(
            FindingCode::AttributeNotApplicable,
            at,
            Some("answerStep"),
            &format!(
                "a step applies to number and range questions, not {}",
                question.input
            ),
        );
        return;
    }
    if !step.is_finite() || step <= 0.0 {
        findings.error(
            FindingCode::InvalidStep,
            at,
            Some("answerStep"),
            &format!("{step} is not a step: it must be greater than 0"),
        );
        return;
    }
    if let (Some(Bound::Number(min)), Some(Bound::Number(max))) =
        (&question.answer_min, &question.answer_max)
        && min < max
    {
        let span = max - min;
        if step > span {
            findings.error(
                FindingCode::InvalidStep,
                at,
                Some("answerStep"),
                &format!(
                    "{step} is larger than the whole span from answerMin {min} to answerMax {max}"
                ),
            );
        } else if !schema::is_whole_multiple(span, step) {
            findings.warning(
                FindingCode::InvalidStep,
                at,
                Some("answerStep"),
                &format!(
                    "steps of {step} from {min} never reach answerMax {max}; the largest answer is smaller"
                ),
            );
        }
    }
}

fn text_rules<'t>(
    question: &'t TemplateQuestion,
    at: &Location,
    patterns: &mut HashMap<&'t str, Result<(), String>>,
    findings: &mut Findings,
) {
    let is_text = question.input.answer_kind() == AnswerKind::Text;
    if let Some(length) = question.answer_max_length {
        if !is_text {
            findings.error(
                FindingCode::AttributeNotApplicable,
                at,
                Some("answerMaxLength"),
                &format!(
                    "a length applies to text, textarea and url questions, not {}",
                    question.input
                ),
            );
        } else if length == 0 {
            findings.error(
                FindingCode::InvalidMaxLength,
                at,
                Some("answerMaxLength"),
                "0 allows no text at all; give a positive length or leave it out",
            );
        }
    }
    if let Some(pattern) = &question.answer_pattern {
        if !is_text {
            findings.error(
                FindingCode::AttributeNotApplicable,
                at,
                Some("answerPattern"),
                &format!(
                    "a pattern applies to text, textarea and url questions, not {}",
                    question.input
                ),
            );
        } else if let Err(why) = patterns
            .entry(pattern.as_str())
            .or_insert_with(|| schema::check_pattern(pattern))
        {
            findings.error(
                FindingCode::InvalidPattern,
                at,
                Some("answerPattern"),
                &format!("`{pattern}` is not a valid regular expression: {why}"),
            );
        }
    }
}

fn validation_events(question: &TemplateQuestion, at: &Location, findings: &mut Findings) {
    let mut seen = BTreeSet::new();
    for event in &question.validation_events {
        let name = event.event.as_str();
        let field = format!("validationEvents `{name}`");
        if !seen.insert(name) {
            findings.error(
                FindingCode::DuplicateValidationEvent,
                at,
                Some(&field),
                "the event is listed twice; keep one text per event",
            );
            continue;
        }
        if is_blank(&event.text) {
            findings.error(
                FindingCode::BlankText,
                at,
                Some(&field),
                "the text shown to the citizen is empty",
            );
        }
        if !event_applies(question, event.event) {
            findings.warning(
                FindingCode::ValidationEventNotApplicable,
                at,
                Some(&field),
                "the question has no rule this event reports, so the text is never shown",
            );
        }
    }
}

fn event_applies(question: &TemplateQuestion, event: ValidationEventKind) -> bool {
    use ValidationEventKind as E;
    let answers = question.input.answer_kind() != AnswerKind::None;
    match event {
        E::Mandatory => question.mandatory || question.min_number_of_choices.unwrap_or(0) > 0,
        E::AnswerMax => question.answer_max.is_some(),
        E::AnswerMin => question.answer_min.is_some(),
        E::AnswerMaxLength => question.answer_max_length.is_some(),
        E::AnswerPattern => question.answer_pattern.is_some(),
        E::MaxNumberOfChoices => question.max_number_of_choices.is_some(),
        E::MinNumberOfChoices => question.min_number_of_choices.is_some(),
        E::AnswerSuperior => question.question_superior.is_some(),
        E::AnswerStep => question.answer_step.is_some(),
        E::AnswerFormat => answers,
    }
}

fn join(numbers: &[u32]) -> String {
    numbers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
