//! The migration endpoints of the engagement index and the form engine over HTTP, on SQLite
//! and (with `TEST_DATABASE_URL`) PostgreSQL: each entity migrated into a staging installation,
//! a batch sent again unchanged, bad records refused with their reasons without stopping the
//! batch, 401 without or with a wrong key, 409 once operational, the export in natural-key
//! order and the digest over what was migrated, and after the switch the public contracts
//! answering exactly what was migrated; the load notifies no one. (The 100 000-engagement
//! rehearsal is in `migration_rehearsal`.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::config::{DatabaseConfig, HttpConfig};
use common::installation::{InstallationConfig, InstallationMode};
use common::migration::EntityDigest;
use common::shutdown::Shutdown;
use common::testing::TestDatabase;
use serde_json::{Value, json};

struct Running {
    base: String,
    shutdown: Shutdown,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub(super) fn staging() -> InstallationConfig {
    InstallationConfig {
        initial_mode: InstallationMode::Staging,
        ..InstallationConfig::default()
    }
}

async fn start_index(database: DatabaseConfig) -> Running {
    let shutdown = Shutdown::new();
    let app = engagement_index::Application::build(engagement_index::Config {
        http: HttpConfig::with_port(0),
        database,
        installation: staging(),
        ..engagement_index::Config::default()
    })
    .await
    .unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    Running { base, shutdown }
}

async fn start_engine(database: DatabaseConfig, installation: InstallationConfig) -> Running {
    let shutdown = Shutdown::new();
    let app = form_engine::Application::build(form_engine::Config {
        http: HttpConfig::with_port(0),
        database,
        installation,
        ..form_engine::Config::default()
    })
    .await
    .unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    Running { base, shutdown }
}

pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: Value,
    pub(super) text: String,
}

pub(super) async fn call(
    base: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    key: Option<&str>,
) -> Answer {
    let client = common::testing::http();
    let method = http::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client.request(method, format!("{base}{path}"));
    if let Some(body) = body {
        request = request.json(body);
    }
    if let Some(key) = key {
        request = request.header("authorization", format!("Migration {key}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer { status, body, text }
}

pub(super) async fn new_key(base: &str) -> String {
    let created = call(
        base,
        "POST",
        "/admin/installation/migration-keys",
        None,
        None,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["key"].as_str().unwrap().to_owned()
}

fn digest_of(records: &[Value]) -> String {
    let mut digest = EntityDigest::default();
    for record in records {
        digest.add(record);
    }
    digest.finish()
}

/// The NDJSON lines of an export.
pub(super) async fn export(base: &str, entity: &str) -> Vec<Value> {
    let answer = call(base, "GET", &format!("/admin/export/{entity}"), None, None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer
        .text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

pub(super) fn post_of(resident: &str, object: &str, owner: &str) -> Value {
    json!({"registeredResidentIdentification": resident, "serviceDomain": "riv:crm:scheduling",
           "categorization": "booking", "logicalAddress": "SE2321000016-1HZ3",
           "businessObjectInstanceIdentifier": object, "clinicalProcessInterestId": "NA",
           "mostRecentContent": "20240115120000", "sourceSystem": "SE2321000016-BK01",
           "creationTime": "20240115120003", "updateTime": "20240116080000",
           "dataController": "SE2321000016-1HZ3", "owner": owner})
}

/// The engagement index's order: the nine key fields in the primary key's column order.
fn index_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    let fields = [
        "registeredResidentIdentification",
        "serviceDomain",
        "categorization",
        "logicalAddress",
        "businessObjectInstanceIdentifier",
        "clinicalProcessInterestId",
        "sourceSystem",
        "dataController",
        "owner",
    ];
    let key = |v: &Value| -> Vec<String> {
        fields
            .iter()
            .map(|f| v[f].as_str().unwrap().to_owned())
            .collect()
    };
    key(a).cmp(&key(b))
}

/// A subscriber's endpoint that counts what it is sent.
async fn counting_receiver() -> (String, Arc<AtomicUsize>) {
    let received = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&received);
    let app = axum::Router::new().fallback(move || {
        let counter = Arc::clone(&counter);
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            axum::Json(json!({"ResultCode": "OK"}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test]
async fn the_index_takes_engagements_subscribers_and_grants_and_answers_them_after_the_switch() {
    for database in TestDatabase::all().await {
        let context = database.backend;
        let index = start_index(database.config.clone()).await;
        let base = index.base.as_str();
        let (receiver, received) = counting_receiver().await;

        // Without a key, or with a wrong one: 401.
        let batch = json!({"records": [post_of("191212121212", "b-1", "SE0000000002-EI02")]});
        let refused = call(
            base,
            "POST",
            "/migration/v1/engagements",
            Some(&batch),
            None,
        )
        .await;
        assert_eq!(refused.status, 401, "{context}: {}", refused.body);
        assert_eq!(refused.body["code"], "MIGRATION_KEY_REFUSED", "{context}");
        let key = new_key(base).await;
        let last = if key.ends_with('A') { 'B' } else { 'A' };
        let wrong = format!("{}{last}", &key[..key.len() - 1]);
        let refused = call(
            base,
            "POST",
            "/migration/v1/engagements",
            Some(&batch),
            Some(&wrong),
        )
        .await;
        assert_eq!(refused.status, 401, "{context}: {}", refused.body);

        // Subscribers first, so a notification of the load would reach one.
        let subscribers = json!({"records": [
            {"logicalAddress": "SE2321000016-CS01", "url": receiver, "delivery": "push", "filter": []},
            {"logicalAddress": "SE2321000016-CS02", "delivery": "pull",
             "filter": [{"serviceDomain": "riv:crm:scheduling", "categorization": ["booking"]}]},
            {"logicalAddress": "SE2321000016-CS03", "delivery": "push", "filter": []},
            {"logicalAddress": "SE2321000016-CS04", "delivery": "pull", "filter": [], "colour": "red"}
        ]});
        let answer = call(
            base,
            "POST",
            "/migration/v1/subscribers",
            Some(&subscribers),
            Some(&key),
        )
        .await;
        assert_eq!(answer.status, 200, "{context}: {}", answer.body);
        assert_eq!(answer.body["accepted"], 2, "{context}: {}", answer.body);
        let rejected = answer.body["rejected"].as_array().unwrap();
        assert_eq!(rejected.len(), 2, "{context}: {}", answer.body);
        assert_eq!(rejected[0]["index"], 2);
        assert_eq!(rejected[0]["key"], "SE2321000016-CS03");
        assert_eq!(rejected[0]["problem"]["code"], "INVALID_SUBSCRIBER");
        assert_eq!(rejected[1]["problem"]["code"], "INVALID_RECORD");
        assert!(rejected[1]["reason"].as_str().unwrap().contains("colour"));

        // Engagements: good ones written, bad ones named with ProcessNotification's reason.
        let own = "SE0000000001-EI01";
        let mut good = vec![
            post_of("191212121212", "b-1", "SE0000000002-EI02"),
            post_of("191212121212", "b-2", own),
            post_of("191212121212", "b-3", own),
            post_of("201212121212", "b-1", own),
        ];
        // A post that never changed: no updateTime, and none answered.
        good[2].as_object_mut().unwrap().remove("updateTime");
        good[3].as_object_mut().unwrap().remove("mostRecentContent");
        let mut no_owner = post_of("191212121212", "b-4", own);
        no_owner.as_object_mut().unwrap().remove("owner");
        let mut bad_time = post_of("191212121212", "b-5", own);
        bad_time["creationTime"] = json!("2024-01-15 12:00:03");
        let records = vec![
            good[0].clone(),
            no_owner,
            good[1].clone(),
            bad_time,
            good[2].clone(),
            good[3].clone(),
            good[1].clone(),
        ];
        let batch = json!({"records": records});
        let answer = call(
            base,
            "POST",
            "/migration/v1/engagements",
            Some(&batch),
            Some(&key),
        )
        .await;
        assert_eq!(answer.status, 200, "{context}: {}", answer.body);
        assert_eq!(answer.body["accepted"], 4, "{context}: {}", answer.body);
        assert_eq!(answer.body["unchanged"], 0, "{context}");
        let rejected = answer.body["rejected"].as_array().unwrap();
        let indexes: Vec<u64> = rejected
            .iter()
            .map(|r| r["index"].as_u64().unwrap())
            .collect();
        assert_eq!(indexes, [1, 3, 6], "{context}: {}", answer.body);
        assert_eq!(
            rejected[0]["problem"]["code"], "EI004",
            "{context}: {}",
            rejected[0]
        );
        assert!(rejected[0]["reason"].as_str().unwrap().contains("owner"));
        assert_eq!(
            rejected[0]["key"],
            "191212121212|riv:crm:scheduling|booking|SE2321000016-1HZ3|b-4|SE2321000016-BK01|SE2321000016-1HZ3|NA|"
        );
        assert_eq!(rejected[1]["problem"]["code"], "EI004", "{context}");
        assert!(
            rejected[1]["reason"]
                .as_str()
                .unwrap()
                .contains("creationTime")
        );
        assert_eq!(rejected[2]["problem"]["code"], "DUPLICATE_KEY", "{context}");

        // The same batch again changes nothing; one changed post is written again.
        let again = call(
            base,
            "POST",
            "/migration/v1/engagements",
            Some(&batch),
            Some(&key),
        )
        .await;
        assert_eq!(again.body["accepted"], 0, "{context}: {}", again.body);
        assert_eq!(again.body["unchanged"], 4, "{context}: {}", again.body);
        good[0]["mostRecentContent"] = json!("20240301090000");
        let changed = json!({"records": good});
        let answer = call(
            base,
            "POST",
            "/migration/v1/engagements",
            Some(&changed),
            Some(&key),
        )
        .await;
        assert_eq!(answer.body["accepted"], 1, "{context}: {}", answer.body);
        assert_eq!(answer.body["unchanged"], 3, "{context}: {}", answer.body);

        // Grants: this service's, checked as the admin API checks them.
        let grants = json!({"records": [
            {"service": "engagement-index", "caller": "SE2321000016-CS01", "role": "reader",
             "scope": "riv:crm:scheduling", "createdAt": "2026-01-10T09:00:00Z"},
            {"caller": "SE2321000016-CS02", "role": "source_system", "scope": "SE2321000016-BK01",
             "createdAt": "2026-01-10T09:00:00.250Z"},
            {"service": "form-engine", "caller": "SE2321000016-CS01", "role": "care_system",
             "scope": "*", "createdAt": "2026-01-10T09:00:00Z"},
            {"caller": "SE2321000016-CS01", "role": "king", "scope": "*",
             "createdAt": "2026-01-10T09:00:00Z"},
            {"caller": "SE2321000016-CS01", "role": "admin", "scope": "*",
             "createdAt": "2026-01-10T10:00:00+01:00"}
        ]});
        let answer = call(
            base,
            "POST",
            "/migration/v1/grants",
            Some(&grants),
            Some(&key),
        )
        .await;
        assert_eq!(answer.body["accepted"], 2, "{context}: {}", answer.body);
        let codes: Vec<&str> = answer.body["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["problem"]["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            ["WRONG_SERVICE", "INVALID_PERMISSION", "INVALID_RECORD"],
            "{context}"
        );
        let again = call(
            base,
            "POST",
            "/migration/v1/grants",
            Some(&grants),
            Some(&key),
        )
        .await;
        assert_eq!(again.body["unchanged"], 2, "{context}: {}", again.body);

        // The export: what was migrated, in key order; the digest over the same.
        let mut expected = good.clone();
        expected.sort_by(index_order);
        let exported = export(base, "engagements").await;
        assert_eq!(exported, expected, "{context}");
        let digest = call(
            base,
            "GET",
            "/migration/v1/digest/engagements",
            None,
            Some(&key),
        )
        .await;
        assert_eq!(digest.status, 200, "{context}: {}", digest.body);
        assert_eq!(digest.body["count"], 4, "{context}");
        assert_eq!(digest.body["digest"], digest_of(&good), "{context}");
        let exported_subscribers = export(base, "subscribers").await;
        assert_eq!(
            exported_subscribers,
            [
                json!({"logicalAddress": "SE2321000016-CS01", "url": receiver, "delivery": "push", "filter": []}),
                json!({"logicalAddress": "SE2321000016-CS02", "delivery": "pull",
                       "filter": [{"serviceDomain": "riv:crm:scheduling", "categorization": ["booking"]}]}),
            ],
            "{context}"
        );
        let exported_grants = export(base, "grants").await;
        assert_eq!(
            exported_grants,
            [
                json!({"caller": "SE2321000016-CS01", "role": "reader", "scope": "riv:crm:scheduling",
                       "createdAt": "2026-01-10T09:00:00Z"}),
                json!({"caller": "SE2321000016-CS02", "role": "source_system", "scope": "SE2321000016-BK01",
                       "createdAt": "2026-01-10T09:00:00.250Z"}),
            ],
            "{context}"
        );
        let digest = call(base, "GET", "/migration/v1/digest/grants", None, Some(&key)).await;
        assert_eq!(
            digest.body["digest"],
            digest_of(&exported_grants),
            "{context}"
        );
        // Each export is audited.
        let audited = call(base, "GET", "/admin/audit/by-caller/anonymous", None, None).await;
        let exports = audited.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "MigrationExport")
            .count();
        assert_eq!(exports, 3, "{context}: {}", audited.body);

        // Progress per entity.
        let installation = call(base, "GET", "/admin/installation", None, None).await;
        let entities = installation.body["migration"]["entities"].to_string();
        assert!(entities.contains("engagements"), "{context}: {entities}");
        assert!(entities.contains("subscribers"), "{context}: {entities}");

        // The switch: migration closed (409), the contracts answer what was migrated.
        let switched = call(
            base,
            "POST",
            "/admin/installation/switch-to-operational",
            None,
            None,
        )
        .await;
        assert_eq!(switched.status, 200, "{context}: {}", switched.body);
        let closed = call(
            base,
            "POST",
            "/migration/v1/engagements",
            Some(&batch),
            Some(&key),
        )
        .await;
        assert_eq!(closed.status, 409, "{context}: {}", closed.body);
        assert_eq!(closed.body["code"], "INSTALLATION_OPERATIONAL", "{context}");
        let found = call(
            base,
            "POST",
            "/engagementindex/v1/FindContent",
            Some(&json!({"registeredResidentIdentification": "191212121212",
                         "serviceDomain": "riv:crm:scheduling"})),
            None,
        )
        .await;
        assert_eq!(found.status, 200, "{context}: {}", found.body);
        let mut answered = found.body["engagement"].as_array().unwrap().clone();
        answered.sort_by(index_order);
        let mut migrated: Vec<Value> = good[..3].to_vec();
        migrated.sort_by(index_order);
        assert_eq!(answered, migrated, "{context}");
        let shown = call(
            base,
            "GET",
            "/admin/subscribers/SE2321000016-CS02",
            None,
            None,
        )
        .await;
        assert_eq!(shown.body["delivery"], "pull", "{context}: {}", shown.body);
        assert_eq!(shown.body["pending"], 0, "{context}: {}", shown.body);
        // The digest as an admin once the key is revoked.
        let digest = call(base, "GET", "/migration/v1/digest/engagements", None, None).await;
        assert_eq!(digest.body["digest"], digest_of(&good), "{context}");

        // Nothing of the load was notified.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(received.load(Ordering::SeqCst), 0, "{context}");
        let pushed = call(
            base,
            "GET",
            "/admin/subscribers/SE2321000016-CS01",
            None,
            None,
        )
        .await;
        assert_eq!(pushed.body["pending"], 0, "{context}: {}", pushed.body);
        drop(index);
        database.cleanup().await;
    }
}

/// 100 000 engagements in ten batches of 10 000, four at a time: seconds, not minutes.
pub(super) const CARE_UNIT: &str = "SE0000000001-CU01";
pub(super) const TOLVAN: &str = "191212121212";
pub(super) const LENA: &str = "199001012385";

pub(super) async fn contract(
    base: &str,
    name: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> Value {
    let mut request = common::testing::http()
        .post(format!("{base}/forminteraction/v2/{name}"))
        .json(body);
    for (header, value) in headers {
        request = request.header(*header, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{name}: {body}");
    body
}

pub(super) fn form_request(subject: &str) -> Value {
    let today = common::riv_time::today_in_sweden();
    let later = |days| common::riv_time::format_date(today + chrono::Days::new(days));
    json!({"healthcare_Facility_CareUnit": CARE_UNIT, "healthcare_systemID": "SE0000000001-CS01",
           "subjectOfCare": subject, "templateId": "HALSA-1",
           "formText": "Hälsodeklaration inför din operation",
           "expireDate": later(30), "keepUntil": later(365)})
}

pub(super) async fn save_page(base: &str, form: &str, subject: &str, page: u32, blocks: Value) {
    let body = contract(
        base,
        "SaveFormPage",
        &json!({"formId": form, "subjectOfCare": subject, "temporarySave": false,
                "pageAnswers": {"pageNumber": page, "questionAnswerBlocks": blocks}}),
        &[],
    )
    .await;
    assert_eq!(body["resultCode"], "OK", "page {page}: {body}");
}

/// Answers every page of the example template on the path 1, 2, 4.
pub(super) async fn answer_every_page(base: &str, form: &str, subject: &str) {
    save_page(base, form, subject, 1, json!([
        {"blockNumber": 1, "answers": [{"valueID": "height", "value": 180}, {"valueID": "weight", "value": 80.5}]},
        {"blockNumber": 2, "answers": [{"valueID": "smoker", "value": 1}, {"valueID": "cigarettes", "value": 10}]}])).await;
    save_page(base, form, subject, 2, json!([{"blockNumber": 1, "answers": [
        {"valueID": "conditions", "value": [2]}, {"valueID": "conditionDetails", "value": "Typ 2, tabletter."},
        {"valueID": "drugAllergy", "value": 2}]}])).await;
    save_page(base, form, subject, 4, json!([{"blockNumber": 1, "answers": [
        {"valueID": "pain", "value": 3}, {"valueID": "interpreter", "value": 1},
        {"valueID": "interpreterLanguage", "value": "Arabiska"}, {"valueID": "preferredDate", "value": "20260301"}]}])).await;
}

/// A source engine in use: a template in two versions, forms in every status (one request made
/// with an Idempotency-Key), exported and migrated into a staging engine, which then answers
/// the contracts exactly as the source does.
#[tokio::test]
async fn the_engine_takes_templates_forms_and_grants_and_answers_them_after_the_switch() {
    let sources = TestDatabase::all().await;
    let targets = TestDatabase::all().await;
    for (source_database, target_database) in sources.into_iter().zip(targets) {
        let context = target_database.backend;
        let source = start_engine(
            source_database.config.clone(),
            InstallationConfig::default(),
        )
        .await;
        let target = start_engine(target_database.config.clone(), staging()).await;
        let (from, to) = (source.base.as_str(), target.base.as_str());

        // The source's data.
        let template = form_engine::demo::health_declaration_json();
        let saved = contract(
            from,
            "SaveFormTemplate",
            &json!({"formTemplate": template}),
            &[],
        )
        .await;
        assert_ne!(saved["ResultCode"], "ERROR", "{saved}");
        let mut draft = template.clone();
        draft["formName"] = json!("Hälsodeklaration, ny version");
        draft["publishStatus"] = json!("Unpublished");
        draft.as_object_mut().unwrap().remove("templateVersion");
        let saved = contract(
            from,
            "SaveFormTemplate",
            &json!({"formTemplate": draft}),
            &[],
        )
        .await;
        assert_ne!(saved["ResultCode"], "ERROR", "{saved}");
        let created = contract(
            from,
            "CreateFormRequest",
            &json!({"formRequests": [form_request(TOLVAN), form_request(LENA)]}),
            &[("Idempotency-Key", "order-4711")],
        )
        .await;
        let id = |n: usize| {
            created["formRequestResponses"][n]["formId"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let (completed, ongoing) = (id(0), id(1));
        let more = contract(
            from,
            "CreateFormRequest",
            &json!({"formRequests": [form_request(TOLVAN), form_request(TOLVAN)]}),
            &[],
        )
        .await;
        let pending = more["formRequestResponses"][0]["formId"]
            .as_str()
            .unwrap()
            .to_owned();
        answer_every_page(from, &completed, TOLVAN).await;
        contract(
            from,
            "SaveForm",
            &json!({"formId": completed, "subjectOfCare": TOLVAN}),
            &[],
        )
        .await;
        answer_every_page(from, &pending, TOLVAN).await;
        save_page(from, &ongoing, LENA, 1, json!([
            {"blockNumber": 1, "answers": [{"valueID": "height", "value": 165}, {"valueID": "weight", "value": 60}]},
            {"blockNumber": 2, "answers": [{"valueID": "smoker", "value": 2}]}])).await;

        let templates = export(from, "templates").await;
        let forms = export(from, "forms").await;
        assert_eq!(templates.len(), 2, "{context}");
        assert_eq!(forms.len(), 4, "{context}");
        let statuses: std::collections::BTreeSet<&str> = forms
            .iter()
            .map(|f| f["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses.len(), 3, "{context}: {statuses:?}");
        let with_key = forms
            .iter()
            .filter(|f| f.get("idempotencyRecords").is_some())
            .count();
        assert_eq!(
            with_key, 2,
            "{context}: the two forms of the request with a key"
        );

        // Without a key: 401. Forms before their template: TEMPLATE_NOT_FOUND.
        let batch = json!({"records": templates});
        let refused = call(to, "POST", "/migration/v1/templates", Some(&batch), None).await;
        assert_eq!(refused.status, 401, "{context}: {}", refused.body);
        let key = new_key(to).await;
        let early = call(
            to,
            "POST",
            "/migration/v1/forms",
            Some(&json!({"records": [forms[0]]})),
            Some(&key),
        )
        .await;
        assert_eq!(
            early.body["rejected"][0]["problem"]["code"], "TEMPLATE_NOT_FOUND",
            "{context}: {}",
            early.body
        );

        // Templates, with a bad one that does not stop the batch.
        let mut broken = templates[0].clone();
        broken["version"] = json!(7);
        broken["template"]["templateVersion"] = json!(7);
        broken["template"]["pages"] = json!([]);
        let mut records = templates.clone();
        records.insert(1, broken);
        let answer = call(
            to,
            "POST",
            "/migration/v1/templates",
            Some(&json!({"records": records})),
            Some(&key),
        )
        .await;
        assert_eq!(answer.body["accepted"], 2, "{context}: {}", answer.body);
        assert_eq!(
            answer.body["rejected"][0]["index"], 1,
            "{context}: {}",
            answer.body
        );
        assert_eq!(answer.body["rejected"][0]["key"], "HALSA-1|7", "{context}");
        assert_eq!(
            answer.body["rejected"][0]["problem"]["code"], "INVALID_TEMPLATE",
            "{context}: {}",
            answer.body
        );

        // Forms, with bad ones named.
        let mut records = forms.clone();
        let mut no_subject = forms[0].clone();
        no_subject["formId"] = json!("00000000-0000-4000-8000-000000000001");
        no_subject.as_object_mut().unwrap().remove("subjectOfCare");
        let mut unknown_version = forms[0].clone();
        unknown_version["formId"] = json!("00000000-0000-4000-8000-000000000002");
        unknown_version["templateVersion"] = json!(9);
        let ongoing_record = forms
            .iter()
            .find(|f| f["formId"] == json!(ongoing))
            .unwrap();
        let mut sent_unanswered = ongoing_record.clone();
        sent_unanswered["formId"] = json!("00000000-0000-4000-8000-000000000003");
        sent_unanswered["status"] = json!("COMPLETED");
        let mut bad_time = forms[0].clone();
        bad_time["formId"] = json!("00000000-0000-4000-8000-000000000004");
        bad_time["createdAt"] = json!("2026-12-04 08:00:00");
        records.extend([no_subject, unknown_version, sent_unanswered, bad_time]);
        let answer = call(
            to,
            "POST",
            "/migration/v1/forms",
            Some(&json!({"records": records})),
            Some(&key),
        )
        .await;
        assert_eq!(answer.status, 200, "{context}: {}", answer.body);
        assert_eq!(answer.body["accepted"], 4, "{context}: {}", answer.body);
        let codes: Vec<(u64, &str)> = answer.body["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["index"].as_u64().unwrap(),
                    r["problem"]["code"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            codes,
            [
                (4, "INVALID_REQUEST"),
                (5, "TEMPLATE_NOT_FOUND"),
                (6, "ANSWERS_DO_NOT_FIT_PAGE"),
                (7, "INVALID_RECORD")
            ],
            "{context}: {}",
            answer.body
        );
        let again = call(
            to,
            "POST",
            "/migration/v1/forms",
            Some(&json!({"records": forms})),
            Some(&key),
        )
        .await;
        assert_eq!(again.body["unchanged"], 4, "{context}: {}", again.body);
        assert_eq!(again.body["accepted"], 0, "{context}: {}", again.body);
        let grants = json!({"records": [{"service": "form-engine", "caller": "SE0000000001-CS01",
            "role": "care_system", "scope": CARE_UNIT, "createdAt": "2026-01-10T09:00:00Z"}]});
        let answer = call(
            to,
            "POST",
            "/migration/v1/grants",
            Some(&grants),
            Some(&key),
        )
        .await;
        assert_eq!(answer.body["accepted"], 1, "{context}: {}", answer.body);

        // The target holds what the source does: the same export, byte for byte, and digests.
        for entity in ["templates", "forms"] {
            let path = format!("/admin/export/{entity}");
            let source_text = call(from, "GET", &path, None, None).await.text;
            let target_text = call(to, "GET", &path, None, None).await.text;
            assert_eq!(source_text, target_text, "{context}: {entity}");
            let digest = format!("/migration/v1/digest/{entity}");
            let source_digest = call(from, "GET", &digest, None, None).await.body;
            let target_digest = call(to, "GET", &digest, None, Some(&key)).await.body;
            assert_eq!(source_digest, target_digest, "{context}: {entity}");
        }

        // Nothing was posted to the index.
        let outbox = call(to, "GET", "/admin/engagement-index", None, None).await;
        assert_eq!(outbox.status, 200, "{context}: {}", outbox.body);
        assert!(
            outbox.body["queue"].is_null() || outbox.body["queue"]["pending"] == 0,
            "{context}: {}",
            outbox.body
        );

        // After the switch the contracts answer as the source's do.
        let switched = call(
            to,
            "POST",
            "/admin/installation/switch-to-operational",
            None,
            None,
        )
        .await;
        assert_eq!(switched.status, 200, "{context}: {}", switched.body);
        let closed = call(
            to,
            "POST",
            "/migration/v1/forms",
            Some(&json!({"records": forms})),
            Some(&key),
        )
        .await;
        assert_eq!(closed.status, 409, "{context}: {}", closed.body);
        for (form, subject) in [(&completed, TOLVAN), (&ongoing, LENA), (&pending, TOLVAN)] {
            let ask = json!({"formId": form, "subjectOfCare": subject});
            assert_eq!(
                contract(to, "GetForm", &ask, &[]).await,
                contract(from, "GetForm", &ask, &[]).await,
                "{context}: GetForm {form}"
            );
        }
        let ask = json!({"healthcare_Facility_CareUnit": CARE_UNIT});
        assert_eq!(
            contract(to, "GetForms", &ask, &[]).await,
            contract(from, "GetForms", &ask, &[]).await,
            "{context}"
        );
        let ask = json!({"healthcare_facility_CareUnit": CARE_UNIT, "templateId": "HALSA-1"});
        assert_eq!(
            contract(to, "GetFormTemplate", &ask, &[]).await,
            contract(from, "GetFormTemplate", &ask, &[]).await,
            "{context}"
        );
        // A retried request with the same Idempotency-Key gets the source's answer.
        let retried = contract(
            to,
            "CreateFormRequest",
            &json!({"formRequests": [form_request(TOLVAN), form_request(LENA)]}),
            &[("Idempotency-Key", "order-4711")],
        )
        .await;
        assert_eq!(retried, created, "{context}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let outbox = call(to, "GET", "/admin/engagement-index", None, None).await;
        assert!(
            outbox.body["queue"].is_null() || outbox.body["queue"]["pending"] == 0,
            "{context}: {}",
            outbox.body
        );
        drop((source, target));
        source_database.cleanup().await;
        target_database.cleanup().await;
    }
}

/// A system: a form engine posting to its engagement index.
pub(super) struct System {
    pub(super) form_engine: String,
    pub(super) engagement_index: String,
    shutdown: Shutdown,
}

impl Drop for System {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub(super) async fn start_system(
    engine_db: &TestDatabase,
    index_db: &TestDatabase,
    installation: InstallationConfig,
) -> System {
    let shutdown = Shutdown::new();
    let index = engagement_index::Application::build(engagement_index::Config {
        http: HttpConfig::with_port(0),
        database: index_db.config.clone(),
        installation: installation.clone(),
        ..engagement_index::Config::default()
    })
    .await
    .unwrap();
    let engagement_index = format!("http://{}", index.local_addr());
    tokio::spawn(index.run_until_stopped(shutdown.clone()));
    let engine = form_engine::Application::build(form_engine::Config {
        http: HttpConfig::with_port(0),
        database: engine_db.config.clone(),
        installation,
        engagement_index_url: engagement_index.clone(),
        ..form_engine::Config::default()
    })
    .await
    .unwrap();
    let form_engine = format!("http://{}", engine.local_addr());
    tokio::spawn(engine.run_until_stopped(shutdown.clone()));
    System {
        form_engine,
        engagement_index,
        shutdown,
    }
}

pub(super) fn parsed<T: clap::Args + clap::FromArgMatches>(arguments: &[&str]) -> T {
    let command = T::augment_args(clap::Command::new("nordform"));
    let matches = command.try_get_matches_from(arguments).unwrap();
    T::from_arg_matches(&matches).unwrap()
}

pub(super) async fn export_system(
    system: &System,
    out: &std::path::Path,
) -> migration_kit::manifest::Manifest {
    migration_kit::export(parsed(&[
        "nordform",
        "--form-engine",
        &system.form_engine,
        "--engagement-index",
        &system.engagement_index,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]))
    .await
    .unwrap()
}

/// `nordform export` of a system in use, `nordform migrate --switch-to-operational` into a
/// staging system, and `nordform export` of that: the same files, verified by the client.
#[tokio::test]
async fn the_migration_client_moves_a_system_into_a_staging_one() {
    let databases: Vec<Vec<TestDatabase>> = vec![
        TestDatabase::all().await,
        TestDatabase::all().await,
        TestDatabase::all().await,
        TestDatabase::all().await,
    ];
    let mut databases: Vec<_> = databases.into_iter().map(Vec::into_iter).collect();
    while let (Some(a), Some(b), Some(c), Some(d)) = (
        databases[0].next(),
        databases[1].next(),
        databases[2].next(),
        databases[3].next(),
    ) {
        let context = a.backend;
        let source = start_system(&a, &b, InstallationConfig::default()).await;
        let template = form_engine::demo::health_declaration_json();
        contract(
            &source.form_engine,
            "SaveFormTemplate",
            &json!({"formTemplate": template}),
            &[],
        )
        .await;
        let created = contract(
            &source.form_engine,
            "CreateFormRequest",
            &json!({"formRequests": [form_request(TOLVAN), form_request(LENA)]}),
            &[("Idempotency-Key", "order-1")],
        )
        .await;
        let form = created["formRequestResponses"][0]["formId"]
            .as_str()
            .unwrap()
            .to_owned();
        answer_every_page(&source.form_engine, &form, TOLVAN).await;
        contract(
            &source.form_engine,
            "SaveForm",
            &json!({"formId": form, "subjectOfCare": TOLVAN}),
            &[],
        )
        .await;
        let subscriber = common::testing::http()
            .put(format!(
                "{}/admin/subscribers/SE2321000016-CS02",
                source.engagement_index
            ))
            .json(&json!({"delivery": "pull", "filter": []}))
            .send()
            .await
            .unwrap();
        assert!(subscriber.status().is_success(), "{context}");
        for base in [&source.form_engine, &source.engagement_index] {
            let granted = common::testing::http()
                .put(format!(
                    "{base}/admin/permissions/SE2321000016-CS02/reader/riv:crm:scheduling"
                ))
                .send()
                .await
                .unwrap();
            assert!(granted.status().is_success(), "{context}");
        }
        // The engine's posts reach the source index.
        let deadline = Instant::now() + Duration::from_secs(20);
        while export(&source.engagement_index, "engagements").await.len() < 2 {
            assert!(
                Instant::now() < deadline,
                "{context}: the source index got no posts"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let exported = tempfile::tempdir().unwrap();
        let before = export_system(&source, exported.path()).await;

        let target = start_system(&c, &d, staging()).await;
        let engine_key = new_key(&target.form_engine).await;
        let index_key = new_key(&target.engagement_index).await;
        let outcome = migration_kit::migrate(parsed(&[
            "nordform",
            "--source",
            exported.path().to_str().unwrap(),
            "--form-engine",
            &target.form_engine,
            "--form-engine-key",
            &engine_key,
            "--engagement-index",
            &target.engagement_index,
            "--engagement-index-key",
            &index_key,
            "--workers",
            "1",
            "--switch-to-operational",
            "--quiet",
        ]))
        .await
        .unwrap();
        assert!(
            outcome.passed(),
            "{context}: {}",
            serde_json::to_string(&outcome.report).unwrap()
        );

        let again = tempfile::tempdir().unwrap();
        let after = export_system(&target, again.path()).await;
        assert_eq!(
            serde_json::to_value(&after.files).unwrap(),
            serde_json::to_value(&before.files).unwrap(),
            "{context}"
        );
        drop((source, target));
        for database in [a, b, c, d] {
            database.cleanup().await;
        }
    }
}
