//! A `nats-server` of a test's own, started from the PATH.

use std::time::Duration;

/// Whether `nats-server` is on the PATH. Without it a test skips (saying so, with `what` it
/// does not test), unless `NORDFORM_NATS_TESTS=required`, when it fails.
pub fn server_on_path(what: &str) -> bool {
    let found = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| dir.join("nats-server").is_file())
    });
    if !found {
        assert!(
            !std::env::var("NORDFORM_NATS_TESTS").is_ok_and(|v| v == "required"),
            "NORDFORM_NATS_TESTS=required but nats-server is not on the PATH"
        );
        eprintln!("note: nats-server is not on the PATH; {what} is not tested");
    }
    found
}

/// A free port on 127.0.0.1 for a server to listen on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Waits (at most 10 s) until something listens on `port`.
pub async fn answering(port: u16) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nats-server answers on port {port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
