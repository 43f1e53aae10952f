//! The security headers of every designer page, in one layer with one policy
//! (`common::server::pages`): nothing from outside the engine, scripts and styles only from the
//! engine's own files (the autosave script), no framing, no content sniffing, no referrer
//! leaving the site, no caching unless a handler says otherwise (the assets), and HSTS when
//! served over TLS.

use common::server::pages::PageHeaders;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The state of `common::server::pages::security_headers` for the designer.
pub fn page_headers(over_tls: bool) -> PageHeaders {
    PageHeaders {
        policy: CONTENT_SECURITY_POLICY,
        over_tls,
    }
}
