//! Issue 11, "one bad message never holds up the next": an engagement index that refuses one
//! post for good, between two it accepts. The good ones reach the index at once and in order;
//! the refused one is a dead letter with the index's answer, listed by the engine's admin API
//! and counted in its metrics. On SQLite and (with `TEST_DATABASE_URL`) PostgreSQL.

use crate::support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::response::{IntoResponse as _, Response};
use common::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Engine, LENA, TOLVAN, config, example, post};

/// The resident whose posts the fake index refuses (as the real one would refuse a value the
/// engine should not have sent: EI004).
const REFUSED: &str = LENA;

/// An engagement index that answers 503 until opened, then refuses every post for `REFUSED`
/// with a 400 problem document and accepts the rest.
#[derive(Clone, Default)]
struct RefusingIndex {
    open: Arc<AtomicBool>,
    /// Every Update body that arrived once open, accepted or not.
    seen: Arc<Mutex<Vec<Value>>>,
    accepted: Arc<Mutex<Vec<Value>>>,
}

impl RefusingIndex {
    async fn start() -> (Self, String) {
        let index = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = index.clone();
        let app = axum::Router::new().route(
            "/engagementindex/v1/Update",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let state = state.clone();
                async move { state.update(body) }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        (index, url)
    }

    fn update(&self, body: Value) -> Response {
        if !self.open.load(Ordering::SeqCst) {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        self.seen.lock().unwrap().push(body.clone());
        let refused = transactions(&body).iter().any(|t| {
            t["engagement"]["registeredResidentIdentification"] == REFUSED
                && t["deleteFlag"] == false
        });
        if refused {
            return (
                StatusCode::BAD_REQUEST,
                [("content-type", "application/problem+json")],
                json!({"type": "about:blank", "title": "Bad Request", "status": 400,
                       "code": "EI004",
                       "detail": "EI004: clinicalProcessInterestId has leading or trailing whitespace"})
                .to_string(),
            )
                .into_response();
        }
        self.accepted.lock().unwrap().push(body);
        axum::Json(json!({"ResultCode": "OK"})).into_response()
    }

    /// (resident, formId) of every accepted FormCreated, in arrival order.
    fn accepted(&self) -> Vec<(String, String)> {
        self.accepted
            .lock()
            .unwrap()
            .iter()
            .flat_map(transactions)
            .map(|t| {
                let (_, _, form_id) = post(&t);
                let resident = t["engagement"]["registeredResidentIdentification"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                (resident, form_id)
            })
            .collect()
    }

    /// How many Updates holding a post for `REFUSED` arrived once open.
    fn refused_attempts(&self) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|body| {
                transactions(body)
                    .iter()
                    .any(|t| t["engagement"]["registeredResidentIdentification"] == REFUSED)
            })
            .count()
    }
}

fn transactions(body: &Value) -> Vec<Value> {
    body["engagementTransaction"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The engine's `deliveries_dead_lettered_total` for the index, refused (the recorder is the
/// process's, shared by both backends' engines).
async fn dead_lettered(engine: &Engine) -> u64 {
    let text = engine
        .http
        .get(format!("{}/metrics", engine.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|line| {
            line.starts_with("deliveries_dead_lettered_total{")
                && line.contains("service=\"form-engine\"")
                && line.contains("destination=\"engagement-index\"")
                && line.contains("cause=\"refused\"")
        })
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

async fn deliveries(engine: &Engine, state: &str) -> Vec<Value> {
    let response = engine
        .http
        .get(format!(
            "{}/admin/engagement-index/deliveries?state={state}",
            engine.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["deliveries"].as_array().cloned().unwrap()
}

#[tokio::test]
async fn a_post_the_index_refuses_is_dead_lettered_and_the_good_ones_around_it_arrive_at_once() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let (index, url) = RefusingIndex::start().await;
        let engine = Engine::start_with(config(&database.config, &url)).await;
        engine.save_template(&example()).await;
        let counted_before = dead_lettered(&engine).await;

        // Three posts queue while the index is unavailable, so the engine merges them.
        let first = engine.request_form(TOLVAN).await;
        let refused = engine.request_form(REFUSED).await;
        let last = engine.request_form(TOLVAN).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(deliveries(&engine, "pending").await.len(), 3, "{backend}");

        let opened = Instant::now();
        index.open.store(true, Ordering::SeqCst);
        let deadline = opened + Duration::from_secs(10);
        while index.accepted().len() < 2 {
            assert!(
                Instant::now() < deadline,
                "{backend}: the good posts never arrived"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            opened.elapsed() < Duration::from_secs(3),
            "{backend}: at once, not after retries: {:?}",
            opened.elapsed()
        );
        assert_eq!(
            index.accepted(),
            [(TOLVAN.to_owned(), first), (TOLVAN.to_owned(), last)],
            "{backend}: the good ones, in order"
        );

        let mut dead = Vec::new();
        while dead.is_empty() {
            assert!(Instant::now() < deadline, "{backend}: no dead letter");
            tokio::time::sleep(Duration::from_millis(20)).await;
            dead = deliveries(&engine, "dead").await;
        }
        assert_eq!(dead.len(), 1, "{backend}: only the post at fault");
        let posts = transactions(&dead[0]["payload"]);
        assert_eq!(posts.len(), 1);
        assert_eq!(post(&posts[0]), ("FormCreated".to_owned(), false, refused));
        let answer = dead[0]["lastError"].as_str().unwrap();
        assert!(
            answer.contains("HTTP 400")
                && answer.contains("EI004")
                && answer.contains("whitespace"),
            "{backend}: the index's answer is kept: {answer}"
        );
        assert!(deliveries(&engine, "pending").await.is_empty(), "{backend}");
        assert_eq!(
            index.refused_attempts(),
            2,
            "{backend}: the merged Update, then the refused post alone; no retry"
        );
        assert_eq!(
            dead_lettered(&engine).await,
            counted_before + 1,
            "{backend}: the metric counts it"
        );
        engine.stop();
        database.cleanup().await;
    }
}
