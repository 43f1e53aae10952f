//! Follow-up of forms (docs/follow-up.md), on SQLite and (with `TEST_DATABASE_URL`)
//! PostgreSQL, with a clock the test moves by days: reminders to the citizen through a fake
//! patient portal (sent once per form and day, each IsActiveUser answer recorded, an
//! unreachable portal retried), shown in GetForm/GetForms; alarms on the care unit's feed
//! when a requested form expires unanswered or a sent form's revocation is requested, once
//! each, also with two engine processes; the feed's grant check, acknowledgement and 400s.

use crate::support;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::security::{CS1, CS2, PORTAL};
use chrono::{DateTime, Days, Duration, Utc};
use common::shutdown::Shutdown;
use common::testing::TestDatabase;
use common::testing::security::{Answer, TestService};
use form_engine::Config;
use form_engine::domain::follow_up::clock::Clock;
use form_engine::domain::follow_up::reminders::{ReminderJob, ReminderRules};
use form_engine::domain::form::model::FormStatus;
use form_engine::domain::form::sweeper::Sweeper;
use form_engine::domain::template::service::TemplateService;
use form_engine::portal::PortalClient;
use form_engine::store::{self, FormStore};
use http::StatusCode;
use serde_json::{Value, json};
use support::{CARE_UNIT, Engine, LENA, OTHER_CARE_UNIT, TOLVAN, example_with};
use tokio::sync::Notify;

/// Active, notifications off.
const SILENT: &str = "194503152284";
/// Active and notified, but the portal fails its first IsActiveUser.
const FLAKY: &str = "194004048897";

fn today() -> chrono::NaiveDate {
    common::riv_time::today_in_sweden()
}

fn date(days: u64) -> String {
    common::riv_time::format_date(today() + Days::new(days))
}

/// A stand-in for the patient portal: TOLVAN is notified, LENA is no user, SILENT has
/// notifications off, FLAKY's first IsActiveUser answers 503. Keeps every call.
struct FakePortal {
    url: String,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
    _stop: Shutdown,
}

impl FakePortal {
    async fn start() -> Self {
        let calls: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let failed_once: Arc<Mutex<HashSet<String>>> = Arc::default();
        let active = {
            let calls = Arc::clone(&calls);
            move |axum::Json(body): axum::Json<Value>| {
                let calls = Arc::clone(&calls);
                let failed_once = Arc::clone(&failed_once);
                async move {
                    calls
                        .lock()
                        .unwrap()
                        .push(("IsActiveUser".into(), body.clone()));
                    let subject = body["subjectOfCare"].as_str().unwrap_or_default();
                    if subject == FLAKY && failed_once.lock().unwrap().insert(subject.into()) {
                        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({})));
                    }
                    let answer = match subject {
                        LENA => {
                            json!({"resultCode": "INFO", "comment": "No user", "isActive": false,
                                       "notificationSms": false, "notificationEmail": false})
                        }
                        SILENT => json!({"resultCode": "OK", "isActive": true,
                                         "notificationSms": false, "notificationEmail": false}),
                        _ => json!({"resultCode": "OK", "isActive": true,
                                    "notificationSms": true, "notificationEmail": false}),
                    };
                    (StatusCode::OK, axum::Json(answer))
                }
            }
        };
        let inbox = {
            let calls = Arc::clone(&calls);
            move |axum::Json(body): axum::Json<Value>| {
                let calls = Arc::clone(&calls);
                async move {
                    calls
                        .lock()
                        .unwrap()
                        .push(("AddMessageToPatientPortalInbox".into(), body));
                    axum::Json(json!({"resultCode": "OK"}))
                }
            }
        };
        let app = axum::Router::new()
            .route(
                "/patientportal/v1/IsActiveUser",
                axum::routing::post(active),
            )
            .route(
                "/patientportal/v1/AddMessageToPatientPortalInbox",
                axum::routing::post(inbox),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = Shutdown::new();
        let until = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(until.cancelled_owned())
                .await;
        });
        Self {
            url,
            calls,
            _stop: stop,
        }
    }

    /// The messages put in inboxes so far.
    fn messages(&self) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(contract, _)| contract == "AddMessageToPatientPortalInbox")
            .map(|(_, body)| body.clone())
            .collect()
    }
}

/// A clock the test moves.
struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    /// Noon in Sweden today: the days and minutes a test moves on never cross a Swedish
    /// midnight, whatever the hour it runs at (started at 23:50, a later step landed on the
    /// next day and the reminders' days were off by one).
    fn new() -> Self {
        let noon = today().and_hms_opt(12, 0, 0).expect("noon is a time");
        let noon = common::riv_time::stockholm_to_utc(noon);
        Self(Arc::new(Mutex::new(noon)))
    }

    fn clock(&self) -> Clock {
        let now = Arc::clone(&self.0);
        Arc::new(move || *now.lock().unwrap())
    }

    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

fn rules() -> ReminderRules {
    ReminderRules {
        interval: std::time::Duration::from_hours(1),
        first_retry_delay: Duration::minutes(10),
        max_retry_delay: Duration::hours(1),
        max_attempts: 5,
        lease: Duration::minutes(5),
    }
}

/// A reminder job of its own (as another engine process would run) on `database`.
async fn job(database: &TestDatabase, portal: &FakePortal, clock: &TestClock) -> ReminderJob {
    let (store, _) = store::open(&database.config).await.unwrap();
    let templates = Arc::new(TemplateService::new(Arc::clone(&store)));
    let client = PortalClient::new(
        common::testing::http(),
        &portal.url,
        None,
        "SE0000000001-FE01",
        None,
    );
    ReminderJob::new(store, templates, Arc::new(client), rules(), clock.clock())
}

/// The outcomes of a form's reminders as GetForm shows them.
async fn outcomes(engine: &Engine, form_id: &str, subject: &str) -> Vec<String> {
    engine.get_form(form_id, subject).await["reminders"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|a| a["outcome"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn reminders_are_sent_once_per_form_and_day_and_every_outcome_is_recorded() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let engine = Engine::start(&database.config).await;
        let portal = FakePortal::start().await;
        let clock = TestClock::new();
        engine
            .save_template(&example_with(
                &json!({"templateId": "PAMIN-1", "reminderDaysBefore": [7, 1]}),
            ))
            .await;
        let item = |subject: &str, days: Option<Value>| {
            let mut item = support::form_request(subject);
            item["templateId"] = json!("PAMIN-1");
            item["expireDate"] = json!(date(10));
            if let Some(days) = days {
                item["reminderDaysBefore"] = days;
            }
            item
        };
        let (status, body) = engine
            .call(
                "CreateFormRequest",
                &json!({"formRequests": [
                    item(TOLVAN, None), item(LENA, None), item(SILENT, None), item(FLAKY, None),
                    item(TOLVAN, Some(json!([5]))), item(TOLVAN, Some(json!([]))),
                ]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        let ids: Vec<String> = body["formRequestResponses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["formId"].as_str().unwrap().to_owned())
            .collect();
        let subjects = [TOLVAN, LENA, SILENT, FLAKY, TOLVAN, TOLVAN];

        // Two engine processes.
        let (first, second) = (
            job(&database, &portal, &clock).await,
            job(&database, &portal, &clock).await,
        );
        assert_eq!(first.run_once().await.unwrap().attempts, 0, "{backend}");

        // Seven days before expireDate: the template's first reminder, once.
        clock.advance(Duration::days(3));
        let (a, b) = tokio::join!(first.run_once(), second.run_once());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            a.attempts + b.attempts,
            4,
            "{backend}: four forms, once each"
        );
        assert_eq!(
            a.delivered + b.delivered,
            2,
            "{backend}: Tolvan and the silent one"
        );
        assert_eq!(first.run_once().await.unwrap().attempts, 0, "{backend}");
        let messages = portal.messages();
        assert_eq!(messages.len(), 2, "{backend}: {messages:?}");
        let to_tolvan = messages
            .iter()
            .find(|m| m["subjectOfCare"] == TOLVAN)
            .expect("Tolvan's reminder");
        assert_eq!(to_tolvan["healthcare_facility_CareUnit"], CARE_UNIT);
        assert_eq!(to_tolvan["expireDate"], date(10));
        assert!(
            to_tolvan["url"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/forms/{}", ids[0])),
            "{backend}: {to_tolvan}"
        );

        // The unreachable portal is tried again after the retry delay.
        clock.advance(Duration::minutes(11));
        assert_eq!(second.run_once().await.unwrap().delivered, 1, "{backend}");
        // A reminder of its own on its own day.
        clock.advance(Duration::days(2));
        assert_eq!(first.run_once().await.unwrap().attempts, 1, "{backend}");
        // The day before expireDate: the template's second reminder.
        clock.advance(Duration::days(4));
        let (a, b) = tokio::join!(first.run_once(), second.run_once());
        assert_eq!(a.unwrap().attempts + b.unwrap().attempts, 4, "{backend}");
        clock.advance(Duration::days(1));
        assert_eq!(first.run_once().await.unwrap().attempts, 0, "{backend}");

        let expected: [&[&str]; 6] = [
            &["Sent", "Sent"],
            &["NotAPortalUser", "NotAPortalUser"],
            &["NotificationsOff", "NotificationsOff"],
            &["PortalUnreachable", "Sent", "Sent"],
            &["Sent"],
            &[],
        ];
        for ((id, subject), expected) in ids.iter().zip(subjects).zip(expected) {
            assert_eq!(
                outcomes(&engine, id, subject).await,
                expected,
                "{backend}: form {id}"
            );
        }
        // GetForms shows them too, with when each was tried.
        let (_, listed) = engine
            .call(
                "GetForms",
                &json!({"healthcare_facility_CareUnit": CARE_UNIT, "subjectOfCare": FLAKY}),
            )
            .await;
        let reminders = &listed["forms"][0]["reminders"];
        assert_eq!(
            reminders.as_array().map(Vec::len),
            Some(3),
            "{backend}: {listed}"
        );
        assert!(
            reminders[0]["at"].as_str().unwrap().contains('T'),
            "{reminders}"
        );
        engine.stop();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_bad_reminder_policy_is_refused_naming_the_field() {
    let database = TestDatabase::sqlite();
    let engine = Engine::start(&database.config).await;
    for days in [
        json!([0]),
        json!([366]),
        json!([3, 3]),
        json!("7"),
        json!((1..=11).collect::<Vec<u32>>()),
    ] {
        let mut item = support::form_request(TOLVAN);
        item["reminderDaysBefore"] = days.clone();
        // As every field of an item: the item is refused on its own, naming the field.
        let (status, body) = engine
            .call("CreateFormRequest", &json!({"formRequests": [item]}))
            .await;
        assert_eq!(status, StatusCode::OK, "{days}: {body}");
        assert_eq!(body["resultCode"], "ERROR", "{days}: {body}");
        assert!(
            body["formRequestResults"][0]["comment"]
                .as_str()
                .unwrap_or_default()
                .starts_with("formRequests[0].reminderDaysBefore: "),
            "{days}: {body}"
        );
    }
    let (status, body) = engine
        .call(
            "SaveFormTemplate",
            &json!({"formTemplate": example_with(&json!({"reminderDaysBefore": [0]}))}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("reminderDaysBefore"),
        "{body}"
    );
    engine.stop();
}

async fn call(service: &TestService, caller: &str, contract: &str, body: &Value) -> Answer {
    service
        .request(
            Some(caller),
            http::Method::POST,
            &format!("/forminteraction/v2/{contract}"),
            Some(body),
        )
        .await
}

async fn alarms(service: &TestService, caller: &str, body: &Value) -> Answer {
    call(service, caller, "alarms", body).await
}

/// (kind, formId) of each alarm of an answer, and its serial numbers.
fn listed(answer: &Answer) -> (Vec<(String, String)>, Vec<i64>) {
    let alarms = answer.body["alarm"].as_array().cloned().unwrap_or_default();
    (
        alarms
            .iter()
            .map(|a| {
                (
                    a["kind"].as_str().unwrap_or_default().to_owned(),
                    a["formId"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        alarms
            .iter()
            .map(|a| a["serialNumber"].as_i64().unwrap_or_default())
            .collect(),
    )
}

/// Two sweeps at once, as two engine processes would, `days` from now.
async fn sweep_twice(store: &Arc<dyn FormStore>, days: u64) -> u64 {
    let at = Utc::now() + Duration::days(i64::try_from(days).unwrap());
    let day = today() + Days::new(days);
    let sweeper = || {
        Sweeper::new(
            Arc::clone(store),
            form_engine::api::poster(&Config::default()),
            form_engine::config::FormsConfig::default().rules(),
            Arc::new(Notify::new()),
        )
        .with_clock(Arc::new(move || at))
    };
    let (first, second) = (sweeper(), sweeper());
    let (a, b) = tokio::join!(first.sweep(day), second.sweep(day));
    a.unwrap().expired + b.unwrap().expired
}

#[tokio::test]
async fn expired_and_revocation_alarms_reach_their_care_units_feed_once() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let engine = crate::security::with_tokens(&database).await;
        let saved = call(
            &engine,
            CS1,
            "SaveFormTemplate",
            &json!({"formTemplate": support::example()}),
        )
        .await;
        assert_eq!(saved.status, StatusCode::OK, "{backend}: {}", saved.body);
        let request = |subject: &str| json!({"formRequests": [support::form_request(subject)]});
        let mut ids = Vec::new();
        for subject in [TOLVAN, LENA, TOLVAN] {
            let created = call(&engine, CS1, "CreateFormRequest", &request(subject)).await;
            assert_eq!(
                created.status,
                StatusCode::OK,
                "{backend}: {}",
                created.body
            );
            ids.push(
                created.body["formRequestResponses"][0]["formId"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        let (store, _) = store::open(&database.config).await.unwrap();

        // The third form is sent; the citizen then asks for it to be revoked, twice.
        let id = uuid::Uuid::parse_str(&ids[2]).unwrap();
        let mut sent = store.form(id).await.unwrap().unwrap();
        sent.status = FormStatus::Completed;
        sent.completed_at = Some(Utc::now());
        sent.revision += 1;
        store.update_form(&sent, None).await.unwrap();
        for _ in 0..2 {
            let cancelled = call(
                &engine,
                PORTAL,
                "CancelForm",
                &json!({"formId": ids[2], "subjectOfCare": TOLVAN}),
            )
            .await;
            assert_eq!(
                cancelled.status,
                StatusCode::OK,
                "{backend}: {}",
                cancelled.body
            );
        }

        // The day after expireDate, two processes sweep: the two unanswered forms expire once.
        assert_eq!(sweep_twice(&store, 31).await, 2, "{backend}");
        assert_eq!(sweep_twice(&store, 31).await, 0, "{backend}");

        let unit = |after: Option<i64>| {
            let mut body = json!({"healthcare_facility_CareUnit": CARE_UNIT});
            if let Some(after) = after {
                body["afterSerialNumber"] = json!(after);
            }
            body
        };
        let first = alarms(&engine, CS1, &unit(None)).await;
        assert_eq!(first.status, StatusCode::OK, "{backend}: {}", first.body);
        let (kinds, serials) = listed(&first);
        assert_eq!(
            serials,
            vec![1, 2, 3],
            "{backend}: gap-free: {}",
            first.body
        );
        let mut expected = vec![
            ("RevocationRequested".to_owned(), ids[2].clone()),
            ("FormExpired".to_owned(), ids[0].clone()),
            ("FormExpired".to_owned(), ids[1].clone()),
        ];
        expected[1..].sort();
        let mut got = kinds.clone();
        got[1..].sort();
        assert_eq!(got, expected, "{backend}");
        let alarm = &first.body["alarm"][0];
        assert_eq!(alarm["subjectOfCare"], TOLVAN);
        assert_eq!(alarm["templateId"], "HALSA-1");
        assert_eq!(alarm["expireDate"], date(30));
        assert!(alarm["createdDateTime"].as_str().unwrap().contains('T'));
        // Raised by the sweep as of its clock, the day after expireDate.
        let expired_alarm = &first.body["alarm"][1];
        assert!(
            expired_alarm["createdDateTime"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{}T", date(31))),
            "{backend}: {expired_alarm}"
        );
        assert_eq!(first.body["lastSerialNumber"], 3);

        // Paged, then acknowledged by asking after the last number.
        let page = alarms(
            &engine,
            CS1,
            &json!({"healthcare_Facility_CareUnit": CARE_UNIT, "afterSerialNumber": 1, "maxItems": 1}),
        )
        .await;
        assert_eq!(listed(&page).1, vec![2], "{backend}: {}", page.body);
        assert_eq!(page.body["lastSerialNumber"], 2);
        let acknowledged = alarms(&engine, CS1, &unit(Some(3))).await;
        assert_eq!(listed(&acknowledged).1, Vec::<i64>::new(), "{backend}");
        assert_eq!(acknowledged.body["lastSerialNumber"], 3);
        let next = alarms(&engine, CS1, &unit(None)).await;
        assert_eq!(
            listed(&next).1,
            Vec::<i64>::new(),
            "{backend}: {}",
            next.body
        );
        assert_eq!(
            next.body["lastSerialNumber"], 3,
            "{backend}: after the acknowledged"
        );
        // A number beyond the last acknowledges no alarm raised later.
        let beyond = alarms(&engine, CS1, &unit(Some(1000))).await;
        assert_eq!(listed(&beyond).1, Vec::<i64>::new(), "{backend}");
        assert_eq!(beyond.body["lastSerialNumber"], 1000);
        assert_eq!(
            alarms(&engine, CS1, &unit(None)).await.body["lastSerialNumber"],
            3,
            "{backend}"
        );
        // Asking after an earlier number reads again; the acknowledgement stays.
        let again = alarms(&engine, CS1, &unit(Some(0))).await;
        assert_eq!(listed(&again).1, vec![1, 2, 3], "{backend}");
        assert_eq!(
            listed(&alarms(&engine, CS1, &unit(None)).await).1,
            Vec::<i64>::new()
        );

        // Another care unit's system is refused; another unit's feed is empty.
        let refused = alarms(&engine, CS2, &unit(None)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{backend}");
        assert_eq!(
            refused.body["code"], "FORBIDDEN_CARE_UNIT",
            "{}",
            refused.body
        );
        let own = alarms(
            &engine,
            CS2,
            &json!({"healthcare_facility_CareUnit": OTHER_CARE_UNIT}),
        )
        .await;
        assert_eq!(listed(&own).1, Vec::<i64>::new(), "{backend}: {}", own.body);
        assert_eq!(own.body["lastSerialNumber"], 0);

        // Bad input names the field.
        for (body, field) in [
            (json!({}), "healthcare_facility_CareUnit"),
            (
                json!({"healthcare_facility_CareUnit": "has space"}),
                "healthcare_facility_CareUnit",
            ),
            (
                json!({"healthcare_facility_CareUnit": CARE_UNIT, "afterSerialNumber": -1}),
                "afterSerialNumber",
            ),
            (
                json!({"healthcare_facility_CareUnit": CARE_UNIT, "maxItems": 0}),
                "maxItems",
            ),
            (
                json!({"healthcare_facility_CareUnit": CARE_UNIT, "maxItems": 1001}),
                "maxItems",
            ),
        ] {
            let answer = alarms(&engine, CS1, &body).await;
            assert_eq!(
                answer.status,
                StatusCode::BAD_REQUEST,
                "{body}: {}",
                answer.body
            );
            assert!(
                answer.body["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(field),
                "{body}: {}",
                answer.body
            );
        }

        // Each alarm read is audited with its patient.
        let audit = engine.audit_of_patient(LENA).await;
        assert!(
            audit.iter().any(|row| row["action"] == "GetAlarms"),
            "{backend}: {audit:?}"
        );
        database.cleanup().await;
    }
}

#[tokio::test]
async fn two_processes_number_alarms_gap_free_and_raise_each_once() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let engine = Engine::start(&database.config).await;
        engine.save_template(&support::example()).await;
        let mut item = support::form_request(TOLVAN);
        item["expireDate"] = json!(date(1));
        let items: Vec<Value> = (0..40).map(|_| item.clone()).collect();
        let (status, body) = engine
            .call("CreateFormRequest", &json!({"formRequests": items}))
            .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        let (store, _) = store::open(&database.config).await.unwrap();
        let (other, _) = store::open(&database.config).await.unwrap();
        let (a, b) = tokio::join!(sweep_twice(&store, 2), sweep_twice(&other, 2));
        assert_eq!(a + b, 40, "{backend}");
        let all = store.follow_up().alarms_after(0, 1000).await.unwrap();
        let serials: Vec<i64> = all.iter().map(|a| a.serial_number).collect();
        assert_eq!(serials, (1..=40).collect::<Vec<i64>>(), "{backend}");
        let forms: HashSet<_> = all.iter().map(|a| a.alarm.form_id).collect();
        assert_eq!(forms.len(), 40, "{backend}: one alarm per form");
        let later = store.follow_up().alarms_after(38, 10).await.unwrap();
        assert_eq!(
            later.iter().map(|a| a.serial_number).collect::<Vec<_>>(),
            vec![39, 40]
        );
        let by_unit: HashMap<String, usize> =
            all.iter().fold(HashMap::new(), |mut counts, alarm| {
                *counts.entry(alarm.alarm.care_unit.clone()).or_default() += 1;
                counts
            });
        assert_eq!(by_unit.get(CARE_UNIT), Some(&40), "{backend}");
        engine.stop();
        database.cleanup().await;
    }
}
