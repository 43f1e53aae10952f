//! TLS to a NATS server that verifies its clients (`notification.nats.tls_*`): a `nats-server`
//! of the test's own, started from the PATH with a test CA's certificate and `--tlsverify`
//! (skipped, with a note, when there is none and `NORDFORM_NATS_TESTS` is not `required`).

use std::path::Path;
use std::time::Duration;

use common::delivery::{
    DeliveryError, DeliveryPolicy, DeliveryStore as _, JetStreamConfig, JetStreamDeliveries,
};
use common::testing::nats;
use common::testing::security::{TestCa, write};

/// A TLS-only NATS server with JetStream, on a free port, killed when dropped.
struct TlsNats {
    port: u16,
    process: std::process::Child,
    _store: tempfile::TempDir,
}

impl TlsNats {
    async fn start(ca: &TestCa, dir: &Path) -> Option<Self> {
        if !nats::server_on_path("TLS to NATS") {
            return None;
        }
        let server = ca.server();
        let port = nats::free_port();
        let store = tempfile::tempdir().unwrap();
        let process = std::process::Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(store.path())
            .arg("--tlscert")
            .arg(write(dir, "nats.pem", &server.certificate_pem))
            .arg("--tlskey")
            .arg(write(dir, "nats.key", &server.key_pem))
            .arg("--tlscacert")
            .arg(write(dir, "clients-ca.pem", &ca.pem))
            .arg("--tlsverify")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let nats = Self {
            port,
            process,
            _store: store,
        };
        nats::answering(port).await;
        Some(nats)
    }

    fn config(&self) -> JetStreamConfig {
        JetStreamConfig {
            url: format!("nats://localhost:{}", self.port),
            stream: format!("TEST_TLS_{}", uuid::Uuid::new_v4().simple()),
            ..JetStreamConfig::default()
        }
    }
}

impl Drop for TlsNats {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

async fn connect(config: &JetStreamConfig) -> Result<JetStreamDeliveries, DeliveryError> {
    tokio::time::timeout(
        Duration::from_secs(20),
        JetStreamDeliveries::connect(config, &DeliveryPolicy::default()),
    )
    .await
    .expect("connecting ends, one way or the other")
}

#[tokio::test]
async fn the_index_reaches_a_nats_server_that_verifies_it_with_its_ca_and_certificate() {
    let ca = TestCa::new("Test NATS CA");
    let dir = tempfile::tempdir().unwrap();
    let Some(nats) = TlsNats::start(&ca, dir.path()).await else {
        return;
    };
    let client = ca.client("SE2321000016-EI01");
    let roots = write(dir.path(), "ca.pem", &ca.pem);
    let certificate = write(dir.path(), "client.pem", &client.certificate_pem);
    let key = write(dir.path(), "client.key", &client.key_pem);
    let verified = JetStreamConfig {
        tls_ca_file: Some(roots.clone()),
        tls_certificate_file: Some(certificate.clone()),
        tls_key_file: Some(key.clone()),
        ..nats.config()
    };

    // Connecting creates the stream, and the queue answers over the encrypted connection.
    let deliveries = connect(&verified)
        .await
        .expect("TLS with the CA and a client certificate");
    let stats = deliveries.stats().await.expect("the queue's statistics");
    assert!(stats.is_empty(), "a new stream holds nothing: {stats:?}");

    // No client certificate: the server refuses.
    let without_certificate = JetStreamConfig {
        tls_certificate_file: None,
        tls_key_file: None,
        ..verified.clone()
    };
    assert!(
        connect(&without_certificate).await.is_err(),
        "connected without a client certificate"
    );

    // Another CA: the client refuses the server's certificate.
    let other_roots = write(dir.path(), "other-ca.pem", &TestCa::new("Other CA").pem);
    let other_ca = JetStreamConfig {
        tls_ca_file: Some(other_roots),
        ..verified.clone()
    };
    assert!(
        connect(&other_ca).await.is_err(),
        "trusted a server another CA signed"
    );

    // A certificate without its key is a configuration error, said as one.
    let half = JetStreamConfig {
        tls_key_file: None,
        ..verified.clone()
    };
    let error = connect(&half)
        .await
        .err()
        .expect("a certificate without a key is refused");
    assert!(error.to_string().contains("tls_key_file"), "{error}");
}
