//! What reaches the log: never a whole personal identity number, never a message's subject or
//! body. Runs the service on this test's thread so a scoped subscriber sees every event.

mod support;

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
