//! Shared by the engagement index contract tests: the index's routes inside the shared HTTP
//! skeleton (correlation id, trace context, problem fallbacks), called in-process on SQLite
//! and, when `TEST_DATABASE_URL` is set, PostgreSQL. The fan-out is not started, so the
//! outbox rows a request writes stay where the test can read them.

#![allow(dead_code)] // each test file uses its own part of the helpers

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use common::config::HttpConfig;
use common::db::DatabaseTarget;
use common::identity::HsaId;
use common::server::ServiceDescription;
use common::testing::TestDatabase;
use engagement_index::Config;
use engagement_index::api::{self, AppState};
use http::{Request, StatusCode};
use serde_json::{Value, json};
use sqlx::{PgPool, Row, SqlitePool};
use tokio::sync::Notify;
use tower::ServiceExt as _;

/// This index's HSA-id in the tests (skltp's test property HSA_ID).
pub const EI: &str = "ei-hsa-id";
pub const UPDATE: &str = "/engagementindex/v1/Update";
pub const FIND_CONTENT: &str = "/engagementindex/v1/FindContent";
pub const PROCESS_NOTIFICATION: &str = "/engagementindex/v1/ProcessNotification";
pub const GET_UPDATES: &str = "/engagementindex/v1/GetUpdates";

/// A running index on one backend.
#[derive(Clone)]
pub struct TestIndex {
    pub backend: &'static str,
    router: Router,
    inspector: Inspector,
}

#[derive(Clone)]
enum Inspector {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An HTTP answer: status and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: http::HeaderMap,
}

impl Answer {
    /// Asserts a 200 with `ResultCode: OK`.
    #[track_caller]
    pub fn assert_ok(&self) {
        assert_eq!(self.status, StatusCode::OK, "{:?}", self.body);
        assert_eq!(self.body, json!({"ResultCode": "OK"}));
    }

    /// Asserts a 400 problem document with `code` and exactly `detail`.
    #[track_caller]
    pub fn assert_problem(&self, code: &str, detail: &str) {
        assert_eq!(self.status, StatusCode::BAD_REQUEST, "{:?}", self.body);
        assert_eq!(
            self.headers[http::header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert_eq!(self.body["code"], code, "{:?}", self.body);
        assert_eq!(self.body["detail"], detail, "{:?}", self.body);
        assert_eq!(self.body["status"], 400);
    }

    /// Asserts a 400 problem document with `code` whose detail contains `part`.
    #[track_caller]
    pub fn assert_problem_containing(&self, code: &str, part: &str) {
        assert_eq!(self.status, StatusCode::BAD_REQUEST, "{:?}", self.body);
        assert_eq!(self.body["code"], code, "{:?}", self.body);
        let detail = self.body["detail"].as_str().unwrap_or_default();
        assert!(detail.starts_with(&format!("{code}: ")), "{detail}");
        assert!(detail.contains(part), "{detail} does not contain {part}");
    }

    /// FindContent's engagements.
    pub fn engagements(&self) -> Vec<Value> {
        assert_eq!(self.status, StatusCode::OK, "{:?}", self.body);
        self.body["engagement"]
            .as_array()
            .cloned()
            .expect("an engagement array")
    }
}

/// The configuration of an index under test: HSA-id `ei-hsa-id` on `database`.
pub fn config(database: &TestDatabase) -> Config {
    Config {
        http: HttpConfig::with_port(0),
        database: database.config.clone(),
        hsa_id: HsaId::parse(EI).expect("a valid HSA-id"),
        ..Config::default()
    }
}

/// Runs `scenario` once per backend with the default test configuration.
pub async fn on_each_backend<F, Fut>(scenario: F)
where
    F: Fn(TestIndex) -> Fut,
    Fut: Future<Output = ()>,
{
    on_each_backend_with(|_| {}, scenario).await;
}

/// Runs `scenario` once per backend, with `adjust` applied to the test configuration.
pub async fn on_each_backend_with<A, F, Fut>(adjust: A, scenario: F)
where
    A: Fn(&mut Config),
    F: Fn(TestIndex) -> Fut,
    Fut: Future<Output = ()>,
{
    common::telemetry::init_for_tests();
    for database in TestDatabase::all().await {
        let mut config = config(&database);
        adjust(&mut config);
        let index = TestIndex::start(config, database.backend).await;
        scenario(index.clone()).await;
        index.close().await;
        database.cleanup().await;
    }
}

impl TestIndex {
    pub async fn start(config: Config, backend: &'static str) -> Self {
        let stores = engagement_index::store::open(&config.database)
            .await
            .expect("the test database opens");
        let inspector =
            match DatabaseTarget::from_config(&config.database, "engagement-index.sqlite")
                .expect("a database target")
            {
                DatabaseTarget::Sqlite(path) => Inspector::Sqlite(
                    SqlitePool::connect_with(
                        sqlx::sqlite::SqliteConnectOptions::new().filename(path),
                    )
                    .await
                    .expect("the SQLite file opens"),
                ),
                DatabaseTarget::Postgres(url) => {
                    Inspector::Postgres(PgPool::connect(&url).await.expect("PostgreSQL answers"))
                }
            };
        let http = config.http.clone();
        let state = AppState {
            config: Arc::new(config),
            store: stores.engagements,
            subscribers: stores.subscribers,
            deliveries: stores.deliveries,
            changes_waker: Arc::new(Notify::new()),
            delivery_waker: Arc::new(Notify::new()),
        };
        let (routes, openapi) = api::router(state);
        let router = common::server::router(
            ServiceDescription {
                name: engagement_index::SERVICE_NAME,
                openapi,
                readiness: common::server::readiness(|| async { Ok(()) }),
            },
            routes,
            &http,
        );
        Self {
            backend,
            router,
            inspector,
        }
    }

    async fn close(&self) {
        match &self.inspector {
            Inspector::Sqlite(pool) => pool.close().await,
            Inspector::Postgres(pool) => pool.close().await,
        }
    }

    /// POSTs `body` to `path` with `headers`.
    pub async fn post_with(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Answer {
        self.send(http::Method::POST, path, Some(body), headers)
            .await
    }

    /// Sends `method` to `path` (already percent-encoded) with a JSON `body` if any.
    pub async fn send(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(body.map_or_else(Body::empty, |body| Body::from(body.to_string())))
            .expect("a valid request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("a JSON body: {}", String::from_utf8_lossy(&bytes)))
        };
        Answer {
            status,
            body,
            headers,
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.post_with(path, body, &[]).await
    }

    /// An Update of `transactions`, addressed to this index.
    pub async fn update(&self, transactions: &[Value]) -> Answer {
        self.post_with(
            UPDATE,
            &json!({ "engagementTransaction": transactions }),
            &[("x-rivta-logical-address", EI)],
        )
        .await
    }

    pub async fn process_notification(&self, transactions: &[Value]) -> Answer {
        self.post(
            PROCESS_NOTIFICATION,
            &json!({ "engagementTransaction": transactions }),
        )
        .await
    }

    /// FindContent for a resident in a domain, with `filters` added.
    pub async fn find(&self, resident: &str, domain: &str, filters: Value) -> Vec<Value> {
        let mut body = json!({
            "registeredResidentIdentification": resident,
            "serviceDomain": domain,
        });
        if let Value::Object(extra) = filters {
            body.as_object_mut().expect("an object").extend(extra);
        }
        self.post(FIND_CONTENT, &body).await.engagements()
    }

    /// Every outbox row's `transactions`, in commit order.
    pub async fn outbox(&self) -> Vec<Value> {
        self.outbox_rows()
            .await
            .into_iter()
            .map(|row| row.transactions)
            .collect()
    }

    pub async fn outbox_rows(&self) -> Vec<OutboxRow> {
        const SQL: &str = "SELECT CAST(transactions AS TEXT), correlation_id, traceparent \
                           FROM notification_outbox ORDER BY id";
        match &self.inspector {
            Inspector::Sqlite(pool) => sqlx::query(SQL)
                .fetch_all(pool)
                .await
                .expect("the outbox is readable")
                .iter()
                .map(|row| OutboxRow::of(row.get::<&str, _>(0), row.get(1), row.get(2)))
                .collect(),
            Inspector::Postgres(pool) => sqlx::query(SQL)
                .fetch_all(pool)
                .await
                .expect("the outbox is readable")
                .iter()
                .map(|row| OutboxRow::of(row.get::<&str, _>(0), row.get(1), row.get(2)))
                .collect(),
        }
    }

    /// How many engagements are stored.
    pub async fn stored_count(&self) -> i64 {
        const SQL: &str = "SELECT COUNT(*) FROM engagement";
        match &self.inspector {
            Inspector::Sqlite(pool) => sqlx::query_scalar(SQL).fetch_one(pool).await,
            Inspector::Postgres(pool) => sqlx::query_scalar(SQL).fetch_one(pool).await,
        }
        .expect("the engagements are countable")
    }

    /// How many successful `action` audit rows each patient has, by patient.
    pub async fn audited(&self, action: &str) -> std::collections::BTreeMap<String, i64> {
        const SQL: &str = "SELECT patient, COUNT(*) FROM audit_event \
            WHERE action = $1 AND outcome = 'success' GROUP BY patient";
        let rows: Vec<(String, i64)> = match &self.inspector {
            Inspector::Sqlite(pool) => sqlx::query_as(SQL).bind(action).fetch_all(pool).await,
            Inspector::Postgres(pool) => sqlx::query_as(SQL).bind(action).fetch_all(pool).await,
        }
        .expect("the audit log is readable");
        rows.into_iter().collect()
    }

    /// Empties the engagements and the outbox (between property-test cases).
    pub async fn clear(&self) {
        for sql in ["DELETE FROM engagement", "DELETE FROM notification_outbox"] {
            match &self.inspector {
                Inspector::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
                Inspector::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
            }
            .expect("the tables can be emptied");
        }
    }
}

/// One row of `notification_outbox`.
#[derive(Debug)]
pub struct OutboxRow {
    pub transactions: Value,
    pub correlation_id: Option<String>,
    pub traceparent: Option<String>,
}

impl OutboxRow {
    fn of(transactions: &str, correlation_id: Option<String>, traceparent: Option<String>) -> Self {
        Self {
            transactions: serde_json::from_str(transactions).expect("the outbox holds JSON"),
            correlation_id,
            traceparent,
        }
    }
}

/// skltp's `createET(n)` adapted: resident `1912121212nn`-style 12-digit numbers, the domain
/// and category chosen by `n % 4` (two subscribers, one subscriber, none, none), logical
/// address `n`, owner absent.
pub fn engagement(n: u32) -> Value {
    let (domain, category) = match n % 4 {
        0 => ("TEST-DOMAIN", "TEST-CATEGORY"),
        1 => ("TEST-DOMAIN-2", "TEST-CATEGORY-2"),
        2 => ("TEST-DOMAIN-3", "TEST-CATEGORY-3"),
        _ => ("TEST-DOMAIN-4", "TEST-CATEGORY-4"),
    };
    json!({
        "registeredResidentIdentification": resident(n),
        "serviceDomain": domain,
        "categorization": category,
        "logicalAddress": n.to_string(),
        "businessObjectInstanceIdentifier": "SE100200400-600",
        "clinicalProcessInterestId": "NA",
        "sourceSystem": "XXX100200400-600",
        "dataController": "dataController",
    })
}

/// A valid resident number for `n` (`19121212` followed by four digits).
pub fn resident(n: u32) -> String {
    format!("19121212{:04}", n % 10_000)
}

/// An engagement in TEST-DOMAIN/TEST-CATEGORY for `resident` with logical address `address`.
pub fn post_for(resident: &str, address: &str) -> Value {
    json!({
        "registeredResidentIdentification": resident,
        "serviceDomain": "TEST-DOMAIN",
        "categorization": "TEST-CATEGORY",
        "logicalAddress": address,
        "businessObjectInstanceIdentifier": "TEST-BOII",
        "clinicalProcessInterestId": "TEST_CPIID",
        "sourceSystem": "TEST-SOURCE-SYSTEM",
        "dataController": "TEST-DATA-CONTROLLER",
    })
}

/// `engagement` with `changes` merged in (a `null` removes the field).
pub fn with(engagement: &Value, changes: Value) -> Value {
    let mut merged = engagement.clone();
    let object = merged.as_object_mut().expect("an engagement object");
    if let Value::Object(changes) = changes {
        for (field, value) in changes {
            if value.is_null() {
                object.remove(&field);
            } else {
                object.insert(field, value);
            }
        }
    }
    merged
}

/// A creating or changing transaction.
pub fn save(engagement: &Value) -> Value {
    json!({"deleteFlag": false, "engagement": engagement})
}

/// A deleting transaction.
pub fn delete(engagement: &Value) -> Value {
    json!({"deleteFlag": true, "engagement": engagement})
}

/// `engagement` as a federated index sends it: with owner and times.
pub fn notified(engagement: &Value, owner: &str) -> Value {
    with(
        engagement,
        json!({"owner": owner, "creationTime": "20240101120000", "updateTime": "20240101120000"}),
    )
}

/// The engagement of every transaction of every outbox row, flattened, with deleteFlag.
pub fn outbox_transactions(rows: &[Value]) -> Vec<Value> {
    rows.iter()
        .flat_map(|row| row.as_array().cloned().expect("an array of transactions"))
        .collect()
}
