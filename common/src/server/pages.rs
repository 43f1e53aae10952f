//! What the services' HTML pages (the patient portal's, the form designer's) share at the HTTP
//! edge: one layer of security headers carrying the service's own content policy, and their
//! cookies.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, header};

/// HSTS for a year, subdomains included.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The state of [`security_headers`]: the service's content policy and whether its pages are
/// served over TLS (and so get HSTS; over plain HTTP browsers ignore it, and it would break a
/// later plain-HTTP development set-up).
#[derive(Clone, Copy, Debug)]
pub struct PageHeaders {
    pub policy: &'static str,
    pub over_tls: bool,
}

/// Middleware: the policy on every response, which a handler cannot loosen; no content
/// sniffing, no referrer leaving the site, no framing; no caching unless the handler says
/// otherwise (a stylesheet).
pub async fn security_headers(
    State(pages): State<PageHeaders>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(pages.policy),
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
    if pages.over_tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    response
}

/// The value of cookie `name` in the request, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

/// Where a service's cookies are sent: every one is HttpOnly (no script needs one).
#[derive(Clone, Copy, Debug)]
pub struct CookieScope {
    pub path: &'static str,
    /// `Strict` or `Lax`.
    pub same_site: &'static str,
}

impl CookieScope {
    /// A `Set-Cookie` value. Without `max_age_secs` the cookie lasts until the browser closes
    /// (a session cookie: the server decides when a session ends); 0 removes it.
    pub fn set(
        self,
        name: &str,
        value: &str,
        max_age_secs: Option<u64>,
        secure: bool,
    ) -> HeaderValue {
        let max_age = max_age_secs
            .map(|s| format!("; Max-Age={s}"))
            .unwrap_or_default();
        let secure = if secure { "; Secure" } else { "" };
        let Self { path, same_site } = self;
        let cookie =
            format!("{name}={value}; Path={path}{max_age}; HttpOnly; SameSite={same_site}{secure}");
        // Names are constants and values are hex or language codes: always valid header text.
        HeaderValue::from_str(&cookie).expect("cookie names and values are header-safe")
    }

    pub fn remove(self, name: &str, secure: bool) -> HeaderValue {
        self.set(name, "", Some(0), secure)
    }
}
