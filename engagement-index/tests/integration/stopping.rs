//! The released binary stops as an operator and a load balancer expect: after SIGTERM it
//! serves on for `http.shutdown_grace_secs` with readiness failing and connections closed after
//! each answer, then lets the requests in flight finish and exits; everything it answered OK
//! is stored. A second signal ends it at once.

#![cfg(unix)]

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::index_support::{FIND_CONTENT, UPDATE, engagement, resident, save};

/// The engagement-index binary on a port of its own, with its SQLite file in `dir`.
struct RunningIndex {
    child: Child,
    port: u16,
}

impl RunningIndex {
    async fn start(dir: &Path, grace_secs: u64) -> Self {
        let port = common::testing::nats::free_port();
        let config = dir.join("index.toml");
        std::fs::write(
            &config,
            format!(
                "[http]\nhost = \"127.0.0.1\"\nport = {port}\nshutdown_grace_secs = {grace_secs}\n"
            ),
        )
        .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_engagement-index"))
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let index = Self { child, port };
        index.readiness_becomes(200, Duration::from_secs(30)).await;
        index
    }

    /// Waits (at most `within`) until `/health/ready` answers `status`.
    async fn readiness_becomes(&self, status: u16, within: Duration) {
        let started = Instant::now();
        while self.readiness().await != Some(status) {
            assert!(
                started.elapsed() < within,
                "readiness did not answer {status} within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `/health/ready`'s status, `None` when nothing answers.
    async fn readiness(&self) -> Option<u16> {
        common::testing::http()
            .get(self.url("/health/ready"))
            .send()
            .await
            .ok()
            .map(|response| response.status().as_u16())
    }

    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        common::testing::http()
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// Waits (at most `limit`) for the process to end.
    async fn exit(&mut self, limit: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "the index still runs {limit:?} after it was told to stop"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for RunningIndex {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn update(n: u32) -> Value {
    json!({ "engagementTransaction": [save(&engagement(n))] })
}

async fn found(index: &RunningIndex, n: u32) -> usize {
    let response = index
        .post(
            FIND_CONTENT,
            &json!({
                "registeredResidentIdentification": resident(n),
                "serviceDomain": engagement(n)["serviceDomain"],
            }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["engagement"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn after_sigterm_the_index_serves_through_its_grace_period_and_keeps_what_it_answered() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = RunningIndex::start(dir.path(), 3).await;

    let before = index.post(UPDATE, &update(1)).await;
    assert_eq!(before.status(), 200);
    assert!(
        before.headers().get("connection").is_none(),
        "a running index keeps connections open"
    );

    index.signal("-TERM");
    let signalled = Instant::now();
    // Readiness fails at once after the signal.
    index.readiness_becomes(503, Duration::from_secs(2)).await;
    let not_ready: Value = common::testing::http()
        .get(index.url("/health/ready"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(not_ready["code"], "NOT_READY");
    assert!(
        not_ready["detail"].as_str().unwrap().contains("stopping"),
        "{not_ready}"
    );

    // In the grace period the contracts still answer, and tell the client to reconnect.
    let during = index.post(UPDATE, &update(2)).await;
    assert_eq!(during.status(), 200);
    assert_eq!(
        during
            .headers()
            .get("connection")
            .map(|v| v.to_str().unwrap()),
        Some("close")
    );
    assert_eq!(found(&index, 1).await, 1);

    let status = index.exit(Duration::from_secs(20)).await;
    assert!(
        status.success(),
        "a stop on SIGTERM is not a failure: {status}"
    );
    assert!(
        signalled.elapsed() >= Duration::from_secs(2),
        "the index served on for its grace period"
    );
    assert!(
        common::testing::http()
            .get(index.url("/health/live"))
            .send()
            .await
            .is_err(),
        "nothing listens once the index has stopped"
    );

    // Whatever was answered OK, before or during the grace period, is there after a restart.
    let again = RunningIndex::start(dir.path(), 0).await;
    assert_eq!(found(&again, 1).await, 1);
    assert_eq!(found(&again, 2).await, 1);
}

#[tokio::test]
async fn a_second_signal_stops_the_index_without_waiting_out_its_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = RunningIndex::start(dir.path(), 600).await;
    index.signal("-TERM");
    index.readiness_becomes(503, Duration::from_secs(2)).await;
    index.signal("-INT");
    let status = index.exit(Duration::from_secs(10)).await;
    assert!(
        !status.success(),
        "a forced stop says so in its exit status: {status}"
    );
}

/// A request whose body is still arriving when the signal comes is answered, not cut off.
#[tokio::test]
async fn a_request_in_flight_at_the_signal_is_answered_before_the_index_exits() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = RunningIndex::start(dir.path(), 0).await;
    let body = update(3).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut connection = std::net::TcpStream::connect(("127.0.0.1", index.port)).unwrap();
    connection
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        connection,
        "POST {UPDATE} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    connection.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    index.signal("-TERM");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        index.child.try_wait().unwrap().is_none(),
        "the index waits for the request in flight"
    );
    connection.write_all(rest.as_bytes()).unwrap();
    let mut answer = String::new();
    connection.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""ResultCode":"OK""#), "{answer}");

    let status = index.exit(Duration::from_secs(20)).await;
    assert!(status.success(), "{status}");
    let again = RunningIndex::start(dir.path(), 0).await;
    assert_eq!(found(&again, 3).await, 1);
}
