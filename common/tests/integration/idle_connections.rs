//! Connections that hold a service's sockets without sending requests are closed after
//! `http.idle_timeout_secs`: one that never sends a byte, one sending its headers slower than
//! that, one left open after its answer. A connection in use stays open however long it lives,
//! and a slow body is the request timeout's to end (503).

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::config::HttpConfig;
use common::server::{BoundService, ServiceDescription};
use common::shutdown::Shutdown;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// A sample service named `name` with a one-second idle timeout; its address.
async fn start(name: &'static str, shutdown: &Shutdown) -> std::net::SocketAddr {
    let http = HttpConfig {
        idle_timeout_secs: 1,
        request_timeout_secs: 3,
        ..HttpConfig::with_port(0)
    };
    let service = ServiceDescription {
        name,
        openapi: utoipa::openapi::OpenApi::default(),
        readiness: common::server::readiness(|| async { Ok(()) }),
    };
    let api = Router::new().route(
        "/hello",
        get(|| async { "hello" }).post(|body: String| async move { body }),
    );
    let bound = BoundService::bind(service, api, &http).await.unwrap();
    let address = bound.local_addr();
    tokio::spawn(bound.serve(shutdown.clone()));
    address
}

/// Reads until the server closes the connection (at most 10 s); what it sent.
async fn until_closed(connection: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        connection.read_to_end(&mut received),
    )
    .await
    .expect("the server closes the connection");
    // A reset is as closed as an orderly end.
    let _ = read;
    String::from_utf8_lossy(&received).into_owned()
}

/// The value of `name` for `service` on the service's `/metrics`.
async fn metric(address: std::net::SocketAddr, service: &str, name: &str) -> f64 {
    let metrics = common::testing::http()
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .find(|line| line.starts_with(&format!("{name}{{service=\"{service}\"}}")))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("{name} of {service} in {metrics}"))
}

const GET: &[u8] = b"GET /hello HTTP/1.1\r\nhost: sample\r\n\r\n";

#[tokio::test]
async fn a_connection_that_never_sends_a_byte_is_closed() {
    let shutdown = Shutdown::new();
    let address = start("never-sends", &shutdown).await;
    let mut connection = TcpStream::connect(address).await.unwrap();
    assert_eq!(until_closed(&mut connection).await, "");

    // The operator sees it: connections open now, and those closed for want of a request.
    assert!(metric(address, "never-sends", "http_connections_timed_out_total").await >= 1.0);
    assert!(
        metric(address, "never-sends", "http_connections_open").await >= 1.0,
        "the scrape's own connection"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn headers_sent_slower_than_the_idle_timeout_are_cut_off() {
    let shutdown = Shutdown::new();
    let address = start("trickles", &shutdown).await;
    let mut connection = TcpStream::connect(address).await.unwrap();
    // One byte every 100 ms: the whole head would take 3.7 s.
    for byte in GET {
        if connection.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer = until_closed(&mut connection).await;
    assert!(
        !answer.contains("hello"),
        "a head trickled over 3.7 s was served: {answer}"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn a_keep_alive_connection_in_use_stays_open_and_is_closed_once_idle() {
    let shutdown = Shutdown::new();
    let address = start("keep-alive", &shutdown).await;
    let mut connection = TcpStream::connect(address).await.unwrap();
    // A request every 400 ms for 2.4 s: longer than the idle timeout, never idle that long.
    for _ in 0..6 {
        connection.write_all(GET).await.unwrap();
        let mut answer = [0u8; 512];
        let read = connection.read(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer[..read]);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("hello"), "{answer}");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    // Then left alone, it is closed, and counted.
    assert_eq!(until_closed(&mut connection).await, "");
    assert!(metric(address, "keep-alive", "http_connections_timed_out_total").await >= 1.0);
    shutdown.cancel();
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_by_the_request_timeout() {
    let shutdown = Shutdown::new();
    let address = start("slow-body", &shutdown).await;
    let mut connection = TcpStream::connect(address).await.unwrap();
    connection
        .write_all(b"POST /hello HTTP/1.1\r\nhost: sample\r\ncontent-length: 10\r\n\r\n12345")
        .await
        .unwrap();
    let answer = until_closed(&mut connection).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("TIMEOUT"), "{answer}");
    shutdown.cancel();
}

#[tokio::test]
async fn an_idle_timeout_of_zero_is_refused_at_start() {
    let http = HttpConfig {
        idle_timeout_secs: 0,
        ..HttpConfig::with_port(0)
    };
    let service = ServiceDescription {
        name: "sample",
        openapi: utoipa::openapi::OpenApi::default(),
        readiness: common::server::readiness(|| async { Ok(()) }),
    };
    let error = BoundService::bind(service, Router::new(), &http)
        .await
        .err()
        .expect("refused");
    assert!(
        error.to_string().contains("http.idle_timeout_secs"),
        "{error}"
    );
}
