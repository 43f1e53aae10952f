//! The JSON Schema (draft 2020-12) of a template version's answers: one for each page and one
//! for the whole form.
//!
//! The answers of a page are an object from questionId to value (api.md §3.1 gives the value
//! of each input type). A page's schema also lists, as optional properties, the superior
//! questions on earlier pages its conditional questions depend on, so the condition can be
//! checked page by page: the engine adds those earlier answers before validating.
//!
//! Conditional requiredness: a mandatory question with a questionSuperior is required only
//! when the superior question's answer is given (and is one of the named alternatives), as
//! `allOf: [{if: ..., then: {required: [...]}}]`.
//!
//! The form schema requires the mandatory questions of the pages every path through the form
//! passes; questions on pages that routing may skip are optional there (which pages a citizen
//! sees is decided page by page, by the routing).

pub mod options;

use serde_json::{Map, Value, json};

use super::graph::PageGraph;
use super::input::{AnswerKind, InputType, TemporalFormat};
use super::model::{Bound, FormTemplate, QuestionSuperior, TemplateQuestion, number};

pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// A bound read as what it bounds, so two can be compared.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum BoundValue {
    Number(f64),
    Text(String),
}

/// Reads `bound` as a bound of answers of `kind`, or says why it is not one.
pub fn bound_value(kind: AnswerKind, bound: &Bound) -> Result<BoundValue, String> {
    match (kind, bound) {
        (AnswerKind::Number, Bound::Number(n)) if n.is_finite() => Ok(BoundValue::Number(*n)),
        (AnswerKind::Number, other) => Err(format!("`{other}` is not a number")),
        (AnswerKind::Temporal(format), Bound::Text(text)) if format.is_valid(text) => {
            Ok(BoundValue::Text(text.clone()))
        }
        // A date written as a number (20240101) is read as the date it spells.
        (AnswerKind::Temporal(format @ TemporalFormat::Date), Bound::Number(n))
            if n.fract() == 0.0 && format.is_valid(&format!("{n:.0}")) =>
        {
            Ok(BoundValue::Text(format!("{n:.0}")))
        }
        (AnswerKind::Temporal(format), other) => Err(format!(
            "`{other}` is not a value of the answer's format {}",
            format.shape()
        )),
        (_, other) => Err(format!("`{other}` cannot bound this kind of answer")),
    }
}

/// The answerPattern as a JSON Schema pattern: the whole answer must match, as in HTML.
pub fn anchored(pattern: &str) -> String {
    format!("^(?:{pattern})$")
}

/// Whether `pattern` compiles with the regular-expression engine answers are checked with.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    options::compile(&json!({"pattern": anchored(pattern)})).map(|_| ())
}

/// Whether `value` is a whole number of `step`s, allowing for binary fractions (0.1 · 3).
pub fn is_whole_multiple(value: f64, step: f64) -> bool {
    let ratio = value / step;
    (ratio - ratio.round()).abs() <= 1e-9 * ratio.abs().max(1.0)
}

/// The schema of one question's answer; `None` for a question that takes no answer.
pub fn value_schema(question: &TemplateQuestion) -> Option<Value> {
    let mut schema = Map::new();
    schema.insert("title".into(), Value::String(question.subject.clone()));
    if let Some(description) = &question.description {
        schema.insert("description".into(), Value::String(description.clone()));
    }
    schema.insert("x-questionNumber".into(), json!(question.question_number));
    schema.insert("x-input".into(), json!(question.input.as_str()));
    match question.input.answer_kind() {
        AnswerKind::None => return None,
        AnswerKind::SingleChoice => {
            schema.insert("type".into(), json!("integer"));
            schema.insert("oneOf".into(), alternatives(question));
        }
        AnswerKind::MultipleChoice => {
            schema.insert("type".into(), json!("array"));
            schema.insert(
                "items".into(),
                json!({"type": "integer", "oneOf": alternatives(question)}),
            );
            schema.insert("uniqueItems".into(), json!(true));
            schema.insert(
                "minItems".into(),
                json!(question.min_number_of_choices.unwrap_or(1).max(1)),
            );
            if let Some(max) = question.max_number_of_choices {
                schema.insert("maxItems".into(), json!(max));
            }
        }
        AnswerKind::Text => {
            schema.insert("type".into(), json!("string"));
            // An empty text is no answer (the engine drops it before validating).
            schema.insert("minLength".into(), json!(1));
            if let Some(max) = question.answer_max_length {
                schema.insert("maxLength".into(), json!(max));
            }
            if let Some(pattern) = &question.answer_pattern {
                schema.insert("pattern".into(), json!(anchored(pattern)));
            }
            if question.input == InputType::Url {
                schema.insert("format".into(), json!(options::URL_FORMAT));
            }
        }
        AnswerKind::Number => number_schema(question, &mut schema),
        AnswerKind::Temporal(format) => {
            let kind = question.input.answer_kind();
            schema.insert("type".into(), json!("string"));
            schema.insert("format".into(), json!(format.format_name()));
            schema.insert("x-shape".into(), json!(format.shape()));
            for (keyword, bound) in [
                ("formatMinimum", &question.answer_min),
                ("formatMaximum", &question.answer_max),
            ] {
                if let Some(Ok(BoundValue::Text(text))) =
                    bound.as_ref().map(|b| bound_value(kind, b))
                {
                    schema.insert(keyword.into(), json!(text));
                }
            }
        }
    }
    Some(Value::Object(schema))
}

fn number_schema(question: &TemplateQuestion, schema: &mut Map<String, Value>) {
    schema.insert("type".into(), json!("number"));
    let min = match &question.answer_min {
        Some(Bound::Number(n)) => Some(*n),
        _ => None,
    };
    if let Some(min) = min {
        schema.insert("minimum".into(), number(min));
    }
    if let Some(Bound::Number(max)) = &question.answer_max {
        schema.insert("maximum".into(), number(*max));
    }
    if let Some(unit) = &question.input_unit {
        schema.insert("x-unit".into(), json!(unit));
    }
    if let Some(step) = question.answer_step.filter(|s| s.is_finite() && *s > 0.0) {
        match min {
            Some(base) if !is_whole_multiple(base, step) => {
                schema.insert(
                    "stepFrom".into(),
                    json!({"base": number(base), "step": number(step)}),
                );
            }
            _ => {
                schema.insert("multipleOf".into(), number(step));
            }
        }
    }
}

fn alternatives(question: &TemplateQuestion) -> Value {
    Value::Array(
        question
            .answer_alternatives
            .iter()
            .map(|a| json!({"const": a.answer_alternative_number, "title": a.alternative_value}))
            .collect(),
    )
}

/// The `if` of a conditional question: the superior is answered, with one of the named
/// alternatives when any are named.
fn superior_condition(superior_id: &str, superior: &QuestionSuperior, input: InputType) -> Value {
    let numbers = &superior.superior_answer_alternative_numbers;
    if numbers.is_empty() {
        return json!({"required": [superior_id]});
    }
    let matches = match input.answer_kind() {
        AnswerKind::MultipleChoice => json!({"contains": {"enum": numbers}}),
        _ => json!({"enum": numbers}),
    };
    json!({"properties": {superior_id: matches}, "required": [superior_id]})
}

/// Builds the object schema over `questions`, with `context` as optional extra properties.
fn object_schema(
    template: &FormTemplate,
    title: &str,
    questions: &[&TemplateQuestion],
    context: &[&TemplateQuestion],
    require: impl Fn(&TemplateQuestion) -> bool,
) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut conditions = Vec::new();
    for question in questions {
        let Some(schema) = value_schema(question) else {
            continue;
        };
        let id = question.id();
        properties.insert(id.clone(), schema);
        if !question.mandatory || !require(question) {
            continue;
        }
        match &question.question_superior {
            None => required.push(Value::String(id)),
            Some(superior) => {
                let Some((_, _, superior_question)) = template
                    .questions()
                    .find(|(_, _, q)| q.question_number == superior.superior_question_number)
                else {
                    continue;
                };
                conditions.push(json!({
                    "if": superior_condition(&superior_question.id(), superior, superior_question.input),
                    "then": {"required": [id]}
                }));
            }
        }
    }
    for question in context {
        if let Some(mut schema) = value_schema(question) {
            if let Some(object) = schema.as_object_mut() {
                object.insert(
                    "description".into(),
                    json!("Answered on an earlier page; given so the conditions of this page can be checked."),
                );
            }
            properties.insert(question.id(), schema);
        }
    }
    let mut schema = Map::new();
    schema.insert("$schema".into(), json!(DIALECT));
    schema.insert("title".into(), json!(title));
    schema.insert("x-templateId".into(), json!(template.template_id));
    schema.insert("x-templateVersion".into(), json!(template.version()));
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), Value::Object(properties));
    schema.insert("required".into(), Value::Array(required));
    schema.insert("additionalProperties".into(), json!(false));
    if !conditions.is_empty() {
        schema.insert("allOf".into(), Value::Array(conditions));
    }
    Value::Object(schema)
}

/// The schema of one page's answers, and the ids of the earlier questions it needs as context.
pub fn page_schema(template: &FormTemplate, page_number: u32) -> Option<(Value, Vec<String>)> {
    let routed = template.page(page_number)?;
    let questions: Vec<&TemplateQuestion> = routed
        .page
        .question_blocks
        .iter()
        .flat_map(|b| &b.questions)
        .collect();
    let on_page = |number: u32| questions.iter().any(|q| q.question_number == number);
    let mut context: Vec<&TemplateQuestion> = Vec::new();
    for question in &questions {
        let Some(superior) = &question.question_superior else {
            continue;
        };
        if on_page(superior.superior_question_number)
            || context
                .iter()
                .any(|c| c.question_number == superior.superior_question_number)
        {
            continue;
        }
        if let Some((_, _, earlier)) = template
            .questions()
            .find(|(_, _, q)| q.question_number == superior.superior_question_number)
        {
            context.push(earlier);
        }
    }
    let title = match &routed.page.subject {
        Some(subject) => format!("{}, page {page_number}: {subject}", template.form_name),
        None => format!("{}, page {page_number}", template.form_name),
    };
    let schema = object_schema(template, &title, &questions, &context, |_| true);
    Some((schema, context.iter().map(|q| q.id()).collect()))
}

/// The schema of all answers of a completed form.
pub fn form_schema(template: &FormTemplate, graph: &PageGraph) -> Value {
    let always = graph.always_visited();
    let mut pages_of = std::collections::BTreeMap::new();
    let mut questions = Vec::new();
    for (page, _, question) in template.questions() {
        pages_of.insert(question.question_number, page.page_number);
        questions.push(question);
    }
    object_schema(template, &template.form_name, &questions, &[], |question| {
        pages_of
            .get(&question.question_number)
            .is_some_and(|page| always.contains(page))
    })
}
