//! The citizen's web pages: server-rendered HTML (askama templates, checked at compile time),
//! no script, in Swedish with English available.
//!
//! | Page | What |
//! |---|---|
//! | `GET /` | to the inbox when signed in, else to the sign-in page |
//! | `GET/POST /sign-in` | choose a test citizen (the stand-in for BankID) |
//! | `POST /sign-out` | end the session |
//! | `GET /inbox` | the messages, unread ones marked |
//! | `GET /inbox/{messageId}` | a message and its link; marks it read |
//! | `GET /notifications` | the simulated SMS/e-mail sent to the citizen |
//! | `/forms/{formId}...` | a form: its pages, summary, receipt and cancelling ([`forms`]) |
//!
//! Adding pages: a handler takes [`session::SignedIn`] (which sends a
//! signed-out visitor to the sign-in page and back) and [`context::PageContext`] (language);
//! it renders a template that extends `base.html` with a [`layout::Layout`]; every form it
//! shows carries the session's CSRF token (`layout.user.csrf_token`) and its POST handler
//! checks it with [`session::SignedIn::accepts`]. Texts go into [`texts::Texts`], once per
//! language. Calls to the form engine go through its contracts at `form_engine_url`, with the
//! citizen's personal identity number as `subjectOfCare`.

mod assets;
pub mod context;
mod cookies;
mod forms;
mod inbox;
pub mod layout;
mod notifications;
pub mod page;
pub mod session;
mod sign_in;
pub mod texts;
mod tokens;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, routing};
use http::{HeaderValue, header};

use crate::api::AppState;
use session::MaybeSignedIn;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in::show).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/inbox", get(inbox::list))
        .route("/inbox/{message_id}", get(inbox::show))
        .route("/notifications", get(notifications::list))
        .merge(forms::router())
        .route(assets::STYLESHEET_PATH, routing::get(assets::stylesheet))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            context::remember_language,
        ))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// `GET /`: where a citizen starts.
async fn home(MaybeSignedIn(user): MaybeSignedIn) -> Response {
    let to = if user.is_some() { "/inbox" } else { "/sign-in" };
    Redirect::to(to).into_response()
}

/// Headers for every page: no framing, no outside resources or scripts, no caching of
/// personal pages, and no referrer leaving the site (a message's link must not tell the
/// linked site which message it came from).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
