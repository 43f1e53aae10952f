//! Turning a template into a response, and the error pages.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;

use super::context::PageContext;
use super::layout::{Layout, Section};
use super::session::SignedIn;
use super::texts::Texts;

/// The page, or a bare 500 when the template fails (a bug: the cause goes to the log).
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "rendering a page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!DOCTYPE html><html lang=\"sv\"><title>Fel</title><h1>Något gick fel</h1></html>"),
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    t: &'static Texts,
    heading: &'a str,
    text: &'a str,
    link_href: &'a str,
    link_text: &'a str,
}

fn error_page(
    context: &PageContext,
    user: Option<&SignedIn>,
    status: StatusCode,
    heading: &str,
    text: &str,
) -> Response {
    let t = context.texts();
    let link = if user.is_some() {
        ("/inbox", t.back_to_inbox)
    } else {
        ("/", t.to_start)
    };
    message(context, user, status, heading, text, link)
}

/// A page that only says something: a heading, a text and one link onwards.
pub fn message(
    context: &PageContext,
    user: Option<&SignedIn>,
    status: StatusCode,
    heading: &str,
    text: &str,
    (link_href, link_text): (&str, &str),
) -> Response {
    render(
        status,
        &ErrorPage {
            layout: Layout::new(context, heading, user, Section::None),
            t: context.texts(),
            heading,
            text,
            link_href,
            link_text,
        },
    )
}

pub fn not_found(context: &PageContext, user: Option<&SignedIn>) -> Response {
    let t = context.texts();
    error_page(
        context,
        user,
        StatusCode::NOT_FOUND,
        t.not_found_title,
        t.not_found_text,
    )
}

/// A form POST whose CSRF token is missing or wrong (forged, or from an ended session).
pub fn form_expired(context: &PageContext, user: Option<&SignedIn>) -> Response {
    let t = context.texts();
    error_page(
        context,
        user,
        StatusCode::FORBIDDEN,
        t.expired_form_title,
        t.expired_form_text,
    )
}

/// A form body that is not a form.
pub fn bad_form(context: &PageContext, user: Option<&SignedIn>) -> Response {
    let t = context.texts();
    error_page(
        context,
        user,
        StatusCode::BAD_REQUEST,
        t.bad_form_title,
        t.bad_form_text,
    )
}

/// Whether every posted value is free of the control characters its input may not carry
/// (api.md §5): only free-text inputs (`free_text` by name) keep TAB, LF and CR. A post that
/// is not gets [`bad_form`] before anything reads it, so nothing with one reaches the engine
/// or a database.
pub fn control_free<'a>(
    fields: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    free_text: impl Fn(&str) -> bool,
) -> bool {
    use common::hygiene::{TextKind, forbidden_character};
    fields.into_iter().all(|(name, value)| {
        let kind = if free_text(name) {
            TextKind::FreeText
        } else {
            TextKind::Identifier
        };
        forbidden_character(name, TextKind::Identifier).is_none()
            && value.is_none_or(|value| forbidden_character(value, kind).is_none())
    })
}

/// A failure of the portal's own: the page of [`internal`], answered 503 with `Retry-After`
/// when the cause is a database that cannot serve now (a passing outage, not a fault), else 500.
pub fn fault(context: &PageContext, cause: &(dyn std::error::Error + 'static)) -> Response {
    tracing::error!(%cause, "a page failed");
    failure_page(context, common::problem::fault_status(cause))
}

/// A bug: the page says nothing of the cause, which goes to the log.
pub fn internal(context: &PageContext, cause: &dyn std::fmt::Display) -> Response {
    tracing::error!(%cause, "a page failed");
    failure_page(context, StatusCode::INTERNAL_SERVER_ERROR)
}

/// "Something went wrong, try again in a while", with `status`.
fn failure_page(context: &PageContext, status: StatusCode) -> Response {
    let t = context.texts();
    let mut response = error_page(
        context,
        None,
        status,
        t.internal_error_title,
        t.internal_error_text,
    );
    common::problem::mark_fault_page(&mut response);
    response
}
