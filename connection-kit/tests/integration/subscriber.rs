//! `verify subscriber` plays the engagement index towards a care system's ProcessNotification:
//! the demo care system passes; receivers that misbehave fail naming the check.

use crate::support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use common::config::HttpConfig;
use common::shutdown::Shutdown;
use connection_kit::check::Outcome;
use http::{HeaderMap, StatusCode};
use nordform_tests::TestSystem;
use serde_json::{Value, json};
use support::{args, assert_reports_agree, detail, ids, outcome, report_dir, screenshot, verify};

async fn serve(app: Router, shutdown: &Shutdown) -> SocketAddr {
    let listener = common::server::bind(&HttpConfig::with_port(0))
        .await
        .unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(common::server::serve(listener, app, shutdown.clone()));
    address
}

fn subscriber_args(url: &str, report: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let mut list = args(&["subscriber", "--url", url]);
    list.extend(["--report".into(), report.display().to_string()]);
    list.extend(extra.iter().map(|s| (*s).to_owned()));
    list
}

/// A careful receiver: OK for a valid notification, 400 for a body it cannot read.
fn careful(body: &Bytes) -> (StatusCode, axum::Json<Value>) {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) if value["engagementTransaction"].is_array() => {
            (StatusCode::OK, axum::Json(json!({"ResultCode": "OK"})))
        }
        _ => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"ResultCode": "ERROR", "comment": "not a ProcessNotification"})),
        ),
    }
}

#[tokio::test]
async fn the_demo_care_system_passes() {
    let system = TestSystem::start().await.unwrap();
    let (_, care_system) = system.start_care_system().await.unwrap();
    let report = report_dir("subscriber-demo-care-system");
    let url = format!("http://{care_system}/notifications");
    let run = verify(&subscriber_args(&url, &report, &[])).await;
    assert!(run.passed(), "{:#?}", ids(&run));
    for id in [
        "subscriber-valid",
        "subscriber-duplicate",
        "subscriber-batch",
        "subscriber-delete",
        "subscriber-malformed-json",
    ] {
        assert_eq!(outcome(&run, id), Outcome::Passed, "{id}");
    }
    assert!(
        detail(&run, "subscriber-batch").contains(" ms"),
        "latency reported"
    );
    let batch = run
        .report
        .checks
        .iter()
        .find(|c| c.id == "subscriber-batch")
        .unwrap();
    let sent = &batch.exchanges[0];
    assert!(
        sent.request_headers
            .iter()
            .any(|(n, _)| n == "x-notification-id")
    );
    assert!(
        sent.request_body
            .as_deref()
            .unwrap()
            .contains("bytes in all"),
        "a 1000-transaction body is cut in the report"
    );
    assert_reports_agree(&run);
    screenshot(&run);
    system.stop().await;
}

#[tokio::test]
async fn a_receiver_answering_500_on_a_duplicate_fails_the_duplicate_check() {
    let shutdown = Shutdown::new();
    let seen: Arc<Mutex<HashSet<String>>> = Arc::default();
    let app = Router::new().route(
        "/notify",
        post(move |headers: HeaderMap, body: Bytes| {
            let seen = Arc::clone(&seen);
            async move {
                let id = headers
                    .get("x-notification-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                if !seen.lock().unwrap().insert(id) {
                    return (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        axum::Json(json!({"error": "duplicate key"})),
                    );
                }
                careful(&body)
            }
        }),
    );
    let address = serve(app, &shutdown).await;
    let report = report_dir("subscriber-500-on-duplicate");
    let run = verify(&subscriber_args(
        &format!("http://{address}/notify"),
        &report,
        &[],
    ))
    .await;
    assert!(!run.passed());
    assert_eq!(
        run.report.failed(),
        vec!["subscriber-duplicate"],
        "{:#?}",
        ids(&run)
    );
    assert!(detail(&run, "subscriber-duplicate").contains("HTTP 500"));
    assert_reports_agree(&run);
    shutdown.cancel();
}

#[tokio::test]
async fn a_slow_receiver_fails_on_latency() {
    let shutdown = Shutdown::new();
    let app = Router::new().route(
        "/notify",
        post(|body: Bytes| async move {
            tokio::time::sleep(Duration::from_millis(800)).await;
            careful(&body)
        }),
    );
    let address = serve(app, &shutdown).await;
    let report = report_dir("subscriber-slow");
    let run = verify(&subscriber_args(
        &format!("http://{address}/notify"),
        &report,
        &["--max-latency-ms", "200", "--batch-size", "10"],
    ))
    .await;
    assert!(!run.passed());
    for id in [
        "subscriber-valid",
        "subscriber-duplicate",
        "subscriber-batch",
        "subscriber-delete",
    ] {
        assert_eq!(outcome(&run, id), Outcome::Failed, "{id}");
        assert!(
            detail(&run, id).contains("more than the 200 ms allowed"),
            "{}",
            detail(&run, id)
        );
    }
    assert_reports_agree(&run);
    shutdown.cancel();
}

#[tokio::test]
async fn a_receiver_answering_error_to_valid_input_fails_the_valid_checks() {
    let shutdown = Shutdown::new();
    let app = Router::new().route(
        "/notify",
        post(|| async {
            axum::Json(json!({"ResultCode": "ERROR", "comment": "Unknown care unit"}))
        }),
    );
    let address = serve(app, &shutdown).await;
    let report = report_dir("subscriber-error-on-valid");
    let run = verify(&subscriber_args(
        &format!("http://{address}/notify"),
        &report,
        &["--batch-size", "10"],
    ))
    .await;
    assert!(!run.passed());
    assert_eq!(
        run.report.failed(),
        vec![
            "subscriber-valid",
            "subscriber-duplicate",
            "subscriber-batch",
            "subscriber-delete"
        ],
        "{:#?}",
        ids(&run)
    );
    assert!(detail(&run, "subscriber-valid").contains("Unknown care unit"));
    // Refusing malformed input with ERROR and a comment is right.
    assert_eq!(outcome(&run, "subscriber-malformed-json"), Outcome::Passed);
    assert_reports_agree(&run);
    shutdown.cancel();
}

/// A care system's receiver behind `[auth]` as the services have it: it answers OK and
/// records who called. With TLS when `auth` has it.
async fn protected_receiver(
    auth: &common::auth::AuthConfig,
    shutdown: &Shutdown,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let callers: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = {
        let callers = Arc::clone(&callers);
        move |caller: common::auth::Caller, body: Bytes| {
            let callers = Arc::clone(&callers);
            async move {
                callers.lock().unwrap().push(caller.name().to_owned());
                careful(&body)
            }
        }
    };
    let authenticator = common::auth::Authenticator::from_config(auth)
        .await
        .unwrap();
    let app = authenticator.protect(Router::new().route("/notify", post(record)));
    let listener = common::server::bind(&HttpConfig::with_port(0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    if let Some(tls) = authenticator.tls() {
        tokio::spawn(common::tls::serve_tls(
            listener,
            app,
            tls,
            shutdown.clone(),
            std::time::Duration::from_secs(30),
        ));
        (format!("https://127.0.0.1:{port}/notify"), callers)
    } else {
        tokio::spawn(common::server::serve(listener, app, shutdown.clone()));
        (format!("http://127.0.0.1:{port}/notify"), callers)
    }
}

const KIT: &str = "SE2321000016-EI01";

#[tokio::test]
async fn a_receiver_requiring_a_client_certificate_gets_the_kit_s() {
    use common::testing::security::{TestCa, write};
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Test SITHS CA");
    let auth = ca.mtls_config(dir.path(), Vec::new());
    let shutdown = Shutdown::new();
    let (url, callers) = protected_receiver(&auth, &shutdown).await;
    let kit = ca.client(KIT);
    let certificate = write(dir.path(), "kit.pem", &kit.certificate_pem);
    let key = write(dir.path(), "kit.key", &kit.key_pem);
    let ca_file = write(dir.path(), "ca.pem", &ca.pem);
    let report = report_dir("subscriber-mtls");
    let credentials = [
        "--client-certificate",
        certificate.to_str().unwrap(),
        "--client-key",
        key.to_str().unwrap(),
        "--server-ca",
        ca_file.to_str().unwrap(),
        "--batch-size",
        "10",
    ];
    let run = verify(&subscriber_args(&url, &report, &credentials)).await;
    assert!(run.passed(), "{:#?}", ids(&run));
    assert!(!callers.lock().unwrap().is_empty());
    assert!(
        callers.lock().unwrap().iter().all(|c| c == KIT),
        "{callers:?}"
    );

    // Without the certificate the same receiver refuses the kit, and the run fails.
    let report = report_dir("subscriber-mtls-without-certificate");
    let run = verify(&subscriber_args(
        &url,
        &report,
        &[
            "--server-ca",
            ca_file.to_str().unwrap(),
            "--batch-size",
            "10",
        ],
    ))
    .await;
    assert!(!run.passed());
    assert_eq!(outcome(&run, "subscriber-valid"), Outcome::Failed);
    shutdown.cancel();
}

#[tokio::test]
async fn a_receiver_taking_bearer_tokens_gets_the_kit_s() {
    use common::testing::security::{TestSigner, write};
    let dir = tempfile::tempdir().unwrap();
    let signer = TestSigner::new("test-idp-key");
    let auth = signer.jwt_config(dir.path(), Vec::new());
    let shutdown = Shutdown::new();
    let (url, callers) = protected_receiver(&auth, &shutdown).await;
    let token = write(dir.path(), "kit.token", &signer.token(KIT));
    let report = report_dir("subscriber-jwt");
    let run = verify(&subscriber_args(
        &url,
        &report,
        &[
            "--bearer-token-file",
            token.to_str().unwrap(),
            "--batch-size",
            "10",
        ],
    ))
    .await;
    assert!(run.passed(), "{:#?}", ids(&run));
    assert!(
        callers.lock().unwrap().iter().all(|c| c == KIT),
        "{callers:?}"
    );
    assert_eq!(
        callers.lock().unwrap().len(),
        7,
        "every check called as the kit"
    );
    shutdown.cancel();
}
