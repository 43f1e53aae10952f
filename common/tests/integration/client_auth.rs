//! A service calling another one with [`ClientAuthConfig`]: its client certificate (mutual
//! TLS, the called service trusting a CA made in the test) or its bearer token file names it.

use axum::Router;
use axum::routing::get;
use common::auth::{Authenticator, Caller};
use common::http_client::ClientAuthConfig;
use common::shutdown::Shutdown;
use common::testing::security::{TestCa, TestSigner, serve_protected, write};
use std::time::Duration;

const CALLER: &str = "SE2321000016-PP01";

async fn whoami(caller: Caller) -> String {
    format!("{} {}", caller.name(), caller.method.as_str())
}

async fn serve(config: &common::auth::AuthConfig) -> (String, Shutdown) {
    let authenticator = Authenticator::from_config(config).await.unwrap();
    serve_protected(&authenticator, Router::new().route("/whoami", get(whoami))).await
}

#[tokio::test]
async fn the_client_certificate_names_the_calling_service() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Test SITHS CA");
    let (base, shutdown) = serve(&ca.mtls_config(dir.path(), Vec::new())).await;
    let base = base.replace("localhost", "127.0.0.1");
    let identity = ca.client(CALLER);
    let config = ClientAuthConfig {
        certificate: Some(write(dir.path(), "client.pem", &identity.certificate_pem)),
        private_key: Some(write(dir.path(), "client.key", &identity.key_pem)),
        server_ca: Some(write(dir.path(), "ca.pem", &ca.pem)),
        bearer_token_file: None,
    };
    config.validate("client").unwrap();
    let client = config.client(Duration::from_secs(5)).unwrap();
    let answer = client
        .get(format!("{base}/whoami"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(answer, format!("{CALLER} mutual_tls"));

    // Without the certificate the handshake fails; without the CA the server is not trusted.
    let no_certificate = ClientAuthConfig {
        server_ca: config.server_ca.clone(),
        ..ClientAuthConfig::default()
    };
    let refused = no_certificate
        .client(Duration::from_secs(5))
        .unwrap()
        .get(format!("{base}/whoami"))
        .send()
        .await;
    assert!(refused.is_err());
    let untrusted = ClientAuthConfig {
        server_ca: None,
        ..config.clone()
    };
    let refused = untrusted
        .client(Duration::from_secs(5))
        .unwrap()
        .get(format!("{base}/whoami"))
        .send()
        .await;
    assert!(refused.is_err());

    // A missing file stops the start with its name.
    let missing = ClientAuthConfig {
        private_key: Some(dir.path().join("absent.key")),
        ..config
    };
    let error = missing.client(Duration::from_secs(5)).unwrap_err();
    assert!(error.to_string().contains("absent.key"), "{error}");
    shutdown.cancel();
}

#[tokio::test]
async fn the_bearer_token_file_names_the_calling_service() {
    let dir = tempfile::tempdir().unwrap();
    let signer = TestSigner::new("k1");
    let (base, shutdown) = serve(&signer.jwt_config(dir.path(), Vec::new())).await;
    let config = ClientAuthConfig {
        bearer_token_file: Some(write(dir.path(), "token", &signer.token(CALLER))),
        ..ClientAuthConfig::default()
    };
    let token = config.bearer_token().unwrap().unwrap();
    let client = config.client(Duration::from_secs(5)).unwrap();
    let answer = client
        .get(format!("{base}/whoami").replace("localhost", "127.0.0.1"))
        .bearer_auth(token.get().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(answer, format!("{CALLER} bearer_token"));
    shutdown.cancel();
}
