//! The flow the project exists for, steps 1–8 of "Anslutning av <anslutande part> till NTjP",
//! over HTTP: a care system requests a form, the engine posts FormCreated to the index, the
//! care system puts a link in the citizen's inbox, the citizen answers, the engine posts
//! FormComplete, the index notifies the care system, which fetches the answers — one trace id
//! from the citizen's submit to the care system.

use crate::support;

use std::time::Duration;

use nordform_tests::{TestSystem, url};
use serde_json::json;
use support::{CITIZEN, answer_example_form, post, wait_for_posts};

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
async fn a_requested_form_is_answered_and_the_care_system_reads_the_answers() {
    let system = TestSystem::start().await.unwrap();
    let (care_system, _) = system.start_care_system().await.unwrap();

    // Steps 1–3: the care system requests a form and puts a link in the citizen's inbox.
    let form_id = care_system.request_form(CITIZEN).await.unwrap();
    wait_for_posts(&system, &form_id, &["FormCreated"]).await;
    eventually("the care system is notified of FormCreated", || {
        care_system
            .notifications()
            .iter()
            .any(|n| n.form_id == form_id && n.categorization == "FormCreated")
    })
    .await;
    let (status, sms) = (
        200,
        system
            .http
            .get(url(system.portal, "/admin/notifications"))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert!(
        sms.to_string().contains("Du har ett nytt meddelande"),
        "the citizen is told of the message: {sms}"
    );
    let (_, active) = post(
        &system,
        system.portal,
        "/patientportal/v1/IsActiveUser",
        &json!({"subjectOfCare": CITIZEN}),
        None,
    )
    .await;
    assert_eq!(active["isActive"], true);

    // Steps 4–6: the citizen answers and submits; the engine replaces FormCreated with FormComplete.
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    answer_example_form(
        &system,
        &form_id,
        Some(&format!("00-{trace_id}-b7ad6b7169203331-01")),
    )
    .await;
    wait_for_posts(&system, &form_id, &["FormComplete"]).await;

    // Steps 7–8: the index notifies the care system, which fetches the answers.
    eventually("the care system is notified of FormComplete", || {
        care_system
            .notifications()
            .iter()
            .any(|n| n.form_id == form_id && n.categorization == "FormComplete" && !n.delete_flag)
    })
    .await;
    let complete = care_system
        .notifications()
        .into_iter()
        .find(|n| n.form_id == form_id && n.categorization == "FormComplete" && !n.delete_flag)
        .unwrap();
    let traceparent = complete
        .traceparent
        .expect("the notification carries trace context");
    assert_eq!(
        traceparent.split('-').nth(1),
        Some(trace_id),
        "one trace from the citizen's submit to the care system"
    );
    assert!(complete.correlation_id.is_some());

    eventually("the care system has fetched the answers", || {
        care_system.answered_form(&form_id).is_some()
    })
    .await;
    let answered = care_system.answered_form(&form_id).unwrap();
    assert_eq!(answered["formStatus"], "COMPLETED", "{answered}");
    let answers = answered["pageAnswers"].to_string();
    assert!(
        answers.contains("\"height\"") && answers.contains("180"),
        "{answered}"
    );

    // Every access to the citizen's data along the way is in the services' audit logs.
    let expectations: [(&str, std::net::SocketAddr, &[&str]); 3] = [
        (
            "form engine",
            system.form_engine,
            &["CreateFormRequest", "GetForm", "SaveFormPage", "SaveForm"],
        ),
        (
            "engagement index",
            system.engagement_index,
            &["Update", "FindContent"],
        ),
        (
            "patient portal",
            system.portal,
            &["AddMessageToPatientPortalInbox", "IsActiveUser"],
        ),
    ];
    for (service, address, expected) in expectations {
        let query = json!({"patient": CITIZEN, "limit": 1000});
        let (status, audit) = post(&system, address, "/admin/audit/by-patient", &query, None).await;
        assert_eq!(status, 200, "{service}: {audit}");
        let events = audit["events"].as_array().unwrap();
        let actions: Vec<&str> = events
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        for action in expected {
            assert!(
                actions.contains(action),
                "{service} audited {action}: {actions:?}"
            );
        }
        assert!(
            events.iter().all(|e| e["at"].is_string()
                && e["outcome"].is_string()
                && e["caller"].is_string()),
            "{service}: every event says who, when and the outcome: {audit}"
        );
    }
    system.stop().await;
}
