//! The demo care system notified by the form engine directly (TKB 2.1.1 §2.6), as `nordform`
//! runs it: FormCreated and FormComplete come from the engine itself (owner = the engine's
//! HSA-id), nothing is posted to the engagement index, and the care system reads the answers.
//! A notification sent again with the same x-notification-id is taken once.

use crate::support;

use std::time::Duration;

use nordform_tests::{TestSystem, url};
use serde_json::json;
use support::{CITIZEN, answer_example_form, index_posts};

const ENGINE: &str = "SE0000000001-FE01";

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_engine_notifies_the_demo_care_system_directly_and_the_index_gets_nothing() {
    let system = TestSystem::start_notifying_directly().await.unwrap();
    let (care_system, care_system_address) = system.start_care_system().await.unwrap();

    let form_id = care_system.request_form(CITIZEN).await.unwrap();
    eventually("the engine notifies FormCreated", || {
        care_system
            .notifications()
            .iter()
            .any(|n| n.form_id == form_id && n.categorization == "FormCreated" && n.owner == ENGINE)
    })
    .await;

    answer_example_form(&system, &form_id, None).await;
    eventually("the engine notifies FormComplete", || {
        care_system.notifications().iter().any(|n| {
            n.form_id == form_id
                && n.categorization == "FormComplete"
                && !n.delete_flag
                && n.owner == ENGINE
        })
    })
    .await;
    eventually("the care system has fetched the answers", || {
        care_system.answered_form(&form_id).is_some()
    })
    .await;
    assert_eq!(
        care_system.answered_form(&form_id).unwrap()["formStatus"],
        "COMPLETED"
    );
    assert!(
        care_system
            .notifications()
            .iter()
            .filter(|n| n.form_id == form_id)
            .all(|n| n.owner == ENGINE),
        "every notification of the form came from the engine"
    );
    assert!(
        index_posts(&system, &form_id).await.is_empty(),
        "nothing was posted to the index"
    );

    // The same notification again (a sender that missed the answer): taken once.
    let before = care_system.notifications().len();
    let body = json!({"engagementTransaction": [{"deleteFlag": false, "engagement": {
        "registeredResidentIdentification": CITIZEN, "categorization": "FormCreated",
        "businessObjectInstanceIdentifier": "resent", "owner": ENGINE}}]});
    for _ in 0..2 {
        let response = system
            .http
            .post(url(care_system_address, "/notifications"))
            .header("x-notification-id", "5d1e2a34-0000-4000-8000-000000000001")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(answer["ResultCode"], "OK");
    }
    assert_eq!(care_system.notifications().len(), before + 1);
    system.stop().await;
}
