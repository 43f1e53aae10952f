//! CreateFormRequest throughput and latency, and SaveFormPage latency, over HTTP against the
//! engine in-process, with the outbox delivered to a local stand-in for the engagement index.
//!
//! `TEST_DATABASE_URL=postgres://... cargo bench -p form-engine --bench forms` runs on a
//! scratch PostgreSQL database (SQLite without it). `BENCH_SECONDS` (default 10) is how long
//! CreateFormRequest is driven, `BENCH_CLIENTS` (default 32) by how many concurrent callers;
//! `BENCH_PAGES` (default 2000) how many SaveFormPage calls are timed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::routing::post;
use common::config::HttpConfig;
use common::shutdown::Shutdown;
use common::testing::TestDatabase;
use form_engine::{Application, Config};
use serde_json::{Value, json};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn show(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{label:<44} n {:>6}  median {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.95),
        percentile(&samples, 0.99),
        percentile(&samples, 1.0)
    );
}

/// A stand-in for the engagement index: counts the transactions it is sent.
async fn index(received: Arc<AtomicUsize>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/engagementindex/v1/Update",
        post(move |axum::Json(body): axum::Json<Value>| {
            let received = Arc::clone(&received);
            async move {
                let count = body["engagementTransaction"].as_array().map_or(0, Vec::len);
                received.fetch_add(count, Ordering::Relaxed);
                axum::Json(json!({"ResultCode": "OK"}))
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn form_request(subject: &str) -> Value {
    let today = common::riv_time::today_in_sweden();
    let later = |days| common::riv_time::format_date(today + chrono::Days::new(days));
    json!({"formRequests": [{
        "healthcare_Facility_CareUnit": "SE0000000001-CU01", "subjectOfCare": subject,
        "templateId": "HALSA-1", "expireDate": later(30), "keepUntil": later(365)}]})
}

#[tokio::main]
async fn main() {
    let seconds = env_number("BENCH_SECONDS", 10);
    let clients = env_number("BENCH_CLIENTS", 32);
    let pages = env_number("BENCH_PAGES", 2000);
    common::telemetry::init_for_tests();
    let database = match TestDatabase::postgres().await {
        Some(database) => database,
        None => TestDatabase::sqlite(),
    };
    let received = Arc::new(AtomicUsize::new(0));
    let mut config = Config {
        database: database.config.clone(),
        http: HttpConfig::with_port(0),
        engagement_index_url: index(Arc::clone(&received)).await,
        ..Config::default()
    };
    config.database.max_connections = 20;
    let app = Application::build(config).await.expect("the engine starts");
    let base = format!("http://{}/forminteraction/v2", app.local_addr());
    let shutdown = Shutdown::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let http = common::testing::http();
    let call = move |contract: &str, body: Value| {
        let http = http.clone();
        let url = format!("{base}/{contract}");
        async move {
            let response = http.post(url).json(&body).send().await.expect("answers");
            assert!(response.status().is_success(), "{}", response.status());
            response.json::<Value>().await.expect("JSON")
        }
    };
    let template = form_engine::demo::health_declaration_json();
    call("SaveFormTemplate", json!({"formTemplate": template})).await;
    println!(
        "backend: {}; {clients} concurrent callers for {seconds} s",
        database.backend
    );

    // CreateFormRequest: as many as the callers manage, one form each.
    let deadline = Instant::now() + Duration::from_secs(u64::try_from(seconds).unwrap_or(10));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut ids = Vec::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let body = call("CreateFormRequest", form_request("191212121212")).await;
                samples.push(sent.elapsed());
                ids.push(
                    body["formRequestResponses"][0]["formId"]
                        .as_str()
                        .expect("a form")
                        .to_owned(),
                );
            }
            (samples, ids)
        }));
    }
    let mut samples = Vec::new();
    let mut ids = Vec::new();
    for task in tasks {
        let (s, i) = task.await.unwrap();
        samples.extend(s);
        ids.extend(i);
    }
    let elapsed = started.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let rate = samples.len() as f64 / elapsed;
    let forms_made = samples.len();
    println!("CreateFormRequest throughput: {rate:.0} requests/s ({forms_made} forms)");
    show("CreateFormRequest latency", samples);

    // SaveFormPage: page 1 of distinct forms, valid answers (routing on to page 2).
    let answers = json!({"pageNumber": 1, "questionAnswerBlocks": [
        {"blockNumber": 1, "answers": [{"valueID": "height", "value": 178}, {"valueID": "weight", "value": 72.5}]},
        {"blockNumber": 2, "answers": [{"valueID": "smoker", "value": 1}, {"valueID": "cigarettes", "value": 5}]}]});
    for (label, concurrency) in [
        ("SaveFormPage latency, one caller", 1),
        ("SaveFormPage latency, 8 callers", 8),
    ] {
        let share: Vec<String> = ids.drain(..pages.min(ids.len())).collect();
        let chunks: Vec<Vec<String>> = share
            .chunks(share.len().div_ceil(concurrency).max(1))
            .map(<[String]>::to_vec)
            .collect();
        let mut tasks = Vec::new();
        for chunk in chunks {
            let call = call.clone();
            let answers = answers.clone();
            tasks.push(tokio::spawn(async move {
                let mut samples = Vec::new();
                for id in chunk {
                    let body = json!({"formId": id, "subjectOfCare": "191212121212", "pageAnswers": answers});
                    let sent = Instant::now();
                    let answer = call("SaveFormPage", body).await;
                    samples.push(sent.elapsed());
                    assert_eq!(answer["resultCode"], "OK", "{answer}");
                }
                samples
            }));
        }
        let mut samples = Vec::new();
        for task in tasks {
            samples.extend(task.await.unwrap());
        }
        show(label, samples);
    }

    // Every FormCreated post reaches the index: how fast the outbox drains.
    let from = received.load(Ordering::Relaxed);
    let wait = Instant::now();
    while received.load(Ordering::Relaxed) < forms_made && wait.elapsed() < Duration::from_mins(5) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drained = wait.elapsed().as_secs_f64();
    let delivered = received.load(Ordering::Relaxed);
    if from >= forms_made {
        println!(
            "engagement-index posts: {delivered} of {forms_made} delivered; no backlog: every post reached the index while the load ran"
        );
    } else {
        #[allow(clippy::cast_precision_loss)]
        let drain_rate = (delivered - from) as f64 / drained.max(0.001);
        println!(
            "engagement-index posts: {delivered} of {forms_made} delivered; {} were still queued after the load and drained at {drain_rate:.0} posts/s",
            forms_made - from
        );
    }
    shutdown.cancel();
    database.cleanup().await;
}
