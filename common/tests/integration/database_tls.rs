//! TLS between a service and PostgreSQL, set by the database URL's libpq parameters
//! (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`), through the pool every service opens
//! (skipped without `TEST_DATABASE_URL`). A database on another host carries patient data over
//! the network, so the connection must be able to be encrypted and its server checked. The
//! checks run against a front that holds a test CA's certificate and passes the connection on
//! to the test's server, so they do not depend on the server's own certificate.

use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use common::db::open_postgres;
use common::testing::ScratchDatabase;
use common::testing::security::{TestCa, write};
use common::tls::{ClientCertificateMode, TlsConfig};
use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt, copy_bidirectional};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

static SECURITY: Migrator = sqlx::migrate!("migrations/security/postgres");

/// `url` with `sslmode` (and any other of `params`) set, replacing what it said before.
fn with_params(url: &str, params: &[(&str, &str)]) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept: Vec<String> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            !params.iter().any(|(name, _)| *name == key)
        })
        .map(str::to_owned)
        .collect();
    kept.extend(params.iter().map(|(name, value)| format!("{name}={value}")));
    format!("{base}?{}", kept.join("&"))
}

/// Whether the server offers TLS at all (`ssl = on`; Debian's packages turn it on).
async fn server_offers_tls(url: &str) -> bool {
    let mut connection = PgConnection::connect(&with_params(url, &[("sslmode", "disable")]))
        .await
        .expect("TEST_DATABASE_URL must point at a running PostgreSQL server");
    let ssl: String = sqlx::query_scalar("SHOW ssl")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    ssl == "on"
}

/// Whether the pool's connection is encrypted, as the server sees it, and with what.
async fn encryption(pool: &sqlx::PgPool) -> (bool, Option<String>) {
    sqlx::query_as("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn sslmode_require_encrypts_the_connection_and_disable_does_not() {
    let Some(database) = ScratchDatabase::create().await else {
        return;
    };
    let required = with_params(&database.url, &[("sslmode", "require")]);
    if server_offers_tls(&database.url).await {
        let pool = open_postgres(&required, 1, &SECURITY)
            .await
            .expect("a TLS connection to a server that offers it");
        let (ssl, version) = encryption(&pool).await;
        assert!(ssl, "sslmode=require gave an unencrypted connection");
        let version = version.unwrap_or_default();
        assert!(version.starts_with("TLSv1."), "protocol {version}");
        pool.close().await;
    } else {
        // A server without TLS must be refused, not used in the clear.
        assert!(
            open_postgres(&required, 1, &SECURITY).await.is_err(),
            "sslmode=require connected to a server without TLS"
        );
    }

    let plain = with_params(&database.url, &[("sslmode", "disable")]);
    let pool = open_postgres(&plain, 1, &SECURITY).await.unwrap();
    assert!(!encryption(&pool).await.0, "sslmode=disable was encrypted");
    pool.close().await;
    database.drop_database().await;
}

/// PostgreSQL's SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// The front's TLS: a certificate `ca` signed for `localhost` only, and, with `clients`, a
/// demand for a client certificate `ca` signed. Files are written into `dir`.
fn front_tls(ca: &TestCa, dir: &Path, clients: bool) -> Arc<rustls::ServerConfig> {
    let server = ca.server_for(&["localhost"]);
    TlsConfig {
        certificate: write(dir, "front.pem", &server.certificate_pem),
        private_key: write(dir, "front.key", &server.key_pem),
        client_ca: clients.then(|| write(dir, "clients-ca.pem", &ca.pem)),
        client_certificate: ClientCertificateMode::Required,
        client_crls: Vec::new(),
    }
    .server_config()
    .unwrap()
}

/// A PostgreSQL server as a client on the network sees it when it holds `tls`'s certificate:
/// answers the SSLRequest, does the TLS handshake, then passes the connection on to the
/// test's PostgreSQL. Its address.
async fn tls_front(upstream: (String, u16), tls: Arc<rustls::ServerConfig>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(tls);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 8];
                if socket.read_exact(&mut request).await.is_err() || request != SSL_REQUEST {
                    return; // Only a client that asks for TLS is served.
                }
                if socket.write_all(b"S").await.is_err() {
                    return;
                }
                // A client that refuses the certificate ends the handshake here.
                let Ok(mut client) = acceptor.accept(socket).await else {
                    return;
                };
                let Ok(mut server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    address
}

/// `url` with its host and port replaced.
fn at_address(url: &str, host: &str, port: u16) -> String {
    let scheme_end = url.find("://").unwrap() + 3;
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let user = authority.rfind('@').map_or("", |at| &authority[..=at]);
    format!(
        "{}{user}{host}:{port}{}",
        &url[..scheme_end],
        &rest[authority_end..]
    )
}

/// The test's database behind a [`tls_front`] whose certificate `ca` signed, and a folder for
/// the PEM files a URL names.
struct Front {
    database_url: String,
    port: u16,
    dir: tempfile::TempDir,
}

impl Front {
    async fn start(database: &ScratchDatabase, ca: &TestCa, clients: bool) -> Self {
        let options = PgConnectOptions::from_str(&database.url).unwrap();
        let upstream = (options.get_host().to_owned(), options.get_port());
        let dir = tempfile::tempdir().unwrap();
        let tls = front_tls(ca, dir.path(), clients);
        Self {
            database_url: database.url.clone(),
            port: tls_front(upstream, tls).await.port(),
            dir,
        }
    }

    /// Writes `text` into the folder; its path.
    fn file(&self, name: &str, text: &str) -> String {
        let path = write(self.dir.path(), name, text);
        path.to_str().unwrap().to_owned()
    }

    /// The database's URL through the front, reached as `host`, with `params`.
    fn url(&self, host: &str, params: &[(&str, &str)]) -> String {
        with_params(&at_address(&self.database_url, host, self.port), params)
    }
}

/// Opens a service's pool on `url`, asks one question through it and closes it.
async fn answers(url: &str) -> Result<(), common::db::DatabaseError> {
    let pool = open_postgres(url, 1, &SECURITY).await?;
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&pool)
        .await
        .expect("an answer through the front");
    assert_eq!(one, 1);
    pool.close().await;
    Ok(())
}

#[tokio::test]
async fn the_server_certificate_is_checked_against_sslrootcert_and_the_host_name() {
    let Some(database) = ScratchDatabase::create().await else {
        return;
    };
    let ca = TestCa::new("Test database CA");
    let front = Front::start(&database, &ca, false).await;
    let root = front.file("root.pem", &ca.pem);
    let other = front.file("other-root.pem", &TestCa::new("Other CA").pem);
    let checked = |host: &str, mode: &'static str, root: &str| {
        front.url(host, &[("sslmode", mode), ("sslrootcert", root)])
    };

    // The root that signed the server's certificate, and the name it was issued for.
    answers(&checked("localhost", "verify-full", &root))
        .await
        .expect("verify-full with the server's own root and name");

    let refused = [
        (
            "localhost",
            "verify-ca",
            &other,
            "a root that did not sign it",
        ),
        (
            "localhost",
            "verify-full",
            &other,
            "a root that did not sign it",
        ),
        (
            "127.0.0.1",
            "verify-full",
            &root,
            "a host name it does not name",
        ),
    ];
    for (host, mode, root, why) in refused {
        let error = answers(&checked(host, mode, root))
            .await
            .err()
            .unwrap_or_else(|| panic!("sslmode={mode} accepted a certificate for {why}"));
        assert!(
            error.to_string().contains("invalid peer certificate"),
            "sslmode={mode}, {why}: {error}"
        );
    }

    // verify-ca does not check the name; require checks nothing but still encrypts.
    for url in [
        checked("127.0.0.1", "verify-ca", &root),
        front.url("127.0.0.1", &[("sslmode", "require")]),
    ] {
        answers(&url)
            .await
            .unwrap_or_else(|error| panic!("{url}: {error}"));
    }
    database.drop_database().await;
}

#[tokio::test]
async fn a_client_certificate_from_sslcert_and_sslkey_is_presented_to_a_server_that_asks() {
    let Some(database) = ScratchDatabase::create().await else {
        return;
    };
    let ca = TestCa::new("Test database CA");
    let front = Front::start(&database, &ca, true).await;
    let root = front.file("root.pem", &ca.pem);
    let client = ca.client("SE2321000016-EI01");
    let certificate = front.file("client.pem", &client.certificate_pem);
    let key = front.file("client.key", &client.key_pem);
    let verified = [("sslmode", "verify-full"), ("sslrootcert", root.as_str())];

    let with_certificate = [
        &verified[..],
        &[("sslcert", &certificate), ("sslkey", &key)],
    ]
    .concat();
    answers(&front.url("localhost", &with_certificate))
        .await
        .expect("a connection with the client certificate");

    // Without one the server ends the handshake; the client never gets to log in.
    assert!(
        answers(&front.url("localhost", &verified)).await.is_err(),
        "connected without the client certificate the server asks for"
    );
    database.drop_database().await;
}

#[test]
fn params_replace_what_the_url_said() {
    assert_eq!(
        with_params("postgres://u@h/db", &[("sslmode", "require")]),
        "postgres://u@h/db?sslmode=require"
    );
    assert_eq!(
        with_params(
            "postgres://u@h/db?sslmode=disable&application_name=x",
            &[("sslmode", "verify-full"), ("sslrootcert", "/r.pem")]
        ),
        "postgres://u@h/db?application_name=x&sslmode=verify-full&sslrootcert=/r.pem"
    );
}

#[test]
fn the_address_is_replaced_and_the_rest_kept() {
    assert_eq!(
        at_address("postgres://u:p@db:5432/x?sslmode=disable", "localhost", 7),
        "postgres://u:p@localhost:7/x?sslmode=disable"
    );
    assert_eq!(
        at_address("postgres://db/x", "127.0.0.1", 7),
        "postgres://127.0.0.1:7/x"
    );
}
