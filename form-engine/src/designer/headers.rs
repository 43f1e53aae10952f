//! The security headers of every designer page, in one layer with one policy: nothing from
//! outside the engine, scripts and styles only from the engine's own files (the autosave
//! script), no framing, no content sniffing, no referrer leaving the site, no caching unless
//! a handler says otherwise (the assets), and HSTS when served over TLS.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, header};

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Whether the designer is served over TLS (and so gets HSTS).
#[derive(Clone, Copy, Debug)]
pub struct OverTls(pub bool);

/// Middleware: sets the headers on every response.
pub async fn security_headers(
    State(OverTls(tls)): State<OverTls>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    if tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    response
}
