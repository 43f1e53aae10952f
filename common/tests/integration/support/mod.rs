//! Helpers shared by the bearer-token tests: keys made in the test, JWKS documents, tokens,
//! and a sample route behind an `Authenticator`.
#![allow(dead_code)]

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use base64::Engine as _;
use common::auth::{AuthConfig, AuthMode, Authenticator, Caller, JwtConfig};
use common::identity::HsaId;
use http::{Request, StatusCode};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tower::ServiceExt as _;

pub const ISSUER: &str = "https://idp.test";
pub const AUDIENCE: &str = "nordform-form-engine";
pub const CALLER: &str = "SE2321000016-CS01";
pub const GATEWAY: &str = "SE2321000016-GW01";

/// A signing key and its public JWK.
#[derive(Clone)]
pub struct SigningKey {
    pub algorithm: Algorithm,
    pub kid: String,
    pub encoding: EncodingKey,
    pub jwk: Jwk,
}

impl SigningKey {
    pub fn new(algorithm: Algorithm, kid: &str, encoding: EncodingKey) -> Self {
        let mut jwk = Jwk::from_encoding_key(&encoding, algorithm).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        Self {
            algorithm,
            kid: kid.to_owned(),
            encoding,
            jwk,
        }
    }

    /// An RSA 2048 key (generated once per test binary: it takes a while without optimisation).
    pub fn rsa(kid: &str) -> Self {
        static DER: OnceLock<Vec<u8>> = OnceLock::new();
        let der = DER.get_or_init(|| {
            use rsa::pkcs1::EncodeRsaPrivateKey as _;
            let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
            key.to_pkcs1_der().unwrap().as_bytes().to_vec()
        });
        Self::new(Algorithm::RS256, kid, EncodingKey::from_rsa_der(der))
    }

    /// A P-256 key.
    pub fn ec(kid: &str) -> Self {
        let key = rcgen::KeyPair::generate().unwrap();
        Self::new(
            Algorithm::ES256,
            kid,
            EncodingKey::from_ec_der(&key.serialize_der()),
        )
    }

    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

pub fn jwks(keys: &[&SigningKey]) -> String {
    serde_json::to_string(&JwkSet {
        keys: keys.iter().map(|k| k.jwk.clone()).collect(),
    })
    .unwrap()
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn claims() -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "exp": now() + 300, "iat": now(), "hsa_id": CALLER})
}

pub fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

pub fn jwt_config(file: Option<std::path::PathBuf>, url: Option<String>) -> JwtConfig {
    JwtConfig {
        jwks_file: file,
        jwks_url: url,
        refresh_secs: 1,
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        hsa_id_claim: "hsa_id".to_owned(),
        leeway_secs: 30,
    }
}

pub async fn authenticator(jwt: JwtConfig, gateways: &[&str]) -> Authenticator {
    Authenticator::from_config(&AuthConfig {
        mode: AuthMode::Jwt,
        jwt: Some(jwt),
        gateways: gateways.iter().map(|g| HsaId::parse(g).unwrap()).collect(),
        ..AuthConfig::default()
    })
    .await
    .unwrap()
}

pub async fn whoami(caller: Caller) -> axum::Json<Value> {
    axum::Json(json!({
        "hsaId": caller.hsa_id.as_ref().map(HsaId::as_str),
        "method": caller.method.as_str(),
        "gateway": caller.gateway.as_ref().map(HsaId::as_str),
    }))
}

/// Calls `/whoami` behind `authenticator` with `token` (and extra headers); status and body.
pub async fn call(
    authenticator: &Authenticator,
    token: Option<&str>,
    consumer: Option<&str>,
) -> (StatusCode, http::HeaderMap, Value) {
    let router = authenticator.protect(Router::new().route("/whoami", get(whoami)));
    let mut request = Request::get("/whoami");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if let Some(consumer) = consumer {
        request = request.header("x-rivta-original-serviceconsumer-hsaid", consumer);
    }
    let response = router
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, headers, serde_json::from_slice(&bytes).unwrap())
}

pub fn unsigned(claims: &Value) -> String {
    let encode = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        encode(&json!({"alg": "none", "typ": "JWT"})),
        encode(claims)
    )
}
