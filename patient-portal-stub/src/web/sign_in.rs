//! Signing in as a test citizen (the stand-in for BankID) and signing out.
//!
//! The sign-in form has no session to bind a CSRF token to, so it uses a double-submit token:
//! a random value in an HttpOnly cookie that the form repeats. Another site can make a browser
//! send the cookie but cannot read it to put it in the form.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, StatusCode, header};
use serde::Deserialize;

use super::context::PageContext;
use super::layout::{Layout, Section};
use super::post::{CheckedPost, Fields};
use super::session::{self, MaybeSignedIn, SignedIn, safe_return_path};
use super::texts::Texts;
use super::{cookies, page, tokens};
use crate::api::AppState;
use crate::domain::PortalError;
use crate::domain::citizen::{Citizen, CitizenId};
use crate::domain::session::WebSession;

#[derive(Deserialize, Default)]
pub struct SignInQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInForm {
    citizen: Option<String>,
    csrf_token: Option<String>,
    next: Option<String>,
}

/// One choice on the sign-in page.
struct CitizenChoice {
    id: String,
    name: String,
    /// `19121212-1212`: how Swedes write a personnummer.
    number: String,
    /// Portal use and notifications, so a tester picks the right person.
    status: String,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    layout: Layout,
    t: &'static Texts,
    citizens: Vec<CitizenChoice>,
    csrf_token: String,
    next: Option<String>,
    error: Option<&'static str>,
    signed_out: bool,
}

fn choice(citizen: &Citizen, t: &Texts) -> CitizenChoice {
    let profile = &citizen.profile;
    let number = profile.personal_identity_number.as_str();
    let status = if profile.active {
        let channels: Vec<&str> = [
            (profile.notification_sms, t.citizen_sms),
            (profile.notification_email, t.citizen_email),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if channels.is_empty() {
            t.citizen_not_notified.to_owned()
        } else {
            channels.join(", ")
        }
    } else {
        t.citizen_inactive.to_owned()
    };
    CitizenChoice {
        id: citizen.id.to_string(),
        name: profile.name.clone(),
        number: format!("{}-{}", &number[..8], &number[8..]),
        status,
    }
}

/// The token the sign-in form repeats: the browser's, or a new one.
fn sign_in_token(headers: &HeaderMap) -> (String, bool) {
    match cookies::get(headers, cookies::SIGN_IN_CSRF).filter(|t| tokens::well_formed(t)) {
        Some(token) => (token.to_owned(), false),
        None => (tokens::random(), true),
    }
}

struct SignInView<'a> {
    context: &'a PageContext,
    user: Option<&'a SignedIn>,
    next: Option<String>,
    error: Option<&'static str>,
    signed_out: bool,
}

async fn sign_in_page(state: &AppState, headers: &HeaderMap, view: SignInView<'_>) -> Response {
    let citizens = match state.portal.citizens().await {
        Ok(citizens) => citizens,
        Err(error) => return page::fault(view.context, &error),
    };
    let t = view.context.texts();
    let (csrf_token, new_token) = sign_in_token(headers);
    let mut layout = Layout::new(view.context, t.sign_in_title, view.user, Section::None);
    if view.error.is_some() {
        layout = layout.with_error(t.error_prefix);
    }
    let status = if view.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut response = page::render(
        status,
        &SignInPage {
            layout,
            t,
            citizens: citizens.iter().map(|c| choice(c, t)).collect(),
            csrf_token: csrf_token.clone(),
            next: view.next,
            error: view.error,
            signed_out: view.signed_out,
        },
    );
    if new_token {
        response.headers_mut().append(
            header::SET_COOKIE,
            cookies::set(
                cookies::SIGN_IN_CSRF,
                &csrf_token,
                None,
                state.config.web.secure_cookies,
            ),
        );
    }
    response
}

/// `GET /sign-in`: choose a test citizen.
pub async fn show(
    State(state): State<AppState>,
    context: PageContext,
    MaybeSignedIn(user): MaybeSignedIn,
    headers: HeaderMap,
    query: Result<Query<SignInQuery>, QueryRejection>,
) -> Response {
    let Query(query) = query.unwrap_or_default();
    let view = SignInView {
        context: &context,
        user: user.as_ref(),
        next: query
            .next
            .as_deref()
            .and_then(safe_return_path)
            .map(str::to_owned),
        error: None,
        signed_out: query.signed_out.is_some(),
    };
    sign_in_page(&state, &headers, view).await
}

/// `POST /sign-in`: start a session as the chosen citizen.
pub async fn submit(
    State(state): State<AppState>,
    context: PageContext,
    MaybeSignedIn(user): MaybeSignedIn,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return page::bad_form(&context, user.as_ref());
    };
    let fields = [
        ("citizen", form.citizen.as_deref()),
        ("csrf_token", form.csrf_token.as_deref()),
        ("next", form.next.as_deref()),
    ];
    if !page::control_free(fields, |_| false) {
        return page::bad_form(&context, user.as_ref());
    }
    let expected = cookies::get(&headers, cookies::SIGN_IN_CSRF).filter(|t| tokens::well_formed(t));
    let token_matches = matches!(
        (expected, form.csrf_token.as_deref()),
        (Some(expected), Some(given)) if tokens::same(expected, given)
    );
    if !token_matches {
        tracing::info!("sign-in refused: CSRF token missing or wrong");
        return page::form_expired(&context, user.as_ref());
    }
    let next = form
        .next
        .as_deref()
        .and_then(safe_return_path)
        .map(str::to_owned);
    let citizen = match form.citizen.as_deref().and_then(CitizenId::parse) {
        Some(id) => match state.portal.citizen(id).await {
            Ok(citizen) => Some(citizen),
            Err(PortalError::CitizenNotFound) => None,
            Err(error) => return page::fault(&context, &error),
        },
        None => None,
    };
    let Some(citizen) = citizen else {
        let view = SignInView {
            context: &context,
            user: user.as_ref(),
            next,
            error: Some(context.texts().choose_citizen_error),
            signed_out: false,
        };
        return sign_in_page(&state, &headers, view).await;
    };
    match start_session(&state, &citizen, user.as_ref()).await {
        Ok(token) => {
            tracing::info!(citizen_id = %citizen.id, "citizen signed in");
            let secure = state.config.web.secure_cookies;
            let mut response = Redirect::to(next.as_deref().unwrap_or("/inbox")).into_response();
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                cookies::set(cookies::SESSION, &token, None, secure),
            );
            headers.append(
                header::SET_COOKIE,
                cookies::remove(cookies::SIGN_IN_CSRF, secure),
            );
            response
        }
        Err(error) => page::fault(&context, &error),
    }
}

/// A new session (a new id at every sign-in, so an id planted before sign-in is worthless);
/// the citizen's previous session in this browser ends.
async fn start_session(
    state: &AppState,
    citizen: &Citizen,
    previous: Option<&SignedIn>,
) -> Result<String, PortalError> {
    let now = session::now();
    let token = tokens::random();
    let session = WebSession {
        session_hash: tokens::session_hash(&token),
        citizen_id: citizen.id,
        csrf_token: tokens::random(),
        created_at: now,
        expires_at: now + session::idle_limit(state),
    };
    let previous = previous.map(|p| p.session.session_hash.as_str());
    state.portal.start_session(&session, previous).await?;
    Ok(token)
}

/// `POST /sign-out`: end the session.
pub async fn sign_out(
    State(state): State<AppState>,
    CheckedPost {
        context, signed_in, ..
    }: CheckedPost<Fields>,
) -> Response {
    if let Err(error) = state
        .portal
        .end_session(&signed_in.session.session_hash)
        .await
    {
        return page::fault(&context, &error);
    }
    tracing::info!(citizen_id = %signed_in.citizen.id, "citizen signed out");
    let mut response = Redirect::to("/sign-in?signed_out=1").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::remove(cookies::SESSION, state.config.web.secure_cookies),
    );
    response
}
