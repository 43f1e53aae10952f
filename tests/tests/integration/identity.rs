//! Issue 15 across the system: a form requested for a reserve number follows the citizen when
//! the number is linked to the personnummer, in the form engine and the engagement index; the
//! care system hears the old post deleted and the new one posted, the citizen answers as the
//! personnummer, and the care system reads the answers.

use crate::support;

use std::time::Duration;

use nordform_tests::TestSystem;
use nordform_tests::demo_care_system::DemoCareSystemConfig;
use serde_json::{Value, json};
use support::{CITIZEN, FORMS_DOMAIN, answer_example_form, post, wait_for_posts};

/// A reserve number that becomes the citizen's personnummer.
const RESERVE: &str = "19121212A123";

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

async fn find(system: &TestSystem, resident: &str) -> Value {
    let (status, found) = post(
        system,
        system.engagement_index,
        "/engagementindex/v1/FindContent",
        &json!({"registeredResidentIdentification": resident, "serviceDomain": FORMS_DOMAIN}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{found}");
    found
}

#[tokio::test]
async fn a_reserve_numbers_form_follows_the_citizen_to_the_personnummer() {
    let system = TestSystem::start().await.unwrap();
    let (care_system, _) = system.start_care_system().await.unwrap();
    let demo = DemoCareSystemConfig::new("", "", "", Value::Null);
    let template = form_engine::demo::health_declaration_json();
    let today = common::riv_time::today_in_sweden();
    let later = |days| common::riv_time::format_date(today + chrono::Days::new(days));
    let (status, created) = post(
        &system,
        system.form_engine,
        "/forminteraction/v2/CreateFormRequest",
        &json!({"formRequests": [{
            "healthcare_Facility_CareUnit": demo.care_unit,
            "healthcare_systemID": demo.hsa_id,
            "subjectOfCare": RESERVE,
            "templateId": template["templateId"],
            "expireDate": later(30),
            "keepUntil": later(365),
        }]}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let form_id = created["formRequestResponses"][0]["formId"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while find(&system, RESERVE).await["engagement"]
        .as_array()
        .unwrap()
        .is_empty()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "FormCreated is posted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The source of truth links the numbers in both services (the engine first).
    let link = json!({"from": RESERVE, "to": CITIZEN, "reason": "reserve number replaced by personnummer"});
    for service in [system.form_engine, system.engagement_index] {
        let (status, answer) = post(&system, service, "/admin/identity-links", &link, None).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["moved"], 1, "{answer}");
    }

    // The index: the post is the personnummer's; the reserve number answers "linked".
    wait_for_posts(&system, &form_id, &["FormCreated"]).await;
    let old = find(&system, RESERVE).await;
    assert_eq!(old, json!({"engagement": [], "identityLinked": true}));
    // The care system heard the old post deleted and the new one posted.
    eventually("the care system hears the move", || {
        let heard = care_system.notifications();
        let of = |delete: bool, subject: &str| {
            heard.iter().any(|n| {
                n.form_id == form_id
                    && n.delete_flag == delete
                    && n.subject_of_care == subject
                    && n.categorization == "FormCreated"
            })
        };
        of(true, RESERVE) && of(false, CITIZEN)
    })
    .await;

    // The citizen answers as the personnummer; the engine replaces the post it moved.
    answer_example_form(&system, &form_id, None).await;
    wait_for_posts(&system, &form_id, &["FormComplete"]).await;
    eventually("the care system reads the answers", || {
        care_system.answered_form(&form_id).is_some()
    })
    .await;
    assert_eq!(
        care_system.answered_form(&form_id).unwrap()["subjectOfCare"],
        CITIZEN
    );
    system.stop().await;
}
