//! The shared HTTP skeleton, exercised through a sample service on port 0.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::post;
use common::config::HttpConfig;
use common::http_client::Propagate;
use common::identity::PersonalIdentityNumber;
use common::problem::ApiJson;
use common::server::{ReadinessCheck, ServiceDescription};
use common::shutdown::Shutdown;
use http::HeaderMap;
use serde::Deserialize;

#[derive(Deserialize)]
struct Greeting {
    #[allow(dead_code)]
    name: String,
}

async fn greet(ApiJson(_): ApiJson<Greeting>) -> &'static str {
    "hello"
}

/// Starts `api` inside the skeleton on a free port and returns its base URL.
async fn start(api: Router, http: HttpConfig, shutdown: &Shutdown) -> String {
    let readiness: ReadinessCheck = common::server::readiness(|| async { Ok(()) });
    let router = common::server::router(
        ServiceDescription {
            name: "sample",
            openapi: utoipa::openapi::OpenApi::default(),
            readiness,
        },
        api,
        &http,
    );
    let listener = common::server::bind(&http).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(common::server::serve(listener, router, shutdown.clone()));
    base
}

fn port_zero() -> HttpConfig {
    HttpConfig::with_port(0)
}

#[tokio::test]
async fn malformed_json_and_wrong_content_type_answer_problem_documents() {
    let shutdown = Shutdown::new();
    let base = start(
        Router::new().route("/greet", post(greet)),
        port_zero(),
        &shutdown,
    )
    .await;
    let client = common::testing::http();

    let malformed = client
        .post(format!("{base}/greet"))
        .header("content-type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(
        malformed.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = malformed.json().await.unwrap();
    assert_eq!(body["code"], "MALFORMED_JSON");
    assert_eq!(body["status"], 400);

    let missing_field = client
        .post(format!("{base}/greet"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing_field.status(), 400);
    let body: serde_json::Value = missing_field.json().await.unwrap();
    assert_eq!(body["code"], "INVALID_REQUEST");
    assert!(body["detail"].as_str().unwrap().contains("name"), "{body}");

    let not_json = client
        .post(format!("{base}/greet"))
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 415);

    let wrong_method = client.get(format!("{base}/greet")).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(
        wrong_method.headers()["content-type"],
        "application/problem+json"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn a_body_over_the_limit_answers_413() {
    let shutdown = Shutdown::new();
    let http = HttpConfig {
        body_limit_bytes: 64,
        ..port_zero()
    };
    let base = start(Router::new().route("/greet", post(greet)), http, &shutdown).await;
    let response = common::testing::http()
        .post(format!("{base}/greet"))
        .json(&serde_json::json!({ "name": "x".repeat(200) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "PAYLOAD_TOO_LARGE");
    shutdown.cancel();
}

#[tokio::test]
async fn a_slow_request_is_abandoned_with_503() {
    let shutdown = Shutdown::new();
    let http = HttpConfig {
        request_timeout_secs: 1,
        ..port_zero()
    };
    let slow = Router::new().route(
        "/slow",
        post(|| async {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            "late"
        }),
    );
    let base = start(slow, http, &shutdown).await;
    let response = common::testing::http()
        .post(format!("{base}/slow"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "TIMEOUT");
    shutdown.cancel();
}

#[tokio::test]
async fn the_trace_and_correlation_id_of_a_request_reach_its_outgoing_calls() {
    common::telemetry::init_for_tests();
    let shutdown = Shutdown::new();

    // Downstream: records the headers it receives.
    let seen: Arc<Mutex<Option<HeaderMap>>> = Arc::default();
    let recorder = Arc::clone(&seen);
    let downstream = Router::new().route(
        "/record",
        post(move |headers: HeaderMap| {
            let recorder = Arc::clone(&recorder);
            async move {
                *recorder.lock().unwrap() = Some(headers);
                "recorded"
            }
        }),
    );
    let downstream_base = start(downstream, port_zero(), &shutdown).await;

    // Upstream: calls downstream while handling its own request.
    let client = common::http_client::client(std::time::Duration::from_secs(5));
    let upstream = Router::new().route(
        "/call",
        post(move || {
            let client = client.clone();
            let url = format!("{downstream_base}/record");
            async move {
                client.post(url).propagate().send().await.unwrap();
                "called"
            }
        }),
    );
    let upstream_base = start(upstream, port_zero(), &shutdown).await;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = common::testing::http()
        .post(format!("{upstream_base}/call"))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .header("x-skltp-correlation-id", "corr-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-skltp-correlation-id"], "corr-42");

    let headers = seen.lock().unwrap().clone().expect("downstream was called");
    let traceparent = headers["traceparent"].to_str().unwrap();
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts[1], trace_id, "outgoing traceparent {traceparent}");
    assert_ne!(
        parts[2], "00f067aa0ba902b7",
        "the outgoing call has its own span"
    );
    assert_eq!(headers["x-skltp-correlation-id"], "corr-42");
    shutdown.cancel();
}

#[tokio::test]
async fn a_correlation_id_is_generated_when_absent() {
    let shutdown = Shutdown::new();
    let base = start(Router::new(), port_zero(), &shutdown).await;
    let response = common::testing::http()
        .get(format!("{base}/health/live"))
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-skltp-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    shutdown.cancel();
}

#[test]
fn a_personal_identity_number_never_reaches_the_log_unmasked() {
    #[derive(Debug)]
    #[allow(dead_code)]
    struct Request {
        subject_of_care: PersonalIdentityNumber,
    }
    let logs = common::testing::CapturedLogs::default();
    let pin = PersonalIdentityNumber::parse("191212121212").unwrap();
    tracing::subscriber::with_default(common::testing::capturing_subscriber(&logs), || {
        tracing::info!(subject = %pin, "display");
        tracing::info!(subject = ?pin, "debug");
        tracing::info!(request = ?Request { subject_of_care: pin.clone() }, "nested");
        tracing::error!("failed for {pin}");
        let span = tracing::info_span!("form", subject = %pin);
        let _entered = span.enter();
        tracing::warn!("inside a span");
    });
    let text = logs.text();
    assert!(text.contains("19121212****"), "{text}");
    assert!(!text.contains("191212121212"), "{text}");
}

#[derive(Deserialize)]
struct Note {
    #[allow(dead_code)]
    name: String,
    #[allow(dead_code)]
    comment: Option<String>,
}

async fn note(ApiJson(_): ApiJson<Note>) -> &'static str {
    "noted"
}

#[derive(Deserialize)]
struct Page {
    #[allow(dead_code)]
    limit: Option<u32>,
}

async fn page(common::problem::ApiQuery(_): common::problem::ApiQuery<Page>) -> &'static str {
    "page"
}

async fn item(common::problem::ApiPath(id): common::problem::ApiPath<String>) -> String {
    id
}

async fn plain_refusal() -> (http::StatusCode, &'static str) {
    (http::StatusCode::CONFLICT, "a library's plain-text refusal")
}

/// Sends `request` and returns its problem document, with the HTTP status as `httpStatus`.
async fn refusal(request: reqwest::RequestBuilder) -> serde_json::Value {
    let response = request.send().await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "{}",
        response.status()
    );
    let status = response.status().as_u16();
    let mut body: serde_json::Value = response.json().await.unwrap();
    body["httpStatus"] = status.into();
    body
}

#[tokio::test]
async fn control_characters_bad_queries_and_bad_paths_are_refused_as_problems() {
    let shutdown = Shutdown::new();
    let base = start(
        Router::new()
            .route("/note", post(note))
            .route("/page", axum::routing::get(page))
            .route("/item/{id}", axum::routing::get(item))
            .route("/plain", axum::routing::get(plain_refusal)),
        port_zero(),
        &shutdown,
    )
    .await;
    let client = common::testing::http();

    // NUL in a name: refused naming the member. A line break in free text (`comment`) is fine,
    // in a name it is not.
    let nul = refusal(
        client
            .post(format!("{base}/note"))
            .json(&serde_json::json!({"name": "a\u{0}b"})),
    )
    .await;
    assert_eq!(nul["httpStatus"], 400);
    assert_eq!(nul["code"], "INVALID_REQUEST");
    assert!(nul["detail"].as_str().unwrap().contains("`name`"), "{nul}");
    let ok = client
        .post(format!("{base}/note"))
        .json(&serde_json::json!({"name": "a", "comment": "line\r\nline\tend"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let break_in_name = refusal(
        client
            .post(format!("{base}/note"))
            .json(&serde_json::json!({"name": "a\nb"})),
    )
    .await;
    assert_eq!(break_in_name["httpStatus"], 400);

    // A number too large for its type and a control character in a query value.
    for query in ["limit=9223372036854775808", "limit=x", "limit=1&other=%00"] {
        let body = refusal(client.get(format!("{base}/page?{query}"))).await;
        assert_eq!(body["httpStatus"], 400, "{query}");
        assert_eq!(body["code"], "INVALID_REQUEST", "{query}");
    }
    let body = refusal(client.get(format!("{base}/item/a%00b"))).await;
    assert_eq!(body["httpStatus"], 400);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("control character")
    );

    // A refusal written by a library as plain text still reaches the caller as a problem.
    let body = refusal(client.get(format!("{base}/plain"))).await;
    assert_eq!(body["httpStatus"], 409);
    assert_eq!(body["detail"], "a library's plain-text refusal");
    shutdown.cancel();
}
