//! The care system's small web page: request a form, see notifications, read answers.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use http::StatusCode;
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
    let mut answers = Vec::new();
    for page in form["pageAnswers"].as_array().into_iter().flatten() {
        for block in page["questionAnswerBlocks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for answer in block["answers"].as_array().into_iter().flatten() {
                let value = match &answer["value"] {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                answers.push((
                    answer["valueID"].as_str().unwrap_or_default().to_owned(),
                    value,
                ));
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
