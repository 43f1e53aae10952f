//! The form pages as templates: a question page, the summary, the receipt, the cancel
//! confirmation, and the one function that picks which a form's state calls for.

use askama::Template;
use axum::response::Response;
use chrono::NaiveDate;
use common::riv_time;
use http::StatusCode;

use super::answers::{self, AnsweredPage};
use super::failure;
use super::outcomes::{self, OutcomeLine};
use crate::api::AppState;
use crate::engine::wire::{Form, FormStatus, FormTemplate, Page};
use crate::web::context::PageContext;
use crate::web::inbox::Shown;
use crate::web::layout::{Layout, Section};
use crate::web::page;
use crate::web::session::SignedIn;
use crate::web::texts::Texts;
use form_render::markup::{self, Languages, PageInput};
use form_render::question::Sent;

/// What every form page shows above its content.
pub struct Heading {
    pub name: String,
    pub care_unit: Option<String>,
    pub form_text: Option<String>,
    pub answer_by: Option<Shown>,
    pub last_saved: Option<Shown>,
    /// The `lang` of the form's own texts when it is not the page's (a Swedish form on the
    /// English pages): screen readers then pronounce them right (WCAG 3.1.2).
    pub content_lang: Option<String>,
}

/// How a question page is shown besides its questions.
#[derive(Default)]
pub struct PageState {
    /// What the citizen just sent, shown instead of the saved answers.
    pub sent: Option<Sent>,
    /// The engine's comment on a refused save.
    pub comment: Option<String>,
    /// The answers were just saved for later.
    pub saved: bool,
    /// What SaveForm said when it sent the form (`INFO`: the template's formCompleteText),
    /// shown on the receipt.
    pub sent_comment: Option<String>,
}

/// The page's own parts (error summary, heading, questions) come rendered from form-render.
#[derive(Template)]
#[template(path = "form_page.html")]
struct QuestionPage {
    layout: Layout,
    t: &'static Texts,
    form_id: String,
    csrf_token: String,
    heading: Heading,
    page_number: u32,
    error_summary: String,
    page_heading: String,
    page_body: String,
    questions_field: String,
    first_page: bool,
    last_page: bool,
    saved: bool,
}

#[derive(Template)]
#[template(path = "form_summary.html")]
struct SummaryPage {
    layout: Layout,
    t: &'static Texts,
    form_id: String,
    csrf_token: String,
    heading: Heading,
    pages: Vec<AnsweredPage>,
    outcomes: Vec<OutcomeLine>,
    answers_level: u8,
    changeable: bool,
    term: Option<String>,
    term_error: bool,
    comment: Option<String>,
}

#[derive(Template)]
#[template(path = "form_receipt.html")]
struct ReceiptPage {
    layout: Layout,
    t: &'static Texts,
    /// The answers' partial names them; a receipt has no change buttons to use them in.
    form_id: String,
    csrf_token: String,
    heading: Heading,
    complete_text: String,
    sent: Option<Shown>,
    pages: Vec<AnsweredPage>,
    outcomes: Vec<OutcomeLine>,
    answers_level: u8,
    changeable: bool,
    revocation_requested: bool,
}

#[derive(Template)]
#[template(path = "form_cancel.html")]
struct CancelPage {
    layout: Layout,
    t: &'static Texts,
    form_id: String,
    csrf_token: String,
    heading: Heading,
    comment: Option<String>,
    /// A sent form: the question is whether to ask the clinic to withdraw the answers.
    revoke: bool,
}

/// ISO 639-2 (the template's `language`) to the BCP 47 tag of a `lang` attribute.
fn bcp47(language: &str) -> String {
    let language = language.to_ascii_lowercase();
    let tag = match language.as_str() {
        "swe" => "sv",
        "eng" => "en",
        "fin" => "fi",
        "nob" => "nb",
        "nno" => "nn",
        "nor" => "no",
        "dan" => "da",
        "deu" | "ger" => "de",
        "fra" | "fre" => "fr",
        "spa" => "es",
        "ara" => "ar",
        "som" => "so",
        "pol" => "pl",
        "fas" | "per" => "fa",
        "tir" => "ti",
        "tur" => "tr",
        // Languages without a two-letter code keep the three-letter one, which BCP 47 takes.
        _ => return language,
    };
    tag.to_owned()
}

fn date(value: Option<&str>) -> Option<NaiveDate> {
    value.and_then(|v| riv_time::parse_date(v).ok())
}

/// A contract timestamp (Swedish local time) as the pages show times.
fn local_time(value: Option<&str>) -> Option<Shown> {
    let local = riv_time::parse_form_timestamp(value?).ok()?;
    Some(Shown {
        text: local.format("%Y-%m-%d %H:%M").to_string(),
        machine: local.format("%Y-%m-%dT%H:%M").to_string(),
    })
}

pub fn heading(form: &Form, template: Option<&FormTemplate>, context: &PageContext) -> Heading {
    let t = context.texts();
    let name = form
        .form_template
        .as_ref()
        .and_then(|r| r.form_name.clone())
        .or_else(|| template.and_then(|t| t.form_name.clone()))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| t.form_default_name.to_owned());
    let content_lang = template
        .and_then(|t| t.language.as_deref())
        .map(bcp47)
        .filter(|lang| lang != context.lang.code());
    Heading {
        name,
        // An engine that knows no name gives the HSA-id, which means nothing to a citizen.
        care_unit: form
            .care_unit_name
            .clone()
            .filter(|n| !n.is_empty() && Some(n) != form.care_unit.as_ref()),
        form_text: form.form_text.clone().filter(|n| !n.is_empty()),
        answer_by: date(form.expire_date.as_deref()).map(Shown::date),
        last_saved: local_time(form.last_saved_date.as_deref()),
        content_lang,
    }
}

/// Past its last day: "can be filled in up to and including this date" (contracts §2.4).
pub fn is_expired(form: &Form) -> bool {
    form.form_status != FormStatus::Completed
        && (form.expired
            || date(form.expire_date.as_deref())
                .is_some_and(|last| riv_time::today_in_sweden() > last))
}

fn csrf(signed_in: &SignedIn) -> String {
    signed_in.session.csrf_token.clone()
}

/// The page a form's state calls for: the question page it is on, the summary, the receipt,
/// or the notice that the time to answer has run out.
pub async fn form(
    state: &AppState,
    context: &PageContext,
    signed_in: &SignedIn,
    form: &Form,
    page_state: PageState,
) -> Response {
    if is_expired(form) {
        return expired(context, signed_in, form);
    }
    let template = match template(state, signed_in, form).await {
        Ok(template) => Some(template),
        // The question pages can do without it (it gives only the language); the others cannot.
        Err(error) if form.current_page.is_some() && form.form_status == FormStatus::Ongoing => {
            tracing::warn!(%error, "the form's template could not be read");
            None
        }
        Err(error) => return failure::page(context, signed_in, &form.form_id, &error),
    };
    match (&form.current_page, form.form_status) {
        (_, FormStatus::Completed) => receipt(
            context,
            signed_in,
            form,
            template.as_deref(),
            page_state.sent_comment,
        ),
        (Some(page), FormStatus::Ongoing) => question_page(
            context,
            signed_in,
            form,
            page,
            template.as_deref(),
            &page_state,
        ),
        // Waiting on its summary whatever page the engine last showed (FORWARD never
        // reopens a form: api.md §5), or every page answered.
        (_, FormStatus::PendingCompletion) | (None, FormStatus::Ongoing) => summary(
            context,
            signed_in,
            form,
            template.as_deref(),
            page_state.comment,
            false,
        ),
    }
}

pub async fn template(
    state: &AppState,
    signed_in: &SignedIn,
    form: &Form,
) -> Result<std::sync::Arc<FormTemplate>, crate::engine::EngineError> {
    state
        .engine
        .template(&signed_in.citizen.profile.personal_identity_number, form)
        .await
}

fn question_page(
    context: &PageContext,
    signed_in: &SignedIn,
    form: &Form,
    page: &Page,
    template: Option<&FormTemplate>,
    page_state: &PageState,
) -> Response {
    let t = context.texts();
    let heading = heading(form, template, context);
    let rendered = markup::render(&PageInput {
        page,
        form_name: &heading.name,
        sent: page_state.sent.as_ref(),
        comment: page_state.comment.as_deref(),
        lang: Languages {
            page: context.lang.code(),
            content: heading.content_lang.as_deref(),
        },
        t: t.form,
    });
    let rendered = match rendered {
        Ok(rendered) => rendered,
        Err(error) => return page::fault(context, &error),
    };
    let mut layout = Layout::new(
        context,
        format!("{} – {}", rendered.title, heading.name),
        Some(signed_in),
        Section::None,
    );
    if rendered.has_errors {
        layout = layout.with_error(t.error_prefix);
    }
    let status = if rendered.has_errors {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page::render(
        status,
        &QuestionPage {
            layout,
            t,
            form_id: form.form_id.clone(),
            csrf_token: csrf(signed_in),
            heading,
            page_number: page.page_number,
            error_summary: rendered.error_summary,
            page_heading: rendered.heading,
            page_body: rendered.body,
            questions_field: rendered.questions_field,
            first_page: page.page_number <= 1,
            last_page: page.last_page,
            saved: page_state.saved,
        },
    )
}

/// PENDING_COMPLETION: every answer, each page with a link to change it, and the button
/// that sends the form.
pub fn summary(
    context: &PageContext,
    signed_in: &SignedIn,
    form: &Form,
    template: Option<&FormTemplate>,
    comment: Option<String>,
    term_error: bool,
) -> Response {
    let t = context.texts();
    let Some(template) = template else {
        return page::internal(context, &"a summary without its template");
    };
    let mut layout = Layout::new(context, t.summary_title, Some(signed_in), Section::None);
    let has_error = term_error || comment.is_some();
    if has_error {
        layout = layout.with_error(t.error_prefix);
    }
    page::render(
        if has_error {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        &SummaryPage {
            layout,
            t,
            form_id: form.form_id.clone(),
            csrf_token: csrf(signed_in),
            heading: heading(form, Some(template), context),
            pages: answers::pages(&form.page_answers, template, context.lang),
            outcomes: outcomes::lines(&form.calculation_outcome, t, context.lang),
            answers_level: 2,
            changeable: true,
            term: template.term.clone().filter(|term| !term.is_empty()),
            term_error,
            comment,
        },
    )
}

/// COMPLETED: what was sent, read-only.
fn receipt(
    context: &PageContext,
    signed_in: &SignedIn,
    form: &Form,
    template: Option<&FormTemplate>,
    sent_comment: Option<String>,
) -> Response {
    let t = context.texts();
    let Some(template) = template else {
        return page::internal(context, &"a receipt without its template");
    };
    page::render(
        StatusCode::OK,
        &ReceiptPage {
            layout: Layout::new(context, t.receipt_title, Some(signed_in), Section::None),
            t,
            form_id: form.form_id.clone(),
            csrf_token: String::new(),
            heading: heading(form, Some(template), context),
            // What SaveForm said just now, else the template's text, else the portal's own.
            complete_text: sent_comment
                .filter(|text| !text.trim().is_empty())
                .or_else(|| template.form_complete_text.clone())
                .filter(|text| !text.trim().is_empty())
                .unwrap_or_else(|| t.receipt_text.to_owned()),
            // When it was sent where the engine says so, else its last save (which sending is).
            sent: local_time(
                form.completed_date_time
                    .as_deref()
                    .or(form.last_saved_date.as_deref()),
            ),
            pages: answers::pages(&form.page_answers, template, context.lang),
            outcomes: outcomes::lines(&form.calculation_outcome, t, context.lang),
            answers_level: 3,
            changeable: false,
            revocation_requested: form.revocation_requested,
        },
    )
}

fn expired(context: &PageContext, signed_in: &SignedIn, form: &Form) -> Response {
    let t = context.texts();
    let last_day = date(form.expire_date.as_deref())
        .map(|d| Shown::date(d).text)
        .unwrap_or_default();
    page::message(
        context,
        Some(signed_in),
        StatusCode::GONE,
        t.form_expired_title,
        &t.form_expired_text.replace("{date}", &last_day),
        ("/inbox", t.back_to_inbox),
    )
}

pub fn cancel_confirmation(
    context: &PageContext,
    signed_in: &SignedIn,
    form: &Form,
    comment: Option<String>,
) -> Response {
    let t = context.texts();
    let revoke = form.form_status == FormStatus::Completed;
    let title = if revoke {
        t.revoke_title
    } else {
        t.cancel_title
    };
    let mut layout = Layout::new(context, title, Some(signed_in), Section::None);
    if comment.is_some() {
        layout = layout.with_error(t.error_prefix);
    }
    page::render(
        if comment.is_some() {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        },
        &CancelPage {
            layout,
            t,
            form_id: form.form_id.clone(),
            csrf_token: csrf(signed_in),
            heading: heading(form, None, context),
            comment,
            revoke,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(json: serde_json::Value) -> Form {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_heading_names_the_care_unit_by_name_only() {
        let (parts, ()) = http::Request::builder()
            .uri("/forms/x")
            .body(())
            .unwrap()
            .into_parts();
        let context = PageContext::from_parts(&parts);
        let named = form(serde_json::json!({"formId": "x", "formStatus": "ONGOING",
            "healthcare_facility_CareUnit": "SE1-CU", "healthcare_facility_CareUnitName": "Vårdcentralen"}));
        assert_eq!(
            heading(&named, None, &context).care_unit.as_deref(),
            Some("Vårdcentralen")
        );
        let unnamed = form(serde_json::json!({"formId": "x", "formStatus": "ONGOING",
            "healthcare_facility_CareUnit": "SE1-CU", "healthcare_facility_CareUnitName": "SE1-CU"}));
        assert_eq!(heading(&unnamed, None, &context).care_unit, None);
        assert_eq!(heading(&unnamed, None, &context).name, "Formulär");
    }

    #[test]
    fn a_form_past_its_last_day_or_marked_expired_has_expired() {
        let ongoing = |extra: serde_json::Value| {
            let mut json = serde_json::json!({"formId": "x", "formStatus": "ONGOING"});
            for (k, v) in extra.as_object().unwrap() {
                json[k] = v.clone();
            }
            form(json)
        };
        assert!(is_expired(&ongoing(
            serde_json::json!({"expireDate": "20200101"})
        )));
        assert!(is_expired(&ongoing(serde_json::json!({"expired": true}))));
        assert!(!is_expired(&ongoing(
            serde_json::json!({"expireDate": "20991231"})
        )));
        let mut sent = ongoing(serde_json::json!({"expireDate": "20200101"}));
        sent.form_status = FormStatus::Completed;
        assert!(!is_expired(&sent), "a sent form stays readable");
    }

    #[test]
    fn template_languages_become_lang_attributes() {
        assert_eq!(bcp47("swe"), "sv");
        assert_eq!(bcp47("ENG"), "en");
        assert_eq!(bcp47("smj"), "smj", "Lule Sami has no two-letter code");
    }
}
