//! Input hygiene of the contracts (api.md §5), by property: arbitrary strings, control
//! characters and oversized values in every string field of AddMessageToPatientPortalInbox
//! and IsActiveUser never make the portal answer 5xx, get the same status, problem code and
//! result on SQLite and (when TEST_DATABASE_URL is set) PostgreSQL, and a refused message
//! stores nothing.

use crate::support;

use std::sync::Arc;

use chrono::NaiveDate;
use common::testing::TestDatabase;
use patient_portal_stub::store::{self, PortalStore};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Portal, SARA, TOLVAN, message};

const ADD_MESSAGE: &str = "/patientportal/v1/AddMessageToPatientPortalInbox";
const IS_ACTIVE_USER: &str = "/patientportal/v1/IsActiveUser";

/// Every string member of AddMessageToPatientPortalInbox.
const MESSAGE_FIELDS: [&str; 8] = [
    "subjectOfCare",
    "healthcare_facility_CareUnit",
    "careUnitName",
    "subject",
    "body",
    "url",
    "sourceSystem",
    "expireDate",
];

struct Backend {
    name: &'static str,
    portal: Portal,
    store: Arc<dyn PortalStore>,
    database: TestDatabase,
}

impl Backend {
    async fn all() -> Vec<Self> {
        let mut backends = Vec::new();
        for database in TestDatabase::all().await {
            let portal = Portal::start(&database.config).await;
            let (store, _) = store::open(&database.config)
                .await
                .expect("the store opens");
            backends.push(Self {
                name: database.backend,
                portal,
                store,
                database,
            });
        }
        backends
    }

    /// Every message kept, whoever it is for and whenever it expires.
    async fn messages(&self) -> usize {
        let long_ago = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
        let mut count = 0;
        for citizen in self.store.citizens().await.unwrap() {
            count += self.store.inbox(citizen.id, long_ago).await.unwrap().len();
        }
        count
    }
}

/// What must be the same on every backend: the status, the problem code or the result.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    status: StatusCode,
    code: Value,
    result: Value,
    active: Value,
}

async fn call(backend: &Backend, path: &str, body: &Value) -> Outcome {
    let (status, answer) = backend.portal.post(path, body).await;
    assert!(
        !status.is_server_error(),
        "{}: {status} for {body}: {answer}",
        backend.name
    );
    if status.is_success() {
        assert!(
            answer["resultCode"].is_string(),
            "{}: {answer}",
            backend.name
        );
    } else {
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{}: {answer}",
            backend.name
        );
        assert!(
            answer["code"].is_string(),
            "{}: a problem: {answer}",
            backend.name
        );
    }
    Outcome {
        status,
        code: answer["code"].clone(),
        result: answer["resultCode"].clone(),
        active: answer["isActive"].clone(),
    }
}

/// Strings a caller might send: anything at all, control characters alone and inside
/// otherwise good values, values at and past every limit, and good values.
fn text() -> impl Strategy<Value = String> {
    let control = "[\\x00-\\x1f\\x7f]";
    prop_oneof![
        any::<String>(),
        proptest::string::string_regex(&format!("{control}{{1,3}}")).unwrap(),
        (
            prop::sample::select(vec![
                TOLVAN,
                "SE2321000016-1HZ3",
                "Provsvar",
                "https://forms.example/f",
                "20991231",
            ]),
            proptest::string::string_regex(control).unwrap(),
            0usize..12,
        )
            .prop_map(|(good, bad, at)| {
                let at = at.min(good.len());
                format!("{}{bad}{}", &good[..at], &good[at..])
            }),
        (
            prop::sample::select(vec![
                1usize, 12, 13, 64, 65, 255, 256, 2048, 2049, 100_000, 100_001,
            ]),
            prop::sample::select(vec!['x', '1', 'å', ' ', '\n', '\u{1F600}']),
        )
            .prop_map(|(length, c)| c.to_string().repeat(length)),
        Just(String::new()),
        Just(SARA.to_owned()),
        Just("20200101".to_owned()),
        Just("20240230".to_owned()),
        Just("javascript:alert(1)".to_owned()),
        Just("Rad ett\r\n\tRad två".to_owned()),
    ]
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

#[test]
fn add_message_refuses_alike_on_every_backend_and_stores_nothing_refused() {
    let runtime = runtime();
    let backends = runtime.block_on(Backend::all());
    let fields = prop::sample::select(MESSAGE_FIELDS.to_vec());
    let result = runner().run(&(fields, text()), |(field, value)| {
        let mut body = message(TOLVAN, "Provsvar", "Ditt värde var normalt.");
        body[field] = Value::String(value);
        runtime.block_on(async {
            let mut outcomes = Vec::new();
            for backend in &backends {
                let before = backend.messages().await;
                let outcome = call(backend, ADD_MESSAGE, &body).await;
                let after = backend.messages().await;
                let delivered = outcome.status == StatusCode::OK
                    && (outcome.result == "OK" || outcome.result == "INFO");
                let expected = if delivered { before + 1 } else { before };
                assert_eq!(after, expected, "{}: {field} {outcome:?}", backend.name);
                outcomes.push(outcome);
            }
            assert!(
                outcomes.windows(2).all(|pair| pair[0] == pair[1]),
                "{field}: {outcomes:?}"
            );
        });
        Ok(())
    });
    for backend in backends {
        drop(backend.portal);
        runtime.block_on(backend.database.cleanup());
    }
    result.unwrap();
}

#[test]
fn is_active_user_answers_alike_on_every_backend() {
    let runtime = runtime();
    let backends = runtime.block_on(Backend::all());
    let result = runner().run(&text(), |value| {
        let body = json!({"subjectOfCare": value, "unknown": ["ignored", {"a": 1}]});
        runtime.block_on(async {
            let mut outcomes = Vec::new();
            for backend in &backends {
                outcomes.push(call(backend, IS_ACTIVE_USER, &body).await);
            }
            assert!(
                outcomes.windows(2).all(|pair| pair[0] == pair[1]),
                "{outcomes:?}"
            );
        });
        Ok(())
    });
    for backend in backends {
        drop(backend.portal);
        runtime.block_on(backend.database.cleanup());
    }
    result.unwrap();
}

#[test]
fn a_control_character_is_refused_naming_its_field_and_a_body_keeps_its_line_breaks() {
    let runtime = runtime();
    let backends = runtime.block_on(Backend::all());
    runtime.block_on(async {
        for backend in &backends {
            for field in MESSAGE_FIELDS {
                let mut body = message(TOLVAN, "Provsvar", "Ditt värde var normalt.");
                body[field] = json!("a\u{0}b");
                let (status, answer) = backend.portal.post(ADD_MESSAGE, &body).await;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{}: {field}", backend.name);
                assert_eq!(answer["code"], "INVALID_REQUEST");
                let detail = answer["detail"].as_str().unwrap();
                assert!(
                    detail.contains(&format!("`{field}` contains a control character (U+0000)")),
                    "{}: {detail}",
                    backend.name
                );
            }
            let before = backend.messages().await;
            let kept = backend
                .portal
                .add_message(TOLVAN, "Provsvar", "Rad ett\r\n\tRad två")
                .await;
            assert_eq!(kept["resultCode"], "OK", "{}: {kept}", backend.name);
            assert_eq!(backend.messages().await, before + 1);
            let mut tab = message(TOLVAN, "Prov\tsvar", "Ditt värde var normalt.");
            let (status, _) = backend.portal.post(ADD_MESSAGE, &tab).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "a subject is no free text");
            tab["subject"] = json!("Provsvar");
            tab["unknown"] = json!({"a": ["b", 1, null]});
            let (status, answer) = backend.portal.post(ADD_MESSAGE, &tab).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "unknown members are ignored: {answer}"
            );
            // ... but carry no control character, in a name or a string (api.md §5).
            for unknown in [json!({"a\u{1}": "b"}), json!({"a": ["b\u{0}"]})] {
                tab["unknown"] = unknown;
                let before = backend.messages().await;
                let (status, answer) = backend.portal.post(ADD_MESSAGE, &tab).await;
                assert_eq!(
                    status,
                    StatusCode::BAD_REQUEST,
                    "{}: {answer}",
                    backend.name
                );
                assert!(
                    answer["detail"].as_str().unwrap().contains("`unknown."),
                    "{}: names the member: {answer}",
                    backend.name
                );
                assert_eq!(backend.messages().await, before);
            }
        }
    });
    for backend in backends {
        drop(backend.portal);
        runtime.block_on(backend.database.cleanup());
    }
}
