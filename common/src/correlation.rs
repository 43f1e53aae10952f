//! The `x-skltp-correlation-id` of RIV-TA: taken from the request or generated, echoed on the
//! response, recorded on the request's span, and sent on every outgoing call made while the
//! request is handled.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use uuid::Uuid;

pub const HEADER: &str = "x-skltp-correlation-id";

/// Longest correlation id taken from a caller; a longer or non-printable one is replaced.
const MAX_LEN: usize = 128;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorrelationId(String);

impl CorrelationId {
    pub fn new() -> Self {
        Self(Uuid::new_v4().to_string())
    }

    /// The caller's id when it is a sane header value, else `None`.
    pub fn from_header(value: &HeaderValue) -> Option<Self> {
        let text = value.to_str().ok()?.trim();
        let acceptable =
            !text.is_empty() && text.len() <= MAX_LEN && text.bytes().all(|b| b.is_ascii_graphic());
        acceptable.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for CorrelationId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

tokio::task_local! {
    static CURRENT: CorrelationId;
}

/// The correlation id of the request being handled on this task, if any.
pub fn current() -> Option<CorrelationId> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Runs `future` with `id` as the current correlation id (for background work such as
/// delivering an outbox row, which carries the id of the request that wrote it).
pub async fn scope<F: Future>(id: CorrelationId, future: F) -> F::Output {
    CURRENT.scope(id, future).await
}

/// Middleware: must run before the trace layer so the request span can record the id.
pub async fn middleware(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(CorrelationId::from_header)
        .unwrap_or_default();
    request.extensions_mut().insert(id.clone());
    let mut response = CURRENT.scope(id.clone(), next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_sane_id_and_refuses_odd_ones() {
        let kept = CorrelationId::from_header(&HeaderValue::from_static("abc-123")).unwrap();
        assert_eq!(kept.as_str(), "abc-123");
        assert!(CorrelationId::from_header(&HeaderValue::from_static("")).is_none());
        assert!(CorrelationId::from_header(&HeaderValue::from_static("a b")).is_none());
        let long = "x".repeat(MAX_LEN + 1);
        assert!(CorrelationId::from_header(&HeaderValue::from_str(&long).unwrap()).is_none());
    }

    #[tokio::test]
    async fn current_is_set_inside_a_scope_only() {
        assert!(current().is_none());
        let id = CorrelationId::new();
        let seen = scope(id.clone(), async { current() }).await;
        assert_eq!(seen, Some(id));
    }
}
