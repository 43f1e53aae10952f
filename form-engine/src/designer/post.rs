//! What every POST of a signed-in member goes through before its handler reads it: a live
//! session, a body that is a form, no control character except in free text (TAB, LF, CR),
//! and this session's CSRF token. Each failure is the page that says so.

use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::Response;

use super::DesignerState;
use super::context::PageContext;
use super::respond;
use super::session::SignedIn;

/// The posted fields, in order, as a browser sends them (a name may repeat).
pub type Fields = Vec<(String, String)>;

/// The first value of field `name`.
pub fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Every value of field `name`.
pub fn all<'a>(fields: &'a Fields, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    fields
        .iter()
        .filter(move |(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Whether `value` has no control character but the line breaks and tabs of free text.
pub fn control_free(value: &str) -> bool {
    !value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// A signed-in member's checked post.
pub struct CheckedPost {
    pub context: PageContext,
    pub signed_in: SignedIn,
    pub fields: Fields,
}

impl FromRequest<DesignerState> for CheckedPost {
    type Rejection = Response;

    async fn from_request(request: Request, state: &DesignerState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let context = PageContext::from_parts(&parts);
        let signed_in = SignedIn::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let Ok(Form(fields)) = Form::<Fields>::from_request(request, state).await else {
            return Err(respond::bad_form(&context, Some(&signed_in)));
        };
        if !fields
            .iter()
            .all(|(k, v)| control_free(k) && control_free(v) && !k.contains(['\n', '\r', '\t']))
        {
            return Err(respond::bad_form(&context, Some(&signed_in)));
        }
        if !signed_in.accepts(field(&fields, "csrf_token")) {
            tracing::info!(
                staff = %signed_in.member.hsa_id,
                path = context.path(),
                "a designer form refused: CSRF token missing or wrong"
            );
            return Err(respond::form_expired(&context, Some(&signed_in)));
        }
        Ok(Self {
            context,
            signed_in,
            fields,
        })
    }
}
