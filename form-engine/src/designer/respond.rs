//! Answers every designer handler shares: a rendered page, and the pages of the failures
//! (not found, a post that is not a form, an expired form, an internal error).

use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;

use super::context::PageContext;
use super::html::{esc, page};
use super::session::SignedIn;

pub fn render(status: StatusCode, html: String) -> Response {
    (status, Html(html)).into_response()
}

fn message(
    context: &PageContext,
    user: Option<&SignedIn>,
    status: StatusCode,
    title: &str,
    text: &str,
) -> Response {
    let back = context.lang.pick("Till mallarna", "To the templates");
    let main = format!(
        r#"<h1>{}</h1><p>{}</p><p><a href="/designer/">{back}</a></p>"#,
        esc(title),
        esc(text)
    );
    render(status, page(context, title, user, &main))
}

/// Unknown, or of a care unit the member does not work for: one answer for both.
pub fn not_found(context: &PageContext, user: Option<&SignedIn>) -> Response {
    let l = context.lang;
    message(
        context,
        user,
        StatusCode::NOT_FOUND,
        l.pick("Hittades inte", "Not found"),
        l.pick(
            "Det finns ingen sådan mall, eller så hör den till en vårdenhet du inte arbetar för.",
            "There is no such template, or it belongs to a care unit you do not work for.",
        ),
    )
}

pub fn bad_form(context: &PageContext, user: Option<&SignedIn>) -> Response {
    let l = context.lang;
    message(
        context,
        user,
        StatusCode::BAD_REQUEST,
        l.pick("Formuläret kunde inte läsas", "The form could not be read"),
        l.pick(
            "Det som skickades var inte ett formulär från designern, eller innehöll otillåtna tecken.",
            "What was sent was not a form of the designer, or it held characters that are not allowed.",
        ),
    )
}

/// A missing or wrong CSRF token: the page was old (or another site posted).
pub fn form_expired(context: &PageContext, user: Option<&SignedIn>) -> Response {
    let l = context.lang;
    message(
        context,
        user,
        StatusCode::FORBIDDEN,
        l.pick("Sidan var för gammal", "The page had expired"),
        l.pick(
            "Formuläret hörde till en tidigare inloggning. Öppna sidan igen och försök på nytt.",
            "The form belonged to an earlier sign-in. Open the page again and try once more.",
        ),
    )
}

pub fn forbidden(context: &PageContext, user: Option<&SignedIn>, text: &str) -> Response {
    let l = context.lang;
    message(
        context,
        user,
        StatusCode::FORBIDDEN,
        l.pick("Inte tillåtet", "Not allowed"),
        text,
    )
}

/// A failure of the engine's own: 500, or 503 with `Retry-After` when the database cannot
/// serve now (a passing outage, not a fault); the same words either way.
pub fn internal(
    context: &PageContext,
    user: Option<&SignedIn>,
    error: &(dyn std::error::Error + 'static),
) -> Response {
    tracing::error!(%error, "a designer page failed");
    let l = context.lang;
    let mut response = message(
        context,
        user,
        common::problem::fault_status(error),
        l.pick("Något gick fel", "Something went wrong"),
        l.pick(
            "Ändringen kunde inte göras. Försök igen om en stund.",
            "The change could not be made. Try again in a while.",
        ),
    );
    common::problem::mark_fault_page(&mut response);
    response
}
