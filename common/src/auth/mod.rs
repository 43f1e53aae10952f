//! Who is calling: caller authentication for every service, configured under `[auth]`.
//!
//! | `auth.mode` | Proof | The caller's HSA-id |
//! |---|---|---|
//! | `open` (default) | none; a WARNING at start | `x-rivta-original-serviceconsumer-hsaid`, else anonymous |
//! | `mtls` | a client certificate chaining to `auth.tls.client_ca` | the certificate subject's serialNumber (2.5.4.5), as in SITHS |
//! | `jwt` | `Authorization: Bearer <JWT>` (RS256/ES256, JWKS) | the claim `auth.jwt.hsa_id_claim` (default `hsa_id`) |
//!
//! `x-rivta-original-serviceconsumer-hsaid` names the effective caller only when the
//! authenticated caller is one of `auth.gateways`; the [`Caller`] then keeps both (who called,
//! on behalf of whom). From anyone else the header is ignored for identity and logged.
//!
//! Adoption: build an [`Authenticator`] at start, call [`Authenticator::log_start`], wrap the
//! API routes with [`Authenticator::protect`], serve with
//! `BoundService::bind(..).await?.with_tls(authenticator.tls())`, and take [`Caller`] as an
//! extractor in handlers.

pub mod jwt;

use std::collections::HashSet;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use jwt::{JwtConfig, JwtVerifier, TokenError};

use crate::config::ConfigError;
use crate::identity::HsaId;
use crate::permissions::PermissionGrant;
use crate::problem::Problem;
use crate::rate_limit::{RateLimitConfig, RateLimiter};
use crate::tls::{ClientCertificate, TlsConfig};

/// The RIV-TA header naming the consumer a gateway (the national platform) calls for.
pub const CONSUMER_HEADER: &str = "x-rivta-original-serviceconsumer-hsaid";

/// How callers prove who they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// No proof (developer machines): every caller is believed and every check passes.
    #[default]
    Open,
    /// Mutual TLS: the client certificate's subject serialNumber is the HSA-id.
    Mtls,
    /// Signed bearer tokens (JWT RS256/ES256) whose claim carries the HSA-id.
    Jwt,
}

/// `[auth]`: embed it in a service's configuration as `pub auth: AuthConfig`. The defaults are
/// open mode with nothing configured.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub mode: AuthMode,
    /// HSA-ids of gateways whose `x-rivta-original-serviceconsumer-hsaid` is trusted.
    pub gateways: Vec<HsaId>,
    /// `[auth.tls]`: serve over TLS (required for `mtls`, optional otherwise).
    pub tls: Option<TlsConfig>,
    /// `[auth.jwt]`: required for `jwt`.
    pub jwt: Option<JwtConfig>,
    /// `[[auth.permissions]]`: grants applied to the permission table at every start.
    pub permissions: Vec<PermissionGrant>,
    /// `[auth.rate_limit]`: per-caller rate limiting.
    pub rate_limit: RateLimitConfig,
}

impl AuthConfig {
    /// Checks that the sections the mode needs are there; the message names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.mode {
            AuthMode::Open => {}
            AuthMode::Mtls => {
                let Some(tls) = &self.tls else {
                    return Err(ConfigError(String::from(
                        "key `auth.tls`: required when auth.mode = \"mtls\" (certificate, private_key, client_ca)",
                    )));
                };
                if tls.client_ca.is_none() {
                    return Err(ConfigError(String::from(
                        "key `auth.tls.client_ca`: required when auth.mode = \"mtls\"",
                    )));
                }
            }
            AuthMode::Jwt => {
                let Some(jwt) = &self.jwt else {
                    return Err(ConfigError(String::from(
                        "key `auth.jwt`: required when auth.mode = \"jwt\" (jwks_file or jwks_url, issuer, audience)",
                    )));
                };
                if jwt.jwks_file.is_some() == jwt.jwks_url.is_some() {
                    return Err(ConfigError(String::from(
                        "key `auth.jwt`: set exactly one of jwks_file and jwks_url",
                    )));
                }
                if jwt.issuer.trim().is_empty() || jwt.audience.trim().is_empty() {
                    return Err(ConfigError(String::from(
                        "key `auth.jwt`: issuer and audience must not be empty",
                    )));
                }
            }
        }
        for (index, grant) in self.permissions.iter().enumerate() {
            grant.validate().map_err(|error| {
                ConfigError(format!("key `auth.permissions[{index}]`: {error}"))
            })?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("auth.tls: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("auth.jwt: {0}")]
    Jwks(#[from] jwt::JwksError),
}

/// How a caller was authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// Open mode: nothing was proven.
    Open,
    MutualTls,
    BearerToken,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::MutualTls => "mutual_tls",
            Self::BearerToken => "bearer_token",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "open" => Some(Self::Open),
            "mutual_tls" => Some(Self::MutualTls),
            "bearer_token" => Some(Self::BearerToken),
            _ => None,
        }
    }
}

/// The caller of a request (a request extension set by [`Authenticator::protect`], and an
/// extractor).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The effective caller: the system permissions are checked for. `None` only in open mode
    /// when no HSA-id was given (anonymous).
    pub hsa_id: Option<HsaId>,
    pub method: AuthMethod,
    /// The gateway that authenticated and relayed the call, when the effective caller was
    /// named by a trusted gateway's `x-rivta-original-serviceconsumer-hsaid`.
    pub gateway: Option<HsaId>,
}

impl Caller {
    /// An open-mode caller without an HSA-id.
    pub fn anonymous() -> Self {
        Self {
            hsa_id: None,
            method: AuthMethod::Open,
            gateway: None,
        }
    }

    /// A caller that authenticated itself (no gateway).
    pub fn direct(hsa_id: HsaId, method: AuthMethod) -> Self {
        Self {
            hsa_id: Some(hsa_id),
            method,
            gateway: None,
        }
    }

    /// The effective caller's HSA-id, or `anonymous`, for logs and audit rows.
    pub fn name(&self) -> &str {
        self.hsa_id.as_ref().map_or("anonymous", HsaId::as_str)
    }

    /// The rate-limiting bucket of this caller.
    pub fn rate_limit_key(&self) -> String {
        self.name().to_owned()
    }
}

impl std::fmt::Display for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())?;
        if let Some(gateway) = &self.gateway {
            write!(f, " via gateway {gateway}")?;
        }
        Ok(())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Self>().cloned().ok_or_else(|| {
            tracing::error!(
                "a handler asks for the caller but the route is not wrapped by Authenticator::protect"
            );
            Problem::internal()
        })
    }
}

/// A refused authentication: 401 `UNAUTHORIZED` with `detail`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unauthorized {
    pub detail: String,
    /// Adds `WWW-Authenticate: Bearer` (RFC 6750) to the answer.
    bearer: bool,
}

impl IntoResponse for Unauthorized {
    fn into_response(self) -> Response {
        let mut response =
            Problem::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", self.detail).into_response();
        if self.bearer {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}

struct Inner {
    mode: AuthMode,
    gateways: HashSet<HsaId>,
    jwt: Option<Arc<JwtVerifier>>,
    tls: Option<Arc<rustls::ServerConfig>>,
    rate_limiter: Option<RateLimiter>,
}

/// Authenticates requests as the configuration says; cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

impl Authenticator {
    /// Validates the configuration, reads the TLS files and loads the JWT keys. Errors stop
    /// the start; none of them contains a key or a token.
    pub async fn from_config(config: &AuthConfig) -> Result<Self, AuthSetupError> {
        config.validate()?;
        let tls = config
            .tls
            .as_ref()
            .map(TlsConfig::server_config)
            .transpose()?;
        let jwt = match (config.mode, &config.jwt) {
            (AuthMode::Jwt, Some(jwt)) => Some(JwtVerifier::new(jwt.clone()).await?),
            _ => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                mode: config.mode,
                gateways: config.gateways.iter().cloned().collect(),
                jwt,
                tls,
                rate_limiter: RateLimiter::from_config(&config.rate_limit),
            }),
        })
    }

    /// Open mode, no TLS, no rate limit (tests and tools).
    pub fn open() -> Self {
        Self {
            inner: Arc::new(Inner {
                mode: AuthMode::Open,
                gateways: HashSet::new(),
                jwt: None,
                tls: None,
                rate_limiter: None,
            }),
        }
    }

    pub fn mode(&self) -> AuthMode {
        self.inner.mode
    }

    /// True in open mode: nothing is proven and every permission check passes.
    pub fn is_open(&self) -> bool {
        self.inner.mode == AuthMode::Open
    }

    /// The TLS server configuration when `[auth.tls]` is set: hand it to
    /// [`crate::server::BoundService::with_tls`].
    pub fn tls(&self) -> Option<Arc<rustls::ServerConfig>> {
        self.inner.tls.clone()
    }

    /// Logs how callers are authenticated; in open mode a WARNING. Call once at start.
    pub fn log_start(&self, service: &str) {
        let gateways: Vec<&str> = self.inner.gateways.iter().map(HsaId::as_str).collect();
        match self.inner.mode {
            AuthMode::Open => tracing::warn!(
                service,
                tls = self.inner.tls.is_some(),
                "AUTHENTICATION IS OFF (auth.mode = \"open\"): any caller may call any contract \
                 and name itself with x-rivta-original-serviceconsumer-hsaid; every permission \
                 check passes. For a developer machine only; set auth.mode to \"mtls\" or \"jwt\" \
                 anywhere else."
            ),
            mode => tracing::info!(
                service,
                mode = ?mode,
                tls = self.inner.tls.is_some(),
                ?gateways,
                rate_limited = self.inner.rate_limiter.is_some(),
                "callers are authenticated; permissions are enforced"
            ),
        }
    }

    /// Wraps `routes` with authentication and then per-caller rate limiting: every request
    /// gets a [`Caller`] or a 401. Apply it to the API routes (contracts and `/admin`) before
    /// handing them to the skeleton, so `/health`, `/metrics` and `/docs` stay reachable.
    pub fn protect<S>(&self, routes: Router<S>) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let routes = match &self.inner.rate_limiter {
            Some(limiter) => routes.layer(middleware::from_fn_with_state(
                limiter.clone(),
                crate::rate_limit::middleware,
            )),
            None => routes,
        };
        routes.layer(middleware::from_fn_with_state(self.clone(), authenticate))
    }

    /// The caller of a request from its headers and extensions (the client certificate).
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Result<Caller, Unauthorized> {
        let claimed = headers.get(CONSUMER_HEADER);
        let (authenticated, method) = match self.inner.mode {
            AuthMode::Open => return Ok(open_caller(claimed)),
            AuthMode::Mtls => (mutual_tls(extensions)?, AuthMethod::MutualTls),
            AuthMode::Jwt => (self.bearer(headers).await?, AuthMethod::BearerToken),
        };
        if self.inner.gateways.contains(&authenticated) {
            let Some(value) = claimed else {
                return Ok(Caller::direct(authenticated, method));
            };
            let consumer = value
                .to_str()
                .ok()
                .and_then(caller_hsa_id)
                .ok_or_else(|| Unauthorized {
                    detail: format!(
                        "The gateway {authenticated} sent an {CONSUMER_HEADER} that is not a valid HSA-id."
                    ),
                    bearer: false,
                })?;
            if consumer == authenticated {
                return Ok(Caller::direct(authenticated, method));
            }
            return Ok(Caller {
                hsa_id: Some(consumer),
                method,
                gateway: Some(authenticated),
            });
        }
        if let Some(value) = claimed {
            let claimed: String = value
                .to_str()
                .unwrap_or("(not text)")
                .chars()
                .take(64)
                .collect();
            if claimed.trim() != authenticated.as_str() {
                tracing::warn!(
                    caller = %authenticated,
                    claimed = %claimed,
                    "ignoring {CONSUMER_HEADER} from a caller that is not a configured gateway"
                );
            }
        }
        Ok(Caller::direct(authenticated, method))
    }

    async fn bearer(&self, headers: &HeaderMap) -> Result<HsaId, Unauthorized> {
        let refuse = |detail: String| {
            tracing::warn!(reason = %detail, "bearer token refused");
            Unauthorized {
                detail,
                bearer: true,
            }
        };
        let Some(verifier) = &self.inner.jwt else {
            return Err(refuse(String::from("Bearer tokens are not configured.")));
        };
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(refuse(String::from(
                "This service requires `Authorization: Bearer <token>`.",
            )));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                refuse(String::from(
                    "The Authorization header is not `Bearer <token>`.",
                ))
            })?;
        verifier
            .verify(token)
            .await
            .map_err(|error| refuse(format!("The bearer token is refused: {error}.")))
    }
}

/// An HSA-id naming a caller: a valid HSA-id that is not shaped like a personal identity
/// number (a caller id ends up in logs and metrics; a personal number must not).
pub fn caller_hsa_id(value: &str) -> Option<HsaId> {
    let value = value.trim();
    if crate::identity::is_personal_identity_number(value) {
        return None;
    }
    HsaId::parse(value).ok()
}

fn open_caller(claimed: Option<&HeaderValue>) -> Caller {
    let hsa_id = claimed.and_then(|value| {
        let parsed = value.to_str().ok().and_then(caller_hsa_id);
        if parsed.is_none() {
            tracing::warn!("ignoring an {CONSUMER_HEADER} that is not a valid HSA-id");
        }
        parsed
    });
    Caller {
        hsa_id,
        method: AuthMethod::Open,
        gateway: None,
    }
}

fn mutual_tls(extensions: &Extensions) -> Result<HsaId, Unauthorized> {
    let refuse = |detail: &str| {
        tracing::warn!(reason = detail, "client certificate refused");
        Unauthorized {
            detail: detail.to_owned(),
            bearer: false,
        }
    };
    let certificate = extensions
        .get::<ClientCertificate>()
        .ok_or_else(|| refuse("This service requires a client certificate (mutual TLS)."))?;
    certificate.hsa_id.clone().ok_or_else(|| {
        tracing::warn!(subject = %certificate.subject, "client certificate without an HSA-id");
        Unauthorized {
            detail: String::from(
                "The client certificate's subject has no serialNumber holding a valid HSA-id.",
            ),
            bearer: false,
        }
    })
}

/// Middleware: authenticates the request and adds its [`Caller`], or answers 401.
async fn authenticate(
    State(authenticator): State<Authenticator>,
    mut request: Request,
    next: Next,
) -> Response {
    match authenticator
        .authenticate(request.headers(), request.extensions())
        .await
    {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(refused) => refused.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hsa(value: &str) -> HsaId {
        HsaId::parse(value).unwrap()
    }

    fn headers(consumer: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(consumer) = consumer {
            headers.insert(CONSUMER_HEADER, HeaderValue::from_str(consumer).unwrap());
        }
        headers
    }

    fn mtls(gateways: &[&str]) -> Authenticator {
        Authenticator {
            inner: Arc::new(Inner {
                mode: AuthMode::Mtls,
                gateways: gateways.iter().map(|g| hsa(g)).collect(),
                jwt: None,
                tls: None,
                rate_limiter: None,
            }),
        }
    }

    fn with_certificate(hsa_id: Option<&str>) -> Extensions {
        let mut extensions = Extensions::new();
        extensions.insert(ClientCertificate {
            hsa_id: hsa_id.map(hsa),
            subject: String::from("CN=test"),
        });
        extensions
    }

    #[tokio::test]
    async fn open_mode_believes_the_header_or_is_anonymous() {
        let open = Authenticator::open();
        let caller = open
            .authenticate(&headers(Some("SE1-CS")), &Extensions::new())
            .await
            .unwrap();
        assert_eq!(caller.hsa_id, Some(hsa("SE1-CS")));
        assert_eq!(caller.method, AuthMethod::Open);
        let anonymous = open
            .authenticate(&headers(None), &Extensions::new())
            .await
            .unwrap();
        assert_eq!(anonymous, Caller::anonymous());
        let bad = open
            .authenticate(&headers(Some("a b")), &Extensions::new())
            .await
            .unwrap();
        assert_eq!(bad, Caller::anonymous());
    }

    #[tokio::test]
    async fn only_a_gateway_names_another_caller() {
        let auth = mtls(&["SE1-GW"]);
        let relayed = auth
            .authenticate(&headers(Some("SE1-CS")), &with_certificate(Some("SE1-GW")))
            .await
            .unwrap();
        assert_eq!(relayed.hsa_id, Some(hsa("SE1-CS")));
        assert_eq!(relayed.gateway, Some(hsa("SE1-GW")));
        assert_eq!(relayed.to_string(), "SE1-CS via gateway SE1-GW");

        let itself = auth
            .authenticate(&headers(None), &with_certificate(Some("SE1-GW")))
            .await
            .unwrap();
        assert_eq!(itself, Caller::direct(hsa("SE1-GW"), AuthMethod::MutualTls));

        let impostor = auth
            .authenticate(
                &headers(Some("SE1-CS")),
                &with_certificate(Some("SE1-OTHER")),
            )
            .await
            .unwrap();
        assert_eq!(
            impostor,
            Caller::direct(hsa("SE1-OTHER"), AuthMethod::MutualTls)
        );
    }

    #[tokio::test]
    async fn mtls_without_a_certificate_or_hsa_id_is_unauthorized() {
        let auth = mtls(&[]);
        let none = auth.authenticate(&headers(None), &Extensions::new()).await;
        assert!(none.unwrap_err().detail.contains("client certificate"));
        let no_id = auth
            .authenticate(&headers(None), &with_certificate(None))
            .await;
        assert!(no_id.unwrap_err().detail.contains("serialNumber"));
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Service {
        auth: AuthConfig,
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's test jail returns its own large error type
    fn loads_from_toml_and_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "svc.toml",
                r#"
[auth]
mode = "jwt"
gateways = ["SE2321000016-GW01"]

[auth.jwt]
jwks_url = "https://idp.example/jwks.json"
issuer = "https://idp.example"
audience = "nordform-form-engine"

[auth.rate_limit]
enabled = true

[[auth.permissions]]
caller = "SE2321000016-CS01"
role = "care_system"
scope = "SE2321000016-CU01"
"#,
            )?;
            jail.set_env("SVC__AUTH__RATE_LIMIT__BURST", "7");
            jail.set_env(
                "SVC__AUTH__PERMISSIONS",
                r#"[{caller="SE2321000016-AD01", role="admin", scope="*"}]"#,
            );
            let defaults = Service {
                auth: AuthConfig::default(),
            };
            let loaded: Service =
                crate::config::load(&defaults, "SVC", Some(std::path::Path::new("svc.toml")))
                    .expect("loads");
            let auth = loaded.auth;
            assert_eq!(auth.mode, AuthMode::Jwt);
            assert_eq!(auth.gateways, vec![hsa("SE2321000016-GW01")]);
            let jwt = auth.jwt.clone().unwrap();
            assert_eq!(jwt.hsa_id_claim, "hsa_id");
            assert_eq!(jwt.leeway_secs, 30);
            assert!(auth.rate_limit.enabled);
            assert_eq!(auth.rate_limit.burst, 7);
            assert_eq!(auth.rate_limit.requests_per_second, 50);
            assert_eq!(auth.permissions.len(), 1);
            assert_eq!(auth.permissions[0].role, crate::permissions::Role::Admin);
            auth.validate().expect("valid");

            let defaults_only: Service = crate::config::load(&defaults, "NONE", None).unwrap();
            assert_eq!(defaults_only.auth, AuthConfig::default());
            Ok(())
        });
    }

    #[test]
    fn validation_names_the_missing_keys() {
        let mtls = AuthConfig {
            mode: AuthMode::Mtls,
            ..AuthConfig::default()
        };
        assert!(
            mtls.validate()
                .unwrap_err()
                .to_string()
                .contains("auth.tls")
        );
        let jwt = AuthConfig {
            mode: AuthMode::Jwt,
            ..AuthConfig::default()
        };
        assert!(jwt.validate().unwrap_err().to_string().contains("auth.jwt"));
        AuthConfig::default().validate().unwrap();
    }
}
