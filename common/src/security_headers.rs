//! Security headers for HTML pages (the citizen's pages): a strict Content-Security-Policy
//! (`default-src 'self'`, `frame-ancestors 'none'`), `X-Content-Type-Options: nosniff`,
//! `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`, and HSTS when served over TLS.
//!
//! Wrap the page routes only: `/docs` (Swagger UI) needs inline scripts the policy forbids.
//! A header a handler already set is left as it is.

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use http::{HeaderName, HeaderValue, header};

/// The default policy: everything from this origin only, no framing, no plugins.
pub const DEFAULT_CSP: &str = "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; \
    form-action 'self'; object-src 'none'";

/// Which headers to send.
#[derive(Clone, Debug)]
pub struct SecurityHeaders {
    csp: HeaderValue,
    hsts: bool,
}

impl SecurityHeaders {
    /// The default policy; `hsts` when the service is served over TLS (HSTS over plain HTTP is
    /// ignored by browsers and would break a later plain-HTTP development set-up).
    pub fn new(hsts: bool) -> Self {
        Self {
            csp: HeaderValue::from_static(DEFAULT_CSP),
            hsts,
        }
    }

    /// Replaces the Content-Security-Policy (it must be a valid header value).
    pub fn with_csp(mut self, policy: &str) -> Result<Self, http::header::InvalidHeaderValue> {
        self.csp = HeaderValue::from_str(policy)?;
        Ok(self)
    }

    /// Wraps `routes`: every response of theirs gets the headers.
    pub fn apply<S>(self, routes: Router<S>) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        routes.layer(middleware::from_fn_with_state(self, add_headers))
    }

    fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let mut headers = vec![
            (header::CONTENT_SECURITY_POLICY, self.csp.clone()),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        ];
        if self.hsts {
            headers.push((
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            ));
        }
        headers
    }
}

async fn add_headers(
    State(config): State<SecurityHeaders>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in config.headers() {
        if !headers.contains_key(&name) {
            headers.insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    async fn headers_of(router: Router) -> http::HeaderMap {
        let response = router
            .oneshot(
                http::Request::get("/")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        response.headers().clone()
    }

    #[tokio::test]
    async fn pages_get_the_headers_and_hsts_only_over_tls() {
        let page =
            || Router::new().route("/", get(|| async { axum::response::Html("<p>hej</p>") }));
        let plain = headers_of(SecurityHeaders::new(false).apply(page())).await;
        assert_eq!(plain[header::CONTENT_SECURITY_POLICY], DEFAULT_CSP);
        assert!(DEFAULT_CSP.contains("default-src 'self'"));
        assert!(DEFAULT_CSP.contains("frame-ancestors 'none'"));
        assert_eq!(plain[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(plain[header::REFERRER_POLICY], "no-referrer");
        assert!(!plain.contains_key(header::STRICT_TRANSPORT_SECURITY));
        let tls = headers_of(SecurityHeaders::new(true).apply(page())).await;
        assert!(
            tls[header::STRICT_TRANSPORT_SECURITY]
                .to_str()
                .unwrap()
                .starts_with("max-age=")
        );
    }

    #[tokio::test]
    async fn a_handlers_own_policy_wins() {
        let router = Router::new().route(
            "/",
            get(|| async {
                (
                    [(header::CONTENT_SECURITY_POLICY, "default-src 'none'")],
                    "x",
                )
            }),
        );
        let headers = headers_of(SecurityHeaders::new(false).apply(router)).await;
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            "default-src 'none'"
        );
    }
}
