//! Serving a service over TLS (rustls, ring provider), with or without client certificates,
//! and the client certificate's identity handed to the handlers.
//!
//! [`serve_tls`] is the TLS sibling of [`crate::server::serve`]: same router, same graceful
//! shutdown (no new connections once `shutdown` is cancelled; requests in flight finish). When
//! the client presented a certificate, every request of the connection carries a
//! [`ClientCertificate`] extension; [`crate::auth`] turns it into the caller.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::identity::HsaId;
use crate::shutdown::Shutdown;

/// Whether a client must present a certificate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientCertificateMode {
    /// The handshake fails without a certificate signed by `client_ca`.
    #[default]
    Required,
    /// A client may connect without a certificate (health probes, token callers); one it does
    /// present must be signed by `client_ca`. Authentication then refuses API calls that lack one.
    Optional,
}

/// `[auth.tls]`: the server's certificate and, for mutual TLS, the CA bundle client
/// certificates must chain to. Files are PEM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The server's certificate chain, leaf first.
    pub certificate: PathBuf,
    /// The server's private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: PathBuf,
    /// CA certificates client certificates must chain to (for SITHS: the SITHS CA chain).
    /// Absent: clients are not asked for a certificate.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// `required` (default) or `optional`; only with `client_ca`.
    #[serde(default)]
    pub client_certificate: ClientCertificateMode,
    /// Certificate revocation lists (PEM) checked for client certificates.
    #[serde(default)]
    pub client_crls: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} from {path}: {reason}")]
    File {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("invalid TLS configuration: {0}")]
    Config(String),
}

fn file_error(what: &'static str, path: &Path, reason: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        what,
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

fn read_certificates(
    what: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(what, path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(what, path, e))?;
    if certificates.is_empty() {
        return Err(file_error(what, path, "the file holds no PEM certificate"));
    }
    Ok(certificates)
}

impl TlsConfig {
    /// The rustls server configuration (ALPN h2 and http/1.1). Reads the files now: a missing
    /// or invalid file stops the start. The private key is never logged.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = read_certificates("the server certificate", &self.certificate)?;
        let key = PrivateKeyDer::from_pem_file(&self.private_key)
            .map_err(|e| file_error("the server private key", &self.private_key, e))?;
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let builder = match &self.client_ca {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for certificate in read_certificates("the client CA bundle", ca)? {
                    roots
                        .add(certificate)
                        .map_err(|e| file_error("the client CA bundle", ca, e))?;
                }
                let mut crls = Vec::new();
                for path in &self.client_crls {
                    let list = CertificateRevocationListDer::pem_file_iter(path)
                        .map_err(|e| file_error("a revocation list", path, e))?
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| file_error("a revocation list", path, e))?;
                    crls.extend(list);
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .with_crls(crls);
                let verifier = match self.client_certificate {
                    ClientCertificateMode::Required => verifier,
                    ClientCertificateMode::Optional => verifier.allow_unauthenticated(),
                };
                let verifier = verifier
                    .build()
                    .map_err(|e| TlsError::Config(format!("client certificate verifier: {e}")))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Config(format!("the server certificate and key: {e}")))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// The verified client certificate of the connection a request came on (a request
/// extension). Only present when the client presented a certificate the CA bundle accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The subject's serialNumber attribute (OID 2.5.4.5), where SITHS certificates carry the
    /// holder's HSA-id; `None` when absent or not a valid HSA-id.
    pub hsa_id: Option<HsaId>,
    /// The subject distinguished name, for logs.
    pub subject: String,
}

impl ClientCertificate {
    /// Reads the subject of a DER certificate (already verified by the TLS layer).
    pub fn from_der(der: &[u8]) -> Option<Self> {
        let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
        let subject = certificate.subject();
        let hsa_id = subject
            .iter_by_oid(&x509_parser::oid_registry::OID_X509_SERIALNUMBER)
            .find_map(|attribute| attribute.as_str().ok())
            .and_then(crate::auth::caller_hsa_id);
        Some(Self {
            hsa_id,
            subject: subject.to_string(),
        })
    }
}

/// Serves `router` over TLS until `shutdown` is cancelled, then lets requests in flight finish
/// (at most `drain`). Each request carries the client's [`ClientCertificate`], when it presented
/// one, and its `ConnectInfo<SocketAddr>`.
pub async fn serve_tls(
    listener: TcpListener,
    router: Router,
    tls: Arc<rustls::ServerConfig>,
    shutdown: Shutdown,
    drain: Duration,
) -> io::Result<()> {
    let limits = crate::server::connections::ConnectionLimits {
        idle: crate::server::DEFAULT_IDLE_TIMEOUT,
        drain,
    };
    crate::server::connections::serve_connections(
        None,
        listener,
        router,
        Some(tls),
        shutdown,
        limits,
    )
    .await
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, DnType, DnValue, KeyPair};

    use super::*;

    fn certificate(serial_number: Option<DnValue>) -> Vec<u8> {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "Journal system");
        if let Some(value) = serial_number {
            params
                .distinguished_name
                .push(DnType::CustomDnType(vec![2, 5, 4, 5]), value);
        }
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn the_hsa_id_is_read_from_printable_or_utf8_serial_numbers() {
        let printable = certificate(Some(DnValue::PrintableString(
            "SE2321000016-1HZ3".try_into().unwrap(),
        )));
        let utf8 = certificate(Some(DnValue::Utf8String("SE2321000016-1HZ3".into())));
        for der in [printable, utf8] {
            let read = ClientCertificate::from_der(&der).unwrap();
            assert_eq!(read.hsa_id.unwrap().as_str(), "SE2321000016-1HZ3");
            assert!(read.subject.contains("Journal system"), "{}", read.subject);
        }
    }

    #[test]
    fn no_or_odd_serial_numbers_name_nobody() {
        assert_eq!(
            ClientCertificate::from_der(&certificate(None))
                .unwrap()
                .hsa_id,
            None
        );
        let personal = certificate(Some(DnValue::Utf8String("191212121212".into())));
        assert_eq!(ClientCertificate::from_der(&personal).unwrap().hsa_id, None);
        assert!(ClientCertificate::from_der(b"not a certificate").is_none());
    }
}
