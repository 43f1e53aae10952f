//! Issue 6 with the real engagement index: the engine's posts follow the form's life, and a
//! form change made while the index is down reaches it when it comes back.

use crate::support;

use nordform_tests::TestSystem;
use serde_json::{Value, json};
use support::{CITIZEN, answer_example_form, index_posts, post, wait_for_posts};

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

async fn save_example_template(system: &TestSystem) {
    let template = form_engine::demo::health_declaration_json();
    let (status, answer) = post(
        system,
        system.form_engine,
        "/forminteraction/v2/SaveFormTemplate",
        &json!({"formTemplate": template}),
        None,
    )
    .await;
    assert_eq!(
        (status, answer["ResultCode"].as_str()),
        (200, Some("OK")),
        "{answer}"
    );
}

#[tokio::test]
async fn formcreated_then_formcomplete_and_nothing_after_cancel() {
    let system = TestSystem::start().await.unwrap();
    save_example_template(&system).await;

    let completed = request_form(&system).await;
    wait_for_posts(&system, &completed, &["FormCreated"]).await;
    answer_example_form(&system, &completed, None).await;
    wait_for_posts(&system, &completed, &["FormComplete"]).await;

    let cancelled = request_form(&system).await;
    wait_for_posts(&system, &cancelled, &["FormCreated"]).await;
    let (status, answer): (u16, Value) = post(
        &system,
        system.form_engine,
        "/forminteraction/v2/CancelForm",
        &json!({"formId": cancelled}),
        None,
    )
    .await;
    assert_eq!(
        (status, answer["resultCode"].as_str()),
        (200, Some("OK")),
        "{answer}"
    );
    wait_for_posts(&system, &cancelled, &[]).await;
    system.stop().await;
}

#[tokio::test]
async fn a_post_made_while_the_index_is_down_arrives_when_it_is_back() {
    let mut system = TestSystem::start().await.unwrap();
    save_example_template(&system).await;
    system.stop_engagement_index().await;

    // The engine keeps working while the index is down.
    let form_id = request_form(&system).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    system.start_engagement_index().await.unwrap();
    wait_for_posts(&system, &form_id, &["FormCreated"]).await;
    assert_eq!(index_posts(&system, &form_id).await, vec!["FormCreated"]);
    system.stop().await;
}
