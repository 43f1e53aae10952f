//! A template as a FHIR R4 `Questionnaire` (docs/fhir.md has the table).
//!
//! Pages and blocks become groups, questions items of the matching type, alternatives
//! answer options with their scores as `ordinalValue`, questionSuperior `enableWhen`, and
//! each calculation a read-only `decimal` item at the end, with an SDC
//! `calculatedExpression` when its formula is a sum of scores. Whatever FHIR has no element
//! for travels in the engine's own extension, so importing the export gives the template
//! back.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::fhirpath;
use super::resource::{
    AnswerOption, Coding, EnableWhen, Extension, Identifier, Item, Questionnaire,
};
use super::vocabulary as v;
use crate::domain::template::formula::syntax::{self, Expr, Function, Node};
use crate::domain::template::input::InputType;
use crate::domain::template::model::{
    AnswerAlternative, Bound, CalculationFormula, FormTemplate, PublishStatus, QuestionBlock,
    RoutedPage, TemplateQuestion,
};

/// The linkId of a page's group: `#` never starts a question id.
pub fn page_link_id(page: u32) -> String {
    format!("#page-{page}")
}

/// The linkId of a block's group.
pub fn block_link_id(page: u32, block: u32) -> String {
    format!("#page-{page}.block-{block}")
}

/// The canonical URL of a template (`Questionnaire.url`).
pub fn canonical(template: &FormTemplate) -> String {
    format!(
        "{}{}",
        v::CANONICAL_PREFIX,
        v::urn_escape(&template.template_id)
    )
}

/// The FHIR item type a question is exported as (and its answers answered as).
pub fn item_type(question: &TemplateQuestion) -> &'static str {
    match question.input {
        InputType::Radio | InputType::Select | InputType::Checkbox => "choice",
        InputType::Text | InputType::Week => "string",
        InputType::Textarea => "text",
        InputType::Url => "url",
        InputType::Number | InputType::Range => {
            if is_whole_numbered(question) {
                "integer"
            } else {
                "decimal"
            }
        }
        InputType::Date | InputType::Month => "date",
        InputType::Time => "time",
        InputType::Datetime | InputType::DatetimeLocal => "dateTime",
        InputType::Image => "display",
    }
}

/// Answers are whole numbers: a whole step from a whole (or no) minimum.
fn is_whole_numbered(question: &TemplateQuestion) -> bool {
    let whole = |n: f64| n.fract() == 0.0;
    question.answer_step.is_some_and(whole)
        && match &question.answer_min {
            None => true,
            Some(Bound::Number(n)) => whole(*n),
            Some(Bound::Text(_)) => false,
        }
}

/// The Coding of an alternative: its codeType when it has one, else its number.
pub fn option_coding(alternative: &AnswerAlternative) -> Coding {
    match &alternative.code_type {
        Some(code) => Coding {
            system: Some(v::system_uri(&code.code_system)),
            code: Some(code.code_value.clone()),
            display: Some(alternative.alternative_value.clone()),
            ..Coding::default()
        },
        None => Coding {
            code: Some(alternative.answer_alternative_number.to_string()),
            display: Some(alternative.alternative_value.clone()),
            ..Coding::default()
        },
    }
}

/// The engine's extension with the members of `element` not listed in `mapped`, if any.
fn engine_fields<T: Serialize>(element: &T, mapped: &[&str]) -> Option<Extension> {
    let Ok(Value::Object(mut fields)) = serde_json::to_value(element) else {
        return None;
    };
    fields.retain(|key, _| !mapped.contains(&key.as_str()));
    fields_extension(fields)
}

fn fields_extension(fields: Map<String, Value>) -> Option<Extension> {
    (!fields.is_empty()).then(|| {
        Extension::new(
            v::ENGINE_FIELDS,
            "String",
            Value::String(Value::Object(fields).to_string()),
        )
    })
}

fn item_control(code: &str) -> Extension {
    Extension::new(
        v::ITEM_CONTROL,
        "CodeableConcept",
        json!({"coding": [{"system": v::ITEM_CONTROL_SYSTEM, "code": code}]}),
    )
}

/// The Questionnaire of a template.
pub fn questionnaire(template: &FormTemplate) -> Questionnaire {
    let mut mapped = vec![
        "templateId",
        "templateVersion",
        "formName",
        "description",
        "code",
        "healthCareFacilityUnit",
        "pages",
        "formula",
        "minNumberOfPages",
        "maxNumberOfPages",
        "minNumberOfQuestion",
        "maxNumberOfQuestion",
    ];
    // Pending has no FHIR status of its own (draft), so it travels in the engine's fields.
    if template.publish_status != PublishStatus::Pending {
        mapped.push("publishStatus");
    }
    let language = v::bcp47(&template.language);
    if language.is_some() {
        mapped.push("language");
    }
    let mut item: Vec<Item> = template
        .pages
        .iter()
        .map(|routed| page_item(template, routed))
        .collect();
    item.extend(
        template
            .formula
            .iter()
            .map(|f| calculation_item(template, f)),
    );
    Questionnaire {
        resource_type: "Questionnaire".into(),
        id: v::is_resource_id(&template.template_id).then(|| template.template_id.clone()),
        extension: engine_fields(template, &mapped).into_iter().collect(),
        url: Some(canonical(template)),
        identifier: vec![Identifier {
            system: Some(v::TEMPLATE_ID_SYSTEM.into()),
            value: Some(template.template_id.clone()),
            ..Identifier::default()
        }],
        version: template.template_version.map(|n| n.to_string()),
        title: Some(template.form_name.clone()),
        status: match template.publish_status {
            PublishStatus::Unpublished | PublishStatus::Pending => "draft",
            PublishStatus::Published => "active",
            PublishStatus::Archived => "retired",
        }
        .into(),
        language: language.map(str::to_owned),
        publisher: Some(template.health_care_facility_unit.as_str().to_owned()),
        description: template.description.clone(),
        code: template
            .code
            .iter()
            .map(|c| Coding {
                system: Some(v::system_uri(&c.code_system)),
                code: Some(c.code_value.clone()),
                display: c.display_name.clone(),
                ..Coding::default()
            })
            .collect(),
        item,
        ..Questionnaire::default()
    }
}

fn page_item(template: &FormTemplate, routed: &RoutedPage) -> Item {
    let page = &routed.page;
    let mut fields = match serde_json::to_value(page) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    fields.retain(|key, _| !["subject", "questionBlocks"].contains(&key.as_str()));
    if let Some(routing) = &routed.routing
        && let Ok(routing) = serde_json::to_value(routing)
    {
        fields.insert("routing".into(), routing);
    }
    Item {
        link_id: page_link_id(page.page_number),
        text: page.subject.clone(),
        item_type: "group".into(),
        extension: fields_extension(fields).into_iter().collect(),
        item: page
            .question_blocks
            .iter()
            .map(|block| block_item(template, page.page_number, block))
            .collect(),
        ..Item::default()
    }
}

fn block_item(template: &FormTemplate, page: u32, block: &QuestionBlock) -> Item {
    Item {
        link_id: block_link_id(page, block.block_number),
        text: block.subject.clone(),
        item_type: "group".into(),
        extension: engine_fields(block, &["subject", "questions", "numberOfQuestions"])
            .into_iter()
            .collect(),
        item: block
            .questions
            .iter()
            .map(|q| question_item(template, q))
            .collect(),
        ..Item::default()
    }
}

/// A bound as the value of a minValue/maxValue extension, when FHIR has a type for it.
fn bound_value(question: &TemplateQuestion, bound: &Bound) -> Option<(&'static str, Value)> {
    match (question.input, bound) {
        (InputType::Number | InputType::Range, Bound::Number(n)) => {
            if item_type(question) == "integer" {
                Some(("Integer", crate::domain::template::model::number(*n)))
            } else {
                Some(("Decimal", crate::domain::template::model::number(*n)))
            }
        }
        (InputType::Date | InputType::Month, Bound::Text(t)) => {
            v::fhir_date(t).map(|d| ("Date", Value::String(d)))
        }
        (InputType::Time, Bound::Text(t)) => v::fhir_time(t).map(|d| ("Time", Value::String(d))),
        _ => None,
    }
}

fn question_item(template: &FormTemplate, question: &TemplateQuestion) -> Item {
    let id = question.id();
    let mut mapped = vec![
        "questionId",
        "subject",
        "description",
        "mandatory",
        "answerAlternatives",
        "questionSuperior",
        "code",
    ];
    let mut extension = Vec::new();
    match question.input {
        InputType::Radio => extension.push(item_control("radio-button")),
        InputType::Select => extension.push(item_control("drop-down")),
        InputType::Checkbox => extension.push(item_control("check-box")),
        InputType::Range => extension.push(item_control("slider")),
        _ => {}
    }
    for (field, url, bound) in [
        ("answerMin", v::MIN_VALUE, &question.answer_min),
        ("answerMax", v::MAX_VALUE, &question.answer_max),
    ] {
        if let Some((kind, value)) = bound.as_ref().and_then(|b| bound_value(question, b)) {
            extension.push(Extension::new(url, kind, value));
            mapped.push(field);
        }
    }
    let texts = [
        ("answerPattern", v::REGEX, &question.answer_pattern),
        (
            "answerPlaceholder",
            v::ENTRY_FORMAT,
            &question.answer_placeholder,
        ),
    ];
    for (field, url, text) in texts {
        if let Some(text) = text {
            extension.push(Extension::new(url, "String", Value::String(text.clone())));
            mapped.push(field);
        }
    }
    if let Some(unit) = &question.input_unit {
        extension.push(Extension::new(v::UNIT, "Coding", json!({"display": unit})));
        mapped.push("inputUnit");
    }
    let is_text = matches!(
        question.input,
        InputType::Text | InputType::Textarea | InputType::Url
    );
    if is_text && question.answer_max_length.is_some() {
        mapped.push("answerMaxLength");
    }
    extension.extend(engine_fields(question, &mapped));
    let (enable_when, enable_behavior) = enable_when(template, question);
    let help = question.description.as_ref().map(|text| Item {
        link_id: format!("{id}#help"),
        text: Some(text.clone()),
        item_type: "display".into(),
        extension: vec![item_control("help")],
        ..Item::default()
    });
    let answers = question.input != InputType::Image;
    Item {
        link_id: id,
        text: Some(question.subject.clone()),
        item_type: item_type(question).into(),
        extension,
        code: question
            .code
            .iter()
            .map(|c| Coding {
                system: Some(v::system_uri(&c.code_system)),
                code: Some(c.code_value.clone()),
                display: c.display_name.clone(),
                ..Coding::default()
            })
            .collect(),
        enable_when,
        enable_behavior,
        required: answers.then_some(question.mandatory),
        repeats: (question.input == InputType::Checkbox).then_some(true),
        max_length: if is_text {
            question.answer_max_length.map(i64::from)
        } else {
            None
        },
        answer_option: question
            .answer_alternatives
            .iter()
            .map(|a| AnswerOption {
                extension: a
                    .score
                    .map(|s| {
                        Extension::new(
                            v::ORDINAL_VALUE,
                            "Decimal",
                            crate::domain::template::model::number(s),
                        )
                    })
                    .into_iter()
                    .chain(alternative_fields(a))
                    .collect(),
                value_coding: Some(option_coding(a)),
                ..AnswerOption::default()
            })
            .collect(),
        item: help.into_iter().collect(),
        ..Item::default()
    }
}

/// The engine's fields of an alternative: its help and media, and its codeType when that
/// has a displayName (the option's display is the alternative's text).
fn alternative_fields(alternative: &AnswerAlternative) -> Option<Extension> {
    let Ok(Value::Object(mut fields)) = serde_json::to_value(alternative) else {
        return None;
    };
    fields.retain(|key, _| {
        ![
            "answerAlternativeNumber",
            "alternativeValue",
            "score",
            "codeType",
        ]
        .contains(&key.as_str())
    });
    if let Some(code) = &alternative.code_type
        && code.display_name.is_some()
        && let Ok(code) = serde_json::to_value(code)
    {
        fields.insert("codeType".into(), code);
    }
    fields_extension(fields)
}

fn enable_when(
    template: &FormTemplate,
    question: &TemplateQuestion,
) -> (Vec<EnableWhen>, Option<String>) {
    let Some(superior) = &question.question_superior else {
        return (Vec::new(), None);
    };
    let Some((_, _, shown_by)) = template
        .questions()
        .find(|(_, _, q)| q.question_number == superior.superior_question_number)
    else {
        return (Vec::new(), None);
    };
    let link = shown_by.id();
    if superior.superior_answer_alternative_numbers.is_empty() {
        return (
            vec![EnableWhen {
                question: link,
                operator: "exists".into(),
                answer_boolean: Some(true),
                ..EnableWhen::default()
            }],
            None,
        );
    }
    let conditions: Vec<EnableWhen> = superior
        .superior_answer_alternative_numbers
        .iter()
        .filter_map(|n| {
            shown_by
                .answer_alternatives
                .iter()
                .find(|a| a.answer_alternative_number == *n)
        })
        .map(|a| EnableWhen {
            question: link.clone(),
            operator: "=".into(),
            answer_coding: Some(option_coding(a)),
            ..EnableWhen::default()
        })
        .collect();
    let behavior = (conditions.len() > 1).then(|| "any".to_owned());
    (conditions, behavior)
}

fn calculation_item(template: &FormTemplate, formula: &CalculationFormula) -> Item {
    let mut extension: Vec<Extension> = score_sum_items(template, formula)
        .map(|ids| {
            Extension::new(
                v::CALCULATED_EXPRESSION,
                "Expression",
                json!({"language": "text/fhirpath", "expression": fhirpath::score_sum_expression(&ids)}),
            )
        })
        .into_iter()
        .collect();
    extension.extend(engine_fields(
        formula,
        &["calculationId", "subject", "code"],
    ));
    Item {
        link_id: formula.calculation_id.clone(),
        code: formula
            .code
            .iter()
            .map(|c| Coding {
                system: Some(v::system_uri(&c.code_system)),
                code: Some(c.code_value.clone()),
                display: c.display_name.clone(),
                ..Coding::default()
            })
            .collect(),
        text: Some(formula.subject.clone()),
        item_type: "decimal".into(),
        read_only: Some(true),
        extension,
        ..Item::default()
    }
}

/// The questions whose scores the formula sums, when it is nothing but such a sum:
/// `sum(a, b:c, if(answered(d), d, 0))` over scored choice questions.
fn score_sum_items(template: &FormTemplate, formula: &CalculationFormula) -> Option<Vec<String>> {
    if !crate::domain::template::formula::is_evaluated(formula) {
        return None;
    }
    let root = syntax::parse(&formula.formula).ok()?;
    let Expr::Call(Function::Sum, arguments) = &root.expr else {
        return None;
    };
    let questions: Vec<&TemplateQuestion> = template.questions().map(|(_, _, q)| q).collect();
    let by_id = |id: &str| questions.iter().find(|q| q.id() == id).copied();
    let scored = |q: &TemplateQuestion| {
        matches!(
            q.input,
            InputType::Radio | InputType::Select | InputType::Checkbox
        ) && !q.answer_alternatives.is_empty()
            && q.answer_alternatives.iter().all(|a| a.score.is_some())
    };
    let mut ids = Vec::new();
    for argument in arguments {
        let named: Vec<&TemplateQuestion> = match &argument.expr {
            Expr::Range(first, last) => {
                let (first, last) = (by_id(first)?, by_id(last)?);
                questions
                    .iter()
                    .filter(|q| {
                        q.input != InputType::Image
                            && (first.question_number..=last.question_number)
                                .contains(&q.question_number)
                    })
                    .copied()
                    .collect()
            }
            _ => vec![by_id(&optional_name(argument)?)?],
        };
        for question in named {
            if !scored(question) {
                return None;
            }
            ids.push(question.id());
        }
    }
    (!ids.is_empty()).then_some(ids)
}

/// `q` or `if(answered(q), q, 0)`: the question q.
fn optional_name(node: &Node) -> Option<String> {
    match &node.expr {
        Expr::Name(name) => Some(name.clone()),
        Expr::Call(Function::If, parts) => match parts.as_slice() {
            [condition, then, otherwise] => {
                let Expr::Call(Function::Answered, asked) = &condition.expr else {
                    return None;
                };
                let [asked] = asked.as_slice() else {
                    return None;
                };
                match (&asked.expr, &then.expr, &otherwise.expr) {
                    (Expr::Name(a), Expr::Name(b), Expr::Number(zero))
                        if a == b && *zero == 0.0 =>
                    {
                        Some(a.clone())
                    }
                    _ => None,
                }
            }
            _ => None,
        },
        _ => None,
    }
}
