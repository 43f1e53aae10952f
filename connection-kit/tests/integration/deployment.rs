//! `verify deployment` against the launcher's own services started in-process: it passes on
//! a healthy deployment, and fails naming the step when the index is stopped, the portal
//! answers 500, or the notification reaches a subscriber that answers ERROR.

use crate::support;

use std::net::SocketAddr;

use axum::Router;
use axum::routing::any;
use common::config::HttpConfig;
use common::shutdown::Shutdown;
use connection_kit::check::Outcome;
use nordform_tests::TestSystem;
use serde_json::json;
use support::{
    args, assert_reports_agree, detail, http_url, ids, outcome, report_dir, screenshot, verify,
};

fn deployment_args(
    system: &TestSystem,
    portal: SocketAddr,
    report: &std::path::Path,
) -> Vec<String> {
    let mut list = args(&["deployment", "--wait", "20"]);
    list.extend([
        "--form-engine".into(),
        http_url(system.form_engine),
        "--engagement-index".into(),
        http_url(system.engagement_index),
        "--portal".into(),
        http_url(portal),
        "--report".into(),
        report.display().to_string(),
    ]);
    list
}

/// A stand-in that answers every request with `status` and `body`.
async fn answering(status: u16, body: serde_json::Value, shutdown: &Shutdown) -> SocketAddr {
    let listener = common::server::bind(&HttpConfig::with_port(0))
        .await
        .unwrap();
    let address = listener.local_addr().unwrap();
    let app = Router::new().fallback(any(move || {
        let body = body.clone();
        async move {
            (
                http::StatusCode::from_u16(status).unwrap(),
                axum::Json(body),
            )
        }
    }));
    tokio::spawn(common::server::serve(listener, app, shutdown.clone()));
    address
}

#[tokio::test]
async fn a_healthy_deployment_passes_every_step_and_is_cleaned_up() {
    let system = TestSystem::start().await.unwrap();
    let report = report_dir("deployment-passes");
    let run = verify(&deployment_args(&system, system.portal, &report)).await;
    assert!(run.passed(), "{:#?}", ids(&run));
    for id in [
        "preparation-subscribe",
        "step-1-save-form-template",
        "step-1-create-form-request",
        "step-2-find-content-form-created",
        "step-3-is-active-user",
        "step-3-add-message",
        "step-5-get-form-as-citizen",
        "step-6-refused-answer",
        "step-6-save-form-page",
        "step-6-save-form",
        "step-7-find-content-form-complete",
        "step-8-process-notification",
        "step-8-get-form",
        "contract-error-shape-form-engine",
        "contract-error-shape-engagement-index",
        "contract-error-shape-portal",
        "contract-correlation-id-form-engine",
        "contract-correlation-id-engagement-index",
        "contract-correlation-id-portal",
        "cleanup-cancel-form",
        "cleanup-archive-template",
        "cleanup-delete-template",
        "cleanup-unsubscribe",
    ] {
        assert_eq!(
            outcome(&run, id),
            Outcome::Passed,
            "{id}: {}",
            detail(&run, id)
        );
    }
    // Open mode: nothing to refuse, said so rather than passed.
    assert_eq!(
        outcome(&run, "contract-unauthorised-portal"),
        Outcome::Skipped
    );
    // Every check carries its evidence and timing.
    let step = run
        .report
        .checks
        .iter()
        .find(|c| c.id == "step-1-create-form-request")
        .unwrap();
    assert_eq!(step.exchanges.len(), 1);
    assert_eq!(step.exchanges[0].status, Some(200));
    assert!(
        step.exchanges[0]
            .request_body
            .as_deref()
            .unwrap()
            .contains("NORDFORM-KIT-TEST-")
    );
    assert_reports_agree(&run);
    screenshot(&run);

    // Cleaned up: the template is gone and so is the kit's subscriber.
    let template_id = format!("NORDFORM-KIT-TEST-{}", run.report.run_id);
    let answer = system
        .http
        .post(format!(
            "http://{}/forminteraction/v2/GetFormTemplate",
            system.form_engine
        ))
        .json(&json!({"templateId": template_id}))
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let templates: serde_json::Value = answer.json().await.unwrap();
    assert!(
        status == 404 && templates["code"] == "TEMPLATE_NOT_FOUND"
            || status == 200 && !templates.to_string().contains(&template_id),
        "the test template is deleted: {status} {templates}"
    );
    let subscribers = system
        .http
        .get(format!(
            "http://{}/admin/subscribers",
            system.engagement_index
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!subscribers.contains("NORDFORM-KIT-"), "{subscribers}");
    system.stop().await;
}

#[tokio::test]
async fn a_pull_subscriber_fetches_the_notification_when_the_deployment_cannot_reach_the_kit() {
    let system = TestSystem::start().await.unwrap();
    let report = report_dir("deployment-pull");
    let mut list = deployment_args(&system, system.portal, &report);
    list.push("--pull".into());
    let run = verify(&list).await;
    assert!(run.passed(), "{:#?}", ids(&run));
    assert!(detail(&run, "step-8-process-notification").contains("pull point"));
    system.stop().await;
}

#[tokio::test]
async fn with_the_index_stopped_the_walk_fails_at_the_index_steps() {
    let mut system = TestSystem::start().await.unwrap();
    system.stop_engagement_index().await;
    let report = report_dir("deployment-index-stopped");
    let run = verify(&deployment_args(&system, system.portal, &report)).await;
    assert!(!run.passed());
    assert_eq!(outcome(&run, "preparation-subscribe"), Outcome::Failed);
    // The form engine keeps its post for the index: the form is created, its post is not seen.
    assert_eq!(outcome(&run, "step-1-create-form-request"), Outcome::Passed);
    assert_eq!(
        outcome(&run, "step-2-find-content-form-created"),
        Outcome::Failed
    );
    assert!(
        detail(&run, "step-2-find-content-form-created").contains("FindContent"),
        "{}",
        detail(&run, "step-2-find-content-form-created")
    );
    assert_eq!(
        outcome(&run, "step-7-find-content-form-complete"),
        Outcome::Failed
    );
    assert_eq!(
        outcome(&run, "step-8-process-notification"),
        Outcome::Skipped
    );
    assert_eq!(outcome(&run, "step-3-add-message"), Outcome::Passed);
    assert_reports_agree(&run);
    system.stop().await;
}

#[tokio::test]
async fn a_portal_answering_500_fails_step_3() {
    let system = TestSystem::start().await.unwrap();
    let shutdown = Shutdown::new();
    let portal = answering(
        500,
        json!({"status": 500, "title": "Internal Server Error"}),
        &shutdown,
    )
    .await;
    let report = report_dir("deployment-portal-500");
    let run = verify(&deployment_args(&system, portal, &report)).await;
    assert!(!run.passed());
    for id in ["step-3-is-active-user", "step-3-add-message"] {
        assert_eq!(outcome(&run, id), Outcome::Failed, "{id}");
        assert!(
            detail(&run, id).contains("HTTP 500"),
            "{}",
            detail(&run, id)
        );
    }
    // The rest of the flow does not depend on the portal.
    assert_eq!(outcome(&run, "step-8-get-form"), Outcome::Passed);
    assert_reports_agree(&run);
    screenshot(&run);
    shutdown.cancel();
    system.stop().await;
}

#[tokio::test]
async fn a_subscriber_answering_error_fails_step_8_with_the_index_s_dead_letter() {
    let system = TestSystem::start().await.unwrap();
    let shutdown = Shutdown::new();
    let refusing = answering(
        200,
        json!({"ResultCode": "ERROR", "comment": "Unknown care unit"}),
        &shutdown,
    )
    .await;
    let report = report_dir("deployment-subscriber-error");
    let mut list = deployment_args(&system, system.portal, &report);
    list.extend([
        "--callback-url".into(),
        format!("http://{refusing}/ProcessNotification"),
    ]);
    let run = verify(&list).await;
    assert!(!run.passed());
    assert_eq!(
        run.report.failed(),
        vec!["step-8-process-notification"],
        "{:#?}",
        ids(&run)
    );
    let why = detail(&run, "step-8-process-notification");
    assert!(
        why.contains("dead-lettered") && why.contains("Unknown care unit"),
        "{why}"
    );
    assert_reports_agree(&run);
    shutdown.cancel();
    system.stop().await;
}
