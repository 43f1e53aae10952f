//! Credentials made in the test, for the services' security tests: a CA issuing a server
//! certificate and SITHS-like client certificates (the HSA-id in the subject's serialNumber),
//! ES256 signing keys with their JWKS and tokens, the `[auth]` configurations that use them,
//! and HTTP clients presenting them.

use std::path::{Path, PathBuf};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};

use crate::auth::{AuthConfig, AuthMode, JwtConfig};
use crate::identity::HsaId;
use crate::permissions::{PermissionGrant, Role};
use crate::tls::{ClientCertificateMode, TlsConfig};

/// The issuer of the test tokens.
pub const TEST_ISSUER: &str = "https://idp.test";
/// The audience of the test tokens.
pub const TEST_AUDIENCE: &str = "nordform-test";

/// A certificate and its private key, PEM.
#[derive(Clone, Debug)]
pub struct TestIdentity {
    pub certificate_pem: String,
    pub key_pem: String,
}

/// A CA that signs a server certificate for `localhost` and client certificates.
pub struct TestCa {
    params: CertificateParams,
    key: KeyPair,
    /// The CA certificate, PEM: the client CA bundle of the server, and the root clients trust.
    pub pem: String,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("a P-256 key");
        let pem = params.self_signed(&key).expect("a CA certificate").pem();
        Self { params, key, pem }
    }

    fn issue(&self, params: &CertificateParams) -> TestIdentity {
        let key = KeyPair::generate().expect("a P-256 key");
        let issuer = Issuer::from_params(&self.params, &self.key);
        let certificate = params.signed_by(&key, &issuer).expect("a certificate");
        TestIdentity {
            certificate_pem: certificate.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A server certificate for `localhost` and `127.0.0.1`.
    pub fn server(&self) -> TestIdentity {
        self.server_for(&["localhost", "127.0.0.1"])
    }

    /// A server certificate for `names` only (the first also its common name).
    pub fn server_for(&self, names: &[&str]) -> TestIdentity {
        let mut params = CertificateParams::new(
            names
                .iter()
                .map(|name| (*name).to_owned())
                .collect::<Vec<_>>(),
        )
        .expect("server parameters");
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("localhost"),
        );
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(&params)
    }

    /// A client certificate as SITHS issues them: `hsa_id` in the subject's serialNumber.
    pub fn client(&self, hsa_id: &str) -> TestIdentity {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client parameters");
        params.distinguished_name.push(
            DnType::CountryName,
            DnValue::PrintableString("SE".try_into().expect("printable")),
        );
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Region Testland");
        params
            .distinguished_name
            .push(DnType::CommonName, "Test system");
        params.distinguished_name.push(
            DnType::CustomDnType(vec![2, 5, 4, 5]),
            DnValue::PrintableString(hsa_id.try_into().expect("a printable HSA-id")),
        );
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(&params)
    }

    /// `[auth]` for mutual TLS with this CA: the server's certificate, key and the CA bundle
    /// are written into `dir`.
    pub fn mtls_config(&self, dir: &Path, grants: Vec<PermissionGrant>) -> AuthConfig {
        let server = self.server();
        AuthConfig {
            mode: AuthMode::Mtls,
            tls: Some(TlsConfig {
                certificate: write(dir, "server.pem", &server.certificate_pem),
                private_key: write(dir, "server.key", &server.key_pem),
                client_ca: Some(write(dir, "client-ca.pem", &self.pem)),
                client_certificate: ClientCertificateMode::Required,
                client_crls: Vec::new(),
            }),
            permissions: grants,
            ..AuthConfig::default()
        }
    }

    /// An HTTPS client trusting this CA and presenting `identity` when given. `localhost`
    /// resolves to 127.0.0.1.
    pub fn https_client(&self, identity: Option<&TestIdentity>) -> reqwest::Client {
        crate::http_client::install_crypto_provider();
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(self.pem.as_bytes()).expect("the CA certificate"))
            .expect("a valid root");
        let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
        let config = match identity {
            Some(identity) => builder
                .with_client_auth_cert(
                    vec![
                        CertificateDer::from_pem_slice(identity.certificate_pem.as_bytes())
                            .expect("the client certificate"),
                    ],
                    PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes())
                        .expect("the client key"),
                )
                .expect("a client identity"),
            None => builder.with_no_client_auth(),
        };
        reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .resolve("localhost", ([127, 0, 0, 1], 0).into())
            .build()
            .expect("a client")
    }
}

/// Writes `text` to `dir/name`.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("the test directory is writable");
    path
}

/// An ES256 key that signs test tokens, and its public JWK.
#[derive(Clone)]
pub struct TestSigner {
    kid: String,
    encoding: EncodingKey,
    jwk: Jwk,
}

impl TestSigner {
    pub fn new(kid: &str) -> Self {
        let key = KeyPair::generate().expect("a P-256 key");
        let encoding = EncodingKey::from_ec_der(&key.serialize_der());
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).expect("a JWK");
        jwk.common.key_id = Some(kid.to_owned());
        Self {
            kid: kid.to_owned(),
            encoding,
            jwk,
        }
    }

    /// The key set holding this key's public part.
    pub fn jwks(&self) -> String {
        serde_json::to_string(&JwkSet {
            keys: vec![self.jwk.clone()],
        })
        .expect("a JWKS serialises")
    }

    /// A valid token for `hsa_id` (issuer [`TEST_ISSUER`], audience [`TEST_AUDIENCE`], five
    /// minutes).
    pub fn token(&self, hsa_id: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        self.sign(&json!({
            "iss": TEST_ISSUER, "aud": TEST_AUDIENCE, "iat": now, "exp": now + 300, "hsa_id": hsa_id
        }))
    }

    /// A token with exactly `claims`.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("a signed token")
    }

    /// `[auth]` for bearer tokens signed by this key: the JWKS file is written into `dir`.
    pub fn jwt_config(&self, dir: &Path, grants: Vec<PermissionGrant>) -> AuthConfig {
        AuthConfig {
            mode: AuthMode::Jwt,
            jwt: Some(JwtConfig {
                jwks_file: Some(write(dir, "jwks.json", &self.jwks())),
                jwks_url: None,
                refresh_secs: 300,
                issuer: TEST_ISSUER.to_owned(),
                audience: TEST_AUDIENCE.to_owned(),
                hsa_id_claim: "hsa_id".to_owned(),
                leeway_secs: 30,
            }),
            permissions: grants,
            ..AuthConfig::default()
        }
    }
}

/// The audit rows of `patient` as `client` (an admin's) reads them through
/// `/admin/audit/by-patient` at `base`, each as the text of `fields`, in the service's order.
pub async fn audited(
    client: &reqwest::Client,
    base: &str,
    patient: &str,
    fields: &[&str],
) -> Vec<Vec<String>> {
    let page: Value = client
        .post(format!("{base}/admin/audit/by-patient"))
        .json(&json!({"patient": patient}))
        .send()
        .await
        .expect("the service answers")
        .json()
        .await
        .expect("an audit page");
    page["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| {
            fields
                .iter()
                .map(|field| event[*field].as_str().expect(field).to_owned())
                .collect()
        })
        .collect()
}

/// A grant, for test configurations.
pub fn grant(caller: &str, role: Role, scope: &str) -> PermissionGrant {
    PermissionGrant::new(HsaId::parse(caller).expect("a valid HSA-id"), role, scope)
}

/// A service running in the test, called over HTTP as one caller or another: what every
/// service's security test drives. Stopped when dropped.
pub struct TestService {
    pub base: String,
    pub client: reqwest::Client,
    /// Signs a token for the caller of each request; none with mutual TLS or open mode.
    pub signer: Option<TestSigner>,
    /// The admin that reads the audit log.
    admin: String,
    shutdown: crate::shutdown::Shutdown,
    /// What must live as long as the service (its configuration's files, fakes it calls).
    keep: Vec<Box<dyn std::any::Any + Send>>,
}

/// An answer: its status and JSON body (`Null` when empty, a string when not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: http::StatusCode,
    pub body: Value,
}

/// Bearer tokens for a service under test: a key, the `[auth]` taking its tokens with
/// `grants`, and a plain client.
pub struct TokenSetup {
    pub signer: TestSigner,
    pub auth: AuthConfig,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
}

impl TokenSetup {
    pub fn new(kid: &str, grants: Vec<PermissionGrant>) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let signer = TestSigner::new(kid);
        let auth = signer.jwt_config(dir.path(), grants);
        Self {
            signer,
            auth,
            client: local_client(),
            dir,
        }
    }
}

/// A client reaching the service at `localhost` (the test certificates' name) on 127.0.0.1.
pub fn local_client() -> reqwest::Client {
    crate::http_client::install_crypto_provider();
    reqwest::Client::builder()
        .resolve("localhost", ([127, 0, 0, 1], 0).into())
        .build()
        .expect("a client")
}

impl TestService {
    /// A service listening at `address` (`scheme` is `http` or `https`), called with
    /// `client`; `admin` reads the audit log. Run the application until [`Self::shutdown`].
    pub fn new(
        scheme: &str,
        address: std::net::SocketAddr,
        client: reqwest::Client,
        admin: &str,
    ) -> Self {
        Self {
            base: format!("{scheme}://localhost:{}", address.port()),
            client,
            signer: None,
            admin: admin.to_owned(),
            shutdown: crate::shutdown::Shutdown::new(),
            keep: Vec::new(),
        }
    }

    /// Stops the application when the service is dropped.
    pub fn shutdown(&self) -> crate::shutdown::Shutdown {
        self.shutdown.clone()
    }

    /// Signs each request's caller with `signer`.
    #[must_use]
    pub fn with_signer(mut self, signer: TestSigner) -> Self {
        self.signer = Some(signer);
        self
    }

    /// Keeps `value` (a directory, a fake) alive while the service runs.
    #[must_use]
    pub fn keeping(mut self, value: impl std::any::Any + Send) -> Self {
        self.keep.push(Box::new(value));
        self
    }

    /// Calls `path` as `caller` (a token for it; none when `None`).
    pub async fn request(
        &self,
        caller: Option<&str>,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        self.request_with(caller, method, path, body, &[]).await
    }

    /// Calls `path` as `caller` with extra headers.
    pub async fn request_with(
        &self,
        caller: Option<&str>,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let (Some(caller), Some(signer)) = (caller, &self.signer) {
            request = request.bearer_auth(signer.token(caller));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the service answers");
        let status = response.status();
        let text = response.text().await.expect("an answer body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer { status, body }
    }

    /// Every audit row of `caller`, through `/admin/audit/by-caller` as the admin.
    pub async fn audit_of(&self, caller: &str) -> Vec<Value> {
        let path = format!("/admin/audit/by-caller/{caller}?limit=1000");
        self.audit_page(http::Method::GET, &path, None).await
    }

    /// Every audit row of `patient`, through `/admin/audit/by-patient` as the admin.
    pub async fn audit_of_patient(&self, patient: &str) -> Vec<Value> {
        let body = json!({"patient": patient, "limit": 1000});
        self.audit_page(http::Method::POST, "/admin/audit/by-patient", Some(&body))
            .await
    }

    async fn audit_page(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Vec<Value> {
        let answer = self.request(Some(&self.admin), method, path, body).await;
        assert_eq!(answer.status, http::StatusCode::OK, "{}", answer.body);
        answer.body["events"].as_array().cloned().expect("events")
    }
}

impl Drop for TestService {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Serves `routes` behind `authenticator` (over its TLS when it has one) on a free loopback
/// port until the returned handle is cancelled. The base URL names `localhost`, the test
/// certificates' name.
pub async fn serve_protected(
    authenticator: &crate::auth::Authenticator,
    routes: axum::Router,
) -> (String, crate::shutdown::Shutdown) {
    let service = crate::server::ServiceDescription {
        name: "test",
        openapi: utoipa::openapi::OpenApi::default(),
        readiness: crate::server::readiness(|| async { Ok(()) }),
    };
    let http = crate::config::HttpConfig::with_port(0);
    let bound = crate::server::BoundService::bind(service, authenticator.protect(routes), &http)
        .await
        .expect("a free port")
        .with_tls(authenticator.tls());
    let base = format!(
        "{}://localhost:{}",
        bound.scheme(),
        bound.local_addr().port()
    );
    let shutdown = crate::shutdown::Shutdown::new();
    tokio::spawn(bound.serve(shutdown.clone()));
    (base, shutdown)
}
