//! Outgoing HTTP: one client configuration, and the headers every service-to-service call
//! carries (W3C `traceparent` of the current span and the correlation id).

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::Injector;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::correlation;

/// A client for calls to other services and to subscribers. Use one per process area and
/// clone it: it holds the connection pool.
pub fn client(timeout: Duration) -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5).min(timeout))
        .user_agent(concat!("nordform/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client configuration is static and valid")
}

/// rustls needs one process-wide crypto provider; ring keeps the build free of C toolchains.
pub fn install_crypto_provider() {
    // Fails only when a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The headers that tie an outgoing call to the work that causes it.
pub fn propagation_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    let context = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut HeaderInjector(&mut headers));
    });
    if let Some(id) = correlation::current()
        && let Ok(value) = HeaderValue::from_str(id.as_str())
    {
        headers.insert(correlation::HEADER, value);
    }
    headers
}

/// Adds [`propagation_headers`] to a request.
pub trait Propagate {
    #[must_use]
    fn propagate(self) -> Self;
}

impl Propagate for reqwest::RequestBuilder {
    fn propagate(self) -> Self {
        self.headers(propagation_headers())
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(key), HeaderValue::try_from(value)) {
            self.0.insert(name, value);
        }
    }
}
