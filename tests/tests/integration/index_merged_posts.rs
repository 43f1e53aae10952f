//! Issue 11 with the real engagement index: a form created and cancelled while the index is away
//! leaves two posts with the same key in the engine's outbox. Merged into one Update, the index
//! refuses them as a whole (EI002, a duplicate key in one request); the engine then sends each
//! alone, so both arrive, in order, and nothing is dead-lettered.

use crate::support;

use std::time::Duration;

use nordform_tests::{TestSystem, url};
use serde_json::{Value, json};
use support::{CITIZEN, post, wait_for_posts};

async fn request_form(system: &TestSystem) -> String {
    let request = json!({"formRequests": [{
        "healthcare_Facility_CareUnit": "SE0000000001-CU01",
        "subjectOfCare": CITIZEN,
        "templateId": "HALSA-1",
        "expireDate": "20991231",
        "keepUntil": "20991231"}]});
    let (status, answer) = post(
        system,
        system.form_engine,
        "/forminteraction/v2/CreateFormRequest",
        &request,
        None,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    answer["formRequestResponses"][0]["formId"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"))
        .to_owned()
}

async fn get(system: &TestSystem, path: &str) -> String {
    let response = system
        .http
        .get(url(system.form_engine, path))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{path}");
    response.text().await.unwrap()
}

async fn outbox(system: &TestSystem, state: &str) -> Vec<Value> {
    let body = get(
        system,
        &format!("/admin/engagement-index/deliveries?state={state}"),
    )
    .await;
    let body: Value = serde_json::from_str(&body).unwrap();
    body["deliveries"].as_array().cloned().unwrap()
}

#[tokio::test]
async fn a_merged_update_the_index_refuses_is_split_and_every_post_arrives() {
    let mut system = TestSystem::start().await.unwrap();
    let template = form_engine::demo::health_declaration_json();
    let (status, answer) = post(
        &system,
        system.form_engine,
        "/forminteraction/v2/SaveFormTemplate",
        &json!({"formTemplate": template}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    system.stop_engagement_index().await;
    let kept = request_form(&system).await;
    let cancelled = request_form(&system).await;
    let (status, answer) = post(
        &system,
        system.form_engine,
        "/forminteraction/v2/CancelForm",
        &json!({"formId": cancelled}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        outbox(&system, "pending").await.len(),
        3,
        "two FormCreated and a delete"
    );

    system.start_engagement_index().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !outbox(&system, "pending").await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the outbox never emptied"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(outbox(&system, "dead").await, Vec::<Value>::new());
    wait_for_posts(&system, &kept, &["FormCreated"]).await;
    wait_for_posts(&system, &cancelled, &[]).await;

    // The merged Update was refused and split (and not retried with back-off).
    let metrics = get(&system, "/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("delivery_attempts_total{")
                && line.contains("outcome=\"refused_batch\"")),
        "{metrics}"
    );
    system.stop().await;
}
