//! The shared delivery worker against real HTTP receivers, on SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL, and the suite's core again on the NATS JetStream backbone
//! when a NATS server answers (`NORDFORM_NATS_URL`, default 127.0.0.1:4222; skipped with a note
//! when none does, unless `NORDFORM_NATS_TESTS=required`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse as _, Response};
use axum::routing::post;
use chrono::Utc;
use common::delivery::{
    Delivery, DeliveryPolicy, DeliveryState, DeliveryStore, DeliveryWorker, DestinationResolver,
    JetStreamConfig, JetStreamDeliveries, JetStreamRelay, NewDelivery, Payload, PgDeliveryStore,
    Route, SqliteDeliveryStore,
};
use common::shutdown::Shutdown;
use common::testing::TestDatabase;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use sqlx::migrate::Migrator;

static SQLITE: Migrator = sqlx::migrate!("migrations/delivery/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/delivery/postgres");

/// A queue on one test database, and a way to add messages to it.
enum Outbox {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Outbox {
    async fn open(database: &TestDatabase) -> Self {
        match &database.config.url {
            Some(url) => {
                Self::Postgres(common::db::open_postgres(url, 10, &POSTGRES).await.unwrap())
            }
            None => Self::Sqlite(
                common::db::open_sqlite(&database.config.data_dir.join("queue.sqlite"), 5, &SQLITE)
                    .await
                    .unwrap(),
            ),
        }
    }

    /// A second connection pool on the same database: another process, as far as the queue can tell.
    fn open_same(other: &Self) -> Self {
        match other {
            Self::Sqlite(pool) => Self::Sqlite(sqlx::SqlitePool::connect_lazy_with(
                (*pool.connect_options()).clone(),
            )),
            Self::Postgres(pool) => Self::Postgres(sqlx::PgPool::connect_lazy_with(
                (*pool.connect_options()).clone(),
            )),
        }
    }

    fn store(&self) -> Arc<dyn DeliveryStore> {
        match self {
            Self::Sqlite(pool) => Arc::new(SqliteDeliveryStore::new(pool.clone())),
            Self::Postgres(pool) => Arc::new(PgDeliveryStore::new(pool.clone())),
        }
    }

    async fn enqueue(&self, destination: &str, sequence: std::ops::Range<usize>) {
        let deliveries: Vec<NewDelivery> = sequence
            .map(|n| NewDelivery {
                destination: destination.to_owned(),
                payload: json!({ "engagementTransaction": [{ "n": n }], "n": n }).into(),
                item_count: 1,
                correlation_id: Some(format!("corr-{n}")),
                traceparent: None,
            })
            .collect();
        self.enqueue_all(&deliveries).await;
    }

    /// Queues `deliveries` in one call, as the services' writes do.
    async fn enqueue_all(&self, deliveries: &[NewDelivery]) {
        match self {
            Self::Sqlite(pool) => {
                let mut connection = pool.acquire().await.unwrap();
                common::delivery::enqueue_sqlite(&mut connection, deliveries, Utc::now())
                    .await
                    .unwrap();
            }
            Self::Postgres(pool) => {
                let mut connection = pool.acquire().await.unwrap();
                common::delivery::enqueue_postgres(&mut connection, deliveries, Utc::now())
                    .await
                    .unwrap();
            }
        }
    }
}

/// The queue a test runs against: the database's, or JetStream fed from the database's.
struct Queue {
    outbox: Outbox,
    backbone: Option<(Arc<JetStreamDeliveries>, JetStreamConfig)>,
}

impl Queue {
    async fn open(database: &TestDatabase) -> Self {
        Self {
            outbox: Outbox::open(database).await,
            backbone: None,
        }
    }

    async fn open_nats(database: &TestDatabase, config: JetStreamConfig) -> Self {
        let backbone = JetStreamDeliveries::connect(&config, &fast_policy())
            .await
            .unwrap();
        Self {
            outbox: Outbox::open(database).await,
            backbone: Some((Arc::new(backbone), config)),
        }
    }

    /// Another process on the same database (and stream).
    async fn open_same(other: &Self) -> Self {
        let backbone = match &other.backbone {
            Some((_, config)) => Some((
                Arc::new(
                    JetStreamDeliveries::connect(config, &fast_policy())
                        .await
                        .unwrap(),
                ),
                config.clone(),
            )),
            None => None,
        };
        Self {
            outbox: Outbox::open_same(&other.outbox),
            backbone,
        }
    }

    fn store(&self) -> Arc<dyn DeliveryStore> {
        match &self.backbone {
            Some((backbone, _)) => Arc::clone(backbone) as Arc<dyn DeliveryStore>,
            None => self.outbox.store(),
        }
    }

    /// Queues in the database; on the backbone, relays them on as the service does.
    async fn enqueue(&self, destination: &str, sequence: std::ops::Range<usize>) {
        self.outbox.enqueue(destination, sequence).await;
        if let Some((backbone, _)) = &self.backbone {
            let relay =
                JetStreamRelay::new(self.outbox.store(), Arc::clone(backbone), &fast_policy());
            relay.relay().await.unwrap();
            assert_eq!(relay.relay().await.unwrap(), 0, "relayed once");
        }
    }

    async fn close(self) {
        if let Some((backbone, config)) = self.backbone {
            backbone.delete(&config).await.unwrap();
        }
    }
}

/// The databases, and the NATS backbone (on a SQLite outbox) when a server answers.
async fn queues() -> Vec<(TestDatabase, Queue, &'static str)> {
    let mut queues = Vec::new();
    for database in TestDatabase::all().await {
        let queue = Queue::open(&database).await;
        let backend = database.backend;
        queues.push((database, queue, backend));
    }
    if let Some(config) = nats().await {
        let database = TestDatabase::sqlite();
        let queue = Queue::open_nats(&database, config).await;
        queues.push((database, queue, "nats"));
    }
    queues
}

/// A fresh stream on the test NATS server, or `None` (with a note) when there is none and it
/// is not required.
async fn nats() -> Option<JetStreamConfig> {
    let url = std::env::var("NORDFORM_NATS_URL").unwrap_or_else(|_| String::from("127.0.0.1:4222"));
    let required = std::env::var("NORDFORM_NATS_TESTS").is_ok_and(|v| v == "required");
    let reachable = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(url.trim_start_matches("nats://")),
    )
    .await
    .is_ok_and(|connected| connected.is_ok());
    if !reachable {
        assert!(
            !required,
            "NORDFORM_NATS_TESTS=required but no NATS server answers at {url}"
        );
        eprintln!("note: no NATS server at {url}; the JetStream backbone is not tested here");
        return None;
    }
    Some(JetStreamConfig {
        url,
        stream: format!("TEST_{}", uuid::Uuid::new_v4().simple()),
        ..JetStreamConfig::default()
    })
}

/// What a receiver does with each request.
#[derive(Clone, Copy)]
enum Behaviour {
    Accept,
    /// HTTP 500 for the first `n` requests, then accept.
    FailFirst(usize),
    /// `ResultCode: ERROR` for the first `n` requests, then accept.
    RefuseFirst(usize),
    /// Answers after this long.
    Slow(Duration),
    /// `ResultCode: ERROR` for any body holding the item `{"n": n}`.
    RefuseItem(i64),
    /// A 400 problem document (as the engagement index answers EI004) for any body holding an
    /// item whose `n` is listed.
    RejectItems(&'static [i64]),
    /// This status, with this `Retry-After` when given, for the first `n` requests; then accept.
    StatusFirst {
        status: u16,
        n: usize,
        retry_after: Option<RetryAfter>,
    },
}

#[derive(Clone, Copy)]
enum RetryAfter {
    Seconds(u64),
    /// An HTTP date this many seconds after the answer.
    DateIn(i64),
}

#[derive(Clone)]
struct Receiver {
    behaviour: Behaviour,
    requests: Arc<AtomicUsize>,
    received: Arc<Mutex<Vec<(String, Value, HeaderMap)>>>,
    /// When each request arrived, accepted or not.
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Receiver {
    fn new(behaviour: Behaviour) -> Self {
        Self {
            behaviour,
            requests: Arc::default(),
            received: Arc::default(),
            arrivals: Arc::default(),
        }
    }

    async fn start(&self) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        self.serve(listener)
    }

    fn serve(&self, listener: tokio::net::TcpListener) -> SocketAddr {
        let address = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/notify", post(receive))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    }

    /// The `n` field of every accepted payload, in arrival order.
    fn sequence(&self) -> Vec<i64> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, body, _)| body["n"].as_i64().unwrap())
            .collect()
    }

    fn notification_ids(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|(id, _, _)| id.clone())
            .collect()
    }
}

fn holds_item(body: &Value, n: i64) -> bool {
    body["engagementTransaction"]
        .as_array()
        .is_some_and(|items| items.iter().any(|i| i["n"] == json!(n)))
}

async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    let request = receiver.requests.fetch_add(1, Ordering::SeqCst);
    receiver.arrivals.lock().unwrap().push(Instant::now());
    match receiver.behaviour {
        Behaviour::FailFirst(n) if request < n => {
            return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({}))).into_response();
        }
        Behaviour::RefuseFirst(n) if request < n => {
            return axum::Json(
                json!({ "ResultCode": "ERROR", "comment": "unknown logical address" }),
            )
            .into_response();
        }
        Behaviour::Slow(delay) => tokio::time::sleep(delay).await,
        Behaviour::RefuseItem(n) if holds_item(&body.0, n) => {
            return axum::Json(
                json!({ "ResultCode": "ERROR", "comment": format!("item {n} is wrong") }),
            )
            .into_response();
        }
        Behaviour::RejectItems(refused) => {
            if let Some(n) = refused.iter().find(|n| holds_item(&body.0, **n)) {
                // The receiver quotes the resident, as a careless one might.
                let detail = format!("EI004: item {n} of 191212121212 has trailing whitespace");
                return (
                    StatusCode::BAD_REQUEST,
                    [("content-type", "application/problem+json")],
                    json!({"type": "about:blank", "title": "Bad Request", "status": 400,
                           "detail": detail, "code": "EI004"})
                    .to_string(),
                )
                    .into_response();
            }
        }
        Behaviour::StatusFirst {
            status,
            n,
            retry_after,
        } if request < n => {
            let mut response = StatusCode::from_u16(status).unwrap().into_response();
            let value = match retry_after {
                Some(RetryAfter::Seconds(seconds)) => Some(seconds.to_string()),
                Some(RetryAfter::DateIn(seconds)) => Some(
                    (Utc::now() + chrono::Duration::seconds(seconds))
                        .format("%a, %d %b %Y %H:%M:%S GMT")
                        .to_string(),
                ),
                None => None,
            };
            if let Some(value) = value {
                response
                    .headers_mut()
                    .insert("retry-after", value.parse().unwrap());
            }
            return response;
        }
        _ => {}
    }
    let id = headers["x-notification-id"].to_str().unwrap().to_owned();
    receiver
        .received
        .lock()
        .unwrap()
        .push((id, body.0, headers));
    axum::Json(json!({ "ResultCode": "OK" })).into_response()
}

struct Routes(HashMap<String, String>);

#[async_trait]
impl DestinationResolver for Routes {
    async fn route(&self, destination: &str) -> Option<Route> {
        let url = self.0.get(destination)?.clone();
        let mut headers = HeaderMap::new();
        headers.insert("x-rivta-logical-address", destination.parse().unwrap());
        Some(Route::Push { url, headers })
    }
}

fn routes(pairs: &[(&str, SocketAddr)]) -> Arc<Routes> {
    Arc::new(Routes(
        pairs
            .iter()
            .map(|(d, a)| ((*d).to_owned(), format!("http://{a}/notify")))
            .collect(),
    ))
}

fn fast_policy() -> DeliveryPolicy {
    DeliveryPolicy {
        max_attempts: 50,
        initial_backoff_ms: 20,
        max_backoff_ms: 200,
        request_timeout_ms: 3000,
        poll_interval_ms: 20,
        lease_secs: 2,
        ..DeliveryPolicy::default()
    }
}

/// Every item of every accepted body, in arrival order.
fn items(receiver: &Receiver) -> Vec<i64> {
    receiver
        .received
        .lock()
        .unwrap()
        .iter()
        .flat_map(|(_, body, _)| {
            body["engagementTransaction"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|item| item["n"].as_i64().unwrap())
        .collect()
}

fn start_worker(
    store: Arc<dyn DeliveryStore>,
    resolver: Arc<Routes>,
    policy: DeliveryPolicy,
) -> (Shutdown, tokio::task::JoinHandle<()>) {
    // The recorder, before anything is counted (a counter of no recorder is lost).
    common::metrics::handle();
    let shutdown = Shutdown::new();
    let worker = DeliveryWorker::new("test", store, resolver, policy);
    let handle = tokio::spawn(worker.run(shutdown.clone()));
    (shutdown, handle)
}

/// Waits until `done` holds, for at most 20 seconds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Delivered messages leave the queue; the last one just after the receiver has answered.
async fn wait_until_empty(store: &Arc<dyn DeliveryStore>, destination: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while pending(store, destination).await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{destination}'s queue never emptied"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `n` of each pending message of `destination`, in queue order.
async fn pending_numbers(store: &Arc<dyn DeliveryStore>, destination: &str) -> Vec<i64> {
    store
        .list(destination, DeliveryState::Pending, 100)
        .await
        .unwrap()
        .iter()
        .map(|d| d.payload["n"].as_i64().unwrap())
        .collect()
}

async fn pending(store: &Arc<dyn DeliveryStore>, destination: &str) -> usize {
    store
        .list(destination, DeliveryState::Pending, 10_000)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn delivers_in_queue_order_with_headers() {
    common::telemetry::init_for_tests();
    for (database, queue, backend) in queues().await {
        let receiver = Receiver::new(Behaviour::Accept);
        let address = receiver.start().await;
        queue.enqueue("SUB-A", 0..30).await;
        let store = queue.store();
        let (shutdown, handle) = start_worker(
            Arc::clone(&store),
            routes(&[("SUB-A", address)]),
            fast_policy(),
        );
        eventually("all 30 arrive", || receiver.sequence().len() == 30).await;
        assert_eq!(
            receiver.sequence(),
            (0..30).collect::<Vec<_>>(),
            "{backend}"
        );
        let (_, _, headers) = receiver.received.lock().unwrap()[0].clone();
        assert_eq!(headers["x-rivta-logical-address"], "SUB-A");
        assert_eq!(headers["x-skltp-correlation-id"], "corr-0");
        wait_until_empty(&store, "SUB-A").await;
        shutdown.cancel();
        handle.await.unwrap();
        queue.close().await;
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_receiver_down_for_a_while_gets_everything_in_order_when_it_comes_back() {
    common::telemetry::init_for_tests();
    for database in TestDatabase::all().await {
        let queue = Queue::open(&database).await;
        // Reserve a port, then close it: the receiver is down.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        queue.enqueue("SUB-DOWN", 0..10).await;
        let store = queue.store();
        let (shutdown, handle) = start_worker(
            Arc::clone(&store),
            routes(&[("SUB-DOWN", address)]),
            fast_policy(),
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let head = store.head("SUB-DOWN").await.unwrap().unwrap();
        assert!(
            head.attempts >= 2,
            "retried while down: {} attempts",
            head.attempts
        );
        assert_eq!(
            head.last_error.as_deref(),
            Some("cannot connect to the receiver")
        );
        queue.enqueue("SUB-DOWN", 10..15).await;

        let receiver = Receiver::new(Behaviour::Accept);
        receiver.serve(tokio::net::TcpListener::bind(address).await.unwrap());
        eventually("everything arrives after the receiver is back", || {
            receiver.sequence().len() == 15
        })
        .await;
        assert_eq!(
            receiver.sequence(),
            (0..15).collect::<Vec<_>>(),
            "{}",
            database.backend
        );
        shutdown.cancel();
        handle.await.unwrap();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn http_500_is_retried_until_the_receiver_accepts() {
    common::telemetry::init_for_tests();
    for (database, queue, _backend) in queues().await {
        let receiver = Receiver::new(Behaviour::FailFirst(3));
        let address = receiver.start().await;
        queue.enqueue("SUB-500", 0..3).await;
        let store = queue.store();
        let (shutdown, handle) = start_worker(
            Arc::clone(&store),
            routes(&[("SUB-500", address)]),
            fast_policy(),
        );
        eventually("delivered after three 500s", || {
            receiver.sequence().len() == 3
        })
        .await;
        assert_eq!(receiver.sequence(), vec![0, 1, 2]);
        assert_eq!(
            receiver.requests.load(Ordering::SeqCst),
            6,
            "3 refused attempts + 3 deliveries"
        );
        shutdown.cancel();
        handle.await.unwrap();
        queue.close().await;
        database.cleanup().await;
    }
}

#[tokio::test]
async fn result_code_error_dead_letters_at_once_and_redrive_delivers() {
    common::telemetry::init_for_tests();
    for (database, queue, backend) in queues().await {
        let receiver = Receiver::new(Behaviour::RefuseFirst(1));
        let address = receiver.start().await;
        queue.enqueue("SUB-ERR", 0..2).await;
        let store = queue.store();
        let (shutdown, handle) = start_worker(
            Arc::clone(&store),
            routes(&[("SUB-ERR", address)]),
            fast_policy(),
        );
        eventually("the second message passes the dead first one", || {
            receiver.sequence() == vec![1]
        })
        .await;
        let dead = store
            .list("SUB-ERR", DeliveryState::Dead, 10)
            .await
            .unwrap();
        assert_eq!(dead.len(), 1, "{backend}");
        assert_eq!(dead[0].attempts, 1, "no retry after ResultCode ERROR");
        assert!(
            dead[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("unknown logical address"),
            "the comment is kept"
        );

        assert_eq!(store.redrive("SUB-ERR", Utc::now()).await.unwrap(), 1);
        eventually("the redriven message arrives", || {
            receiver.sequence() == vec![1, 0]
        })
        .await;
        assert!(
            store
                .list("SUB-ERR", DeliveryState::Dead, 10)
                .await
                .unwrap()
                .is_empty()
        );
        shutdown.cancel();
        handle.await.unwrap();
        queue.close().await;
        database.cleanup().await;
    }
}

#[tokio::test]
async fn gives_up_after_the_configured_attempts() {
    common::telemetry::init_for_tests();
    for (database, queue, backend) in queues().await {
        let receiver = Receiver::new(Behaviour::FailFirst(usize::MAX));
        let address = receiver.start().await;
        queue.enqueue("SUB-DEAD", 0..1).await;
        let store = queue.store();
        let policy = DeliveryPolicy {
            max_attempts: 3,
            ..fast_policy()
        };
        let (shutdown, handle) =
            start_worker(Arc::clone(&store), routes(&[("SUB-DEAD", address)]), policy);
        let mut dead = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while dead.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            dead = store
                .list("SUB-DEAD", DeliveryState::Dead, 10)
                .await
                .unwrap();
        }
        assert_eq!(dead.len(), 1, "{backend}");
        assert_eq!(dead[0].attempts, 3);
        assert!(dead[0].last_error.as_deref().unwrap().contains("HTTP 500"));
        assert_eq!(receiver.requests.load(Ordering::SeqCst), 3);
        shutdown.cancel();
        handle.await.unwrap();
        queue.close().await;
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_dead_receiver_never_slows_the_others() {
    common::telemetry::init_for_tests();
    for (database, queue, _backend) in queues().await {
        let slow = Receiver::new(Behaviour::Slow(Duration::from_secs(10)));
        let slow_address = slow.start().await;
        let healthy = Receiver::new(Behaviour::Accept);
        let healthy_address = healthy.start().await;
        queue.enqueue("SUB-SLOW", 0..5).await;
        queue.enqueue("SUB-OK", 0..20).await;
        let store = queue.store();
        let policy = DeliveryPolicy {
            request_timeout_ms: 10_000,
            ..fast_policy()
        };
        let resolver = routes(&[("SUB-SLOW", slow_address), ("SUB-OK", healthy_address)]);
        let (shutdown, handle) = start_worker(store, resolver, policy);
        let started = tokio::time::Instant::now();
        eventually("the healthy receiver gets everything", || {
            healthy.sequence().len() == 20
        })
        .await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not held up by the slow one: {:?}",
            started.elapsed()
        );
        shutdown.cancel();
        handle.abort();
        queue.close().await;
        database.cleanup().await;
    }
}

#[tokio::test]
async fn two_workers_on_one_database_deliver_each_message_exactly_once() {
    common::telemetry::init_for_tests();
    for (database, queue, backend) in queues().await {
        let mut receivers = Vec::new();
        let mut pairs = Vec::new();
        for n in 0..4 {
            let receiver = Receiver::new(Behaviour::Accept);
            pairs.push((format!("SUB-{n}"), receiver.start().await));
            receivers.push(receiver);
        }
        for (destination, _) in &pairs {
            queue.enqueue(destination, 0..50).await;
        }
        let borrowed: Vec<(&str, SocketAddr)> =
            pairs.iter().map(|(d, a)| (d.as_str(), *a)).collect();
        let second_queue = Queue::open_same(&queue).await;
        let (first, first_handle) = start_worker(queue.store(), routes(&borrowed), fast_policy());
        let (second, second_handle) =
            start_worker(second_queue.store(), routes(&borrowed), fast_policy());
        for receiver in &receivers {
            eventually("every receiver has its 50", || {
                receiver.sequence().len() >= 50
            })
            .await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        for receiver in &receivers {
            assert_eq!(
                receiver.sequence(),
                (0..50).collect::<Vec<_>>(),
                "once each, in order ({backend})"
            );
        }
        first.cancel();
        second.cancel();
        first_handle.await.unwrap();
        second_handle.await.unwrap();
        queue.close().await;
        database.cleanup().await;
    }
}

#[tokio::test]
async fn killing_a_worker_mid_delivery_loses_nothing() {
    common::telemetry::init_for_tests();
    for (database, queue, _backend) in queues().await {
        let receiver = Receiver::new(Behaviour::Slow(Duration::from_millis(300)));
        let address = receiver.start().await;
        queue.enqueue("SUB-KILL", 0..10).await;
        let store = queue.store();
        let (_, doomed) = start_worker(
            Arc::clone(&store),
            routes(&[("SUB-KILL", address)]),
            fast_policy(),
        );
        eventually("the first worker is mid-delivery", || {
            receiver.requests.load(Ordering::SeqCst) >= 3
        })
        .await;
        doomed.abort(); // no release, no bookkeeping: as if the process died
        let (shutdown, handle) = start_worker(
            Arc::clone(&store),
            routes(&[("SUB-KILL", address)]),
            fast_policy(),
        );
        eventually("the second worker finishes the queue", || {
            let mut seen = receiver.sequence();
            seen.dedup();
            seen == (0..10).collect::<Vec<_>>()
        })
        .await;
        wait_until_empty(&store, "SUB-KILL").await;
        // At-least-once: a message in flight when the worker died may come twice, with the same id.
        let ids = receiver.notification_ids();
        let mut unique = ids.clone();
        unique.dedup();
        assert_eq!(unique.len(), 10, "{ids:?}");
        shutdown.cancel();
        handle.await.unwrap();
        queue.close().await;
        database.cleanup().await;
    }
}

#[tokio::test]
async fn pull_returns_messages_after_an_offset_and_acknowledges_the_ones_before() {
    for (database, queue, _backend) in queues().await {
        queue.enqueue("SUB-PULL", 0..5).await;
        let store = queue.store();
        let first = store.pull("SUB-PULL", 0, 3, Utc::now()).await.unwrap();
        assert_eq!(
            first
                .iter()
                .map(|d| d.payload["n"].as_i64().unwrap())
                .collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert!(
            first.windows(2).all(|w| w[0].id < w[1].id),
            "offsets increase"
        );
        let again = store.pull("SUB-PULL", 0, 3, Utc::now()).await.unwrap();
        assert_eq!(
            again.iter().map(|d| d.id).collect::<Vec<_>>(),
            first.iter().map(|d| d.id).collect::<Vec<_>>()
        );
        let last = first.last().unwrap().id;
        let rest = store.pull("SUB-PULL", last, 10, Utc::now()).await.unwrap();
        assert_eq!(
            rest.iter()
                .map(|d| d.payload["n"].as_i64().unwrap())
                .collect::<Vec<_>>(),
            vec![3, 4]
        );
        assert_eq!(
            pending(&store, "SUB-PULL").await,
            2,
            "acknowledged messages leave the queue"
        );
        queue.close().await;
        database.cleanup().await;
    }
}

/// Routes `SUB-PULL` to its receiver's pulls and nothing else anywhere, counting the lookups.
#[derive(Default)]
struct PullOnly {
    looked_up: Mutex<HashMap<String, usize>>,
}

#[async_trait]
impl DestinationResolver for PullOnly {
    async fn route(&self, destination: &str) -> Option<Route> {
        *self
            .looked_up
            .lock()
            .unwrap()
            .entry(destination.to_owned())
            .or_default() += 1;
        (destination == "SUB-PULL").then_some(Route::Pull)
    }
}

/// Messages the worker does not push (a pull receiver's, or a destination without a route)
/// wait in the queue, and the worker looks at them once a poll interval, not again and again
/// while they wait: it used to start a task for them after every look, and every task's end
/// started the next look, which kept a core busy and the queue asked all the time.
#[tokio::test]
async fn messages_the_worker_does_not_push_do_not_keep_it_busy() {
    for (database, queue, backend) in queues().await {
        queue.enqueue("SUB-PULL", 0..3).await;
        queue.enqueue("SUB-NOWHERE", 0..2).await;
        let store = queue.store();
        let resolver = Arc::new(PullOnly::default());
        common::metrics::handle();
        let shutdown = Shutdown::new();
        let policy = DeliveryPolicy {
            poll_interval_ms: 100,
            ..fast_policy()
        };
        let worker = DeliveryWorker::new("test", Arc::clone(&store), resolver.clone(), policy);
        let handle = tokio::spawn(worker.run(shutdown.clone()));
        tokio::time::sleep(Duration::from_secs(1)).await;
        shutdown.cancel();
        handle.await.unwrap();
        let looked_up = resolver.looked_up.lock().unwrap().clone();
        for destination in ["SUB-PULL", "SUB-NOWHERE"] {
            let times = looked_up.get(destination).copied().unwrap_or(0);
            // About one lookup a poll interval (ten in the second); a busy worker made
            // thousands.
            assert!(
                (1..=30).contains(&times),
                "{backend}: {destination} looked up {times} times in a second"
            );
        }
        assert_eq!(pending(&store, "SUB-PULL").await, 3, "{backend}");
        assert_eq!(pending(&store, "SUB-NOWHERE").await, 2, "{backend}");
        queue.close().await;
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_payload_shared_by_several_destinations_is_queued_for_each_in_the_callers_order() {
    for database in TestDatabase::all().await {
        let outbox = Outbox::open(&database).await;
        let delivery = |destination: &str, payload: &Payload| NewDelivery {
            destination: destination.to_owned(),
            payload: payload.clone(),
            item_count: 1,
            correlation_id: None,
            traceparent: None,
        };
        let (first, second) = (
            Payload::from(json!({"n": 1})),
            Payload::from(json!({"n": 2})),
        );
        // The same text in a payload of its own is queued as itself too.
        let first_again = Payload::from(json!({"n": 1}));
        let deliveries = [
            delivery("SUB-A", &first),
            delivery("SUB-B", &first),
            delivery("SUB-A", &second),
            delivery("SUB-C", &first_again),
            delivery("SUB-B", &second),
            delivery("SUB-C", &second),
            delivery("SUB-A", &first),
        ];
        outbox.enqueue_all(&deliveries).await;
        let store = outbox.store();
        let mut ids = Vec::new();
        for (destination, expected) in [
            ("SUB-A", vec![1, 2, 1]),
            ("SUB-B", vec![1, 2]),
            ("SUB-C", vec![1, 2]),
        ] {
            let queued = store.pull(destination, 0, 10, Utc::now()).await.unwrap();
            assert_eq!(
                queued
                    .iter()
                    .map(|d| d.payload["n"].as_i64().unwrap())
                    .collect::<Vec<_>>(),
                expected,
                "{destination} on {}",
                database.backend
            );
            ids.extend(
                queued
                    .iter()
                    .map(|d| (d.id, destination, d.payload["n"].as_i64().unwrap())),
            );
        }
        // Ids follow the order the deliveries were given in, across destinations.
        ids.sort_unstable();
        assert_eq!(
            ids.iter()
                .map(|(_, destination, n)| (*destination, *n))
                .collect::<Vec<_>>(),
            vec![
                ("SUB-A", 1),
                ("SUB-B", 1),
                ("SUB-A", 2),
                ("SUB-C", 1),
                ("SUB-B", 2),
                ("SUB-C", 2),
                ("SUB-A", 1)
            ],
            "on {}",
            database.backend
        );
        database.cleanup().await;
    }
}

#[tokio::test]
async fn queues_read_together_are_each_what_a_read_of_its_own_gives() {
    for database in TestDatabase::all().await {
        let outbox = Outbox::open(&database).await;
        let delivery = |destination: &str, n: i64| NewDelivery {
            destination: destination.to_owned(),
            payload: Payload::from(json!({ "n": n })),
            item_count: 1,
            correlation_id: None,
            traceparent: None,
        };
        // Interleaved, so that each queue's ids are not consecutive.
        let deliveries: Vec<NewDelivery> = (0..12)
            .map(|n| {
                delivery(
                    ["SUB-A", "SUB-B", "SUB-C"][usize::try_from(n % 3).unwrap()],
                    n,
                )
            })
            .collect();
        outbox.enqueue_all(&deliveries).await;
        let store = outbox.store();
        // SUB-B's first message is delivered: it leaves the queue.
        let first_of_b = store.pending_run("SUB-B", 1).await.unwrap()[0].id;
        store
            .mark_delivered(&[first_of_b], Utc::now())
            .await
            .unwrap();
        let wanted: Vec<(String, i64)> = [
            ("SUB-C", 2),
            ("SUB-NONE", 5),
            ("SUB-A", 10),
            ("SUB-B", 2),
            ("SUB-A", 1),
        ]
        .into_iter()
        .map(|(destination, limit)| (destination.to_owned(), limit))
        .collect();
        let runs = store.pending_runs(&wanted).await.unwrap();
        let numbers = |run: &[Delivery]| {
            run.iter()
                .map(|d| d.payload["n"].as_i64().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            runs.iter().map(|run| numbers(run)).collect::<Vec<_>>(),
            vec![vec![2, 5], vec![], vec![0, 3, 6, 9], vec![4, 7], vec![0],],
            "on {}",
            database.backend
        );
        for ((destination, limit), run) in wanted.iter().zip(&runs) {
            let alone = store.pending_run(destination, *limit).await.unwrap();
            assert_eq!(
                run.iter().map(|d| d.id).collect::<Vec<_>>(),
                alone.iter().map(|d| d.id).collect::<Vec<_>>(),
                "{destination} on {}",
                database.backend
            );
        }
        assert_eq!(
            store.reads_together(),
            database.backend == "postgres",
            "PostgreSQL reads the queues in one statement"
        );
        database.cleanup().await;
    }
}

#[tokio::test]
async fn merging_sends_consecutive_messages_in_one_post_in_order() {
    common::telemetry::init_for_tests();
    for database in TestDatabase::all().await {
        let queue = Queue::open(&database).await;
        let receiver = Receiver::new(Behaviour::Accept);
        let address = receiver.start().await;
        queue.enqueue("INDEX", 0..10).await;
        let store = queue.store();
        let shutdown = Shutdown::new();
        let worker = DeliveryWorker::new(
            "test",
            Arc::clone(&store),
            routes(&[("INDEX", address)]),
            fast_policy(),
        )
        .merging("engagementTransaction", 4);
        let handle = tokio::spawn(worker.run(shutdown.clone()));
        eventually("all ten items arrive", || items(&receiver).len() == 10).await;
        assert_eq!(
            items(&receiver),
            (0..10).collect::<Vec<_>>(),
            "{}",
            database.backend
        );
        let posts = receiver.requests.load(Ordering::SeqCst);
        assert_eq!(posts, 3, "4 + 4 + 2 items");
        wait_until_empty(&store, "INDEX").await;
        shutdown.cancel();
        handle.await.unwrap();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_refused_merged_post_is_retried_one_message_at_a_time() {
    common::telemetry::init_for_tests();
    for database in TestDatabase::all().await {
        let queue = Queue::open(&database).await;
        let receiver = Receiver::new(Behaviour::RefuseItem(2));
        let address = receiver.start().await;
        queue.enqueue("INDEX", 0..5).await;
        let store = queue.store();
        let shutdown = Shutdown::new();
        let worker = DeliveryWorker::new(
            "test",
            Arc::clone(&store),
            routes(&[("INDEX", address)]),
            fast_policy(),
        )
        .merging("engagementTransaction", 100);
        let handle = tokio::spawn(worker.run(shutdown.clone()));
        eventually("everything but the refused item arrives", || {
            items(&receiver) == vec![0, 1, 3, 4]
        })
        .await;
        let dead = store.list("INDEX", DeliveryState::Dead, 10).await.unwrap();
        assert_eq!(dead.len(), 1, "{}", database.backend);
        assert_eq!(dead[0].payload["n"], 2);
        assert!(
            dead[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("item 2 is wrong")
        );
        shutdown.cancel();
        handle.await.unwrap();
        database.cleanup().await;
    }
}

fn start_merging_worker(
    store: Arc<dyn DeliveryStore>,
    resolver: Arc<Routes>,
    policy: DeliveryPolicy,
) -> (Shutdown, tokio::task::JoinHandle<()>) {
    // The recorder, before anything is counted (a counter of no recorder is lost).
    common::metrics::handle();
    let shutdown = Shutdown::new();
    let worker =
        DeliveryWorker::new("test", store, resolver, policy).merging("engagementTransaction", 100);
    let handle = tokio::spawn(worker.run(shutdown.clone()));
    (shutdown, handle)
}

/// A policy whose back-off is far longer than any test waits: whatever is delivered was
/// delivered without one.
fn no_backoff_expected() -> DeliveryPolicy {
    DeliveryPolicy {
        initial_backoff_ms: 60_000,
        max_backoff_ms: 60_000,
        ..fast_policy()
    }
}

/// The dead-letter counter once it has reached `expected` (or after a few seconds, whatever it
/// is then). The worker counts a dead letter just after the transaction that makes it, so a
/// test that has seen the rows may read the counter a moment too early.
async fn dead_lettered_reaching(destination: &str, cause: &str, expected: u64) -> u64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let count = dead_lettered(destination, cause);
        if count >= expected || tokio::time::Instant::now() >= deadline {
            return count;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `deliveries_dead_lettered_total` of `destination` with this `cause` (the recorder is the
/// process's: every test uses destinations of its own).
fn dead_lettered(destination: &str, cause: &str) -> u64 {
    let text = common::metrics::handle().render();
    text.lines()
        .find(|line| {
            line.starts_with("deliveries_dead_lettered_total{")
                && line.contains("service=\"test\"")
                && line.contains(&format!("destination=\"{destination}\""))
                && line.contains(&format!("cause=\"{cause}\""))
        })
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

async fn dead_letters(store: &Arc<dyn DeliveryStore>, destination: &str) -> Vec<Delivery> {
    store
        .list(destination, DeliveryState::Dead, 100)
        .await
        .unwrap()
}

/// Waits until `destination` has `count` dead letters and no pending message.
async fn settled(store: &Arc<dyn DeliveryStore>, destination: &str, count: usize) -> Vec<Delivery> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let dead = dead_letters(store, destination).await;
        if dead.len() == count && pending(store, destination).await == 0 {
            return dead;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{destination}: {} dead, {} pending",
            dead.len(),
            pending(store, destination).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_merged_post_refused_with_400_dead_letters_only_the_message_at_fault_at_once() {
    common::telemetry::init_for_tests();
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let destination = format!("INDEX-400-{backend}");
        let queue = Queue::open(&database).await;
        let receiver = Receiver::new(Behaviour::RejectItems(&[1]));
        let address = receiver.start().await;
        // One refused between two good ones, queued before the worker starts: one merged POST.
        queue.enqueue(&destination, 0..3).await;
        let store = queue.store();
        let started = Instant::now();
        let (shutdown, handle) = start_merging_worker(
            Arc::clone(&store),
            routes(&[(&destination, address)]),
            no_backoff_expected(),
        );
        let dead = settled(&store, &destination, 1).await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{backend}: no back-off"
        );
        assert_eq!(
            items(&receiver),
            vec![0, 2],
            "{backend}: the good ones, in order"
        );
        assert_eq!(
            receiver.requests.load(Ordering::SeqCst),
            4,
            "{backend}: the merged POST, then each message alone"
        );
        assert_eq!(dead[0].payload["n"], 1, "{backend}");
        assert_eq!(dead[0].attempts, 1, "{backend}: dead-lettered at once");
        let answer = dead[0].last_error.as_deref().unwrap();
        assert!(
            answer.starts_with("refused by the receiver: HTTP 400 Bad Request: {")
                && answer.contains("\"code\":\"EI004\"")
                && answer.contains("trailing whitespace"),
            "{backend}: the receiver's answer is kept: {answer}"
        );
        assert_eq!(
            dead_lettered_reaching(&destination, "refused", 1).await,
            1,
            "{backend}"
        );

        // Merging resumes once the split batch is through.
        queue.enqueue(&destination, 3..6).await;
        eventually("the next three arrive", || items(&receiver).len() == 5).await;
        assert_eq!(items(&receiver), vec![0, 2, 3, 4, 5], "{backend}");
        assert_eq!(
            receiver.requests.load(Ordering::SeqCst),
            5,
            "{backend}: in one POST"
        );
        wait_until_empty(&store, &destination).await;
        shutdown.cancel();
        handle.await.unwrap();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_merged_post_answered_result_code_error_is_split_too() {
    common::telemetry::init_for_tests();
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let destination = format!("INDEX-ERROR-{backend}");
        let queue = Queue::open(&database).await;
        let receiver = Receiver::new(Behaviour::RefuseItem(1));
        let address = receiver.start().await;
        queue.enqueue(&destination, 0..3).await;
        let store = queue.store();
        let (shutdown, handle) = start_merging_worker(
            Arc::clone(&store),
            routes(&[(&destination, address)]),
            no_backoff_expected(),
        );
        let dead = settled(&store, &destination, 1).await;
        assert_eq!(items(&receiver), vec![0, 2], "{backend}");
        assert_eq!(dead[0].payload["n"], 1);
        assert_eq!(dead[0].attempts, 1);
        assert_eq!(
            dead[0].last_error.as_deref(),
            Some("refused by the receiver: HTTP 200 OK, ResultCode ERROR: item 1 is wrong")
        );
        assert_eq!(
            dead_lettered_reaching(&destination, "refused", 1).await,
            1,
            "{backend}"
        );
        shutdown.cancel();
        handle.await.unwrap();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn dead_letters_never_hold_up_the_messages_after_them_and_order_is_kept() {
    common::telemetry::init_for_tests();
    for (database, queue, backend) in queues().await {
        let store = queue.store();
        for merging in [false, true] {
            let destination = format!("ORDER-{merging}-{backend}");
            let receiver = Receiver::new(Behaviour::RejectItems(&[0, 3, 4, 9]));
            let address = receiver.start().await;
            queue.enqueue(&destination, 0..10).await;
            let resolver = routes(&[(&destination, address)]);
            let (shutdown, handle) = if merging {
                start_merging_worker(Arc::clone(&store), resolver, no_backoff_expected())
            } else {
                start_worker(Arc::clone(&store), resolver, no_backoff_expected())
            };
            let dead = settled(&store, &destination, 4).await;
            assert_eq!(
                items(&receiver),
                vec![1, 2, 5, 6, 7, 8],
                "{backend}, merging {merging}"
            );
            assert_eq!(
                dead.iter()
                    .map(|d| d.payload["n"].as_i64().unwrap())
                    .collect::<Vec<_>>(),
                vec![0, 3, 4, 9]
            );
            assert_eq!(dead_lettered_reaching(&destination, "refused", 4).await, 4);
            shutdown.cancel();
            handle.await.unwrap();
        }
        queue.close().await;
        database.cleanup().await;
    }
}

#[tokio::test]
async fn client_errors_are_permanent_server_errors_and_too_many_requests_are_retried() {
    common::telemetry::init_for_tests();
    for (database, queue, backend) in queues().await {
        let store = queue.store();
        let mut pairs = Vec::new();
        let mut receivers = HashMap::new();
        for (name, status) in [("C400", 400), ("C404", 404), ("C503", 503), ("C408", 408)] {
            let destination = format!("{name}-{backend}");
            let receiver = Receiver::new(Behaviour::StatusFirst {
                status,
                n: 2,
                retry_after: None,
            });
            pairs.push((destination.clone(), receiver.start().await));
            receivers.insert(name, (destination, receiver));
        }
        for (destination, _) in &pairs {
            queue.enqueue(destination, 0..3).await;
        }
        let borrowed: Vec<(&str, SocketAddr)> =
            pairs.iter().map(|(d, a)| (d.as_str(), *a)).collect();
        let (shutdown, handle) = start_worker(Arc::clone(&store), routes(&borrowed), fast_policy());

        for name in ["C400", "C404"] {
            let (destination, receiver) = &receivers[name];
            let dead = settled(&store, destination, 2).await;
            assert_eq!(receiver.sequence(), vec![2], "{backend} {name}");
            assert!(dead.iter().all(|d| d.attempts == 1), "{backend} {name}");
            assert!(
                dead[0]
                    .last_error
                    .as_deref()
                    .unwrap()
                    .starts_with(&format!("refused by the receiver: HTTP {}", &name[1..])),
                "{dead:?}"
            );
            assert_eq!(
                dead_lettered_reaching(destination, "refused", 2).await,
                2,
                "{backend} {name}"
            );
        }
        for name in ["C503", "C408"] {
            let (destination, receiver) = &receivers[name];
            eventually("retried until accepted", || receiver.sequence().len() == 3).await;
            assert_eq!(receiver.sequence(), vec![0, 1, 2], "{backend} {name}");
            assert_eq!(receiver.requests.load(Ordering::SeqCst), 5);
            wait_until_empty(&store, destination).await;
            assert!(dead_letters(&store, destination).await.is_empty());
            assert_eq!(dead_lettered(destination, "refused"), 0);
        }
        shutdown.cancel();
        handle.await.unwrap();
        queue.close().await;
        database.cleanup().await;
    }
}

#[tokio::test]
async fn retry_after_is_honoured_in_seconds_and_as_an_http_date() {
    common::telemetry::init_for_tests();
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let queue = Queue::open(&database).await;
        let store = queue.store();
        let cases = [
            (
                "R429",
                429,
                RetryAfter::Seconds(1),
                Duration::from_millis(950),
            ),
            // An HTTP date has whole seconds: three seconds ahead is more than two from now.
            (
                "R503",
                503,
                RetryAfter::DateIn(3),
                Duration::from_millis(1900),
            ),
        ];
        let mut running = Vec::new();
        for (name, status, retry_after, at_least) in cases {
            let destination = format!("{name}-{backend}");
            let receiver = Receiver::new(Behaviour::StatusFirst {
                status,
                n: 1,
                retry_after: Some(retry_after),
            });
            let address = receiver.start().await;
            queue.enqueue(&destination, 0..2).await;
            // Back-off alone would try again after 10 to 20 ms.
            let policy = DeliveryPolicy {
                initial_backoff_ms: 20,
                ..fast_policy()
            };
            let worker = start_worker(
                Arc::clone(&store),
                routes(&[(&destination, address)]),
                policy,
            );
            running.push((name, destination, receiver, at_least, worker));
        }
        for (name, destination, receiver, at_least, (shutdown, handle)) in running {
            eventually("delivered after the wait asked for", || {
                receiver.sequence().len() == 2
            })
            .await;
            assert_eq!(receiver.sequence(), vec![0, 1], "{backend} {name}");
            let arrivals = receiver.arrivals.lock().unwrap().clone();
            let waited = arrivals[1] - arrivals[0];
            assert!(
                waited >= at_least,
                "{backend} {name}: tried again after {waited:?}"
            );
            assert!(
                waited < Duration::from_secs(5),
                "{backend} {name}: {waited:?}"
            );
            wait_until_empty(&store, &destination).await;
            shutdown.cancel();
            handle.await.unwrap();
        }
        database.cleanup().await;
    }
}

#[tokio::test]
async fn giving_up_is_counted_as_a_dead_letter_too() {
    common::telemetry::init_for_tests();
    let database = TestDatabase::sqlite();
    let queue = Queue::open(&database).await;
    let receiver = Receiver::new(Behaviour::FailFirst(usize::MAX));
    let address = receiver.start().await;
    queue.enqueue("GIVE-UP", 0..1).await;
    let store = queue.store();
    let policy = DeliveryPolicy {
        max_attempts: 2,
        ..fast_policy()
    };
    let (shutdown, handle) =
        start_worker(Arc::clone(&store), routes(&[("GIVE-UP", address)]), policy);
    let dead = settled(&store, "GIVE-UP", 1).await;
    assert_eq!(dead[0].attempts, 2);
    assert_eq!(dead_lettered_reaching("GIVE-UP", "gave_up", 1).await, 1);
    assert_eq!(dead_lettered("GIVE-UP", "refused"), 0);
    shutdown.cancel();
    handle.await.unwrap();
    database.cleanup().await;
}

#[tokio::test]
async fn a_relay_that_publishes_again_after_a_crash_is_stored_once() {
    common::telemetry::init_for_tests();
    let Some(config) = nats().await else {
        return;
    };
    let database = TestDatabase::sqlite();
    let outbox = Outbox::open(&database).await;
    outbox.enqueue("SUB-DUP", 0..5).await;
    let backbone = Arc::new(
        JetStreamDeliveries::connect(&config, &fast_policy())
            .await
            .unwrap(),
    );
    // A relay that published and died before marking the rows relayed ...
    let run = outbox.store().pending_run("SUB-DUP", 100).await.unwrap();
    backbone.publish(&run).await.unwrap();
    // ... and the next one, which finds them still queued and publishes them again.
    let relay = JetStreamRelay::new(outbox.store(), Arc::clone(&backbone), &fast_policy());
    assert_eq!(relay.relay().await.unwrap(), 5);
    let store: Arc<dyn DeliveryStore> = Arc::clone(&backbone) as Arc<dyn DeliveryStore>;
    assert_eq!(
        pending_numbers(&store, "SUB-DUP").await,
        (0..5).collect::<Vec<_>>(),
        "each message once, in order"
    );
    backbone.delete(&config).await.unwrap();
    database.cleanup().await;
}

/// A destination's lease: one worker at a time, renewed by its holder, passed on once it has
/// run out. On PostgreSQL it is timed by the database server's clock, so no process's own
/// clock (one running ahead, say) decides when another's lease has run out.
#[tokio::test]
async fn a_lease_is_held_by_one_worker_until_it_runs_out() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let outbox = Outbox::open(&database).await;
        let store = outbox.store();
        let (first, second) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let lease = Duration::from_secs(3);
        assert!(
            store.claim("SUB-LEASE", first, lease).await.unwrap(),
            "{backend}"
        );
        assert!(
            !store.claim("SUB-LEASE", second, lease).await.unwrap(),
            "{backend}"
        );
        // Renewed by its holder, for as long again from now.
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(
            store.claim("SUB-LEASE", first, lease).await.unwrap(),
            "{backend}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(
            !store.claim("SUB-LEASE", second, lease).await.unwrap(),
            "{backend}: the renewed lease holds"
        );
        // Given back: the next worker takes it at once; and once a lease has run out, too.
        store.release("SUB-LEASE", first).await.unwrap();
        assert!(
            store.claim("SUB-LEASE", second, lease).await.unwrap(),
            "{backend}"
        );
        tokio::time::sleep(Duration::from_millis(3500)).await;
        assert!(
            store.claim("SUB-LEASE", first, lease).await.unwrap(),
            "{backend}"
        );
        if let Outbox::Postgres(pool) = &outbox {
            // Its end by the server's clock: the lease from the moment the server took it.
            let left: f64 = sqlx::query_scalar(
                "SELECT extract(epoch FROM until - clock_timestamp())::float8 \
                 FROM delivery_lease WHERE destination = 'SUB-LEASE'",
            )
            .fetch_one(pool)
            .await
            .unwrap();
            assert!(left > 2.0 && left <= 3.0, "{left}");
        }
        database.cleanup().await;
    }
}

/// The relay of what an earlier version queued in the database: on a database gone silent
/// (PostgreSQL through a front that silences its open connections) it gives up within its
/// limit, instead of holding back every round for good, and the next try moves everything.
#[tokio::test]
async fn a_relay_facing_a_silent_database_gives_up_and_the_next_try_moves_everything() {
    common::telemetry::init_for_tests();
    for database in TestDatabase::all().await {
        let Some(url) = database.config.url.clone() else {
            continue;
        };
        let Some(config) = nats().await else {
            return;
        };
        let (front, url) = common::testing::database_front::DatabaseFront::before(&url).await;
        let outbox = Outbox::Postgres(common::db::open_postgres(&url, 2, &POSTGRES).await.unwrap());
        outbox.enqueue("SUB-SILENT", 0..4).await;
        let backbone = Arc::new(
            JetStreamDeliveries::connect(&config, &fast_policy())
                .await
                .unwrap(),
        );
        let limit = common::db::ResponseTimeout::new(Duration::from_secs(1));
        let relay = JetStreamRelay::new(outbox.store(), Arc::clone(&backbone), &fast_policy())
            .with_response_timeout(limit);

        front.silence();
        let asked = Instant::now();
        let given_up = tokio::time::timeout(Duration::from_secs(30), relay.relay())
            .await
            .expect("a relay facing a silent database waits no longer than its limit");
        assert!(
            given_up.is_err(),
            "a silent database answered: {given_up:?}"
        );
        assert!(
            asked.elapsed() < Duration::from_secs(3),
            "{:?}",
            asked.elapsed()
        );

        // Tried again as the fan-out does, on new connections: everything moves, once.
        let again = Instant::now();
        let mut moved = 0;
        while moved < 4 {
            match relay.relay().await {
                Ok(n) => moved += n,
                Err(error) => assert!(
                    again.elapsed() < Duration::from_secs(20),
                    "the relay after the silence: {error}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let stream: Arc<dyn DeliveryStore> = Arc::clone(&backbone) as Arc<dyn DeliveryStore>;
        assert_eq!(pending_numbers(&stream, "SUB-SILENT").await, [0, 1, 2, 3]);
        backbone.delete(&config).await.unwrap();
        drop(front);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn relayed_messages_leave_the_outbox_and_only_they_do() {
    common::telemetry::init_for_tests();
    for database in TestDatabase::all().await {
        // A stream of its own: message ids are queue ids, which each database counts from 1.
        let Some(config) = nats().await else {
            return;
        };
        let backbone = Arc::new(
            JetStreamDeliveries::connect(&config, &fast_policy())
                .await
                .unwrap(),
        );
        let outbox = Outbox::open(&database).await;
        let store = outbox.store();
        outbox.enqueue("SUB-OUT", 0..3).await;
        // Not the relay's: a dead letter and a delivered message stay where they are.
        outbox.enqueue("SUB-KEPT", 0..2).await;
        let kept = store.pending_run("SUB-KEPT", 10).await.unwrap();
        store.mark_dead(&[kept[0].id], "refused").await.unwrap();
        store
            .mark_delivered(&[kept[1].id], Utc::now())
            .await
            .unwrap();
        let relay = JetStreamRelay::new(Arc::clone(&store), Arc::clone(&backbone), &fast_policy());
        assert_eq!(relay.relay().await.unwrap(), 3, "on {}", database.backend);
        for state in [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Dead,
        ] {
            assert!(
                store.list("SUB-OUT", state, 10).await.unwrap().is_empty(),
                "no {state:?} copy of a relayed message is kept on {}",
                database.backend
            );
        }
        for state in [DeliveryState::Dead, DeliveryState::Delivered] {
            assert_eq!(
                store.list("SUB-KEPT", state, 10).await.unwrap().len(),
                1,
                "the {state:?} message stays on {}",
                database.backend
            );
        }
        let stream: Arc<dyn DeliveryStore> = Arc::clone(&backbone) as Arc<dyn DeliveryStore>;
        assert_eq!(
            stream
                .list("SUB-OUT", DeliveryState::Pending, 10)
                .await
                .unwrap()
                .iter()
                .map(|d| d.payload["n"].as_i64().unwrap())
                .collect::<Vec<_>>(),
            vec![0, 1, 2],
            "on {}",
            database.backend
        );
        backbone.delete(&config).await.unwrap();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn what_another_process_published_is_due_within_a_poll_while_this_one_publishes() {
    common::telemetry::init_for_tests();
    let Some(config) = nats().await else {
        return;
    };
    let policy = fast_policy();
    let here = JetStreamDeliveries::connect(&config, &policy)
        .await
        .unwrap();
    let elsewhere = JetStreamDeliveries::connect(&config, &policy)
        .await
        .unwrap();
    let database = TestDatabase::sqlite();
    let outbox = Outbox::open(&database).await;
    let publish = |destination, from| publish_one(&outbox, destination, from);
    publish("SUB-HERE", &here).await;
    assert_eq!(
        here.due_destinations(Utc::now()).await.unwrap(),
        vec![String::from("SUB-HERE")]
    );
    publish("SUB-ELSEWHERE", &elsewhere).await;
    // This process keeps publishing (the relay wakes its worker after each round); within a
    // poll interval the other process's message is due here too.
    let deadline = Instant::now() + policy.poll_interval() * 10;
    let mut due_here = Vec::new();
    while !due_here.contains(&String::from("SUB-ELSEWHERE")) {
        assert!(
            Instant::now() < deadline,
            "what another process published was never due here: {due_here:?}"
        );
        publish("SUB-HERE", &here).await;
        due_here = here.due_destinations(Utc::now()).await.unwrap();
        assert!(
            due_here.contains(&String::from("SUB-HERE")),
            "what this process published is due at once: {due_here:?}"
        );
        tokio::time::sleep(policy.poll_interval() / 4).await;
    }
    here.delete(&config).await.unwrap();
    database.cleanup().await;
}

/// Queues one message for `destination` and relays it through `from`, as a relay round does.
async fn publish_one(outbox: &Outbox, destination: &str, from: &JetStreamDeliveries) {
    let store = outbox.store();
    outbox.enqueue(destination, 0..1).await;
    let run = store.pending_run(destination, 10).await.unwrap();
    from.publish(&run).await.unwrap();
    let ids: Vec<i64> = run.iter().map(|delivery| delivery.id).collect();
    store.relayed(&ids, Utc::now()).await.unwrap();
}

#[tokio::test]
async fn a_round_published_again_finds_its_shared_payload_where_it_was_stored_first() {
    common::telemetry::init_for_tests();
    let Some(config) = nats().await else {
        return;
    };
    let backbone = JetStreamDeliveries::connect(&config, &fast_policy())
        .await
        .unwrap();
    let shared = Payload::from(json!({ "engagementTransaction": [{ "n": 1 }], "n": 1 }));
    let own = Payload::from(json!({ "engagementTransaction": [{ "n": 2 }], "n": 2 }));
    let to = |destination: &str, payload: &Payload| NewDelivery {
        destination: destination.to_owned(),
        payload: payload.clone(),
        item_count: 1,
        correlation_id: None,
        traceparent: None,
    };
    // Stored with the first two messages; the process died before the third was published.
    backbone
        .publish_round(7, &[to("SUB-A", &shared), to("SUB-B", &shared)])
        .await
        .unwrap();
    // Published again: the payload is a duplicate, and the new message must name the first
    // copy's sequence.
    backbone
        .publish_round(
            7,
            &[
                to("SUB-A", &shared),
                to("SUB-B", &shared),
                to("SUB-C", &shared),
                to("SUB-C", &own),
            ],
        )
        .await
        .unwrap();
    let store: Arc<dyn DeliveryStore> = Arc::new(backbone);
    for (destination, expected) in [
        ("SUB-A", vec![1]),
        ("SUB-B", vec![1]),
        ("SUB-C", vec![1, 2]),
    ] {
        assert_eq!(
            pending_numbers(&store, destination).await,
            expected,
            "{destination}: each message once, with its own payload"
        );
        // The worker's read too.
        let head = store.head(destination).await.unwrap().unwrap();
        assert_eq!(head.payload["n"], expected[0], "{destination}");
        store.mark_delivered(&[head.id], Utc::now()).await.unwrap();
    }
    let backbone = JetStreamDeliveries::connect(&config, &fast_policy())
        .await
        .unwrap();
    backbone.delete(&config).await.unwrap();
}

#[tokio::test]
async fn a_stream_made_anew_never_gives_a_subscriber_a_payload_remembered_from_before() {
    common::telemetry::init_for_tests();
    let Some(config) = nats().await else {
        return;
    };
    let round = |n: i64| {
        let payload = Payload::from(json!({ "engagementTransaction": [{ "n": n }], "n": n }));
        ["SUB-A", "SUB-B"].map(|destination| NewDelivery {
            destination: destination.to_owned(),
            payload: payload.clone(),
            item_count: 1,
            correlation_id: None,
            traceparent: None,
        })
    };
    let first = JetStreamDeliveries::connect(&config, &fast_policy())
        .await
        .unwrap();
    first.publish_round(1, &round(1)).await.unwrap();
    let first: Arc<dyn DeliveryStore> = Arc::new(first);
    let head = first.head("SUB-A").await.unwrap().unwrap();
    assert_eq!(head.payload["n"], 1, "read and remembered");
    first.mark_delivered(&[head.id], Utc::now()).await.unwrap();
    // The stream is deleted and made again; its messages are numbered from 1 again.
    let other = JetStreamDeliveries::connect(&config, &fast_policy())
        .await
        .unwrap();
    other.delete(&config).await.unwrap();
    let other = JetStreamDeliveries::connect(&config, &fast_policy())
        .await
        .unwrap();
    other.publish_round(1, &round(2)).await.unwrap();
    let head = first.head("SUB-B").await.unwrap().unwrap();
    assert_eq!(
        head.payload["n"], 2,
        "the payload now stored there, not the one remembered"
    );
    other.delete(&config).await.unwrap();
}
