//! Issue 11, "one bad message never holds up the next": a push subscriber that refuses one
//! notification for good (HTTP 400) between two it accepts. The good ones reach it at once and
//! in commit order; the refused one is a dead letter with the subscriber's answer, listed by the
//! admin API and counted in the metrics. On SQLite and (with `TEST_DATABASE_URL`) PostgreSQL.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::response::{IntoResponse as _, Response};
use common::config::HttpConfig;
use common::shutdown::Shutdown;
use common::testing::TestDatabase;
use engagement_index::{Application, Config};
use http::StatusCode;
use serde_json::{Value, json};

const DOMAIN: &str = "TEST-DOMAIN";
const SUBSCRIBER: &str = "SUB-REFUSING";
/// The categorization of the notification the subscriber refuses.
const REFUSED: &str = "REFUSED-HERE";

struct Index {
    base: String,
    http: reqwest::Client,
    shutdown: Shutdown,
}

impl Index {
    async fn start(database: &TestDatabase) -> Self {
        common::telemetry::init_for_tests();
        let mut config = Config {
            http: HttpConfig::with_port(0),
            database: database.config.clone(),
            ..Config::default()
        };
        config.delivery.initial_backoff_ms = 50;
        config.delivery.max_backoff_ms = 200;
        config.delivery.poll_interval_ms = 20;
        config.notification.linger_ms = Some(10);
        let app = Application::build(config).await.unwrap();
        let base = format!("http://{}", app.local_addr());
        let shutdown = Shutdown::new();
        tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Self {
            base,
            http: common::testing::http(),
            shutdown,
        }
    }

    async fn get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.unwrap()
    }

    async fn update(&self, category: &str) {
        let body = json!({"engagementTransaction": [{"deleteFlag": false, "engagement": {
            "registeredResidentIdentification": "191212121212",
            "serviceDomain": DOMAIN,
            "categorization": category,
            "logicalAddress": "SE0000000003-CU01",
            "businessObjectInstanceIdentifier": format!("BO-{category}"),
            "clinicalProcessInterestId": "NA",
            "sourceSystem": "SRC-1",
            "dataController": "SE2321000016",
        }}]});
        let response = self
            .http
            .post(format!("{}/engagementindex/v1/Update", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["ResultCode"], "OK", "{answer}");
    }

    async fn deliveries(&self, state: &str) -> Vec<Value> {
        let body = self
            .get(&format!(
                "/admin/subscribers/{SUBSCRIBER}/deliveries?state={state}"
            ))
            .await;
        body["deliveries"].as_array().cloned().unwrap()
    }

    /// `deliveries_dead_lettered_total` of the subscriber, refused (the recorder is the
    /// process's, shared by both backends' indexes).
    async fn dead_lettered(&self) -> u64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find(|line| {
                line.starts_with("deliveries_dead_lettered_total{")
                    && line.contains("service=\"engagement-index\"")
                    && line.contains(&format!("destination=\"{SUBSCRIBER}\""))
                    && line.contains("cause=\"refused\"")
            })
            .and_then(|line| line.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0)
    }
}

/// A push subscriber that answers 503 until opened, then refuses with a 400 problem document
/// every notification about `REFUSED` and accepts the rest.
#[derive(Clone, Default)]
struct Subscriber {
    open: Arc<AtomicBool>,
    /// The categorization of every notification that arrived once open, accepted or not.
    seen: Arc<Mutex<Vec<String>>>,
    accepted: Arc<Mutex<Vec<String>>>,
}

impl Subscriber {
    async fn start() -> (Self, String) {
        let subscriber = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/notify", listener.local_addr().unwrap());
        let state = subscriber.clone();
        let app = axum::Router::new().route(
            "/notify",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let state = state.clone();
                async move { state.notify(&body) }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        (subscriber, url)
    }

    fn notify(&self, body: &Value) -> Response {
        if !self.open.load(Ordering::SeqCst) {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        let categories: Vec<String> = body["engagementTransaction"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                t["engagement"]["categorization"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        self.seen.lock().unwrap().extend(categories.iter().cloned());
        if categories.iter().any(|c| c == REFUSED) {
            return (
                StatusCode::BAD_REQUEST,
                [("content-type", "application/problem+json")],
                json!({"type": "about:blank", "title": "Bad Request", "status": 400,
                       "code": "UNKNOWN_CATEGORY", "detail": "categorization REFUSED-HERE is not kept here"})
                .to_string(),
            )
                .into_response();
        }
        self.accepted.lock().unwrap().extend(categories);
        axum::Json(json!({"ResultCode": "OK"})).into_response()
    }

    fn accepted(&self) -> Vec<String> {
        self.accepted.lock().unwrap().clone()
    }

    fn refused_attempts(&self) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|c| *c == REFUSED)
            .count()
    }
}

#[tokio::test]
async fn a_notification_the_subscriber_refuses_is_dead_lettered_and_the_others_arrive_at_once() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let index = Index::start(&database).await;
        let (subscriber, url) = Subscriber::start().await;
        let response = index
            .http
            .put(format!("{}/admin/subscribers/{SUBSCRIBER}", index.base))
            .json(&json!({"url": url, "delivery": "push"}))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{backend}");
        let counted_before = index.dead_lettered().await;

        // Three notifications queue while the subscriber is unavailable: each Update becomes
        // a notification of its own before the next one is made.
        for (n, category) in ["FIRST", REFUSED, "LAST"].into_iter().enumerate() {
            index.update(category).await;
            let deadline = Instant::now() + Duration::from_secs(10);
            while index.deliveries("pending").await.len() < n + 1 {
                assert!(Instant::now() < deadline, "{backend}: never queued");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }

        let opened = Instant::now();
        subscriber.open.store(true, Ordering::SeqCst);
        let deadline = opened + Duration::from_secs(10);
        while subscriber.accepted().len() < 2 {
            assert!(
                Instant::now() < deadline,
                "{backend}: the good notifications never arrived"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            opened.elapsed() < Duration::from_secs(3),
            "{backend}: at once, not after retries: {:?}",
            opened.elapsed()
        );
        assert_eq!(
            subscriber.accepted(),
            ["FIRST", "LAST"],
            "{backend}: in commit order"
        );

        let mut dead = Vec::new();
        while dead.is_empty() {
            assert!(Instant::now() < deadline, "{backend}: no dead letter");
            tokio::time::sleep(Duration::from_millis(20)).await;
            dead = index.deliveries("dead").await;
        }
        assert_eq!(dead.len(), 1, "{backend}: only the refused notification");
        assert_eq!(
            dead[0]["payload"]["engagementTransaction"][0]["engagement"]["categorization"],
            REFUSED
        );
        let answer = dead[0]["lastError"].as_str().unwrap();
        assert!(
            answer.contains("HTTP 400")
                && answer.contains("UNKNOWN_CATEGORY")
                && answer.contains("is not kept here"),
            "{backend}: the subscriber's answer is kept: {answer}"
        );
        assert!(index.deliveries("pending").await.is_empty(), "{backend}");
        assert_eq!(
            subscriber.refused_attempts(),
            1,
            "{backend}: dead-lettered at once, never retried"
        );
        assert_eq!(
            index.dead_lettered().await,
            counted_before + 1,
            "{backend}: the metric counts it"
        );
        let overview = index.get(&format!("/admin/subscribers/{SUBSCRIBER}")).await;
        assert_eq!(overview["dead"], 1, "{backend}: {overview}");
        index.shutdown.cancel();
        database.cleanup().await;
    }
}
