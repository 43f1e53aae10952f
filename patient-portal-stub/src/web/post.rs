//! What every POST of a signed-in citizen's form goes through before its handler reads it: a
//! live session ([`SignedIn`]), a body that is a form, no control character where its input
//! may not carry one (api.md §5), and this session's CSRF token. Each failure is the page that
//! says so; the handler only sees a checked post.

use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::Response;
use serde::de::DeserializeOwned;

use super::context::PageContext;
use super::page;
use super::session::SignedIn;
use crate::api::AppState;

/// The posted fields, in order, as a browser sends them (a name may repeat).
pub type Fields = Vec<(String, String)>;

/// The first value of field `name`.
pub fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// A form a page posts.
pub trait PostedForm: DeserializeOwned {
    /// Whether the input `name` is free text, which keeps TAB, LF and CR; every other input
    /// may carry no control character at all.
    fn free_text(_name: &str) -> bool {
        false
    }
}

impl PostedForm for Fields {}

/// A signed-in citizen's checked post of `T`.
pub struct CheckedPost<T> {
    pub context: PageContext,
    pub signed_in: SignedIn,
    pub form: T,
}

impl<T: PostedForm> CheckedPost<T> {
    /// Checks the body of a post `signed_in` made.
    pub async fn check(
        request: Request,
        state: &AppState,
        context: PageContext,
        signed_in: SignedIn,
    ) -> Result<Self, Response> {
        let Ok(Form(fields)) = Form::<Fields>::from_request(request, state).await else {
            return Err(page::bad_form(&context, Some(&signed_in)));
        };
        let named = fields.iter().map(|(k, v)| (k.as_str(), Some(v.as_str())));
        if !page::control_free(named, T::free_text) {
            return Err(page::bad_form(&context, Some(&signed_in)));
        }
        if !signed_in.accepts(field(&fields, "csrf_token")) {
            tracing::info!(
                citizen_id = %signed_in.citizen.id,
                path = context.path(),
                "a form refused: CSRF token missing or wrong"
            );
            return Err(page::form_expired(&context, Some(&signed_in)));
        }
        let form = serde_urlencoded::to_string(&fields)
            .ok()
            .and_then(|encoded| serde_urlencoded::from_str::<T>(&encoded).ok());
        match form {
            Some(form) => Ok(Self {
                context,
                signed_in,
                form,
            }),
            None => Err(page::bad_form(&context, Some(&signed_in))),
        }
    }
}

impl<T: PostedForm> FromRequest<AppState> for CheckedPost<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let context = PageContext::from_parts(&parts);
        let signed_in = SignedIn::from_request_parts(&mut parts, state).await?;
        Self::check(Request::from_parts(parts, body), state, context, signed_in).await
    }
}
