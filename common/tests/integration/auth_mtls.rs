//! Mutual TLS end to end: a CA, a server certificate and SITHS-like client certificates (the
//! HSA-id in the subject's serialNumber) made in the test; a sample service served over TLS
//! with `BoundService::with_tls` and `Authenticator::protect`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::auth::{AuthConfig, AuthMode, Authenticator, Caller};
use common::config::HttpConfig;
use common::identity::HsaId;
use common::server::{BoundService, ServiceDescription};
use common::shutdown::Shutdown;
use common::tls::{ClientCertificateMode, TlsConfig};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};

const CLIENT_HSA_ID: &str = "SE2321000016-1HZ3";
const GATEWAY_HSA_ID: &str = "SE2321000016-GW01";

/// A CA that signs server and client certificates.
struct TestCa {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

impl TestCa {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Self { params, key, pem }
    }

    fn issue(&self, params: &CertificateParams) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&self.params, &self.key);
        let certificate = params.signed_by(&key, &issuer).unwrap();
        (certificate.pem(), key.serialize_pem())
    }

    fn server(&self) -> (String, String) {
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(&params)
    }

    /// A client certificate as SITHS issues them: the HSA-id in the subject serialNumber.
    fn client(&self, hsa_id: Option<&str>) -> (String, String) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(
            DnType::CountryName,
            DnValue::PrintableString("SE".try_into().unwrap()),
        );
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Region Testland");
        params
            .distinguished_name
            .push(DnType::CommonName, "Journal system");
        if let Some(hsa_id) = hsa_id {
            params.distinguished_name.push(
                DnType::CustomDnType(vec![2, 5, 4, 5]),
                DnValue::PrintableString(hsa_id.try_into().unwrap()),
            );
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(&params)
    }
}

struct Server {
    base: String,
    shutdown: Shutdown,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
    ca_pem: String,
    _dir: tempfile::TempDir,
}

async fn whoami(caller: Caller) -> axum::Json<Value> {
    axum::Json(json!({
        "hsaId": caller.hsa_id.as_ref().map(HsaId::as_str),
        "method": caller.method.as_str(),
        "gateway": caller.gateway.as_ref().map(HsaId::as_str),
    }))
}

async fn slow(caller: Caller) -> String {
    tokio::time::sleep(Duration::from_millis(400)).await;
    caller.name().to_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

async fn start(
    ca: &TestCa,
    client_certificate: ClientCertificateMode,
    gateways: &[&str],
) -> Server {
    start_with(ca, client_certificate, gateways, &HttpConfig::with_port(0)).await
}

async fn start_with(
    ca: &TestCa,
    client_certificate: ClientCertificateMode,
    gateways: &[&str],
    http: &HttpConfig,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (server_pem, server_key) = ca.server();
    let config = AuthConfig {
        mode: AuthMode::Mtls,
        gateways: gateways.iter().map(|g| HsaId::parse(g).unwrap()).collect(),
        tls: Some(TlsConfig {
            certificate: write(dir.path(), "server.pem", &server_pem),
            private_key: write(dir.path(), "server.key", &server_key),
            client_ca: Some(write(dir.path(), "ca.pem", &ca.pem)),
            client_certificate,
            client_crls: Vec::new(),
        }),
        ..AuthConfig::default()
    };
    let authenticator = Authenticator::from_config(&config).await.unwrap();
    authenticator.log_start("sample");
    let api = authenticator.protect(
        Router::new()
            .route("/whoami", get(whoami))
            .route("/slow", get(slow)),
    );
    let service = ServiceDescription {
        name: "sample",
        openapi: utoipa::openapi::OpenApi::default(),
        readiness: common::server::readiness(|| async { Ok(()) }),
    };
    let bound = BoundService::bind(service, api, http)
        .await
        .unwrap()
        .with_tls(authenticator.tls());
    assert_eq!(bound.scheme(), "https");
    let base = format!("https://localhost:{}", bound.local_addr().port());
    let shutdown = Shutdown::new();
    let served = tokio::spawn(bound.serve(shutdown.clone()));
    Server {
        base,
        shutdown,
        served,
        ca_pem: ca.pem.clone(),
        _dir: dir,
    }
}

/// A client trusting `ca_pem`, presenting `identity` (certificate and key PEM) when given.
fn client(ca_pem: &str, identity: Option<&(String, String)>) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls_client(ca_pem, identity))
        .resolve("localhost", ([127, 0, 0, 1], 0).into())
        .build()
        .unwrap()
}

/// The TLS side of [`client`].
fn tls_client(ca_pem: &str, identity: Option<&(String, String)>) -> rustls::ClientConfig {
    common::http_client::install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    match identity {
        Some((certificate, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(certificate.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    }
}

#[tokio::test]
async fn the_caller_is_the_hsa_id_in_the_client_certificate() {
    let ca = TestCa::new("Test SITHS CA");
    let server = start(&ca, ClientCertificateMode::Required, &[]).await;
    let identity = ca.client(Some(CLIENT_HSA_ID));

    let answer: Value = client(&server.ca_pem, Some(&identity))
        .get(format!("{}/whoami", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["hsaId"], CLIENT_HSA_ID);
    assert_eq!(answer["method"], "mutual_tls");
    assert_eq!(answer["gateway"], Value::Null);

    // The header does not change who a non-gateway caller is.
    let claimed: Value = client(&server.ca_pem, Some(&identity))
        .get(format!("{}/whoami", server.base))
        .header(
            "x-rivta-original-serviceconsumer-hsaid",
            "SE2321000016-OTHER",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(claimed["hsaId"], CLIENT_HSA_ID);
    server.shutdown.cancel();
}

#[tokio::test]
async fn a_client_without_a_certificate_or_from_another_ca_is_refused() {
    let ca = TestCa::new("Test SITHS CA");
    let server = start(&ca, ClientCertificateMode::Required, &[]).await;

    let without = client(&server.ca_pem, None)
        .get(format!("{}/whoami", server.base))
        .send()
        .await;
    assert!(without.is_err(), "the handshake must fail: {without:?}");

    let stranger = TestCa::new("Somebody else's CA").client(Some(CLIENT_HSA_ID));
    let foreign = client(&server.ca_pem, Some(&stranger))
        .get(format!("{}/whoami", server.base))
        .send()
        .await;
    assert!(
        foreign.is_err(),
        "a foreign certificate must be refused: {foreign:?}"
    );

    // Even the health endpoints need a certificate in `required` mode.
    let health = client(&server.ca_pem, None)
        .get(format!("{}/health/live", server.base))
        .send()
        .await;
    assert!(health.is_err());
    server.shutdown.cancel();
}

#[tokio::test]
async fn with_optional_certificates_probes_pass_and_api_calls_without_one_get_401() {
    let ca = TestCa::new("Test SITHS CA");
    let server = start(&ca, ClientCertificateMode::Optional, &[]).await;
    let anonymous = client(&server.ca_pem, None);

    let health = anonymous
        .get(format!("{}/health/live", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let refused = anonymous
        .get(format!("{}/whoami", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "UNAUTHORIZED");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("client certificate"),
        "{problem}"
    );

    // A certificate without a serialNumber names nobody.
    let nameless = ca.client(None);
    let refused = client(&server.ca_pem, Some(&nameless))
        .get(format!("{}/whoami", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let problem: Value = refused.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("serialNumber"));
    server.shutdown.cancel();
}

#[tokio::test]
async fn only_the_configured_gateway_may_name_the_consumer() {
    let ca = TestCa::new("Test SITHS CA");
    let server = start(&ca, ClientCertificateMode::Required, &[GATEWAY_HSA_ID]).await;
    let gateway = client(&server.ca_pem, Some(&ca.client(Some(GATEWAY_HSA_ID))));

    let relayed: Value = gateway
        .get(format!("{}/whoami", server.base))
        .header("x-rivta-original-serviceconsumer-hsaid", CLIENT_HSA_ID)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(relayed["hsaId"], CLIENT_HSA_ID);
    assert_eq!(relayed["gateway"], GATEWAY_HSA_ID);

    let itself: Value = gateway
        .get(format!("{}/whoami", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(itself["hsaId"], GATEWAY_HSA_ID);
    assert_eq!(itself["gateway"], Value::Null);

    let malformed = gateway
        .get(format!("{}/whoami", server.base))
        .header("x-rivta-original-serviceconsumer-hsaid", "not an id")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 401);

    let other = client(&server.ca_pem, Some(&ca.client(Some("SE2321000016-CS99"))));
    let ignored: Value = other
        .get(format!("{}/whoami", server.base))
        .header("x-rivta-original-serviceconsumer-hsaid", CLIENT_HSA_ID)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ignored["hsaId"], "SE2321000016-CS99");
    assert_eq!(ignored["gateway"], Value::Null);
    server.shutdown.cancel();
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish_and_refuses_new_connections() {
    let ca = TestCa::new("Test SITHS CA");
    let server = start(&ca, ClientCertificateMode::Required, &[]).await;
    let client = client(&server.ca_pem, Some(&ca.client(Some(CLIENT_HSA_ID))));
    let in_flight = {
        let client = client.clone();
        let url = format!("{}/slow", server.base);
        tokio::spawn(async move { client.get(url).send().await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    server.shutdown.cancel();
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), CLIENT_HSA_ID);
    let result = tokio::time::timeout(Duration::from_secs(10), server.served)
        .await
        .expect("the server stops after draining")
        .unwrap();
    assert!(result.is_ok());
    let fresh = reqwest::Client::builder()
        .tls_backend_preconfigured(
            rustls::ClientConfig::builder()
                .with_root_certificates(Arc::new(rustls::RootCertStore::empty()))
                .with_no_client_auth(),
        )
        .build()
        .unwrap()
        .get(format!("{}/whoami", server.base))
        .send()
        .await;
    assert!(fresh.is_err());
}

/// Over TLS too, a connection that completes its handshake and then sends no request is closed
/// after the idle timeout: the handshake is not a request.
#[tokio::test]
async fn a_tls_connection_that_sends_no_request_is_closed_after_the_idle_timeout() {
    use tokio::io::AsyncReadExt as _;

    let ca = TestCa::new("Test SITHS CA");
    let http = HttpConfig {
        idle_timeout_secs: 1,
        ..HttpConfig::with_port(0)
    };
    let server = start_with(&ca, ClientCertificateMode::Required, &[], &http).await;
    let config = tls_client(&server.ca_pem, Some(&ca.client(Some(CLIENT_HSA_ID))));
    let port: u16 = server.base.rsplit(':').next().unwrap().parse().unwrap();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut connection = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .expect("the handshake succeeds");
    let mut received = Vec::new();
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        connection.read_to_end(&mut received),
    )
    .await
    .expect("the server closes the idle connection");
    // An orderly close_notify or a reset: either way nothing was sent.
    let _ = read;
    assert!(received.is_empty());
    server.shutdown.cancel();
}
