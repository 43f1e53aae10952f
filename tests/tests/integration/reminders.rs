//! Reminders end to end: the form engine's reminder job, with a clock moved to the reminder
//! day, asks the real patient portal stub IsActiveUser and puts the reminder in the inbox of
//! each active citizen; the portal notifies the one with notifications on, and the engine
//! shows every outcome in GetForm.

use std::sync::Arc;

use chrono::{Days, Utc};
use common::config::{DatabaseConfig, HttpConfig};
use common::shutdown::Shutdown;
use form_engine::domain::follow_up::reminders::{ReminderJob, ReminderRules};
use form_engine::domain::template::service::TemplateService;
use form_engine::portal::PortalClient;
use serde_json::{Value, json};

/// Active, SMS and e-mail on (the portal's test citizens).
const TOLVAN: &str = "191212121212";
/// Active, no notification.
const SARA: &str = "198507099805";
/// Not active.
const KARIN: &str = "197001012389";

async fn call(http: &reqwest::Client, url: String, body: &Value) -> Value {
    let response = http.post(url).json(body).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_reminder_reaches_the_portal_inbox_and_every_outcome_is_shown() {
    common::telemetry::init_for_tests();
    let dir = tempfile::tempdir().unwrap();
    let database = DatabaseConfig {
        data_dir: dir.path().to_owned(),
        ..DatabaseConfig::default()
    };
    let shutdown = Shutdown::new();
    let portal = patient_portal_stub::Application::build(patient_portal_stub::Config {
        http: HttpConfig::with_port(0),
        database: database.clone(),
        ..patient_portal_stub::Config::default()
    })
    .await
    .unwrap();
    let portal_url = format!("http://{}", portal.local_addr());
    tokio::spawn(portal.run_until_stopped(shutdown.clone()));
    let engine = form_engine::Application::build(form_engine::Config {
        http: HttpConfig::with_port(0),
        database: database.clone(),
        ..form_engine::Config::default()
    })
    .await
    .unwrap();
    let engine_url = format!("http://{}/forminteraction/v2", engine.local_addr());
    tokio::spawn(engine.run_until_stopped(shutdown.clone()));
    let http = common::testing::http();

    let mut template = form_engine::demo::health_declaration_json();
    template["templateId"] = json!("PAMIN-1");
    template["reminderDaysBefore"] = json!([2]);
    call(
        &http,
        format!("{engine_url}/SaveFormTemplate"),
        &json!({"formTemplate": template}),
    )
    .await;
    let today = common::riv_time::today_in_sweden();
    let expire = common::riv_time::format_date(today + Days::new(5));
    let items: Vec<Value> = [TOLVAN, SARA, KARIN]
        .iter()
        .map(|subject| {
            json!({"healthcare_Facility_CareUnit": "SE0000000001-CU01", "subjectOfCare": subject,
                   "healthcare_facility_CareUnitName": "Vårdcentralen Exempel",
                   "templateId": "PAMIN-1", "expireDate": expire})
        })
        .collect();
    let created = call(
        &http,
        format!("{engine_url}/CreateFormRequest"),
        &json!({"formRequests": items}),
    )
    .await;
    let ids: Vec<String> = created["formRequestResponses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["formId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3, "{created}");

    // The engine's job as another process would run it, three days on: two days before
    // expireDate.
    let (store, _) = form_engine::store::open(&database).await.unwrap();
    let templates = Arc::new(TemplateService::new(Arc::clone(&store)));
    let client = PortalClient::new(http.clone(), &portal_url, None, "SE0000000001-FE01", None);
    let later = Utc::now() + chrono::Duration::days(3);
    let job = ReminderJob::new(
        store,
        templates,
        Arc::new(client),
        ReminderRules {
            interval: std::time::Duration::from_hours(1),
            first_retry_delay: chrono::Duration::minutes(5),
            max_retry_delay: chrono::Duration::hours(1),
            max_attempts: 3,
            lease: chrono::Duration::minutes(5),
        },
        Arc::new(move || later),
    );
    let done = job.run_once().await.unwrap();
    assert_eq!((done.attempts, done.delivered), (3, 2), "{done:?}");
    assert_eq!(job.run_once().await.unwrap().attempts, 0, "once per day");

    for (id, subject, outcome) in [
        (&ids[0], TOLVAN, "Sent"),
        (&ids[1], SARA, "NotificationsOff"),
        (&ids[2], KARIN, "NotAPortalUser"),
    ] {
        let form = call(
            &http,
            format!("{engine_url}/GetForm"),
            &json!({"formId": id, "subjectOfCare": subject}),
        )
        .await;
        assert_eq!(form["form"]["reminders"][0]["outcome"], outcome, "{form}");
    }

    // Tolvan is notified of a new message in the inbox (SMS and e-mail); the others are not.
    let citizens = http
        .get(format!("{portal_url}/admin/citizens"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let id_of = |number: &str| {
        citizens
            .as_array()
            .or_else(|| citizens["citizens"].as_array())
            .unwrap()
            .iter()
            .find(|c| c["personalIdentityNumber"] == number)
            .map(|c| c["citizenId"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let notifications = |citizen: String| {
        let http = http.clone();
        let portal_url = portal_url.clone();
        async move {
            http.get(format!(
                "{portal_url}/admin/notifications?citizenId={citizen}"
            ))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
        }
    };
    let count = |answer: &Value| {
        answer
            .as_array()
            .or_else(|| answer["notifications"].as_array())
            .map_or(0, Vec::len)
    };
    let tolvan = notifications(id_of(TOLVAN)).await;
    assert_eq!(count(&tolvan), 2, "{tolvan}");
    let sara = notifications(id_of(SARA)).await;
    assert_eq!(count(&sara), 0, "{sara}");
    shutdown.cancel();
}
