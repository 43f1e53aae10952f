//! Signed bearer tokens: JWT with RS256 or ES256 only, keys from a JWKS file or URL.
//!
//! - `alg` must be RS256 or ES256; `none`, HS* and everything else are refused before any key
//!   is looked at, so a public key can never be used as an HMAC secret.
//! - The key is chosen by `kid`; a token without `kid` is accepted only when the key set holds
//!   exactly one key for its algorithm. RSA keys shorter than 2048 bits and EC keys on other
//!   curves than P-256 are ignored.
//! - `exp`, `iss` and `aud` are required and checked (with a small leeway), `nbf` when present.
//! - The key set is re-read every `refresh_secs`, and at once (at most every 30 s) when a
//!   token names a key it does not know, so key rotation needs no restart. A failed refresh
//!   keeps the last good keys.
//! - Tokens are never logged; errors name what is wrong, not the token.

use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};
use tokio::time::Instant;

use crate::identity::HsaId;

/// Smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// Longest wait between two refreshes triggered by an unknown `kid`.
const MAX_ON_DEMAND_COOLDOWN: Duration = Duration::from_secs(30);

/// `[auth.jwt]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// A JWKS document (`{"keys": [...]}`) on disk. Exactly one of `jwks_file` and `jwks_url`.
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// Where the identity provider publishes its JWKS (`https://idp.example/jwks.json`).
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// How often the key set is re-read, in seconds.
    #[serde(default = "default_refresh_secs")]
    pub refresh_secs: u64,
    /// The `iss` every token must carry.
    pub issuer: String,
    /// A value the token's `aud` must hold (this service, e.g. `nordform-form-engine`).
    pub audience: String,
    /// The claim holding the caller's HSA-id.
    #[serde(default = "default_hsa_id_claim")]
    pub hsa_id_claim: String,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway_secs")]
    pub leeway_secs: u64,
}

fn default_refresh_secs() -> u64 {
    300
}

fn default_hsa_id_claim() -> String {
    String::from("hsa_id")
}

fn default_leeway_secs() -> u64 {
    30
}

/// Why a token was refused; the text goes into the 401 detail and the log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the bearer token is not a well-formed JWT")]
    Malformed,
    #[error("the token's algorithm `{0}` is not accepted (only RS256 and ES256)")]
    Algorithm(String),
    #[error("the token is signed with a key this service does not know (kid `{0}`)")]
    UnknownKey(String),
    #[error("the token has no `kid` and the key set does not hold exactly one {0:?} key")]
    NoKeyId(Algorithm),
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (nbf)")]
    NotYetValid,
    #[error("the token's issuer is not the configured one")]
    Issuer,
    #[error("the token's audience does not include this service")]
    Audience,
    #[error("the token lacks the claim `{0}`")]
    MissingClaim(String),
    #[error("the token's claim `{0}` is not a valid HSA-id")]
    InvalidHsaId(String),
    #[error("the token is invalid: {0}")]
    Other(String),
}

#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("cannot read the JWKS file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("cannot fetch the JWKS from {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("the JWKS is not a JSON key set: {0}")]
    Parse(String),
}

/// One usable verification key.
struct VerificationKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

#[derive(Clone, Debug)]
enum JwksSource {
    File(PathBuf),
    Url(String),
}

impl std::fmt::Display for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => write!(f, "file {}", path.display()),
            Self::Url(url) => write!(f, "{url}"),
        }
    }
}

/// Verifies bearer tokens against a cached, refreshed JWKS.
pub struct JwtVerifier {
    config: JwtConfig,
    source: JwksSource,
    keys: RwLock<Arc<Vec<VerificationKey>>>,
    /// When the last refresh started, to space on-demand refreshes.
    last_refresh: Mutex<Instant>,
    client: reqwest::Client,
}

impl JwtVerifier {
    /// Loads the key set and starts its periodic refresh (which ends when the verifier is
    /// dropped). A JWKS file that cannot be read stops the start; an unreachable URL does not
    /// (tokens are refused until a refresh succeeds), since the identity provider may be down.
    pub async fn new(config: JwtConfig) -> Result<Arc<Self>, JwksError> {
        install_jwt_crypto_provider();
        let source = match (&config.jwks_file, &config.jwks_url) {
            (Some(path), None) => JwksSource::File(path.clone()),
            (None, Some(url)) => JwksSource::Url(url.clone()),
            _ => {
                return Err(JwksError::Parse(String::from(
                    "set exactly one of auth.jwt.jwks_file and auth.jwt.jwks_url",
                )));
            }
        };
        let verifier = Arc::new(Self {
            source,
            keys: RwLock::new(Arc::new(Vec::new())),
            last_refresh: Mutex::new(Instant::now()),
            client: crate::http_client::client(Duration::from_secs(10)),
            config,
        });
        match verifier.load().await {
            Ok(keys) => *verifier.keys.write().await = Arc::new(keys),
            Err(error @ JwksError::Fetch { .. }) => {
                tracing::error!(%error, "no JWT keys yet; bearer tokens are refused until a refresh succeeds");
            }
            Err(error) => return Err(error),
        }
        let period = Duration::from_secs(verifier.config.refresh_secs.max(1));
        spawn_refresh(Arc::downgrade(&verifier), period);
        Ok(verifier)
    }

    /// How many usable keys are cached.
    pub async fn key_count(&self) -> usize {
        self.keys.read().await.len()
    }

    async fn load(&self) -> Result<Vec<VerificationKey>, JwksError> {
        let text = match &self.source {
            JwksSource::File(path) => {
                tokio::fs::read_to_string(path)
                    .await
                    .map_err(|e| JwksError::File {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?
            }
            JwksSource::Url(url) => {
                let fetch = |reason: String| JwksError::Fetch {
                    url: url.clone(),
                    reason,
                };
                let response = self
                    .client
                    .get(url)
                    .send()
                    .await
                    .map_err(|e| fetch(e.to_string()))?;
                if !response.status().is_success() {
                    return Err(fetch(format!("HTTP {}", response.status())));
                }
                response.text().await.map_err(|e| fetch(e.to_string()))?
            }
        };
        parse_jwks(&text)
    }

    /// Re-reads the key set; a failure keeps the last good keys.
    pub async fn refresh(&self) {
        *self.last_refresh.lock().await = Instant::now();
        self.reload().await;
    }

    async fn reload(&self) {
        match self.load().await {
            Ok(keys) => {
                tracing::debug!(source = %self.source, keys = keys.len(), "JWKS refreshed");
                *self.keys.write().await = Arc::new(keys);
            }
            Err(error) => {
                tracing::warn!(%error, "JWKS refresh failed; keeping the last good keys");
            }
        }
    }

    /// Refreshes unless a refresh started less than the cooldown ago (so tokens naming random
    /// key ids cannot make the service hammer the identity provider).
    async fn refresh_on_demand(&self) {
        let cooldown =
            Duration::from_secs(self.config.refresh_secs.max(1)).min(MAX_ON_DEMAND_COOLDOWN);
        let due = {
            let mut last = self.last_refresh.lock().await;
            let due = last.elapsed() >= cooldown;
            if due {
                *last = Instant::now();
            }
            due
        };
        if due {
            self.reload().await;
        }
    }

    /// The caller's HSA-id from a valid token.
    pub async fn verify(&self, token: &str) -> Result<HsaId, TokenError> {
        let (algorithm, kid) = header(token)?;
        let keys = self.keys.read().await.clone();
        let keys = match select(&keys, algorithm, kid.as_deref()) {
            Err(TokenError::UnknownKey(_) | TokenError::NoKeyId(_)) => {
                self.refresh_on_demand().await;
                self.keys.read().await.clone()
            }
            _ => keys,
        };
        let key = select(&keys, algorithm, kid.as_deref())?;
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.config.leeway_secs;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key.key,
            &validation,
        )
        .map_err(|e| token_error(e.kind()))?;
        let claim = &self.config.hsa_id_claim;
        let value = data
            .claims
            .get(claim)
            .ok_or_else(|| TokenError::MissingClaim(claim.clone()))?;
        value
            .as_str()
            .and_then(super::caller_hsa_id)
            .ok_or_else(|| TokenError::InvalidHsaId(claim.clone()))
    }
}

fn spawn_refresh(verifier: Weak<JwtVerifier>, period: Duration) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(period).await;
            let Some(verifier) = verifier.upgrade() else {
                break;
            };
            verifier.refresh().await;
        }
    });
}

/// jsonwebtoken picks its provider from its features; installing it explicitly keeps working
/// if another crate of the build ever enables a second provider.
fn install_jwt_crypto_provider() {
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}

/// The token's algorithm (RS256 or ES256 only) and key id, read without trusting anything.
fn header(token: &str) -> Result<(Algorithm, Option<String>), TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenError::Malformed)?;
    let header: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    let algorithm = match header.get("alg").and_then(serde_json::Value::as_str) {
        Some("RS256") => Algorithm::RS256,
        Some("ES256") => Algorithm::ES256,
        Some(other) => {
            let shown: String = other.chars().take(16).collect();
            return Err(TokenError::Algorithm(shown));
        }
        None => return Err(TokenError::Malformed),
    };
    let kid = header
        .get("kid")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    Ok((algorithm, kid))
}

fn select<'k>(
    keys: &'k [VerificationKey],
    algorithm: Algorithm,
    kid: Option<&str>,
) -> Result<&'k VerificationKey, TokenError> {
    if let Some(kid) = kid {
        return keys
            .iter()
            .find(|k| k.kid.as_deref() == Some(kid) && k.algorithm == algorithm)
            .ok_or_else(|| TokenError::UnknownKey(kid.chars().take(64).collect()));
    }
    let mut candidates = keys.iter().filter(|k| k.algorithm == algorithm);
    match (candidates.next(), candidates.next()) {
        (Some(key), None) => Ok(key),
        _ => Err(TokenError::NoKeyId(algorithm)),
    }
}

fn token_error(kind: &jsonwebtoken::errors::ErrorKind) -> TokenError {
    use jsonwebtoken::errors::ErrorKind;
    match kind {
        ErrorKind::InvalidSignature => TokenError::Signature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::Issuer,
        ErrorKind::InvalidAudience => TokenError::Audience,
        ErrorKind::MissingRequiredClaim(claim) => TokenError::MissingClaim(claim.clone()),
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => TokenError::Malformed,
        ErrorKind::InvalidAlgorithm => TokenError::Algorithm(String::from("(mismatch)")),
        other => TokenError::Other(format!("{other:?}")),
    }
}

/// The usable keys of a JWKS document; keys of other types, curves, uses or algorithms, and
/// RSA keys under 2048 bits, are skipped.
fn parse_jwks(text: &str) -> Result<Vec<VerificationKey>, JwksError> {
    #[derive(Deserialize)]
    struct RawSet {
        keys: Vec<serde_json::Value>,
    }
    let raw: RawSet = serde_json::from_str(text).map_err(|e| JwksError::Parse(e.to_string()))?;
    let mut keys = Vec::new();
    for value in raw.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            tracing::debug!("skipping a JWKS entry that is not a key this service reads");
            continue;
        };
        match usable(&jwk) {
            Ok(key) => keys.push(key),
            Err(reason) => {
                tracing::debug!(
                    kid = jwk.common.key_id.as_deref(),
                    reason,
                    "skipping a JWKS key"
                );
            }
        }
    }
    Ok(keys)
}

fn usable(jwk: &Jwk) -> Result<VerificationKey, &'static str> {
    if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
        return Err("not a signature key");
    }
    let declared = jwk.common.key_algorithm;
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            if !matches!(declared, None | Some(KeyAlgorithm::RS256)) {
                return Err("an RSA key for another algorithm than RS256");
            }
            let modulus = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(rsa.n.trim_end_matches('='))
                .map_err(|_| "an RSA modulus that is not base64url")?;
            let significant = modulus.iter().skip_while(|b| **b == 0).count();
            if significant < MIN_RSA_MODULUS_BYTES {
                return Err("an RSA key shorter than 2048 bits");
            }
            Algorithm::RS256
        }
        AlgorithmParameters::EllipticCurve(ec) => {
            if ec.curve != EllipticCurve::P256 {
                return Err("an EC key on another curve than P-256");
            }
            if !matches!(declared, None | Some(KeyAlgorithm::ES256)) {
                return Err("an EC key for another algorithm than ES256");
            }
            Algorithm::ES256
        }
        _ => return Err("neither an RSA nor an EC key"),
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|_| "a key jsonwebtoken cannot read")?;
    Ok(VerificationKey {
        kid: jwk.common.key_id.clone(),
        algorithm,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: &serde_json::Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[test]
    fn only_rs256_and_es256_headers_pass() {
        for (alg, ok) in [
            ("RS256", true),
            ("ES256", true),
            ("none", false),
            ("HS256", false),
            ("RS512", false),
        ] {
            let token = format!(
                "{}.e30.sig",
                encode(&serde_json::json!({"alg": alg, "kid": "k"}))
            );
            assert_eq!(header(&token).is_ok(), ok, "{alg}");
        }
        assert_eq!(header("abc"), Err(TokenError::Malformed));
        assert_eq!(header("a.b.c.d"), Err(TokenError::Malformed));
    }

    #[test]
    fn symmetric_and_short_keys_are_skipped() {
        let jwks = serde_json::json!({"keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {"kty": "RSA", "kid": "short", "n": encode(&serde_json::json!("x")), "e": "AQAB"},
            {"kty": "EC", "crv": "P-384", "kid": "p384", "x": "AA", "y": "AA"},
            {"kty": "unknown"}
        ]});
        let keys = parse_jwks(&jwks.to_string()).unwrap();
        assert!(keys.is_empty());
        assert!(parse_jwks("{\"nokeys\": 1}").is_err());
    }
}
