//! Retention of what was delivered in the form engine (docs/follow-up.md), on SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL: the posts the engagement index accepted are kept for the
//! configured age and then deleted, never a pending one; alarm-feed entries go after the age
//! too, but only once the alarm relay has passed them; serial numbers go on after a cleanup;
//! two processes cleaning at once delete each row once. The cleanup job runs with a clock the
//! test sets days ahead.

use crate::support;

use std::sync::Arc;

use chrono::{Days, Duration, Utc};
use common::delivery::DeliveryState;
use common::retention::{Cleaned, RetentionConfig, RetentionJob};
use common::testing::TestDatabase;
use form_engine::Config;
use form_engine::domain::form::engagement::ENGAGEMENT_INDEX;
use form_engine::domain::form::sweeper::Sweeper;
use form_engine::domain::notification::relay::AlarmRelay;
use form_engine::store::{self, FormStore};
use http::StatusCode;
use serde_json::{Value, json};
use support::{CARE_UNIT, Engine, FakeIndex, TOLVAN};
use tokio::sync::Notify;

const DAY: i64 = 24 * 3600;

/// One run of the engine's cleanup job on `store`, `days` from now.
async fn clean(store: &Arc<dyn FormStore>, days: i64, batch_size: u32) -> Cleaned {
    let at = Utc::now() + Duration::seconds(days * DAY);
    let config = RetentionConfig {
        batch_size,
        ..RetentionConfig::default()
    };
    RetentionJob::new("form-engine", config, store.retention())
        .with_clock(Arc::new(move || at))
        .run_once()
        .await
        .unwrap()
}

async fn count(store: &Arc<dyn FormStore>, state: DeliveryState) -> usize {
    store
        .deliveries()
        .list(ENGAGEMENT_INDEX, state, 1000)
        .await
        .unwrap()
        .len()
}

/// Until the index has every post: nothing pending.
async fn until_delivered(store: &Arc<dyn FormStore>) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while count(store, DeliveryState::Pending).await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the posts are not delivered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Requests `n` forms that expire tomorrow and lets them expire: `n` FormExpired alarms.
async fn expire_forms(engine: &Engine, store: &Arc<dyn FormStore>, n: usize) {
    let mut item = support::form_request(TOLVAN);
    item["expireDate"] = json!(common::riv_time::format_date(
        common::riv_time::today_in_sweden() + Days::new(1)
    ));
    let items: Vec<Value> = (0..n).map(|_| item.clone()).collect();
    let (status, body) = engine
        .call("CreateFormRequest", &json!({ "formRequests": items }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let swept = Sweeper::new(
        Arc::clone(store),
        form_engine::api::poster(&Config::default()),
        form_engine::config::FormsConfig::default().rules(),
        Arc::new(Notify::new()),
    )
    .sweep(common::riv_time::today_in_sweden() + Days::new(2))
    .await
    .unwrap();
    assert_eq!(swept.expired, n as u64);
}

/// The alarm relay's round, as the engine runs it.
async fn relay(store: &Arc<dyn FormStore>) {
    AlarmRelay::new(
        Arc::clone(store),
        form_engine::api::poster(&Config::default()),
        std::time::Duration::from_secs(1),
        Arc::new(Notify::new()),
    )
    .relay()
    .await
    .unwrap();
}

async fn feed(engine: &Engine) -> Vec<i64> {
    let (status, body) = engine
        .call(
            "alarms",
            &json!({"healthcare_facility_CareUnit": CARE_UNIT, "maxItems": 1000}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["alarm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["serialNumber"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn delivered_posts_and_relayed_alarms_are_cleaned_after_the_configured_age() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let index = FakeIndex::start().await;
        let mut config = support::config(&database.config, &index.url());
        // The engine's own relay runs once at start and then not for an hour: the test
        // relays when it wants to.
        config.notification.alarm_relay_interval_ms = 3_600_000;
        let engine = Engine::start_with(config).await;
        engine.save_template(&support::example()).await;
        let (store, _) = store::open(&database.config).await.unwrap();

        expire_forms(&engine, &store, 4).await;
        until_delivered(&store).await;
        let delivered = count(&store, DeliveryState::Delivered).await;
        assert!(delivered >= 2, "{backend}: FormCreated and the deletes");
        assert_eq!(feed(&engine).await, [1, 2, 3, 4], "{backend}");

        // What is kept is there for operators to see.
        let listed: Value = engine
            .http
            .get(format!(
                "{}/admin/engagement-index/deliveries?state=delivered&limit=1000",
                engine.base
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            listed["deliveries"].as_array().map(Vec::len),
            Some(delivered),
            "{backend}: {listed}"
        );

        // Younger than the configured age (7 days): nothing goes.
        assert_eq!(clean(&store, 6, 1000).await.total(), 0, "{backend}");
        // Older: the delivered posts go; the alarms stay, as the relay has not passed them.
        let cleaned = clean(&store, 8, 1000).await;
        assert_eq!(cleaned.of("delivery"), delivered as u64, "{backend}");
        assert_eq!(cleaned.of("alarms"), 0, "{backend}");
        assert_eq!(feed(&engine).await, [1, 2, 3, 4], "{backend}");

        relay(&store).await;
        let cleaned = clean(&store, 8, 1000).await;
        assert_eq!(cleaned.of("alarms"), 4, "{backend}");
        assert!(feed(&engine).await.is_empty(), "{backend}");

        // Serial numbers go on; two processes cleaning at once delete each row once.
        expire_forms(&engine, &store, 12).await;
        until_delivered(&store).await;
        relay(&store).await;
        assert_eq!(feed(&engine).await, (5..=16).collect::<Vec<_>>());
        let delivered = count(&store, DeliveryState::Delivered).await as u64;
        let (other, _) = store::open(&database.config).await.unwrap();
        let (a, b) = tokio::join!(clean(&store, 8, 2), clean(&other, 8, 2));
        assert_eq!(
            a.of("alarms") + b.of("alarms"),
            12,
            "{backend}: {a:?} {b:?}"
        );
        assert_eq!(
            a.of("delivery") + b.of("delivery"),
            delivered,
            "{backend}: {a:?} {b:?}"
        );
        assert!(feed(&engine).await.is_empty(), "{backend}");
        assert_eq!(count(&store, DeliveryState::Delivered).await, 0);
        engine.stop();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_post_the_index_has_not_accepted_is_never_cleaned() {
    for database in TestDatabase::all().await {
        // No index answers: the posts wait.
        let engine =
            Engine::start_with(support::config(&database.config, "http://127.0.0.1:9")).await;
        engine.save_template(&support::example()).await;
        let (store, _) = store::open(&database.config).await.unwrap();
        let (status, body) = engine
            .call(
                "CreateFormRequest",
                &json!({"formRequests": [support::form_request(TOLVAN)]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(clean(&store, 365, 1000).await.total(), 0);
        assert_eq!(count(&store, DeliveryState::Pending).await, 1);
        engine.stop();
        database.cleanup().await;
    }
}
