//! Issue 4: the subscriber registry and notification fan-out, through the HTTP API, with real
//! HTTP receivers, on SQLite and (with `TEST_DATABASE_URL`) PostgreSQL; order, pull offsets,
//! dead letters and redrive also on the NATS JetStream backbone when a NATS server answers
//! (`NORDFORM_NATS_URL`; skipped with a note unless `NORDFORM_NATS_TESTS=required`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use common::config::HttpConfig;
use common::delivery::{JetStreamConfig, JetStreamDeliveries};
use common::shutdown::Shutdown;
use common::testing::TestDatabase;
use engagement_index::config::{Backbone, DeclaredSubscriber};
use engagement_index::domain::subscriber::{DeliveryMode, SubscriberFilter};
use engagement_index::{Application, Config};
use http::HeaderMap;
use serde_json::{Value, json};

const DOMAIN: &str = "TEST-DOMAIN";

struct Index {
    base: String,
    http: reqwest::Client,
    shutdown: Shutdown,
}

impl Index {
    async fn start(database: &TestDatabase, declared: Vec<DeclaredSubscriber>) -> Self {
        Self::start_on(database, declared, None).await
    }

    /// With `nats`, the subscribers' queues are on that JetStream stream.
    async fn start_on(
        database: &TestDatabase,
        declared: Vec<DeclaredSubscriber>,
        nats: Option<JetStreamConfig>,
    ) -> Self {
        Self::start_lingering(database, declared, nats, 10).await
    }

    /// With the fan-out's `linger_ms` at `linger_ms`.
    async fn start_lingering(
        database: &TestDatabase,
        declared: Vec<DeclaredSubscriber>,
        nats: Option<JetStreamConfig>,
        linger_ms: u64,
    ) -> Self {
        common::telemetry::init_for_tests();
        let mut config = Config {
            http: HttpConfig::with_port(0),
            database: database.config.clone(),
            subscribers: declared,
            ..Config::default()
        };
        config.delivery.initial_backoff_ms = 20;
        config.delivery.max_backoff_ms = 200;
        config.delivery.poll_interval_ms = 20;
        config.delivery.max_attempts = 1000;
        config.notification.linger_ms = Some(linger_ms);
        if let Some(nats) = nats {
            config.notification.backbone = Backbone::Nats;
            config.notification.nats = nats;
        }
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

    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("x-rivta-logical-address", "SE0000000001-EI01")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn update(&self, transactions: Vec<Value>) {
        let response = self
            .post(
                "/engagementindex/v1/Update",
                &json!({ "engagementTransaction": transactions }),
            )
            .await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (status.as_u16(), body["ResultCode"].as_str()),
            (200, Some("OK")),
            "{body}"
        );
    }

    async fn subscribe(&self, logical_address: &str, body: &Value) -> reqwest::Response {
        self.http
            .put(format!("{}/admin/subscribers/{logical_address}", self.base))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn unsubscribe(&self, logical_address: &str) -> reqwest::Response {
        self.http
            .delete(format!("{}/admin/subscribers/{logical_address}", self.base))
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }
}

fn transaction(resident: &str, category: &str, source: &str) -> Value {
    json!({"deleteFlag": false, "engagement": {
        "registeredResidentIdentification": resident,
        "serviceDomain": DOMAIN,
        "categorization": category,
        "logicalAddress": "SE0000000003-CU01",
        "businessObjectInstanceIdentifier": format!("BO-{resident}-{category}"),
        "clinicalProcessInterestId": "NA",
        "sourceSystem": source,
        "dataController": "SE2321000016",
    }})
}

/// An HTTP receiver of ProcessNotification.
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
}

impl Receiver {
    async fn start() -> (Self, SocketAddr) {
        let receiver = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/notify", post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, address)
    }

    /// Every engagement transaction received, in arrival order.
    fn transactions(&self) -> Vec<Value> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(_, body)| {
                body["engagementTransaction"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }

    fn categories(&self) -> Vec<String> {
        self.transactions()
            .iter()
            .map(|t| {
                t["engagement"]["categorization"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    fn requests(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> axum::Json<Value> {
    receiver.received.lock().unwrap().push((headers, body.0));
    axum::Json(json!({ "ResultCode": "OK" }))
}

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

fn push_to(address: SocketAddr, filter: &Value) -> Value {
    json!({ "url": format!("http://{address}/notify"), "delivery": "push", "filter": filter })
}

/// Each database with the database queue, then each with the NATS backbone when a server
/// answers.
async fn backbones() -> Vec<(TestDatabase, Option<JetStreamConfig>, &'static str)> {
    let mut backbones: Vec<_> = TestDatabase::all()
        .await
        .into_iter()
        .map(|database| {
            let backend = database.backend;
            (database, None, backend)
        })
        .collect();
    for database in TestDatabase::all().await {
        let Some(nats) = nats().await else { break };
        let name = if database.backend == "sqlite" {
            "nats on sqlite"
        } else {
            "nats on postgres"
        };
        backbones.push((database, Some(nats), name));
    }
    backbones
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
        stream: format!("TEST_EI_{}", uuid::Uuid::new_v4().simple()),
        ..JetStreamConfig::default()
    })
}

/// Removes a test's stream.
async fn drop_stream(nats: Option<JetStreamConfig>) {
    if let Some(nats) = nats {
        let policy = common::delivery::DeliveryPolicy::default();
        let stream = JetStreamDeliveries::connect(&nats, &policy).await.unwrap();
        stream.delete(&nats).await.unwrap();
    }
}

#[tokio::test]
async fn subscribers_are_created_read_listed_replaced_and_removed() {
    for database in TestDatabase::all().await {
        let index = Index::start(&database, Vec::new()).await;
        let created = index
            .subscribe(
                "SUB-A",
                &json!({"url": "http://127.0.0.1:9/x", "filter": [{"serviceDomain": DOMAIN}]}),
            )
            .await;
        assert_eq!(created.status(), 201, "{}", database.backend);
        let body: Value = created.json().await.unwrap();
        assert_eq!(body["logicalAddress"], "SUB-A");
        assert_eq!(body["delivery"], "push");
        assert_eq!(body["filter"][0]["categorization"], json!([]));
        assert_eq!(body["pending"], 0);

        let replaced = index.subscribe("SUB-A", &json!({"delivery": "pull"})).await;
        assert_eq!(replaced.status(), 200);
        let read: Value = index
            .get("/admin/subscribers/SUB-A")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(read["delivery"], "pull");
        assert!(read.get("url").is_none());

        let list: Value = index.get("/admin/subscribers").await.json().await.unwrap();
        assert_eq!(list["subscribers"].as_array().unwrap().len(), 1);

        let invalid = index.subscribe("SUB-B", &json!({"delivery": "push"})).await;
        assert_eq!(invalid.status(), 400);
        let problem: Value = invalid.json().await.unwrap();
        assert_eq!(problem["code"], "INVALID_SUBSCRIBER");
        assert!(problem["detail"].as_str().unwrap().contains("url"));

        let deleted = index.unsubscribe("SUB-A").await;
        assert_eq!(deleted.status(), 204);
        let missing = index.get("/admin/subscribers/SUB-A").await;
        assert_eq!(missing.status(), 404);
        let problem: Value = missing.json().await.unwrap();
        assert_eq!(problem["code"], "SUBSCRIBER_NOT_FOUND");
        index.shutdown.cancel();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn t29_t30_an_update_reaches_exactly_the_subscribers_whose_filters_match() {
    for database in TestDatabase::all().await {
        let index = Index::start(&database, Vec::new()).await;
        let (both, both_address) = Receiver::start().await;
        let (only_two, only_two_address) = Receiver::start().await;
        let (nobody, nobody_address) = Receiver::start().await;
        index
            .subscribe("TEST-LOGICAL-ADDRESS", &push_to(both_address, &json!([{"serviceDomain": DOMAIN, "categorization": ["TEST-CATEGORY", "TEST-CATEGORY-2"]}])))
            .await;
        index
            .subscribe(
                "TEST-LOGICAL-ADDRESS-2",
                &push_to(
                    only_two_address,
                    &json!([{"serviceDomain": DOMAIN, "categorization": ["TEST-CATEGORY-2"]}]),
                ),
            )
            .await;
        index
            .subscribe(
                "NO-SUBSCRIPTION",
                &push_to(nobody_address, &json!([{"serviceDomain": "OTHER-DOMAIN"}])),
            )
            .await;

        index
            .update(vec![
                transaction("191212121212", "TEST-CATEGORY", "SRC-1"),
                transaction("191212121213", "TEST-CATEGORY", "SRC-1"),
            ])
            .await;
        index
            .update(vec![transaction(
                "191212121212",
                "TEST-CATEGORY-2",
                "SRC-1",
            )])
            .await;

        eventually(
            "both changes reach the subscriber of both categories",
            || both.transactions().len() == 3,
        )
        .await;
        eventually(
            "the second change reaches the subscriber of one category",
            || only_two.transactions().len() == 1,
        )
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(nobody.requests(), 0, "{}", database.backend);
        assert_eq!(only_two.categories(), vec!["TEST-CATEGORY-2"]);

        let (headers, body) = both.received.lock().unwrap()[0].clone();
        assert_eq!(headers["x-rivta-logical-address"], "TEST-LOGICAL-ADDRESS");
        assert!(headers.contains_key("x-notification-id"));
        let engagement = &body["engagementTransaction"][0]["engagement"];
        assert_eq!(
            engagement["owner"], "SE0000000001-EI01",
            "T31: owner is this index"
        );
        assert_eq!(engagement["creationTime"].as_str().unwrap().len(), 14);
        index.shutdown.cancel();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn notifications_arrive_in_commit_order() {
    for (database, nats, backend) in backbones().await {
        let index = Index::start_on(&database, Vec::new(), nats.clone()).await;
        let (receiver, address) = Receiver::start().await;
        index
            .subscribe("SUB-ORDER", &push_to(address, &json!([])))
            .await;
        let categories: Vec<String> = (0..25).map(|n| format!("C{n:02}")).collect();
        for category in &categories {
            index
                .update(vec![transaction("191212121212", category, "SRC-1")])
                .await;
        }
        eventually("all 25 arrive", || receiver.transactions().len() == 25).await;
        assert_eq!(receiver.categories(), categories, "{backend}");
        index.shutdown.cancel();
        drop_stream(nats).await;
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_change_after_a_quiet_spell_goes_at_once_and_the_next_ones_wait_for_the_pace() {
    // A linger far longer than a round, so that waiting for it and not waiting differ by
    // seconds, even on a busy machine. The pace is the fan-out's, the same for each backbone: the database queue.
    let linger = Duration::from_secs(4);
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let linger_ms = u64::try_from(linger.as_millis()).unwrap();
        let index = Index::start_lingering(&database, Vec::new(), None, linger_ms).await;
        let (receiver, address) = Receiver::start().await;
        index
            .subscribe("SUB-PACE", &push_to(address, &json!([])))
            .await;

        // Its round begins after `sent`, and once it is committed nothing more is waited for.
        let sent = tokio::time::Instant::now();
        index
            .update(vec![transaction("191212121212", "FIRST", "SRC-1")])
            .await;
        let committed = tokio::time::Instant::now();
        eventually("the first change arrives", || receiver.requests() == 1).await;
        assert!(
            committed.elapsed() < linger / 2,
            "{backend}: a change after a quiet spell waited {:?} for its round",
            committed.elapsed()
        );

        // Both within the linger of the first round: they travel together, in the round that
        // begins `linger` after it.
        for category in ["SECOND", "THIRD"] {
            index
                .update(vec![transaction("191212121212", category, "SRC-1")])
                .await;
        }
        eventually("the next two arrive", || receiver.transactions().len() == 3).await;
        assert!(
            sent.elapsed() >= linger,
            "{backend}: the next round came {:?} after the first change, within the linger",
            sent.elapsed()
        );
        assert_eq!(
            receiver.requests(),
            2,
            "{backend}: one notification for both"
        );
        assert_eq!(
            receiver.categories(),
            ["FIRST", "SECOND", "THIRD"],
            "{backend}"
        );
        index.shutdown.cancel();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_pull_subscriber_fetches_and_acknowledges_by_offset() {
    for (database, nats, backend) in backbones().await {
        let index = Index::start_on(&database, Vec::new(), nats.clone()).await;
        index
            .subscribe(
                "SUB-PULL",
                &json!({"delivery": "pull", "filter": [{"serviceDomain": DOMAIN}]}),
            )
            .await;
        index
            .update(vec![transaction("191212121212", "A", "SRC-1")])
            .await;
        index
            .update(vec![transaction("191212121212", "B", "SRC-1")])
            .await;

        let pull = async |after: i64| -> Value {
            let response = index
                .post(
                    "/engagementindex/v1/subscribers/SUB-PULL/notifications",
                    &json!({"afterOffset": after, "maxItems": 10}),
                )
                .await;
            assert_eq!(response.status(), 200);
            response.json().await.unwrap()
        };
        // Changes committed close together may travel in one notification: count transactions.
        let categories = |answer: &Value| -> Vec<String> {
            answer["notification"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|n| n["engagementTransaction"].as_array().unwrap().clone())
                .map(|t| {
                    t["engagement"]["categorization"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect()
        };
        let mut first = pull(0).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while categories(&first).len() < 2 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            first = pull(0).await;
        }
        assert_eq!(categories(&first), vec!["A", "B"], "{backend} {first}");
        let offsets: Vec<i64> = first["notification"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["offset"].as_i64().unwrap())
            .collect();
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "offsets increase: {offsets:?}"
        );
        let last = first["lastOffset"].as_i64().unwrap();
        assert_eq!(Some(&last), offsets.last());

        // Not acknowledged yet: asking again from 0 returns the same.
        assert_eq!(categories(&pull(0).await), vec!["A", "B"]);
        index
            .update(vec![transaction("191212121212", "C", "SRC-1")])
            .await;
        let mut next = pull(last).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while categories(&next).is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            next = pull(last).await;
        }
        assert_eq!(categories(&next), vec!["C"]);
        let last = next["lastOffset"].as_i64().unwrap();

        let again = pull(last).await;
        assert_eq!(again["notification"], json!([]));
        assert_eq!(again["lastOffset"], last);
        let subscriber: Value = index
            .get("/admin/subscribers/SUB-PULL")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(subscriber["pending"], 0, "acknowledged");

        let pushed = index
            .subscribe("SUB-PUSH", &json!({"url": "http://127.0.0.1:9/x"}))
            .await;
        assert_eq!(pushed.status(), 201);
        let refused = index
            .post(
                "/engagementindex/v1/subscribers/SUB-PUSH/notifications",
                &json!({"afterOffset": 0}),
            )
            .await;
        assert_eq!(refused.status(), 409);
        index.shutdown.cancel();
        drop_stream(nats).await;
        database.cleanup().await;
    }
}

#[tokio::test]
async fn process_notification_is_forwarded_but_never_back_to_its_owner() {
    for database in TestDatabase::all().await {
        let index = Index::start(&database, Vec::new()).await;
        let (remote, remote_address) = Receiver::start().await;
        let (local, local_address) = Receiver::start().await;
        index
            .subscribe("REMOTE-EI", &push_to(remote_address, &json!([])))
            .await;
        index
            .subscribe("LOCAL-SYSTEM", &push_to(local_address, &json!([])))
            .await;

        let mut incoming = transaction("191414141414", "TEST-CATEGORY", "SRC-REMOTE");
        incoming["engagement"]["owner"] = json!("REMOTE-EI");
        incoming["engagement"]["creationTime"] = json!("20240101120000");
        incoming["engagement"]["updateTime"] = json!("20240102120000");
        let response = index
            .post(
                "/engagementindex/v1/ProcessNotification",
                &json!({ "engagementTransaction": [incoming] }),
            )
            .await;
        assert_eq!(response.status(), 200);

        eventually("the local subscriber is notified", || {
            local.transactions().len() == 1
        })
        .await;
        let forwarded = &local.transactions()[0]["engagement"];
        assert_eq!(forwarded["owner"], "REMOTE-EI");
        assert_eq!(forwarded["creationTime"], "20240101120000");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            remote.requests(),
            0,
            "never back to the owner ({})",
            database.backend
        );
        index.shutdown.cancel();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_refused_notification_is_dead_lettered_listed_and_redriven() {
    for (database, nats, backend) in backbones().await {
        let index = Index::start_on(&database, Vec::new(), nats.clone()).await;
        // A receiver that refuses everything until told otherwise.
        let refusing = Arc::new(Mutex::new(true));
        let received: Arc<Mutex<Vec<Value>>> = Arc::default();
        let (flag, sink) = (Arc::clone(&refusing), Arc::clone(&received));
        let app = Router::new().route(
            "/notify",
            post(move |body: axum::Json<Value>| {
                let (flag, sink) = (Arc::clone(&flag), Arc::clone(&sink));
                async move {
                    if *flag.lock().unwrap() {
                        axum::Json(
                            json!({"ResultCode": "ERROR", "comment": "patient unknown here"}),
                        )
                    } else {
                        sink.lock().unwrap().push(body.0);
                        axum::Json(json!({"ResultCode": "OK"}))
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        index
            .subscribe("SUB-ERR", &push_to(address, &json!([])))
            .await;
        index
            .update(vec![transaction("191212121212", "TEST-CATEGORY", "SRC-1")])
            .await;

        let mut dead = json!({});
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while dead["deliveries"].as_array().is_none_or(Vec::is_empty)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
            dead = index
                .get("/admin/subscribers/SUB-ERR/deliveries?state=dead")
                .await
                .json()
                .await
                .unwrap();
        }
        let entry = &dead["deliveries"][0];
        assert_eq!(entry["attempts"], 1, "{backend} {dead}");
        assert!(
            entry["lastError"]
                .as_str()
                .unwrap()
                .contains("patient unknown here")
        );
        let pending: Value = index
            .get("/admin/subscribers/SUB-ERR/deliveries")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(pending["deliveries"], json!([]));

        *refusing.lock().unwrap() = false;
        let redriven: Value = index
            .post("/admin/subscribers/SUB-ERR/redrive", &json!({}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(redriven["redriven"], 1);
        eventually("the redriven notification arrives", || {
            received.lock().unwrap().len() == 1
        })
        .await;
        let bad_state = index
            .get("/admin/subscribers/SUB-ERR/deliveries?state=lost")
            .await;
        assert_eq!(bad_state.status(), 400);
        index.shutdown.cancel();
        drop_stream(nats).await;
        database.cleanup().await;
    }
}

/// How many notifications are queued for `logical_address`, once at least `at_least` are.
async fn queued(index: &Index, logical_address: &str, at_least: usize) -> usize {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let list: Value = index
            .get(&format!("/admin/subscribers/{logical_address}/deliveries"))
            .await
            .json()
            .await
            .unwrap();
        let count = list["deliveries"].as_array().map_or(0, Vec::len);
        if count >= at_least || tokio::time::Instant::now() >= deadline {
            return count;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_removed_subscriber_takes_its_queued_notifications_with_it() {
    let unreachable = json!({
        "url": "http://127.0.0.1:9/notify",
        "filter": [{ "serviceDomain": DOMAIN }],
    });
    for (database, nats, backend) in backbones().await {
        // Removed through the admin API.
        let index = Index::start_on(&database, Vec::new(), nats.clone()).await;
        index.subscribe("SUB-GONE", &unreachable).await;
        index
            .update(vec![transaction("191212121212", "BEFORE", "SRC-1")])
            .await;
        assert_eq!(queued(&index, "SUB-GONE", 1).await, 1, "{backend}");
        let deleted = index.unsubscribe("SUB-GONE").await;
        assert_eq!(deleted.status(), 204, "{backend}");
        let (receiver, address) = Receiver::start().await;
        let made = index
            .subscribe("SUB-GONE", &push_to(address, &json!([])))
            .await;
        assert_eq!(made.status(), 201, "{backend}");
        assert_eq!(
            queued(&index, "SUB-GONE", 0).await,
            0,
            "{backend}: the subscriber made again under the same address starts empty"
        );
        index
            .update(vec![transaction("191212121212", "AFTER", "SRC-1")])
            .await;
        // Delivered in order: what was left of the removed one would come first.
        eventually("the new subscriber is notified", || receiver.requests() > 0).await;
        assert_eq!(receiver.categories(), vec!["AFTER"], "{backend}");
        index.shutdown.cancel();

        // Removed by a start whose configuration no longer declares it.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let declared = DeclaredSubscriber {
            logical_address: "DECLARED-GONE".into(),
            url: Some(String::from("http://127.0.0.1:9/notify")),
            delivery: DeliveryMode::Push,
            filter: vec![SubscriberFilter {
                service_domain: DOMAIN.into(),
                categorization: vec![],
                registered_resident_identification: Vec::new(),
            }],
        };
        let index = Index::start_on(&database, vec![declared], nats.clone()).await;
        index
            .update(vec![transaction("191212121213", "BEFORE", "SRC-1")])
            .await;
        assert_eq!(queued(&index, "DECLARED-GONE", 1).await, 1, "{backend}");
        index.shutdown.cancel();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let index = Index::start_on(&database, Vec::new(), nats.clone()).await;
        let (receiver, address) = Receiver::start().await;
        index
            .subscribe("DECLARED-GONE", &push_to(address, &json!([])))
            .await;
        index
            .update(vec![transaction("191212121213", "AFTER", "SRC-1")])
            .await;
        eventually("the subscriber made anew is notified", || {
            receiver.requests() > 0
        })
        .await;
        assert_eq!(
            receiver.categories(),
            vec!["AFTER"],
            "{backend}: nothing queued for the undeclared subscriber reaches the new one"
        );
        index.shutdown.cancel();
        drop_stream(nats).await;
        database.cleanup().await;
    }
}

#[tokio::test]
async fn subscribers_declared_in_the_configuration_are_applied_at_start() {
    for database in TestDatabase::all().await {
        let (receiver, address) = Receiver::start().await;
        let declared = vec![DeclaredSubscriber {
            logical_address: "DECLARED".into(),
            url: Some(format!("http://{address}/notify")),
            delivery: DeliveryMode::Push,
            filter: vec![SubscriberFilter {
                service_domain: DOMAIN.into(),
                categorization: vec![],
                registered_resident_identification: Vec::new(),
            }],
        }];
        let index = Index::start(&database, declared).await;
        let list: Value = index.get("/admin/subscribers").await.json().await.unwrap();
        assert_eq!(
            list["subscribers"][0]["logicalAddress"], "DECLARED",
            "{}",
            database.backend
        );
        index
            .update(vec![transaction("191212121212", "TEST-CATEGORY", "SRC-1")])
            .await;
        eventually("the declared subscriber is notified", || {
            receiver.transactions().len() == 1
        })
        .await;
        index.shutdown.cancel();
        // Restarting without the declaration removes it; an API-made subscriber would stay.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let index = Index::start(&database, Vec::new()).await;
        let list: Value = index.get("/admin/subscribers").await.json().await.unwrap();
        assert_eq!(list["subscribers"], json!([]));
        index.shutdown.cancel();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn queue_figures_are_exposed_as_metrics() {
    let database = TestDatabase::sqlite();
    let index = Index::start(&database, Vec::new()).await;
    // A subscriber that is down: its queue grows.
    index
        .subscribe("SUB-DOWN", &json!({"url": "http://127.0.0.1:9/notify"}))
        .await;
    index
        .update(vec![transaction("191212121212", "TEST-CATEGORY", "SRC-1")])
        .await;
    // The metrics are the process's: other tests' queues may show first.
    let depth_of_sub_down = |text: &str| {
        text.lines()
            .find(|l| {
                l.starts_with("delivery_queue_depth{") && l.contains("destination=\"SUB-DOWN\"")
            })
            .map(str::to_owned)
    };
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while depth_of_sub_down(&text).is_none() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        text = index.get("/metrics").await.text().await.unwrap();
    }
    let depth =
        depth_of_sub_down(&text).unwrap_or_else(|| panic!("queue depth of SUB-DOWN:\n{text}"));
    assert!(depth.ends_with(" 1"), "{depth}");
    assert!(text.contains("delivery_oldest_pending_age_seconds{"));
    assert!(text.contains("delivery_attempts_total{") && text.contains("outcome=\"failed\""));
    index.shutdown.cancel();
}

#[tokio::test]
async fn routes_looked_up_together_are_each_the_route_looked_up_alone() {
    use common::delivery::{DestinationResolver as _, Route};
    use engagement_index::domain::subscriber::Subscriber;
    use engagement_index::notification::SubscriberRoutes;
    for database in TestDatabase::all().await {
        let stores = engagement_index::store::open(&database.config)
            .await
            .unwrap();
        let subscriber = |address: &str, url: Option<&str>, delivery| Subscriber {
            logical_address: address.to_owned(),
            url: url.map(str::to_owned),
            delivery,
            filter: vec![SubscriberFilter {
                service_domain: DOMAIN.to_owned(),
                categorization: Vec::new(),
                registered_resident_identification: Vec::new(),
            }],
        };
        for added in [
            subscriber(
                "SUB-PUSH-1",
                Some("http://127.0.0.1:9/one"),
                DeliveryMode::Push,
            ),
            subscriber("SUB-PULL", None, DeliveryMode::Pull),
            subscriber(
                "SUB-PUSH-2",
                Some("http://127.0.0.1:9/two"),
                DeliveryMode::Push,
            ),
        ] {
            stores.subscribers.put(&added).await.unwrap();
        }
        let routes = SubscriberRoutes::new(Arc::clone(&stores.subscribers));
        let asked: Vec<String> = [
            "SUB-PUSH-2",
            "SUB-GONE",
            "SUB-PULL",
            "SUB-PUSH-1",
            "SUB-PUSH-2",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        let together = routes.routes(&asked).await;
        assert_eq!(together.len(), asked.len(), "{}", database.backend);
        let describe = |route: &Option<Route>| match route {
            None => String::from("none"),
            Some(Route::Pull) => String::from("pull"),
            Some(Route::Push { url, headers }) => {
                format!("{url} to {:?}", headers["x-rivta-logical-address"])
            }
        };
        assert_eq!(
            together.iter().map(describe).collect::<Vec<_>>(),
            vec![
                "http://127.0.0.1:9/two to \"SUB-PUSH-2\"",
                "none",
                "pull",
                "http://127.0.0.1:9/one to \"SUB-PUSH-1\"",
                "http://127.0.0.1:9/two to \"SUB-PUSH-2\"",
            ],
            "{}",
            database.backend
        );
        for (destination, route) in asked.iter().zip(&together) {
            assert_eq!(
                describe(&routes.route(destination).await),
                describe(route),
                "{destination} on {}",
                database.backend
            );
        }
        database.cleanup().await;
    }
}

/// A connection of its own to the index's database, as another process (an earlier version)
/// would have.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    async fn open(database: &TestDatabase) -> Self {
        if let Some(url) = &database.config.url {
            Self::Postgres(sqlx::PgPool::connect(url).await.unwrap())
        } else {
            let path = database.config.data_dir.join("engagement-index.sqlite");
            Self::Sqlite(
                sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .unwrap(),
            )
        }
    }

    async fn close(self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// Writes an outbox row holding one engagement transaction of `resident`, as an Update would.
async fn queue_change(database: &TestDatabase, resident: &str) {
    let document = Value::Array(vec![transaction(resident, "CAT", "SRC")]).to_string();
    let raw = Raw::open(database).await;
    match &raw {
        Raw::Postgres(pool) => {
            sqlx::query("INSERT INTO notification_outbox (transactions) VALUES ($1)")
                .bind(document)
                .execute(pool)
                .await
                .unwrap();
        }
        Raw::Sqlite(pool) => {
            sqlx::query(
                "INSERT INTO notification_outbox (transactions, created_at) VALUES ($1, $2)",
            )
            .bind(document)
            .bind(common::db::sqlite_time(chrono::Utc::now()))
            .execute(pool)
            .await
            .unwrap();
        }
    }
    raw.close().await;
}

/// The residents of the pending notifications of `destination` on the stream, a list per
/// notification.
async fn residents_queued(stream: &JetStreamDeliveries, destination: &str) -> Vec<Vec<String>> {
    use common::delivery::{DeliveryState, DeliveryStore as _};
    stream
        .list(destination, DeliveryState::Pending, 100)
        .await
        .unwrap()
        .iter()
        .map(|notification| {
            notification.payload["engagementTransaction"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    t["engagement"]["registeredResidentIdentification"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect()
        })
        .collect()
}

/// A fan-out round for `owner`, rounds taken longer than `lease` ago counting as abandoned.
async fn take(
    stores: &engagement_index::store::Stores,
    owner: uuid::Uuid,
    lease: std::time::Duration,
) -> Option<engagement_index::store::Round> {
    stores
        .subscribers
        .take_round(100, owner, lease)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_round_whose_process_died_before_finishing_it_is_published_again_and_stored_once() {
    use engagement_index::domain::subscriber::Subscriber;
    let Some(_) = nats().await else { return };
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let nats = nats().await.unwrap();
        let stores = engagement_index::store::open(&database.config)
            .await
            .unwrap();
        let policy = common::delivery::DeliveryPolicy::default();
        let stream = JetStreamDeliveries::connect(&nats, &policy).await.unwrap();
        // Two subscribers getting the same notifications: the stream keeps their payload once.
        for address in ["SUB-ROUND", "SUB-ROUND-2"] {
            let subscriber = Subscriber::new(
                address,
                Some(String::from("http://127.0.0.1:9/notify")),
                DeliveryMode::Push,
                Vec::new(),
            )
            .unwrap();
            stores.subscribers.put(&subscriber).await.unwrap();
        }
        for resident in ["191212121212", "192012121212", "193012121212"] {
            queue_change(&database, resident).await;
        }
        let lease = std::time::Duration::from_secs(30);
        let (dead, other) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());

        // A process takes a round and publishes it, and dies before it can finish the round.
        let taken = take(&stores, dead, lease)
            .await
            .expect("three changes to fan out");
        assert_eq!(taken.changes, 3, "{backend}");
        if let Raw::Postgres(pool) = Raw::open(&database).await {
            // Stamped by the server's clock, which every process shares, not the host's.
            let age: f64 = sqlx::query_scalar(
                "SELECT extract(epoch FROM clock_timestamp() - taken_at)::float8 \
                 FROM notification_round",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            assert!(
                (0.0..5.0).contains(&age),
                "{backend}: round taken {age} s ago"
            );
            pool.close().await;
        }
        stream
            .publish_round(taken.id, &taken.notifications)
            .await
            .unwrap();
        // A change committed after the round was taken belongs to the next round.
        queue_change(&database, "194012121212").await;

        // While the round is young another process leaves it alone and takes nothing else.
        assert!(
            take(&stores, other, lease).await.is_none(),
            "{backend}: a round under way is another's"
        );
        // Once it is older than the lease, the other process takes the same round over...
        let short = std::time::Duration::from_millis(200);
        tokio::time::sleep(short * 2).await;
        let again = take(&stores, other, short)
            .await
            .expect("the unfinished round");
        assert_eq!((again.id, again.changes), (taken.id, 3), "{backend}");
        // ...and publishes it again: the stream stores it once.
        stream
            .publish_round(again.id, &again.notifications)
            .await
            .unwrap();
        stores.subscribers.finish_round(again.id).await.unwrap();

        // The next round is the change after; its owner keeps it until it finishes it.
        let next = take(&stores, other, lease).await.expect("the later change");
        assert_ne!(next.id, taken.id, "{backend}");
        assert_eq!(next.changes, 1, "{backend}");
        let retaken = take(&stores, other, lease)
            .await
            .expect("its own unfinished round, at once");
        assert_eq!((retaken.id, retaken.changes), (next.id, 1), "{backend}");
        stream
            .publish_round(next.id, &next.notifications)
            .await
            .unwrap();
        stores.subscribers.finish_round(next.id).await.unwrap();
        assert!(
            take(&stores, other, lease).await.is_none(),
            "{backend}: nothing left"
        );

        for address in ["SUB-ROUND", "SUB-ROUND-2"] {
            assert_eq!(
                residents_queued(&stream, address).await,
                [
                    vec!["191212121212", "192012121212", "193012121212"],
                    vec!["194012121212"]
                ],
                "{backend}: each change once, in order, to {address}"
            );
        }
        stream.delete(&nats).await.unwrap();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn on_nats_what_an_earlier_version_queued_in_the_database_arrives_first() {
    let Some(_) = nats().await else { return };
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let nats = nats().await;
        let (receiver, address) = Receiver::start().await;
        // An earlier version fanned two changes out into the database queue and stopped
        // before relaying them to the stream.
        {
            let stores = engagement_index::store::open(&database.config)
                .await
                .unwrap();
            let subscriber = engagement_index::domain::subscriber::Subscriber::new(
                "SUB-UPGRADE",
                Some(format!("http://{address}/notify")),
                DeliveryMode::Push,
                Vec::new(),
            )
            .unwrap();
            stores.subscribers.put(&subscriber).await.unwrap();
            let queued: Vec<common::delivery::NewDelivery> = ["C00", "C01"]
                .iter()
                .map(|category| common::delivery::NewDelivery {
                    destination: String::from("SUB-UPGRADE"),
                    payload: json!({ "engagementTransaction": [
                        transaction("191212121212", category, "SRC-1")
                    ] })
                    .into(),
                    item_count: 1,
                    correlation_id: None,
                    traceparent: None,
                })
                .collect();
            let raw = Raw::open(&database).await;
            let now = chrono::Utc::now();
            match &raw {
                Raw::Postgres(pool) => {
                    let mut connection = pool.acquire().await.unwrap();
                    common::delivery::enqueue_postgres(&mut connection, &queued, now)
                        .await
                        .unwrap();
                }
                Raw::Sqlite(pool) => {
                    let mut connection = pool.acquire().await.unwrap();
                    common::delivery::enqueue_sqlite(&mut connection, &queued, now)
                        .await
                        .unwrap();
                }
            }
            raw.close().await;
        }
        let index = Index::start_on(&database, Vec::new(), nats.clone()).await;
        index
            .update(vec![transaction("191212121212", "C02", "SRC-1")])
            .await;
        eventually("all three arrive", || receiver.transactions().len() == 3).await;
        assert_eq!(receiver.categories(), ["C00", "C01", "C02"], "{backend}");
        let stores = engagement_index::store::open(&database.config)
            .await
            .unwrap();
        assert!(
            stores.deliveries.pending(10).await.unwrap().is_empty(),
            "{backend}: the database queue is empty"
        );
        index.shutdown.cancel();
        drop_stream(nats).await;
        database.cleanup().await;
    }
}

/// What a pull subscriber gets after `after`, as (offset, categorization) pairs, asked again
/// until there are at least `at_least` (or 10 seconds have passed).
async fn pulled(
    index: &Index,
    subscriber: &str,
    after: i64,
    at_least: usize,
) -> Vec<(i64, String)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let response = index
            .post(
                &format!("/engagementindex/v1/subscribers/{subscriber}/notifications"),
                &json!({"afterOffset": after, "maxItems": 10}),
            )
            .await;
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().await.unwrap();
        let found: Vec<(i64, String)> = answer["notification"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|n| {
                let offset = n["offset"].as_i64().unwrap();
                n["engagementTransaction"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(move |t| {
                        let category = t["engagement"]["categorization"].as_str().unwrap();
                        (offset, category.to_owned())
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        if found.len() >= at_least || tokio::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A NATS server of a test's own on a free port, keeping its streams in a folder of its own,
/// so that the test can stop it and start it again without what it stored.
struct OwnNats {
    port: u16,
    store: tempfile::TempDir,
    process: std::process::Child,
}

impl OwnNats {
    /// `None` (with a note) when `nats-server` is not on the PATH and NATS tests are not
    /// required.
    async fn start() -> Option<Self> {
        if !common::testing::nats::server_on_path("a NATS server's restart") {
            return None;
        }
        let port = common::testing::nats::free_port();
        let store = tempfile::tempdir().unwrap();
        let process = Self::spawn(port, store.path());
        let nats = Self {
            port,
            store,
            process,
        };
        nats.answering().await;
        Some(nats)
    }

    fn spawn(port: u16, store: &std::path::Path) -> std::process::Child {
        std::process::Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(store)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    async fn answering(&self) {
        common::testing::nats::answering(self.port).await;
    }

    /// A fresh stream on this server.
    fn stream(&self) -> JetStreamConfig {
        JetStreamConfig {
            url: format!("nats://127.0.0.1:{}", self.port),
            stream: format!("TEST_EI_{}", uuid::Uuid::new_v4().simple()),
            ..JetStreamConfig::default()
        }
    }

    fn kill(&mut self) {
        self.process.kill().unwrap();
        self.process.wait().unwrap();
    }

    /// Stops the server as an operator does (SIGTERM): it writes out its state first.
    fn stop(&mut self) {
        let stopped = std::process::Command::new("kill")
            .args(["-TERM", &self.process.id().to_string()])
            .status()
            .unwrap();
        assert!(stopped.success());
        self.process.wait().unwrap();
    }

    /// Starts the killed server again, with what it stored.
    async fn start_again(&mut self) {
        self.process = Self::spawn(self.port, self.store.path());
        self.answering().await;
    }

    /// Kills the server, throws away everything it stored, and starts it again.
    async fn restart_without_its_storage(&mut self) {
        self.kill();
        std::fs::remove_dir_all(self.store.path()).unwrap();
        std::fs::create_dir_all(self.store.path()).unwrap();
        self.start_again().await;
    }
}

impl Drop for OwnNats {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// While the NATS server is away, Updates are accepted and notified once it is back. A server
/// that comes back without its storage (a container without a persistent volume, a disk
/// replaced) no longer has the queue or the pull points while the index runs.
/// The index makes them anew, and what it accepts from then on reaches push and pull
/// subscribers; the new stream's offsets lie above the lost one's, so a pull subscriber asking
/// after the offset it acknowledged there skips nothing.
#[tokio::test]
async fn on_nats_changes_arrive_after_the_server_was_away_or_lost_its_streams() {
    let Some(_) = nats().await else { return };
    let Some(mut server) = OwnNats::start().await else {
        return;
    };
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let stream = server.stream();
        let index = Index::start_on(&database, Vec::new(), Some(stream.clone())).await;
        let (receiver, address) = Receiver::start().await;
        index
            .subscribe("SUB-PUSH", &push_to(address, &json!([])))
            .await;
        index
            .subscribe("SUB-PULL", &json!({"delivery": "pull"}))
            .await;
        index
            .update(vec![transaction("191212121212", "BEFORE", "SRC-1")])
            .await;
        eventually("the push subscriber is notified", || {
            receiver.requests() > 0
        })
        .await;
        let before = pulled(&index, "SUB-PULL", 0, 1).await;
        assert_eq!(before.len(), 1, "{backend}: {before:?}");
        let acknowledged = before[0].0;
        assert!(pulled(&index, "SUB-PULL", acknowledged, 0).await.is_empty());

        // Away (stopped for an upgrade, say): the change is accepted, waits in the outbox and
        // is notified once the server is back.
        server.stop();
        index
            .update(vec![transaction("191212121212", "AWAY", "SRC-1")])
            .await;
        // Meanwhile what reads the queues answers 503 naming the backbone (at once while the
        // client knows it is disconnected, else when its request times out): the operator's
        // figures and the pull subscriber's fetch.
        let pull_path = "/engagementindex/v1/subscribers/SUB-PULL/notifications";
        let fetch = json!({"afterOffset": acknowledged, "maxItems": 10});
        let (figures, fetched) = tokio::join!(
            index.get("/admin/subscribers/SUB-PUSH"),
            index.post(pull_path, &fetch)
        );
        for answer in [figures, fetched] {
            assert_eq!(answer.status(), 503, "{backend}");
            assert_eq!(answer.headers()["retry-after"], "5", "{backend}");
            let problem: Value = answer.json().await.unwrap();
            assert_eq!(
                problem["code"], "BACKBONE_UNAVAILABLE",
                "{backend}: {problem}"
            );
        }
        server.start_again().await;
        eventually(
            "the push subscriber is notified once the server is back",
            || receiver.transactions().len() == 2,
        )
        .await;
        let away = pulled(&index, "SUB-PULL", acknowledged, 1).await;
        assert_eq!(away.len(), 1, "{backend}: {away:?}");
        let acknowledged = away[0].0;
        assert!(pulled(&index, "SUB-PULL", acknowledged, 0).await.is_empty());

        server.restart_without_its_storage().await;
        index
            .update(vec![transaction("191212121212", "AFTER", "SRC-1")])
            .await;
        eventually("the push subscriber is notified after the restart", || {
            receiver.transactions().len() == 3
        })
        .await;
        assert_eq!(
            receiver.categories(),
            ["BEFORE", "AWAY", "AFTER"],
            "{backend}"
        );
        let after = pulled(&index, "SUB-PULL", acknowledged, 1).await;
        assert_eq!(
            after.iter().map(|(_, c)| c.as_str()).collect::<Vec<_>>(),
            ["AFTER"],
            "{backend}: the change after the restart, asked for after the lost stream's offset"
        );
        assert!(after[0].0 > acknowledged, "{backend}: {after:?}");
        let figures = index.get("/admin/subscribers/SUB-PUSH").await;
        assert_eq!(
            figures.status(),
            200,
            "{backend}: the queue figures are read again"
        );
        let metrics = index.get("/metrics").await.text().await.unwrap();
        assert!(
            metrics.contains("notification_backbone_streams_made_anew_total"),
            "{backend}"
        );
        index.shutdown.cancel();
        database.cleanup().await;
    }
}
