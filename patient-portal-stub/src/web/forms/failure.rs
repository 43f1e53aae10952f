//! When the form engine gives no usable answer: a page that says what the citizen can do,
//! never the engine's problem document.

use axum::response::Response;
use http::StatusCode;

use crate::engine::EngineError;
use crate::web::context::PageContext;
use crate::web::page;
use crate::web::session::SignedIn;

pub fn page(
    context: &PageContext,
    signed_in: &SignedIn,
    form_id: &str,
    error: &EngineError,
) -> Response {
    let t = context.texts();
    let form_href = format!("/forms/{form_id}");
    let to_form = (form_href.as_str(), t.back_to_form);
    let to_inbox = ("/inbox", t.back_to_inbox);
    let (status, heading, text, link) = match error.status() {
        Some(StatusCode::NOT_FOUND | StatusCode::GONE) => (
            StatusCode::NOT_FOUND,
            t.form_not_found_title,
            t.form_not_found_text,
            to_inbox,
        ),
        Some(StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED) => (
            StatusCode::FORBIDDEN,
            t.form_forbidden_title,
            t.form_forbidden_text,
            to_inbox,
        ),
        Some(StatusCode::CONFLICT) => (
            StatusCode::CONFLICT,
            t.form_conflict_title,
            t.form_conflict_text,
            to_form,
        ),
        // The engine refused what the portal asked (a navigation it does not allow, say).
        Some(status) if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS => (
            StatusCode::BAD_REQUEST,
            t.form_refused_title,
            t.form_refused_text,
            to_form,
        ),
        // 5xx, 429, no answer, or an answer the portal cannot read.
        _ => {
            tracing::warn!(%error, "the form pages cannot use the form engine");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                t.form_unavailable_title,
                t.form_unavailable_text,
                to_form,
            )
        }
    };
    page::message(context, Some(signed_in), status, heading, text, link)
}
