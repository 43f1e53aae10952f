//! Retention of what was delivered, through the running index (fan-out, push delivery, the
//! pull point) on SQLite and (with `TEST_DATABASE_URL`) PostgreSQL: a week of traffic is
//! cleaned to the configured age with the pull point still answering from the right offsets,
//! dead letters survive, the last acknowledged batch can be fetched again (NAS2), and a
//! subscription can be narrowed to a list of residents (NAS2 id list).
//!
//! A simulated day passes by moving every stored delivery and fan-out time one day back, so
//! nothing sleeps; the cleanup job is the service's own, run once with the test's clock.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use common::config::{DatabaseConfig, HttpConfig};
use common::db::{DatabaseTarget, parse_sqlite_time, sqlite_time};
use common::retention::{RetentionConfig, RetentionJob};
use common::shutdown::Shutdown;
use common::testing::TestDatabase;
use engagement_index::{Application, Config};
use serde_json::{Value, json};
use sqlx::Row as _;

const DOMAIN: &str = "TEST-DOMAIN";
const TOLVAN: &str = "191212121212";
const OTHER: &str = "200001012384";
const DAY: i64 = 24 * 3600;

struct Index {
    base: String,
    http: reqwest::Client,
    shutdown: Shutdown,
    database: DatabaseConfig,
}

impl Index {
    async fn start(database: &TestDatabase) -> Self {
        common::telemetry::init_for_tests();
        let mut config = Config {
            http: HttpConfig::with_port(0),
            database: database.config.clone(),
            ..Config::default()
        };
        config.delivery.poll_interval_ms = 20;
        config.notification.linger_ms = Some(10);
        let app = Application::build(config.clone()).await.unwrap();
        let base = format!("http://{}", app.local_addr());
        let shutdown = Shutdown::new();
        tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Self {
            base,
            http: common::testing::http(),
            shutdown,
            database: config.database,
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-rivta-logical-address", "SE0000000001-EI01")
            .json(body)
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn subscribe(&self, logical_address: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            reqwest::Method::PUT,
            &format!("/admin/subscribers/{logical_address}"),
            &body,
        )
        .await
    }

    async fn subscriber(&self, logical_address: &str) -> Value {
        self.send(
            reqwest::Method::GET,
            &format!("/admin/subscribers/{logical_address}"),
            &Value::Null,
        )
        .await
        .1
    }

    async fn update(&self, transactions: Vec<Value>) {
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/engagementindex/v1/Update",
                &json!({ "engagementTransaction": transactions }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn pull(&self, logical_address: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            reqwest::Method::POST,
            &format!("/engagementindex/v1/subscribers/{logical_address}/notifications"),
            &body,
        )
        .await
    }

    async fn until(&self, what: &str, logical_address: &str, done: impl Fn(&Value) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let subscriber = self.subscriber(logical_address).await;
            if done(&subscriber) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting until {what}: {subscriber}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// One run of the job the service runs, as another process on the same database.
    async fn clean(&self, config: RetentionConfig) -> common::retention::Cleaned {
        let stores = engagement_index::store::open(&self.database).await.unwrap();
        RetentionJob::new("engagement-index", config, stores.retention)
            .run_once()
            .await
            .unwrap()
    }
}

/// The stored times, for moving them back and counting what is kept.
enum Database {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Database {
    async fn open(config: &DatabaseConfig) -> Self {
        match DatabaseTarget::from_config(config, "engagement-index.sqlite").unwrap() {
            DatabaseTarget::Sqlite(path) => Self::Sqlite(
                sqlx::SqlitePool::connect_with(
                    sqlx::sqlite::SqliteConnectOptions::new().filename(path),
                )
                .await
                .unwrap(),
            ),
            DatabaseTarget::Postgres(url) => {
                Self::Postgres(sqlx::PgPool::connect(&url).await.unwrap())
            }
        }
    }

    /// A day passes: every delivery, acknowledgement and fan-out time moves one day back.
    async fn a_day_passes(&self) {
        const COLUMNS: [(&str, &str); 4] = [
            ("delivery", "delivered_at"),
            ("delivery", "created_at"),
            ("notification_outbox", "fanned_out_at"),
            ("delivery_pull_point", "acknowledged_at"),
        ];
        match self {
            Self::Postgres(pool) => {
                for (table, column) in COLUMNS {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE {table} SET {column} = {column} - INTERVAL '1 day' WHERE {column} IS NOT NULL"
                    )))
                    .execute(pool)
                    .await
                    .unwrap();
                }
            }
            Self::Sqlite(pool) => {
                for (table, column) in COLUMNS {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT rowid, {column} FROM {table} WHERE {column} IS NOT NULL"
                    )))
                    .fetch_all(pool)
                    .await
                    .unwrap();
                    for row in rows {
                        let at = parse_sqlite_time(&row.get::<String, _>(1)).unwrap()
                            - chrono::Duration::seconds(DAY);
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "UPDATE {table} SET {column} = ?1 WHERE rowid = ?2"
                        )))
                        .bind(sqlite_time(at))
                        .bind(row.get::<i64, _>(0))
                        .execute(pool)
                        .await
                        .unwrap();
                    }
                }
            }
        }
    }

    async fn count(&self, sql: &str) -> i64 {
        match self {
            Self::Sqlite(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(pool)
                .await
                .unwrap(),
            Self::Postgres(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(pool)
                .await
                .unwrap(),
        }
    }
}

/// A push receiver that accepts, or refuses everything for good (400).
#[derive(Clone, Default)]
struct Receiver {
    refuse: bool,
    requests: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn start(refuse: bool) -> (Self, SocketAddr) {
        let receiver = Self {
            refuse,
            ..Self::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/notify", post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, address)
    }
}

async fn receive(
    State(receiver): State<Receiver>,
    _body: axum::Json<Value>,
) -> (StatusCode, axum::Json<Value>) {
    *receiver.requests.lock().unwrap() += 1;
    if receiver.refuse {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"code": "EI004", "status": 400})),
        )
    } else {
        (StatusCode::OK, axum::Json(json!({ "ResultCode": "OK" })))
    }
}

fn transaction(resident: &str, day: i64) -> Value {
    json!({"deleteFlag": false, "engagement": {
        "registeredResidentIdentification": resident,
        "serviceDomain": DOMAIN,
        "categorization": format!("DAY-{day}"),
        "logicalAddress": "SE0000000003-CU01",
        "businessObjectInstanceIdentifier": format!("BO-{resident}-{day}"),
        "clinicalProcessInterestId": "NA",
        "sourceSystem": "SE0000000003-SRC1",
        "dataController": "SE2321000016",
    }})
}

fn offsets(answer: &Value) -> Vec<i64> {
    answer["notification"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["offset"].as_i64().unwrap())
        .collect()
}

fn residents(answer: &Value) -> Vec<String> {
    answer["notification"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["engagementTransaction"].as_array().unwrap().clone())
        .map(|t| {
            t["engagement"]["registeredResidentIdentification"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_week_of_traffic_is_cleaned_to_the_configured_age_with_the_pull_point_answering_from_the_right_offsets()
 {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let index = Index::start(&database).await;
        let stored = Database::open(&index.database).await;
        let (_accepting, accepting) = Receiver::start(false).await;
        let (_refusing, refusing) = Receiver::start(true).await;
        let push = |address: SocketAddr| json!({"url": format!("http://{address}/notify"), "filter": [{"serviceDomain": DOMAIN}]});
        index.subscribe("SE1-PUSH", push(accepting)).await;
        index.subscribe("SE1-DEAD", push(refusing)).await;
        index
            .subscribe(
                "SE1-PULL",
                json!({"delivery": "pull", "filter": [{"serviceDomain": DOMAIN}]}),
            )
            .await;
        let (status, body) = index
            .subscribe(
                "SE1-TOLVAN",
                json!({"delivery": "pull", "filter": [{"serviceDomain": DOMAIN,
                    "registeredResidentIdentification": [TOLVAN]}]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(
            body["filter"][0]["registeredResidentIdentification"],
            json!([TOLVAN])
        );

        // A week: every day one Update about two residents; the push subscriber gets it, the
        // refusing one dead-letters it, and the pull subscriber fetches the day's notification
        // and so acknowledges the day before's.
        let mut acknowledged = 0;
        let mut batches: Vec<Vec<i64>> = Vec::new();
        for day in 0..7 {
            index
                .update(vec![transaction(TOLVAN, day), transaction(OTHER, day)])
                .await;
            index
                .until("the push subscriber has it", "SE1-PUSH", |s| {
                    s["pending"] == 0
                })
                .await;
            index
                .until("it is dead-lettered", "SE1-DEAD", |s| s["dead"] == day + 1)
                .await;
            index
                .until("it waits at the pull point", "SE1-PULL", |s| {
                    s["pending"] == if day == 0 { 1 } else { 2 }
                })
                .await;
            let (status, answer) = index
                .pull("SE1-PULL", json!({"afterOffset": acknowledged}))
                .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            let batch = offsets(&answer);
            assert_eq!(batch.len(), 1, "{backend} day {day}: {answer}");
            assert_eq!(residents(&answer), [TOLVAN, OTHER]);
            acknowledged = answer["lastOffset"].as_i64().unwrap();
            batches.push(batch);
            stored.a_day_passes().await;
        }
        // Six batches acknowledged (days 0-5), day 6's waiting.
        let delivered = "SELECT COUNT(*) FROM delivery WHERE state = 'delivered'";
        assert_eq!(stored.count(delivered).await, 7 + 6, "{backend}");

        // Kept 3.5 days: what was delivered or acknowledged on days 0-3 goes.
        // Two processes clean at once, in batches of 2: each row is deleted by one of them.
        let config = RetentionConfig {
            max_age_secs: 3 * DAY as u64 + DAY as u64 / 2,
            batch_size: 2,
            interval_secs: 60,
            ..RetentionConfig::default()
        };
        let (first, second) = tokio::join!(index.clean(config.clone()), index.clean(config));
        let cleaned = |table: &str| first.of(table) + second.of(table);
        // Push: days 0-3 (ages 7 to 4 days). Pull: batch N was acknowledged on day N+1, so
        // batches 0-2 (ages 6 to 4 days).
        assert_eq!(
            cleaned("delivery"),
            4 + 3,
            "{backend}: {first:?} {second:?}"
        );
        assert_eq!(
            cleaned("notification_outbox"),
            4,
            "{backend}: {first:?} {second:?}"
        );
        assert_eq!(stored.count(delivered).await, 3 + 3, "{backend}");
        // Counted for Prometheus (the counter is the process's: at least this run's rows).
        let metrics = index.metrics().await;
        let line = metrics
            .lines()
            .find(|l| {
                l.starts_with("retention_rows_deleted_total{")
                    && l.contains("table=\"notification_outbox\"")
            })
            .unwrap_or_else(|| panic!("no retention metric:\n{metrics}"));
        let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(value >= 4.0, "{line}");
        assert_eq!(
            stored
                .count("SELECT COUNT(*) FROM notification_outbox")
                .await,
            3,
            "{backend}"
        );

        // What is kept is there for operators to see.
        let kept = index
            .send(
                reqwest::Method::GET,
                "/admin/subscribers/SE1-PUSH/deliveries?state=delivered",
                &Value::Null,
            )
            .await
            .1;
        let kept = kept["deliveries"].as_array().unwrap();
        assert_eq!(kept.len(), 3, "{backend}: {kept:?}");
        assert!(
            kept.iter()
                .all(|d| d["state"] == "delivered" && d["deliveredAt"].is_string())
        );

        // Dead letters and unacknowledged notifications are all there.
        let dead = index.subscriber("SE1-DEAD").await;
        assert_eq!(dead["dead"], 7, "{backend}: {dead}");
        let tolvan = index.pull("SE1-TOLVAN", json!({"maxItems": 100})).await.1;
        assert_eq!(residents(&tolvan), [TOLVAN; 7], "{backend}: {tolvan}");

        // The pull point answers from the right offsets: after the acknowledged offset, day
        // 6's batch; after an offset whose notification is gone, the same; the pull point
        // says how far it was acknowledged.
        let acknowledged_offset = *batches[5].last().unwrap();
        let next = index
            .pull("SE1-PULL", json!({"afterOffset": acknowledged_offset}))
            .await
            .1;
        assert_eq!(offsets(&next), batches[6], "{backend}");
        assert_eq!(next["acknowledgedOffset"], acknowledged_offset);
        let after_deleted = index
            .pull("SE1-PULL", json!({"afterOffset": batches[0][0]}))
            .await
            .1;
        assert_eq!(offsets(&after_deleted), batches[6], "{backend}");
        assert_eq!(after_deleted["acknowledgedOffset"], acknowledged_offset);

        // NAS2 re-fetch: the last acknowledged batch (day 5's) again, acknowledging nothing.
        let again = index.pull("SE1-PULL", json!({"refetch": true})).await.1;
        assert_eq!(offsets(&again), batches[5], "{backend}: {again}");
        assert_eq!(residents(&again), [TOLVAN, OTHER]);
        assert_eq!(index.subscriber("SE1-PULL").await["pending"], 1);

        // Acknowledging day 6 and cleaning much later leaves nothing to re-fetch, and new
        // notifications get offsets beyond every earlier one.
        let last = *batches[6].last().unwrap();
        let none = index.pull("SE1-PULL", json!({"afterOffset": last})).await.1;
        assert_eq!(none["notification"], json!([]));
        assert_eq!(none["acknowledgedOffset"], last);
        for _ in 0..10 {
            stored.a_day_passes().await;
        }
        index.clean(RetentionConfig::default()).await;
        assert_eq!(stored.count(delivered).await, 0, "{backend}");
        let gone = index.pull("SE1-PULL", json!({"refetch": true})).await.1;
        assert_eq!(gone["notification"], json!([]), "{backend}");
        index.update(vec![transaction(TOLVAN, 99)]).await;
        index
            .until("the new notification waits", "SE1-PULL", |s| {
                s["pending"] == 1
            })
            .await;
        let fresh = index.pull("SE1-PULL", json!({"afterOffset": last})).await.1;
        assert_eq!(offsets(&fresh).len(), 1, "{backend}: {fresh}");
        assert!(offsets(&fresh)[0] > last, "{backend}: offsets only grow");
        assert_eq!(index.subscriber("SE1-DEAD").await["dead"], 8);

        index.shutdown.cancel();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn refetch_and_resident_lists_are_checked() {
    for database in TestDatabase::all().await {
        let index = Index::start(&database).await;
        let (status, body) = index
            .subscribe(
                "SE1-PULL",
                json!({"delivery": "pull", "filter": [{"serviceDomain": DOMAIN,
                    "registeredResidentIdentification": [TOLVAN, "19121212"]}]}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["code"], "INVALID_SUBSCRIBER");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("registeredResidentIdentification #2"),
            "{body}"
        );
        let (status, _) = index
            .subscribe("SE1-PULL", json!({"delivery": "pull"}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, body) = index.pull("SE1-PULL", json!({"refetch": "yes"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        // Nothing acknowledged yet: nothing to fetch again.
        let (status, body) = index.pull("SE1-PULL", json!({"refetch": true})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            json!({"notification": [], "lastOffset": 0, "acknowledgedOffset": 0})
        );
        // A subscriber removed and created again starts afresh.
        let (_, body) = index.pull("SE1-PULL", json!({"afterOffset": 5})).await;
        assert_eq!(body["acknowledgedOffset"], 5);
        index
            .send(
                reqwest::Method::DELETE,
                "/admin/subscribers/SE1-PULL",
                &Value::Null,
            )
            .await;
        index
            .subscribe("SE1-PULL", json!({"delivery": "pull"}))
            .await;
        let (_, body) = index.pull("SE1-PULL", json!({})).await;
        assert_eq!(body["acknowledgedOffset"], 0, "{body}");
        index.shutdown.cancel();
        database.cleanup().await;
    }
}

/// On PostgreSQL the outbox is partitioned by month: the index's own job drops a month whose
/// rows were all fanned out before the cutoff, keeps a month holding a row not yet fanned out
/// (its fanned-out rows go by the batch delete), and creates the months ahead.
#[tokio::test]
async fn an_outbox_month_is_dropped_whole_only_when_every_row_was_fanned_out() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let stores = engagement_index::store::open(&database.config)
        .await
        .unwrap();
    let Database::Postgres(pool) = Database::open(&database.config).await else {
        unreachable!("a PostgreSQL test database");
    };
    let at = |month: u32, day: u32| {
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, month, day, 12, 0, 0).unwrap()
    };
    let clock_at = Arc::new(Mutex::new(at(1, 5)));
    let clock: common::retention::Clock = {
        let clock_at = Arc::clone(&clock_at);
        Arc::new(move || *clock_at.lock().unwrap())
    };
    let config = RetentionConfig {
        max_age_secs: 7 * DAY as u64,
        ..RetentionConfig::default()
    };
    let job = || {
        RetentionJob::new("engagement-index", config.clone(), stores.retention.clone())
            .with_clock(Arc::clone(&clock))
    };
    job().run_once().await.unwrap();
    let row = |created: chrono::DateTime<chrono::Utc>,
               fanned_out: Option<chrono::DateTime<chrono::Utc>>| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO notification_outbox (transactions, created_at, fanned_out_at) \
                 VALUES ('[]', $1, $2) RETURNING id",
            )
            .bind(created)
            .bind(fanned_out)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    // January: one fanned out, one still waiting. February: all fanned out long ago.
    let january_done = row(at(1, 10), Some(at(1, 10))).await;
    let january_waiting = row(at(1, 11), None).await;
    row(at(2, 3), Some(at(2, 3))).await;
    row(at(2, 4), Some(at(2, 4))).await;
    // March: fanned out inside the window at the end.
    let march = row(at(3, 30), Some(at(3, 30))).await;
    let partitions = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT inhrelid::regclass::text FROM pg_inherits \
             WHERE inhparent = 'notification_outbox'::regclass",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };

    *clock_at.lock().unwrap() = at(4, 2);
    let cleaned = job().run_once().await.unwrap();
    // February's two with their month, January's fanned-out row by a batch.
    assert_eq!(cleaned.of("notification_outbox"), 3);
    let left = partitions().await;
    assert!(
        !left.contains(&"notification_outbox_p202602".to_owned()),
        "{left:?}"
    );
    assert!(
        left.contains(&"notification_outbox_p202601".to_owned()),
        "{left:?}"
    );
    for month in ["202603", "202604", "202605", "202606", "202607"] {
        assert!(
            left.contains(&format!("notification_outbox_p{month}")),
            "{month}: {left:?}"
        );
    }
    let kept: Vec<i64> = sqlx::query_scalar("SELECT id FROM notification_outbox ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(kept, [january_waiting, march]);
    assert!(january_done < january_waiting);

    pool.close().await;
    database.cleanup().await;
}
