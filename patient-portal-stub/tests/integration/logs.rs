//! What reaches the log: never a whole personal identity number, never a message's subject or
//! body. Runs the service on this test's thread so a scoped subscriber sees every event.

use crate::support;

use common::testing::{CapturedLogs, TestDatabase, capturing_subscriber};
use support::browser::Browser;
use support::{KARIN, Portal, STRANGER, TOLVAN};

#[tokio::test(flavor = "current_thread")]
async fn the_log_never_holds_a_whole_number_or_a_message() {
    let logs = CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(capturing_subscriber(&logs));
    let database = TestDatabase::sqlite();
    let portal = Portal::start(&database.config).await;
    let answer = portal
        .add_message(TOLVAN, "Provsvar klamydia", "Ditt prov var positivt.")
        .await;
    portal.add_message(KARIN, "Till Karin", "Hemlig text").await;
    portal
        .add_message(STRANGER, "Till okänd", "Hemlig text")
        .await;
    for number in [TOLVAN, STRANGER] {
        portal
            .post(
                "/patientportal/v1/IsActiveUser",
                &serde_json::json!({"subjectOfCare": number}),
            )
            .await;
    }
    let mut browser = Browser::new(&portal.base);
    browser.sign_in(&portal.citizen_id(TOLVAN).await).await;
    let message_id = answer["messageId"].as_str().unwrap();
    browser.get(&format!("/inbox/{message_id}")).await;

    let text = logs.text();
    assert!(
        text.contains("inbox message delivered"),
        "the log is captured: {text}"
    );
    assert!(
        text.contains("19121212****"),
        "numbers appear masked: {text}"
    );
    for secret in [
        TOLVAN,
        KARIN,
        STRANGER,
        "klamydia",
        "positivt",
        "Hemlig",
        "Till Karin",
    ] {
        assert!(
            !text.contains(secret),
            "`{secret}` reached the log:\n{text}"
        );
    }
    drop(portal);
    database.cleanup().await;
}

/// The form pages log which form, page and outcome, never an answer nor the engine's problem
/// details (which may quote one).
#[tokio::test(flavor = "current_thread")]
async fn the_log_never_holds_a_form_answer() {
    use support::fake_engine::FakeEngine;

    let logs = CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(capturing_subscriber(&logs));
    let database = TestDatabase::sqlite();
    let engine = FakeEngine::start().await;
    let portal = Portal::start_with(patient_portal_stub::Config {
        database: database.config.clone(),
        form_engine_url: engine.base.clone(),
        ..patient_portal_stub::Config::default()
    })
    .await;
    let form_id = engine.add_form(TOLVAN);
    let mut browser = Browser::new(&portal.base);
    browser.sign_in(&portal.citizen_id(TOLVAN).await).await;
    let page = browser.get(&format!("/forms/{form_id}")).await;
    let fields = [
        ("csrf_token", page.hidden("csrf_token")),
        ("page_number", page.hidden("page_number")),
        ("questions", page.hidden("questions")),
        ("answer-0", "123,456789".to_owned()),
        ("answer-1", "1".to_owned()),
        ("answer-4", "https://hemlig-mottagning.example".to_owned()),
    ];
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = browser
        .post_form(&format!("/forms/{form_id}"), &pairs)
        .await;
    assert_eq!(refused.status, reqwest::StatusCode::BAD_REQUEST);
    engine.fail_next(reqwest::StatusCode::INTERNAL_SERVER_ERROR);
    browser
        .post_form(&format!("/forms/{form_id}"), &pairs)
        .await;

    // The test's own HTML parsing traces what it reads; only the services' lines count.
    let text: String = logs
        .text()
        .lines()
        .filter(|line| {
            !line.contains("\"target\":\"html5ever") && !line.contains("\"target\":\"selectors")
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("form page saved"),
        "the log is captured: {text}"
    );
    assert!(text.contains(&form_id), "which form is logged: {text}");
    for secret in [
        TOLVAN,
        "123.456789",
        "123,456789",
        "hemlig-mottagning",
        "Längden kan inte",
        "with secrets",
    ] {
        assert!(
            !text.contains(secret),
            "`{secret}` reached the log:\n{text}"
        );
    }
    drop(portal);
    database.cleanup().await;
}
