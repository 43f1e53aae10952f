//! Any string in any field (api.md §5): arbitrary text, control characters, surrounding
//! spaces and oversized values, one field at a time, into every string field of Update,
//! ProcessNotification, FindContent, GetUpdates and the subscriber PUT, on every backend at
//! once. Never a 5xx; the same status and code on SQLite and PostgreSQL; a control character
//! answers 400 naming the field (EI004 in the contracts); the answer is exactly what the
//! published document says of the field; a refusal stores nothing.

use crate::index_support;

use std::sync::LazyLock;

use common::testing::TestDatabase;
use http::{Method, StatusCode};
use index_support::{
    Answer, EI, FIND_CONTENT, GET_UPDATES, PROCESS_NOTIFICATION, TestIndex, UPDATE, config,
    engagement, notified, with,
};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use serde_json::{Value, json};

/// The committed OpenAPI document: what the server is held to.
static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/engagement-index.json"
    ))
    .expect("the committed document");
    serde_json::from_str(&text).expect("JSON")
});

fn schema_of(name: &str) -> &'static Value {
    &DOCUMENT["components"]["schemas"][name]
}

/// Whether a string schema (type, lengths, pattern) accepts `value`.
fn string_schema_accepts(schema: &Value, value: &str) -> bool {
    let length = value.chars().count();
    let types = &schema["type"];
    let is_string = types == "string"
        || types
            .as_array()
            .is_some_and(|t| t.contains(&json!("string")));
    assert!(is_string, "{schema}");
    schema["minLength"]
        .as_u64()
        .is_none_or(|min| length as u64 >= min)
        && schema["maxLength"]
            .as_u64()
            .is_none_or(|max| length as u64 <= max)
        && schema["pattern"].as_str().is_none_or(|pattern| {
            regex::Regex::new(pattern)
                .expect("an ECMA pattern the regex crate reads")
                .is_match(value)
        })
}

/// What one mutation does to a field's valid value.
#[derive(Clone, Debug)]
enum Mutation {
    Replace(String),
    InsertControl(usize, char),
    Oversize(usize),
    Surround(String),
}

impl Mutation {
    fn apply(&self, base: &str) -> String {
        match self {
            Self::Replace(value) => value.clone(),
            Self::InsertControl(at, c) => {
                let mut chars: Vec<char> = base.chars().collect();
                let at = at % (chars.len() + 1);
                chars.insert(at, *c);
                chars.into_iter().collect()
            }
            Self::Oversize(extra) => format!("{base}{}", "x".repeat(*extra)),
            Self::Surround(space) => format!("{space}{base}{space}"),
        }
    }
}

fn control() -> impl Strategy<Value = char> {
    prop_oneof![
        (0u32..0x20).prop_map(|c| char::from_u32(c).expect("a C0 character")),
        Just('\u{7f}'),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<String>().prop_map(Mutation::Replace),
        "[\\x00-\\x20\\x7f a-zA-Z0-9:\u{a0}]{0,14}".prop_map(Mutation::Replace),
        (any::<usize>(), control()).prop_map(|(at, c)| Mutation::InsertControl(at, c)),
        (1usize..300).prop_map(Mutation::Oversize),
        "[ \u{a0}]{1,2}".prop_map(Mutation::Surround),
    ]
}

/// Status and problem code: what must be the same on every backend.
fn outcome(answer: &Answer) -> (StatusCode, Option<String>) {
    (
        answer.status,
        answer.body["code"].as_str().map(str::to_owned),
    )
}

fn has_control(value: &str) -> bool {
    value.chars().any(|c| c < ' ' || c == '\u{7f}')
}

/// Runs `cases` cases of `strategy` against an index on every backend at once.
fn on_every_backend_at_once<S: Strategy>(
    cases: u32,
    strategy: S,
    check: impl Fn(&[TestIndex], S::Value) -> futures::future::BoxFuture<'_, Result<(), TestCaseError>>,
) {
    common::telemetry::init_for_tests();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let databases = runtime.block_on(TestDatabase::all());
    let indexes: Vec<TestIndex> = databases
        .iter()
        .map(|database| runtime.block_on(TestIndex::start(config(database), database.backend)))
        .collect();
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let outcome = runner.run(&strategy, |value| runtime.block_on(check(&indexes, value)));
    for database in databases {
        runtime.block_on(database.cleanup());
    }
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

/// Sends the same request to every index; checks what every refusal and acceptance must be.
async fn send_everywhere(
    indexes: &[TestIndex],
    method: &Method,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Result<Answer, TestCaseError> {
    let mut answers = Vec::new();
    for index in indexes {
        let answer = index.send(method.clone(), path, body, headers).await;
        prop_assert!(
            !answer.status.is_server_error(),
            "{}: {:?}",
            index.backend,
            answer.body
        );
        if answer.status.is_client_error() {
            prop_assert_eq!(
                &answer.headers[http::header::CONTENT_TYPE],
                "application/problem+json"
            );
        }
        answers.push(answer);
    }
    let first = outcome(&answers[0]);
    for (index, answer) in indexes.iter().zip(&answers) {
        prop_assert_eq!(&outcome(answer), &first, "{} differs", index.backend);
    }
    Ok(answers.swap_remove(0))
}

const ENGAGEMENT_FIELDS: [&str; 12] = [
    "registeredResidentIdentification",
    "serviceDomain",
    "categorization",
    "logicalAddress",
    "businessObjectInstanceIdentifier",
    "clinicalProcessInterestId",
    "mostRecentContent",
    "sourceSystem",
    "creationTime",
    "updateTime",
    "dataController",
    "owner",
];

fn times(engagement: &Value) -> Value {
    with(
        engagement,
        json!({"mostRecentContent": "20240101120000", "creationTime": "20240101120000",
            "updateTime": "20240101120000"}),
    )
}

/// A change request with one field of its one engagement mutated: the answer is what the
/// document's engagement schema says of that field, and a refusal stores and notifies nothing.
async fn check_change(
    indexes: &[TestIndex],
    contract: &str,
    field: &str,
    mutation: Mutation,
) -> Result<(), TestCaseError> {
    let (path, schema, base) = if contract == "Update" {
        let base = with(&times(&engagement(1)), json!({"owner": "someone"}));
        (UPDATE, "UpdateEngagement", base)
    } else {
        let base = times(&notified(&engagement(1), "REMOTE-EI"));
        (PROCESS_NOTIFICATION, "ProcessNotificationEngagement", base)
    };
    let value = mutation.apply(base[field].as_str().expect("a string field"));
    let sent = with(&base, json!({ field: value }));
    let body = json!({"engagementTransaction": [{"deleteFlag": false, "engagement": sent}]});
    let answer = send_everywhere(
        indexes,
        &Method::POST,
        path,
        Some(&body),
        &[("x-rivta-logical-address", EI)],
    )
    .await?;
    let expected = string_schema_accepts(&schema_of(schema)["properties"][field], &value);
    prop_assert_eq!(
        answer.status == StatusCode::OK,
        expected,
        "{} {:?}: {:?}",
        field,
        value,
        answer.body
    );
    if has_control(&value) {
        prop_assert_eq!(
            &answer.body["detail"],
            &json!(format!(
                "EI004: The payload does not validate, error message: Field \"{field}\" contains a control character"
            ))
        );
    }
    for index in indexes {
        if answer.status != StatusCode::OK {
            prop_assert_eq!(index.stored_count().await, 0, "{}", index.backend);
            prop_assert!(index.outbox().await.is_empty(), "{}", index.backend);
        }
        index.clear().await;
    }
    Ok(())
}

#[test]
fn any_string_in_any_update_field() {
    on_every_backend_at_once(
        96,
        (prop::sample::select(&ENGAGEMENT_FIELDS[..]), mutation()),
        |indexes, (field, mutation)| Box::pin(check_change(indexes, "Update", field, mutation)),
    );
}

#[test]
fn any_string_in_any_process_notification_field() {
    on_every_backend_at_once(
        96,
        (prop::sample::select(&ENGAGEMENT_FIELDS[..]), mutation()),
        |indexes, (field, mutation)| {
            Box::pin(check_change(
                indexes,
                "ProcessNotification",
                field,
                mutation,
            ))
        },
    );
}

/// A read with one field mutated: the answer is what the document's request schema says.
async fn check_read(
    indexes: &[TestIndex],
    path: &str,
    schema: &str,
    base: Value,
    field: &str,
    mutation: Mutation,
) -> Result<(), TestCaseError> {
    let value = mutation.apply(base[field].as_str().expect("a string field"));
    let body = with(&base, json!({ field: value }));
    let answer = send_everywhere(indexes, &Method::POST, path, Some(&body), &[]).await?;
    let expected = string_schema_accepts(&schema_of(schema)["properties"][field], &value);
    prop_assert_eq!(
        answer.status == StatusCode::OK,
        expected,
        "{} {:?}: {:?}",
        field,
        value,
        answer.body
    );
    if has_control(&value) {
        prop_assert_eq!(
            &answer.body["detail"],
            &json!(format!(
                "EI004: The payload does not validate, error message: Field \"{field}\" contains a control character"
            ))
        );
    }
    Ok(())
}

const FIND_CONTENT_FIELDS: [&str; 10] = [
    "registeredResidentIdentification",
    "serviceDomain",
    "categorization",
    "logicalAddress",
    "businessObjectInstanceIdentifier",
    "clinicalProcessInterestId",
    "mostRecentContent",
    "sourceSystem",
    "dataController",
    "owner",
];

#[test]
fn any_string_in_any_find_content_field() {
    let base = with(&times(&engagement(1)), json!({"owner": EI}));
    let base = with(&base, json!({"creationTime": null, "updateTime": null}));
    on_every_backend_at_once(
        64,
        (prop::sample::select(&FIND_CONTENT_FIELDS[..]), mutation()),
        move |indexes, (field, mutation)| {
            Box::pin(check_read(
                indexes,
                FIND_CONTENT,
                "FindContentRequest",
                base.clone(),
                field,
                mutation,
            ))
        },
    );
}

#[test]
fn any_string_in_any_get_updates_field() {
    let base = json!({"serviceDomain": "TEST-DOMAIN", "timeStamp": "20240101120000",
        "registeredResidentLastFetched": "191212120001"});
    on_every_backend_at_once(
        48,
        (
            prop::sample::select(
                &[
                    "serviceDomain",
                    "timeStamp",
                    "registeredResidentLastFetched",
                ][..],
            ),
            mutation(),
        ),
        move |indexes, (field, mutation)| {
            Box::pin(check_read(
                indexes,
                GET_UPDATES,
                "GetUpdatesRequest",
                base.clone(),
                field,
                mutation,
            ))
        },
    );
}

/// Percent-encodes everything but unreserved characters, as a client puts a value in a path.
fn path_segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

const SUBSCRIBER_FIELDS: [&str; 4] = [
    "logicalAddress",
    "url",
    "filter.serviceDomain",
    "filter.categorization",
];

async fn check_subscriber(
    indexes: &[TestIndex],
    field: &str,
    mutation: Mutation,
) -> Result<(), TestCaseError> {
    let mut address = String::from("SUB-A");
    let mut url = String::from("http://receiver.example/notify");
    let mut domain = String::from("TEST-DOMAIN");
    let mut category = String::from("TEST-CATEGORY");
    let target = match field {
        "logicalAddress" => &mut address,
        "url" => &mut url,
        "filter.serviceDomain" => &mut domain,
        _ => &mut category,
    };
    *target = mutation.apply(target);
    let value = target.clone();
    let body = json!({"url": url, "delivery": "push",
        "filter": [{"serviceDomain": domain, "categorization": [category]}]});
    let path = format!("/admin/subscribers/{}", path_segment(&address));
    let answer = send_everywhere(indexes, &Method::PUT, &path, Some(&body), &[]).await?;
    let document = &*DOCUMENT;
    let request = &schema_of("SubscriberRequest")["allOf"];
    let filter = &schema_of("SubscriberFilter")["properties"];
    let expected = match field {
        "logicalAddress" => string_schema_accepts(
            &document["paths"]["/admin/subscribers/{logicalAddress}"]["put"]["parameters"][0]["schema"],
            &value,
        ),
        "url" => {
            string_schema_accepts(&request[0]["properties"]["url"], &value)
                && string_schema_accepts(&request[1]["anyOf"][1]["properties"]["url"], &value)
        }
        "filter.serviceDomain" => string_schema_accepts(&filter["serviceDomain"], &value),
        _ => string_schema_accepts(&filter["categorization"]["items"], &value),
    };
    prop_assert_eq!(
        answer.status.is_success(),
        expected,
        "{} {:?}: {:?}",
        field,
        value,
        answer.body
    );
    if has_control(&value) {
        prop_assert_eq!(&answer.body["code"], "INVALID_REQUEST");
    }
    for index in indexes {
        let listed = index
            .send(Method::GET, "/admin/subscribers", None, &[])
            .await;
        let count = listed.body["subscribers"].as_array().map_or(0, Vec::len);
        prop_assert_eq!(
            count,
            usize::from(answer.status.is_success()),
            "{}",
            index.backend
        );
        if answer.status.is_success() {
            let removed = index.send(Method::DELETE, &path, None, &[]).await;
            prop_assert_eq!(removed.status, StatusCode::NO_CONTENT);
        }
    }
    Ok(())
}

#[test]
fn any_string_in_any_subscriber_field() {
    on_every_backend_at_once(
        64,
        (prop::sample::select(&SUBSCRIBER_FIELDS[..]), mutation()),
        |indexes, (field, mutation)| Box::pin(check_subscriber(indexes, field, mutation)),
    );
}
