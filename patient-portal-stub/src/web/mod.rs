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
//! takes a [`post::CheckedPost`] (or, under `/forms/{formId}`, a `forms::FormPost`), which
//! checks the session, the body, its characters and the token before the handler runs. Texts
//! go into [`texts::Texts`], once per language. Handlers call the domain's operations
//! ([`crate::domain::Portal`]), never the store. Calls to the form engine go through its
//! contracts at `form_engine_url`, with the citizen's personal identity number as
//! `subjectOfCare`.

mod assets;
pub mod context;
mod cookies;
mod forms;
mod headers;
mod inbox;
pub mod layout;
mod notifications;
pub mod page;
pub mod post;
pub mod session;
mod sign_in;
pub mod texts;
mod tokens;

use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, routing};

use crate::api::AppState;
use session::MaybeSignedIn;

/// The pages, with their security headers (`headers`; HSTS when `over_tls`).
pub fn router(state: AppState, over_tls: bool) -> Router {
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
        .layer(middleware::from_fn_with_state(
            headers::page_headers(over_tls),
            common::server::pages::security_headers,
        ))
        .with_state(state)
}

/// `GET /`: where a citizen starts.
async fn home(MaybeSignedIn(user): MaybeSignedIn) -> Response {
    let to = if user.is_some() { "/inbox" } else { "/sign-in" };
    Redirect::to(to).into_response()
}
