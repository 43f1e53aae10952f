//! Signing in as a configured test staff member (the stand-in for SITHS) and signing out.
//!
//! The sign-in form has no session to bind a CSRF token to, so it uses a double-submit token:
//! a random value in an HttpOnly cookie that the form repeats.

use std::fmt::Write as _;

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, StatusCode, header};

use super::context::PageContext;
use super::html::{esc, page, role_name};
use super::post::{CheckedPost, Fields, control_free, field};
use super::session::{MaybeSignedIn, random_token, safe_return_path, same};
use super::{DesignerState, cookies, respond};

/// The token the sign-in form repeats: the browser's, or a new one.
fn sign_in_token(headers: &HeaderMap) -> (String, bool) {
    match cookies::get(headers, cookies::SIGN_IN_CSRF)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        Some(token) => (token.to_owned(), false),
        None => (random_token(), true),
    }
}

fn sign_in_page(
    state: &DesignerState,
    context: &PageContext,
    headers: &HeaderMap,
    next: Option<&str>,
    error: bool,
) -> Response {
    let l = context.lang;
    let title = l.pick("Logga in", "Sign in");
    if !state.stand_in {
        let main = format!(
            "<h1>{title}</h1><p>{}</p>",
            l.pick(
                "Formulärmotorn kräver autentisering, och testinloggningen är avstängd. Personal loggar in via organisationens identitetstjänst (se docs/security.md).",
                "The form engine enforces authentication and the test sign-in is switched off. Staff sign in through the organisation's identity provider (see docs/security.md)."
            )
        );
        return respond::render(StatusCode::FORBIDDEN, page(context, title, None, &main));
    }
    let (csrf_token, new_token) = sign_in_token(headers);
    let mut main = format!("<h1>{title}</h1>");
    if error {
        let _ = write!(
            main,
            r#"<div class="notice error" role="alert" id="sign-in-error"><p>{}</p></div>"#,
            l.pick("Välj vem du loggar in som.", "Choose who you sign in as.")
        );
    }
    let _ = write!(
        main,
        r#"<p>{}</p><form method="post" action="/designer/sign-in" id="sign-in-form"><input type="hidden" name="csrf_token" value="{}">"#,
        l.pick(
            "Det här är en ersättare för inloggning med SITHS-kort. Välj en testperson ur konfigurationen.",
            "This stands in for signing in with a SITHS card. Choose a test person from the configuration."
        ),
        esc(&csrf_token)
    );
    if let Some(next) = next {
        let _ = write!(
            main,
            r#"<input type="hidden" name="next" value="{}">"#,
            esc(next)
        );
    }
    let _ = write!(
        main,
        "<fieldset><legend>{}</legend>",
        l.pick("Testpersonal", "Test staff")
    );
    if state.staff.is_empty() {
        let _ = write!(
            main,
            "<p>{}</p>",
            l.pick(
                "Ingen testpersonal är konfigurerad ([[designer.staff]]).",
                "No test staff is configured ([[designer.staff]])."
            )
        );
    }
    for member in state.staff.iter() {
        let id = format!("staff-{}", member.hsa_id);
        let units: Vec<&str> = member
            .care_units
            .iter()
            .map(common::identity::HsaId::as_str)
            .collect();
        let _ = write!(
            main,
            r#"<div class="field check"><input type="radio" name="staff" id="{id}" value="{}"><label for="{id}">{} ({}) – {}</label></div>"#,
            esc(member.hsa_id.as_str()),
            esc(&member.name),
            role_name(l, member.role),
            esc(&units.join(", "))
        );
    }
    let _ = write!(
        main,
        r#"</fieldset><button type="submit" id="sign-in">{}</button></form>"#,
        l.pick("Logga in", "Sign in")
    );
    let status = if error {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let shown = if error {
        format!("{}: {title}", l.pick("Fel", "Error"))
    } else {
        title.to_owned()
    };
    let mut response = respond::render(status, page(context, &shown, None, &main));
    if new_token {
        response.headers_mut().append(
            header::SET_COOKIE,
            cookies::set(
                cookies::SIGN_IN_CSRF,
                &csrf_token,
                None,
                state.secure_cookies,
            ),
        );
    }
    response
}

/// `GET /designer/sign-in`.
pub async fn show(
    State(state): State<DesignerState>,
    context: PageContext,
    headers: HeaderMap,
) -> Response {
    let next = context
        .query("next")
        .and_then(safe_return_path)
        .map(str::to_owned);
    sign_in_page(&state, &context, &headers, next.as_deref(), false)
}

/// `POST /designer/sign-in`: start a session as the chosen staff member.
pub async fn submit(
    State(state): State<DesignerState>,
    context: PageContext,
    MaybeSignedIn(user): MaybeSignedIn,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    if !state.stand_in {
        return sign_in_page(&state, &context, &headers, None, false);
    }
    let Ok(Form(fields)) = form else {
        return respond::bad_form(&context, None);
    };
    if !fields
        .iter()
        .all(|(k, v)| control_free(k) && control_free(v))
    {
        return respond::bad_form(&context, None);
    }
    let expected = cookies::get(&headers, cookies::SIGN_IN_CSRF);
    let token_matches = matches!(
        (expected, field(&fields, "csrf_token")),
        (Some(expected), Some(given)) if same(expected, given)
    );
    if !token_matches {
        tracing::info!("designer sign-in refused: CSRF token missing or wrong");
        return respond::form_expired(&context, None);
    }
    let next = field(&fields, "next")
        .and_then(safe_return_path)
        .map(str::to_owned);
    let chosen =
        field(&fields, "staff").and_then(|id| state.staff.iter().find(|m| m.hsa_id.as_str() == id));
    let Some(member) = chosen else {
        return sign_in_page(&state, &context, &headers, next.as_deref(), true);
    };
    let token = state
        .sessions
        .start(member.clone(), user.as_ref().map(|u| u.token.as_str()));
    tracing::info!(staff = %member.hsa_id, "staff member signed in to the designer (stand-in)");
    let secure = state.secure_cookies;
    let mut response = Redirect::to(next.as_deref().unwrap_or("/designer/")).into_response();
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

/// `POST /designer/sign-out`.
pub async fn sign_out(State(state): State<DesignerState>, post: CheckedPost) -> Response {
    state.sessions.end(&post.signed_in.token);
    tracing::info!(staff = %post.signed_in.member.hsa_id, "staff member signed out of the designer");
    let mut response = Redirect::to("/designer/sign-in").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::remove(cookies::SESSION, state.secure_cookies),
    );
    response
}
