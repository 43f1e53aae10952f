//! The security headers of every page, in one layer with one policy: no framing, nothing
//! from outside the portal and no script (`default-src 'none'`), no content sniffing, no
//! referrer leaving the site (a message's link must not tell the linked site which message
//! it came from), no caching of personal pages unless a handler says otherwise (the
//! stylesheet), and HSTS when served over TLS (over plain HTTP browsers ignore it, and it
//! would break a later plain-HTTP development set-up).
//!
//! Only the pages get it: `/docs` (Swagger UI) needs the inline scripts this policy forbids.

use common::server::pages::PageHeaders;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The state of `common::server::pages::security_headers` for the pages.
pub fn page_headers(over_tls: bool) -> PageHeaders {
    PageHeaders {
        policy: CONTENT_SECURITY_POLICY,
        over_tls,
    }
}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use axum::{Router, middleware};
    use common::server::pages::{HSTS, security_headers};
    use http::header;
    use tower::ServiceExt as _;

    use super::*;

    async fn headers_of(tls: bool, path: &str) -> http::HeaderMap {
        // `/own` sets its own policy and caching: it may allow caching, never loosen the policy.
        let own = [
            (header::CONTENT_SECURITY_POLICY, "default-src *"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ];
        let router = Router::new()
            .route("/", get(|| async { "hej" }))
            .route("/own", get(move || async move { (own, "hej") }))
            .layer(middleware::from_fn_with_state(
                page_headers(tls),
                security_headers,
            ));
        let request = http::Request::get(path).body(axum::body::Body::empty());
        router
            .oneshot(request.unwrap())
            .await
            .unwrap()
            .headers()
            .clone()
    }

    #[tokio::test]
    async fn every_page_gets_the_one_policy_and_hsts_only_over_tls() {
        let plain = headers_of(false, "/").await;
        assert_eq!(
            plain[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY
        );
        assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'none'"));
        assert_eq!(plain[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(plain[header::REFERRER_POLICY], "same-origin");
        assert_eq!(plain[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(plain[header::CACHE_CONTROL], "no-store");
        assert!(!plain.contains_key(header::STRICT_TRANSPORT_SECURITY));
        let tls = headers_of(true, "/").await;
        assert_eq!(tls[header::STRICT_TRANSPORT_SECURITY], HSTS);
        let own = headers_of(false, "/own").await;
        assert_eq!(
            own[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(own[header::CACHE_CONTROL], "public, max-age=3600");
    }
}
