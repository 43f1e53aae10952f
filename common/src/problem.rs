//! RFC 9457 problem documents, the error body of api.md §1: `{"type","title","status","detail","code"}`
//! with `Content-Type: application/problem+json`. `code` is the stable machine code callers test on.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, MissingJsonContentType, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// The code of [`Problem::database_unavailable`].
pub const DATABASE_UNAVAILABLE: &str = "DATABASE_UNAVAILABLE";

/// The code of [`Problem::internal`].
pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";

/// An RFC 9457 problem document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:nordform:problem:EI004",
    "title": "Bad Request",
    "status": 400,
    "detail": "EI004: The payload does not validate, error message: mandatory field \"serviceDomain\" is missing",
    "code": "EI004"
}))]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:nordform:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// The HTTP reason phrase of `status`.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong, for a person: names the field or the rule.
    pub detail: String,
    /// A stable machine code: `EI000`..`EI006`, `FORM_NOT_FOUND`, `MALFORMED_JSON`, `UNAUTHORIZED`...
    pub code: String,
}

impl Problem {
    pub fn new(status: StatusCode, code: impl Into<String>, detail: impl Into<String>) -> Self {
        let code = code.into();
        Self {
            problem_type: format!("urn:nordform:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code,
        }
    }

    pub fn bad_request(code: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn not_found(code: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }

    pub fn forbidden(code: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }

    pub fn conflict(code: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// A fault in the service (an outage of its database is [`Problem::fault`]'s 503): the body
    /// says nothing of the cause, which goes to the log.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            INTERNAL_ERROR,
            "An internal error occurred. It has been logged; quote the correlation id when reporting it.",
        )
    }

    pub fn unavailable(code: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail)
    }

    /// The answer to a request that failed for a reason of the service's own: 503
    /// `DATABASE_UNAVAILABLE` (with `Retry-After`) when `cause` is a database that cannot serve
    /// now ([`crate::db::is_unavailable`]: down, restarting, failing over, out of connections),
    /// else the opaque 500 of a fault. The cause goes to the log, never to the caller.
    pub fn fault(cause: &(dyn std::error::Error + 'static)) -> Self {
        if crate::db::is_unavailable(cause) {
            Self::database_unavailable()
        } else {
            Self::internal()
        }
    }

    /// 503 `DATABASE_UNAVAILABLE`: see [`Problem::fault`].
    pub fn database_unavailable() -> Self {
        Self::unavailable(
            DATABASE_UNAVAILABLE,
            "The service's database cannot serve requests now (restarting, failing over or \
             overloaded). Try again after Retry-After; the outage has been logged.",
        )
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The status of a failure of the service's own: 503 when `cause` is a database that cannot
/// serve now ([`crate::db::is_unavailable`]), else 500. For answers that are not problem
/// documents (pages); [`Problem::fault`] is the same for problem documents.
pub fn fault_status(cause: &(dyn std::error::Error + 'static)) -> StatusCode {
    if crate::db::is_unavailable(cause) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

/// Marks a page answering a failure of the service's own ([`fault_status`]) with the problem
/// code a document would carry (`DATABASE_UNAVAILABLE` or `INTERNAL_ERROR`), so that the
/// metrics and alerts count the citizen's and the designer's pages with the API's answers,
/// and says when to try again ([`retry_later`]).
pub fn mark_fault_page(response: &mut Response) {
    let code = if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        DATABASE_UNAVAILABLE
    } else {
        INTERNAL_ERROR
    };
    response
        .extensions_mut()
        .insert(ProblemCode(code.to_owned()));
    retry_later(response);
}

/// Says on a 503 when to try again (`Retry-After: 5`), for problem documents and pages alike.
pub fn retry_later(response: &mut Response) {
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.detail)
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        retry_later(&mut response);
        response.extensions_mut().insert(ProblemCode(self.code));
        response
    }
}

/// The code of the problem an answer carries, for the metrics (`http_problems_total`), so that
/// an alert can tell `DATABASE_UNAVAILABLE` from the other 503s without reading bodies.
#[derive(Clone, Debug)]
pub struct ProblemCode(pub String);

impl ProblemCode {
    /// The code as a metric label: the codes are the services' own constants, but a label must
    /// never carry what a caller sent, so anything but `A-Z`, `0-9` and `_` reads `OTHER`.
    pub fn label(&self) -> &str {
        let code = self.0.as_str();
        let plain = !code.is_empty()
            && code.len() <= 48
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if plain { code } else { "OTHER" }
    }
}

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonSyntaxError(e) => Self::bad_request(
                "MALFORMED_JSON",
                format!("The body is not valid JSON: {}", e.body_text()),
            ),
            JsonRejection::JsonDataError(e) => Self::bad_request(
                "INVALID_REQUEST",
                format!("The body does not match the contract: {}", e.body_text()),
            ),
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "Send the body as JSON with `Content-Type: application/json`.",
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "The request body is larger than this service accepts.",
            ),
            other => Self::bad_request("INVALID_REQUEST", other.body_text()),
        }
    }
}

/// `axum::Json`, but a body that cannot be read answers with a problem document, and a body
/// whose strings carry a control character (api.md §5) is refused, naming the member, before
/// anything reads it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_body(request, state).await?;
        refuse_control_characters(&bytes)?;
        parse_json(&bytes).map(Self)
    }
}

/// `ApiJson` without the control-character check, for handlers whose contract words that
/// refusal itself (the engagement index answers it as EI004 in skltp's validation order).
#[derive(Debug, Clone, Copy, Default)]
pub struct UncheckedJson<T>(pub T);

impl<S, T> FromRequest<S> for UncheckedJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_body(request, state).await?;
        parse_json(&bytes).map(Self)
    }
}

fn is_json_content_type(headers: &http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

async fn json_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, Problem> {
    if !is_json_content_type(request.headers()) {
        return Err(Problem::from(JsonRejection::MissingJsonContentType(
            MissingJsonContentType::default(),
        )));
    }
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    "The request body is larger than this service accepts.",
                )
            } else {
                Problem::bad_request("INVALID_REQUEST", rejection.body_text())
            }
        })
}

fn refuse_control_characters(bytes: &[u8]) -> Result<(), Problem> {
    if !crate::hygiene::json_may_carry_control(bytes) {
        return Ok(());
    }
    // Malformed JSON is left to the parser, which says so.
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(());
    };
    crate::hygiene::check_json(&value, &crate::hygiene::default_kind).map_err(|error| {
        Problem::bad_request(
            "INVALID_REQUEST",
            format!("The body does not match the contract: {error}"),
        )
    })
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    axum::Json::<T>::from_bytes(bytes)
        .map(|axum::Json(value)| value)
        .map_err(Problem::from)
}

/// `axum::extract::Query`, but a query string that cannot be read, or whose values carry a
/// control character, answers with a problem document naming the parameter.
#[derive(Debug, Clone, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let invalid = |detail: String| {
            Problem::bad_request(
                "INVALID_REQUEST",
                format!("The query string is not valid: {detail}"),
            )
        };
        let axum::extract::Query(pairs) =
            axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
                .map_err(|rejection| invalid(rejection.body_text()))?;
        for (name, value) in &pairs {
            crate::hygiene::check(name, name, crate::hygiene::TextKind::Identifier)
                .and_then(|()| {
                    crate::hygiene::check(name, value, crate::hygiene::TextKind::Identifier)
                })
                .map_err(|error| invalid(error.to_string()))?;
        }
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| invalid(rejection.body_text()))
    }
}

/// `axum::extract::Path`, but a path segment that cannot be read, or that carries a control
/// character, answers with a problem document naming the parameter.
#[derive(Debug, Clone, Default)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let path_error = |rejection: PathRejection| {
            Problem::bad_request(
                "INVALID_REQUEST",
                format!("The path is not valid: {}", rejection.body_text()),
            )
        };
        let axum::extract::Path(segments) =
            axum::extract::Path::<Vec<(String, String)>>::from_request_parts(parts, state)
                .await
                .map_err(path_error)?;
        for (name, value) in &segments {
            crate::hygiene::check(name, value, crate::hygiene::TextKind::Identifier).map_err(
                |error| {
                    Problem::bad_request(
                        "INVALID_REQUEST",
                        format!("The path is not valid: {error}"),
                    )
                },
            )?;
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(path_error)
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// An optional integer as JSON Schema's `integer` has it: `5.0` is 5 (serde's i64 refuses it),
/// for `#[serde(default, deserialize_with = "common::problem::integral")]`.
pub fn integral<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    // Beyond 2^53 a float is no longer exact; the bounds refuse such values anyway.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    #[allow(clippy::cast_possible_truncation, reason = "integral and within 2^53")]
    let whole = number.as_i64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() <= EXACT)
            .map(|f| f as i64)
    });
    whole.map(Some).ok_or_else(|| {
        serde::de::Error::custom(format!("{number} is not an integer within bounds"))
    })
}

/// Middleware: an error answer that is not already a problem document (a rejection written by
/// a library, as plain text or with no body) becomes one, so every refusal has one shape
/// (api.md §5). Pages for browsers (HTML) are left as they are.
pub async fn every_refusal_a_problem(request: Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with(CONTENT_TYPE) || content_type.starts_with("text/html") {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let (code, detail) = match status {
        StatusCode::BAD_REQUEST => ("INVALID_REQUEST", text),
        StatusCode::NOT_FOUND => ("NOT_FOUND", text),
        StatusCode::METHOD_NOT_ALLOWED => ("METHOD_NOT_ALLOWED", text),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "PAYLOAD_TOO_LARGE",
            "The request body is larger than this service accepts.".to_owned(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("UNSUPPORTED_MEDIA_TYPE", text),
        // A server error's text may name internals: it goes to the log, not to the caller.
        status if status.is_server_error() => {
            tracing::error!(%status, body = %text, "an error answer without a problem document");
            let mut problem = Problem::internal();
            if status != StatusCode::INTERNAL_SERVER_ERROR {
                problem = Problem::new(
                    status,
                    "UNAVAILABLE",
                    "The service cannot answer now; try again later.",
                );
            }
            return with_headers(problem.into_response(), &parts.headers);
        }
        _ => ("REFUSED", text),
    };
    let detail = if detail.is_empty() {
        status.canonical_reason().unwrap_or("Refused").to_owned()
    } else {
        detail
    };
    with_headers(
        Problem::new(status, code, detail).into_response(),
        &parts.headers,
    )
}

/// Keeps the headers of the answer being replaced (correlation id, Retry-After, Allow...),
/// except those describing its old body.
fn with_headers(mut response: Response, original: &http::HeaderMap) -> Response {
    let own: Vec<header::HeaderName> = response.headers().keys().cloned().collect();
    for (name, value) in original {
        if !own.contains(name) && name != header::CONTENT_LENGTH {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    response
}

/// Fallback for paths no route serves.
pub async fn not_found(uri: http::Uri) -> Problem {
    Problem::not_found("NOT_FOUND", format!("No endpoint at {}.", uri.path()))
}

/// Fallback for a known path called with the wrong method.
pub async fn method_not_allowed(method: http::Method, uri: http::Uri) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("{} is not allowed on {}.", method, uri.path()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_answer_carries_its_code_for_the_metrics_and_a_label_never_carries_input() {
        let response = Problem::unavailable(DATABASE_UNAVAILABLE, "down").into_response();
        let code = response.extensions().get::<ProblemCode>().unwrap();
        assert_eq!(code.label(), "DATABASE_UNAVAILABLE");
        for odd in ["", "lower_case", "EI000 OR 1=1", &"A".repeat(49)] {
            assert_eq!(ProblemCode(odd.to_owned()).label(), "OTHER", "{odd}");
        }
        assert_eq!(ProblemCode("EI004".to_owned()).label(), "EI004");
    }

    #[test]
    fn serialises_with_the_rfc_9457_member_names() {
        let problem = Problem::bad_request("EI000", "EI000: A technical error has occurred");
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(json["type"], "urn:nordform:problem:EI000");
        assert_eq!(json["title"], "Bad Request");
        assert_eq!(json["status"], 400);
        assert_eq!(json["code"], "EI000");
    }

    #[test]
    fn responds_with_the_problem_content_type() {
        let response = Problem::not_found("FORM_NOT_FOUND", "No form 1").into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
    }
}
