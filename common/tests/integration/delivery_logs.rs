//! A dead letter is logged once, without personal data, even when the receiver's answer quotes
//! the resident. One test in its own binary, so the captured log is this test's alone.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::response::{IntoResponse as _, Response};
use axum::routing::post;
use chrono::Utc;
use common::delivery::{
    DeliveryPolicy, DeliveryState, DeliveryStore, DeliveryWorker, DestinationResolver, NewDelivery,
    Route, SqliteDeliveryStore,
};
use common::shutdown::Shutdown;
use common::testing::{CapturedLogs, TestDatabase, capturing_subscriber};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use sqlx::migrate::Migrator;

static SQLITE: Migrator = sqlx::migrate!("migrations/delivery/sqlite");

const PATIENT: &str = "191212121212";
const DESTINATION: &str = "INDEX";

struct To(String);

#[async_trait]
impl DestinationResolver for To {
    async fn route(&self, _destination: &str) -> Option<Route> {
        Some(Route::Push {
            url: self.0.clone(),
            headers: HeaderMap::new(),
        })
    }
}

/// An index that refuses the post for `PATIENT`'s second form, quoting the number.
async fn refuse_second(axum::Json(body): axum::Json<Value>) -> Response {
    let refused = body["engagementTransaction"]
        .as_array()
        .is_some_and(|items| {
            items
                .iter()
                .any(|i| i["engagement"]["businessObjectInstanceIdentifier"] == "form-2")
        });
    if refused {
        let detail = format!("EI004: registeredResidentIdentification {PATIENT} is refused here");
        return (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/problem+json")],
            json!({"title": "Bad Request", "status": 400, "detail": detail, "code": "EI004"})
                .to_string(),
        )
            .into_response();
    }
    axum::Json(json!({"ResultCode": "OK"})).into_response()
}

#[tokio::test]
async fn a_dead_letter_is_logged_once_without_the_answer_or_the_resident() {
    let logs = CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(capturing_subscriber(&logs));
    common::metrics::handle();

    let database = TestDatabase::sqlite();
    let pool = common::db::open_sqlite(&database.config.data_dir.join("q.sqlite"), 2, &SQLITE)
        .await
        .unwrap();
    let deliveries: Vec<NewDelivery> = (1..=3)
        .map(|n| NewDelivery {
            destination: DESTINATION.to_owned(),
            payload: json!({"engagementTransaction": [{"engagement": {
                "registeredResidentIdentification": PATIENT,
                "businessObjectInstanceIdentifier": format!("form-{n}")}}]})
            .into(),
            item_count: 1,
            correlation_id: None,
            traceparent: None,
        })
        .collect();
    let mut connection = pool.acquire().await.unwrap();
    common::delivery::enqueue_sqlite(&mut connection, &deliveries, Utc::now())
        .await
        .unwrap();
    drop(connection);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/update", listener.local_addr().unwrap());
    let app = Router::new().route("/update", post(refuse_second));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let store: Arc<dyn DeliveryStore> = Arc::new(SqliteDeliveryStore::new(pool));
    let policy = DeliveryPolicy {
        poll_interval_ms: 20,
        ..DeliveryPolicy::default()
    };
    let shutdown = Shutdown::new();
    let worker = DeliveryWorker::new("test", Arc::clone(&store), Arc::new(To(url)), policy)
        .merging("engagementTransaction", 100);
    let handle = tokio::spawn(worker.run(shutdown.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let dead = loop {
        let dead = store
            .list(DESTINATION, DeliveryState::Dead, 10)
            .await
            .unwrap();
        let pending = store
            .list(DESTINATION, DeliveryState::Pending, 10)
            .await
            .unwrap();
        if !dead.is_empty() && pending.is_empty() {
            break dead;
        }
        assert!(tokio::time::Instant::now() < deadline, "never settled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    shutdown.cancel();
    handle.await.unwrap();

    assert_eq!(dead.len(), 1);
    assert!(
        dead[0].last_error.as_deref().unwrap().contains(PATIENT),
        "the answer is kept with the dead letter, for operators"
    );
    let text = logs.text();
    let lines: Vec<HashMap<String, Value>> = text
        .lines()
        .filter(|line| line.contains("dead-lettered"))
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["fields"].clone())
        .map(|fields| serde_json::from_value(fields).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "logged once: {text}");
    let fields = &lines[0];
    assert_eq!(fields["status"], 400);
    assert_eq!(fields["code"], "EI004");
    assert_eq!(fields["cause"], "refused");
    assert_eq!(
        fields["notification_ids"],
        dead[0].notification_id.to_string()
    );
    assert!(
        !text.contains(PATIENT) && !text.contains("is refused here"),
        "neither the resident nor the answer's text is logged: {text}"
    );
    database.cleanup().await;
}
