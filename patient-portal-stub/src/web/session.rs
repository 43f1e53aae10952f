//! Who is signed in: a random opaque session id in an HttpOnly cookie, the session kept on the
//! server under the id's hash, ended after a configured idle time or at sign-out.

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use http::Method;
use http::request::Parts;

use super::context::{PageContext, encode_query};
use super::{cookies, page, tokens};
use crate::api::AppState;
use crate::domain::citizen::Citizen;
use crate::domain::session::WebSession;
use crate::domain::{PortalError, truncate_to_micros};

/// A signed-in citizen: handlers that take it are only reached with a live session.
pub struct SignedIn {
    pub citizen: Citizen,
    pub session: WebSession,
}

impl SignedIn {
    /// Whether a form's CSRF token is this session's.
    pub fn accepts(&self, csrf_token: Option<&str>) -> bool {
        csrf_token.is_some_and(|token| tokens::same(token, &self.session.csrf_token))
    }
}

/// The signed-in citizen, if any (pages that anyone may see).
pub struct MaybeSignedIn(pub Option<SignedIn>);

pub fn now() -> DateTime<Utc> {
    truncate_to_micros(Utc::now())
}

pub fn idle_limit(state: &AppState) -> Duration {
    Duration::minutes(i64::from(state.config.web.session_idle_minutes))
}

/// The session the request's cookie names, kept alive for another idle period.
async fn current(parts: &Parts, state: &AppState) -> Result<Option<SignedIn>, PortalError> {
    let Some(token) =
        cookies::get(&parts.headers, cookies::SESSION).filter(|token| tokens::well_formed(token))
    else {
        return Ok(None);
    };
    let hash = tokens::session_hash(token);
    let resumed = state
        .portal
        .resume_session(&hash, now(), idle_limit(state))
        .await?;
    Ok(resumed.map(|(citizen, session)| SignedIn { citizen, session }))
}

/// To the sign-in page, coming back here afterwards (for a page opened by a link while
/// signed out, such as a message's link in an SMS).
fn sign_in_first(parts: &Parts) -> Response {
    let back = (parts.method == Method::GET)
        .then(|| parts.uri.path_and_query().map(ToString::to_string))
        .flatten();
    match back {
        Some(back) => Redirect::to(&format!("/sign-in?{}", encode_query(&[("next", &back)]))),
        None => Redirect::to("/sign-in"),
    }
    .into_response()
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match current(parts, state).await {
            Ok(Some(signed_in)) => Ok(signed_in),
            Ok(None) => Err(sign_in_first(parts)),
            Err(error) => Err(page::fault(&PageContext::from_parts(parts), &error)),
        }
    }
}

impl FromRequestParts<AppState> for MaybeSignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        current(parts, state)
            .await
            .map(Self)
            .map_err(|error| page::fault(&PageContext::from_parts(parts), &error))
    }
}

/// Where a sign-in may send the citizen back to: a path on this site only (never `//host` or
/// a full URL, which would make the sign-in page an open redirect).
pub fn safe_return_path(value: &str) -> Option<&str> {
    let ok = value.starts_with('/')
        && !value.starts_with("//")
        && !value.starts_with("/\\")
        && value.len() <= 512
        && value.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_return_paths() {
        assert_eq!(safe_return_path("/inbox/1?x=2"), Some("/inbox/1?x=2"));
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "inbox",
            "/a b",
        ] {
            assert_eq!(safe_return_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_signed_out_get_returns_to_the_page_after_sign_in() {
        let (parts, ()) = http::Request::builder()
            .uri("/inbox/abc?lang=en")
            .body(())
            .unwrap()
            .into_parts();
        let response = sign_in_first(&parts);
        assert_eq!(response.status(), http::StatusCode::SEE_OTHER);
        assert_eq!(
            response.headers()[http::header::LOCATION],
            "/sign-in?next=%2Finbox%2Fabc%3Flang%3Den"
        );
    }
}
