//! The care system's small web page: request a form, see notifications, read answers.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use http::StatusCode;
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use super::{DemoState, ReceivedNotification, RequestedForm, contracts};

#[derive(Template)]
#[template(path = "care_system.html")]
struct Overview {
    care_unit_name: String,
    requested: Vec<RequestedRow>,
    notifications: Vec<ReceivedNotification>,
    error: Option<String>,
}

struct RequestedRow {
    form: RequestedForm,
    /// The latest categorization notified for the form, if any.
    status: String,
    answered: bool,
}

#[derive(Template)]
#[template(path = "care_system_form.html")]
struct FormAnswers {
    care_unit_name: String,
    form_id: String,
    status: String,
    answers: Vec<(String, String)>,
}

fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot render a demo care system page");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn overview_page(state: &DemoState, error: Option<String>) -> Overview {
    let records = state.records.lock().expect("records lock");
    let requested = records
        .requested
        .iter()
        .rev()
        .map(|form| {
            let status = records
                .notifications
                .iter()
                .rev()
                .find(|n| n.form_id == form.form_id && !n.delete_flag)
                .map_or_else(|| String::from("—"), |n| n.categorization.clone());
            RequestedRow {
                form: form.clone(),
                status,
                answered: records.answered.contains_key(&form.form_id),
            }
        })
        .collect();
    Overview {
        care_unit_name: state.config.care_unit_name.clone(),
        requested,
        notifications: records.notifications.iter().rev().cloned().collect(),
        error,
    }
}

pub(super) async fn overview(State(state): State<DemoState>) -> Response {
    render(&overview_page(&state, None))
}

#[derive(Deserialize)]
pub(super) struct RequestForm {
    subject_of_care: String,
}

pub(super) async fn request(
    State(state): State<DemoState>,
    Form(form): Form<RequestForm>,
) -> Response {
    match contracts::request_form(&state, form.subject_of_care.trim()).await {
        Ok(_) => Redirect::to("/").into_response(),
        Err(error) => render(&overview_page(&state, Some(format!("{error:#}")))),
    }
}

pub(super) async fn form(State(state): State<DemoState>, Path(form_id): Path<String>) -> Response {
    let form = match contracts::get_form(&state, &form_id).await {
        Ok(form) => form,
        Err(error) => return render(&overview_page(&state, Some(format!("{error:#}")))),
    };
    let questions = questions_of(&state.config.template);
    let mut answers = Vec::new();
    for page in form["pageAnswers"].as_array().into_iter().flatten() {
        for block in page["questionAnswerBlocks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for answer in block["answers"].as_array().into_iter().flatten() {
                let id = answer["valueID"].as_str().unwrap_or_default();
                answers.push(readable(questions.get(id), id, &answer["value"]));
            }
        }
    }
    render(&FormAnswers {
        care_unit_name: state.config.care_unit_name.clone(),
        form_id,
        status: form["formStatus"].as_str().unwrap_or("—").to_owned(),
        answers,
    })
}

/// A question's wording and its alternatives' texts by number, from the template.
struct QuestionText {
    subject: String,
    alternatives: HashMap<i64, String>,
    unit: Option<String>,
}

fn questions_of(template: &Value) -> HashMap<String, QuestionText> {
    let mut questions = HashMap::new();
    for page in template["pages"].as_array().into_iter().flatten() {
        for block in page["page"]["questionBlocks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for question in block["questions"].as_array().into_iter().flatten() {
                let id = question["questionId"]
                    .as_str()
                    .map_or_else(|| format!("q{}", question["questionNumber"]), str::to_owned);
                let alternatives = question["answerAlternatives"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| {
                        Some((
                            a["answerAlternativeNumber"].as_i64()?,
                            a["alternativeValue"].as_str()?.to_owned(),
                        ))
                    })
                    .collect();
                questions.insert(
                    id,
                    QuestionText {
                        subject: question["subject"].as_str().unwrap_or_default().to_owned(),
                        alternatives,
                        unit: question["inputUnit"].as_str().map(str::to_owned),
                    },
                );
            }
        }
    }
    questions
}

/// An answer as a person reads it: the question's wording, alternatives by their text.
fn readable(question: Option<&QuestionText>, id: &str, value: &Value) -> (String, String) {
    let Some(question) = question else {
        return (id.to_owned(), value.to_string());
    };
    let alternative = |n: &Value| {
        n.as_i64()
            .and_then(|n| question.alternatives.get(&n).cloned())
            .unwrap_or_else(|| n.to_string())
    };
    let text = match value {
        Value::Array(chosen) => chosen
            .iter()
            .map(alternative)
            .collect::<Vec<_>>()
            .join(", "),
        Value::Number(_) if !question.alternatives.is_empty() => alternative(value),
        Value::String(text) => text.clone(),
        other => match &question.unit {
            Some(unit) => format!("{other} {unit}"),
            None => other.to_string(),
        },
    };
    (question.subject.clone(), text)
}
