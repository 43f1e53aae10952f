//! Bearer tokens end to end: RS256 and ES256 keys made in the test, served as a JWKS file and
//! from a JWKS URL (a local axum server); valid tokens pass and every kind of bad token gets
//! 401 with a clear detail.

use crate::support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use common::auth::{AuthConfig, AuthMode, Authenticator};
use http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use support::*;

#[tokio::test]
async fn rs256_and_es256_tokens_from_a_jwks_file_name_the_caller() {
    let rsa = SigningKey::rsa("rsa-1");
    let ec = SigningKey::ec("ec-1");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwks.json");
    std::fs::write(&file, jwks(&[&rsa, &ec])).unwrap();
    let authenticator = authenticator(jwt_config(Some(file), None), &[]).await;

    for key in [&rsa, &ec] {
        let (status, _, body) = call(&authenticator, Some(&key.sign(&claims())), None).await;
        assert_eq!(status, StatusCode::OK, "{:?}: {body}", key.algorithm);
        assert_eq!(body["hsaId"], CALLER);
        assert_eq!(body["method"], "bearer_token");
    }

    // Within the leeway an expired token still passes.
    let lately = with(claims(), "exp", json!(now() - 5));
    let (status, _, _) = call(&authenticator, Some(&ec.sign(&lately)), None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bad_tokens_are_refused_with_401() {
    let rsa = SigningKey::rsa("rsa-1");
    let ec = SigningKey::ec("ec-1");
    let unknown = SigningKey::ec("ec-unknown");
    let impostor = SigningKey::new(Algorithm::ES256, "ec-1", SigningKey::ec("x").encoding);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwks.json");
    std::fs::write(&file, jwks(&[&rsa, &ec])).unwrap();
    let authenticator = authenticator(jwt_config(Some(file), None), &[]).await;

    let hs256 = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("rsa-1".to_owned());
        jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(b"guessed")).unwrap()
    };
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("no token", None, "Authorization: Bearer"),
        ("not a JWT", Some("abc.def".to_owned()), "well-formed"),
        (
            "expired",
            Some(rsa.sign(&with(claims(), "exp", json!(now() - 120)))),
            "expired",
        ),
        (
            "not yet valid",
            Some(ec.sign(&with(claims(), "nbf", json!(now() + 600)))),
            "not valid yet",
        ),
        (
            "wrong audience",
            Some(rsa.sign(&with(claims(), "aud", json!("someone-else")))),
            "audience",
        ),
        (
            "wrong issuer",
            Some(ec.sign(&with(claims(), "iss", json!("https://evil.test")))),
            "issuer",
        ),
        ("alg none", Some(unsigned(&claims())), "algorithm `none`"),
        ("HS256", Some(hs256), "algorithm `HS256`"),
        (
            "unknown kid",
            Some(unknown.sign(&claims())),
            "key this service does not know",
        ),
        (
            "forged signature",
            Some(impostor.sign(&claims())),
            "signature",
        ),
        (
            "no HSA-id claim",
            Some(ec.sign(&json!({"iss": ISSUER, "aud": AUDIENCE, "exp": now() + 300}))),
            "hsa_id",
        ),
        (
            "HSA-id not valid",
            Some(ec.sign(&with(claims(), "hsa_id", json!("two words")))),
            "not a valid HSA-id",
        ),
        (
            "no exp",
            Some(ec.sign(&json!({"iss": ISSUER, "aud": AUDIENCE, "hsa_id": CALLER}))),
            "exp",
        ),
    ];
    for (name, token, expected) in cases {
        let (status, headers, body) = call(&authenticator, token.as_deref(), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
        assert_eq!(body["code"], "UNAUTHORIZED", "{name}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(expected), "{name}: {detail}");
        assert!(headers.contains_key("www-authenticate"), "{name}");
    }
}

#[tokio::test]
async fn a_gateway_token_may_name_the_consumer_and_others_may_not() {
    let ec = SigningKey::ec("ec-1");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwks.json");
    std::fs::write(&file, jwks(&[&ec])).unwrap();
    let authenticator = authenticator(jwt_config(Some(file), None), &[GATEWAY]).await;

    let gateway_token = ec.sign(&with(claims(), "hsa_id", json!(GATEWAY)));
    let (_, _, relayed) = call(&authenticator, Some(&gateway_token), Some(CALLER)).await;
    assert_eq!(relayed["hsaId"], CALLER);
    assert_eq!(relayed["gateway"], GATEWAY);

    let caller_token = ec.sign(&claims());
    let (_, _, direct) = call(
        &authenticator,
        Some(&caller_token),
        Some("SE2321000016-CS99"),
    )
    .await;
    assert_eq!(direct["hsaId"], CALLER);
    assert_eq!(direct["gateway"], Value::Null);
}

/// A JWKS endpoint whose answer the test changes.
#[derive(Clone, Default)]
struct JwksServer {
    answer: Arc<Mutex<(StatusCode, String)>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(&self) -> SocketAddr {
        async fn serve(State(server): State<JwksServer>) -> (StatusCode, String) {
            server.hits.fetch_add(1, Ordering::SeqCst);
            server.answer.lock().unwrap().clone()
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = Router::new()
            .route("/jwks.json", get(serve))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        address
    }

    fn set(&self, status: StatusCode, body: String) {
        *self.answer.lock().unwrap() = (status, body);
    }

    async fn wait_for_hits(&self, more_than: usize) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while self.hits.load(Ordering::SeqCst) <= more_than {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("the verifier refreshes its keys");
    }
}

#[tokio::test]
async fn jwks_url_keys_are_refreshed_kept_on_failure_and_rotated() {
    let rsa = SigningKey::rsa("rsa-1");
    let ec = SigningKey::ec("ec-2");
    let server = JwksServer::default();
    // The identity provider is down at start: the service starts, tokens wait for keys.
    server.set(StatusCode::SERVICE_UNAVAILABLE, String::new());
    let address = server.start().await;
    let url = format!("http://{address}/jwks.json");
    let authenticator = authenticator(jwt_config(None, Some(url)), &[]).await;
    let (status, _, _) = call(&authenticator, Some(&rsa.sign(&claims())), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Keys published: the next periodic refresh picks them up.
    server.set(StatusCode::OK, jwks(&[&rsa]));
    let seen = server.hits.load(Ordering::SeqCst);
    server.wait_for_hits(seen).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, _, body) = call(&authenticator, Some(&rsa.sign(&claims())), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The provider fails: the last good keys stay in use.
    server.set(StatusCode::INTERNAL_SERVER_ERROR, "oops".to_owned());
    let seen = server.hits.load(Ordering::SeqCst);
    server.wait_for_hits(seen + 1).await;
    let (status, _, body) = call(&authenticator, Some(&rsa.sign(&claims())), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Key rotation: a token with a new kid makes the verifier fetch the set again.
    server.set(StatusCode::OK, jwks(&[&ec]));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _, body) = call(&authenticator, Some(&ec.sign(&claims())), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, _) = call(&authenticator, Some(&rsa.sign(&claims())), None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the retired key no longer verifies"
    );
}

#[tokio::test]
async fn a_missing_jwks_file_or_incomplete_configuration_stops_the_start() {
    let missing = Authenticator::from_config(&AuthConfig {
        mode: AuthMode::Jwt,
        jwt: Some(jwt_config(Some("/nonexistent/jwks.json".into()), None)),
        ..AuthConfig::default()
    })
    .await;
    let error = missing
        .err()
        .expect("a missing file is an error")
        .to_string();
    assert!(error.contains("JWKS file"), "{error}");

    let both = Authenticator::from_config(&AuthConfig {
        mode: AuthMode::Jwt,
        jwt: Some(jwt_config(
            Some("jwks.json".into()),
            Some("http://127.0.0.1:1/".to_owned()),
        )),
        ..AuthConfig::default()
    })
    .await;
    assert!(both.err().unwrap().to_string().contains("exactly one"));
}
