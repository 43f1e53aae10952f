//! Outgoing HTTP: one client configuration, and the headers every service-to-service call
//! carries (W3C `traceparent` of the current span and the correlation id), and the
//! credentials a service calls another one with ([`ClientAuthConfig`]: a client certificate
//! for mutual TLS, or a bearer token).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::Injector;
use serde::{Deserialize, Serialize};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::config::ConfigError;
use crate::correlation;

/// How long a pooled connection may wait for its next request. Below the services' own idle
/// timeout (`http.idle_timeout_secs`, 60 s) so that the client, not the server, closes an idle
/// connection: a request sent just as the server closes one would fail.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// A client for calls to other services and to subscribers. Use one per process area and
/// clone it: it holds the connection pool.
pub fn client(timeout: Duration) -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5).min(timeout))
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .user_agent(concat!("nordform/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client configuration is static and valid")
}

/// How a service proves who it is when it calls another service, matching the called
/// service's `auth.mode`: a client certificate (`mtls`: the HSA-id in its subject's
/// serialNumber), or a bearer token (`jwt`: a token file kept fresh by the deployment, e.g. a
/// sidecar of the identity provider). Nothing configured: plain calls, for open mode. Files
/// are PEM; none of their content is ever logged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientAuthConfig {
    /// This service's client certificate chain (leaf first), for mutual TLS; with
    /// `private_key`.
    pub certificate: Option<PathBuf>,
    /// The client certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: Option<PathBuf>,
    /// CA certificates to trust for the called service besides the system's roots (a private
    /// CA, or the SITHS CA chain).
    pub server_ca: Option<PathBuf>,
    /// A file holding the bearer token (a JWT) sent as `Authorization: Bearer`. Re-read when
    /// it changes, so a refreshed token needs no restart.
    pub bearer_token_file: Option<PathBuf>,
}

/// A credential file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot use {what} {path}: {reason}")]
pub struct ClientAuthError {
    what: &'static str,
    path: PathBuf,
    reason: String,
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, ClientAuthError> {
    std::fs::read(path).map_err(|error| ClientAuthError {
        what,
        path: path.to_owned(),
        reason: error.to_string(),
    })
}

impl ClientAuthConfig {
    /// True when nothing is configured (calls carry no credential).
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Checks the combination; `key` names the section in the message
    /// (`form_engine_client`).
    pub fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if self.certificate.is_some() != self.private_key.is_some() {
            return Err(ConfigError(format!(
                "key `{key}`: set both certificate and private_key, or neither"
            )));
        }
        Ok(())
    }

    /// A client as [`client`] makes, presenting the client certificate and trusting
    /// `server_ca` when configured. Reads the files now: a missing or invalid one stops the
    /// start.
    pub fn client(&self, timeout: Duration) -> Result<reqwest::Client, ClientAuthError> {
        install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5).min(timeout))
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .user_agent(concat!("nordform/", env!("CARGO_PKG_VERSION")));
        if let (Some(certificate), Some(key)) = (&self.certificate, &self.private_key) {
            let mut pem = read("the client certificate", certificate)?;
            pem.push(b'\n');
            pem.extend(read("the client private key", key)?);
            let identity = reqwest::Identity::from_pem(&pem).map_err(|error| ClientAuthError {
                what: "the client certificate and key",
                path: certificate.clone(),
                reason: error.to_string(),
            })?;
            builder = builder.identity(identity);
        }
        if let Some(ca) = &self.server_ca {
            let roots = reqwest::Certificate::from_pem_bundle(&read("the server CA bundle", ca)?)
                .map_err(|error| ClientAuthError {
                what: "the server CA bundle",
                path: ca.clone(),
                reason: error.to_string(),
            })?;
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        builder.build().map_err(|error| ClientAuthError {
            what: "the client TLS configuration",
            path: self.certificate.clone().unwrap_or_default(),
            reason: error.to_string(),
        })
    }

    /// The bearer token source, when `bearer_token_file` is set. The file is read now (a
    /// missing one stops the start) and again whenever it changes.
    pub fn bearer_token(&self) -> Result<Option<BearerToken>, ClientAuthError> {
        self.bearer_token_file
            .as_ref()
            .map(|path| {
                let token = BearerToken {
                    path: path.clone(),
                    cached: Arc::default(),
                };
                token.get()?;
                Ok(token)
            })
            .transpose()
    }
}

/// The token last read, with the file's modification time and length when it was read.
type CachedToken = Option<((SystemTime, u64), Arc<str>)>;

/// A bearer token read from a file, re-read when the file changes; cheap to clone.
#[derive(Clone, Debug)]
pub struct BearerToken {
    path: PathBuf,
    cached: Arc<Mutex<CachedToken>>,
}

impl BearerToken {
    /// The current token (surrounding white space removed).
    pub fn get(&self) -> Result<Arc<str>, ClientAuthError> {
        let failure = |reason: String| ClientAuthError {
            what: "the bearer token file",
            path: self.path.clone(),
            reason,
        };
        let modified = std::fs::metadata(&self.path)
            .and_then(|m| Ok((m.modified()?, m.len())))
            .map_err(|e| failure(e.to_string()))?;
        let mut cached = self.cached.lock().expect("token cache lock");
        if let Some((at, token)) = cached.as_ref()
            && *at == modified
        {
            return Ok(Arc::clone(token));
        }
        let text = std::fs::read_to_string(&self.path).map_err(|e| failure(e.to_string()))?;
        let token: Arc<str> = Arc::from(text.trim());
        if token.is_empty() || token.contains(char::is_whitespace) {
            return Err(failure(String::from(
                "the file must hold one token and nothing else",
            )));
        }
        *cached = Some((modified, Arc::clone(&token)));
        Ok(token)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_needs_its_key_and_the_token_file_is_reread_when_it_changes() {
        let half = ClientAuthConfig {
            certificate: Some(PathBuf::from("client.pem")),
            ..ClientAuthConfig::default()
        };
        assert!(
            half.validate("form_engine_client")
                .unwrap_err()
                .to_string()
                .contains("form_engine_client")
        );
        assert!(ClientAuthConfig::default().validate("x").is_ok());
        assert!(ClientAuthConfig::default().is_empty());
        assert!(
            ClientAuthConfig::default()
                .bearer_token()
                .unwrap()
                .is_none()
        );

        let dir = std::env::temp_dir().join(format!("nordform-token-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "first.token.value\n").unwrap();
        let config = ClientAuthConfig {
            bearer_token_file: Some(file.clone()),
            ..ClientAuthConfig::default()
        };
        let token = config.bearer_token().unwrap().unwrap();
        assert_eq!(&*token.get().unwrap(), "first.token.value");
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&file, "second.token.value").unwrap();
        let later = SystemTime::now() + Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(&*token.get().unwrap(), "second.token.value");
        std::fs::write(&file, "two tokens").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(later + Duration::from_secs(5))
            .unwrap();
        assert!(token.get().is_err());
        let missing = ClientAuthConfig {
            bearer_token_file: Some(dir.join("absent")),
            ..ClientAuthConfig::default()
        };
        assert!(missing.bearer_token().is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
