//! Input hygiene of the form contracts (api.md §5), by property: arbitrary strings, control
//! characters and oversized values in every string field of SaveFormTemplate, GetFormTemplate,
//! GetFormTemplates, DeleteFormTemplate, CreateFormRequest, CreateForm, GetForms, GetForm,
//! GetFormQuestionPage, SaveFormPage, SaveForm and CancelForm never make the engine answer 5xx,
//! get the same status, problem code and result on SQLite and (when TEST_DATABASE_URL is set)
//! PostgreSQL, and a refused request stores nothing.

use crate::support;

use common::config::DatabaseConfig;
use common::db::DatabaseTarget;
use common::testing::TestDatabase;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{CARE_UNIT, Engine, TOLVAN, config, example, example_with, form_request};

/// One backend with the engine on it, the example template Published and one form of it.
struct Backend {
    name: &'static str,
    engine: Engine,
    form_id: String,
    database: TestDatabase,
}

impl Backend {
    async fn all() -> Vec<Self> {
        let mut backends = Vec::new();
        for database in TestDatabase::all().await {
            // The index is never reached: posts wait in the outbox, which is counted.
            let engine = Engine::start_with(config(&database.config, "http://127.0.0.1:9")).await;
            engine.save_template(&example()).await;
            let form_id = engine.request_form(TOLVAN).await;
            backends.push(Self {
                name: database.backend,
                engine,
                form_id,
                database,
            });
        }
        backends
    }

    /// What the engine keeps: every form, template and outbox row, and how often each changed.
    async fn stored(&self) -> Vec<i64> {
        const COUNTS: &str = "SELECT (SELECT COUNT(*) FROM form), \
            (SELECT CAST(COALESCE(SUM(revision), 0) AS BIGINT) FROM form), \
            (SELECT COUNT(*) FROM form_template), \
            (SELECT CAST(COALESCE(SUM(revision), 0) AS BIGINT) FROM form_template), \
            (SELECT COUNT(*) FROM delivery)";
        let database: &DatabaseConfig = &self.database.config;
        let row: (i64, i64, i64, i64, i64) =
            match DatabaseTarget::from_config(database, "form-engine.sqlite").unwrap() {
                DatabaseTarget::Sqlite(path) => {
                    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                        .await
                        .unwrap();
                    let row = sqlx::query_as(COUNTS).fetch_one(&pool).await.unwrap();
                    pool.close().await;
                    row
                }
                DatabaseTarget::Postgres(url) => {
                    let pool = sqlx::PgPool::connect(&url).await.unwrap();
                    let row = sqlx::query_as(COUNTS).fetch_one(&pool).await.unwrap();
                    pool.close().await;
                    row
                }
            };
        vec![row.0, row.1, row.2, row.3, row.4]
    }
}

/// What must be the same on every backend: the status, the problem code, the result codes.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    status: StatusCode,
    code: Value,
    result: Value,
    items: Vec<Value>,
}

impl Outcome {
    /// Whether the engine did what was asked (and so may have stored something).
    fn served(&self) -> bool {
        self.status.is_success() && self.result != "ERROR"
    }
}

async fn call(backend: &Backend, contract: &str, body: &Value) -> Outcome {
    let (status, answer) = backend.engine.call(contract, body).await;
    assert!(
        !status.is_server_error(),
        "{}: {status} from {contract} for {body}: {answer}",
        backend.name
    );
    if !status.is_success() {
        assert!(
            answer["code"].is_string(),
            "{}: a problem document: {answer}",
            backend.name
        );
    }
    let result = if answer.get("ResultCode").is_some() {
        answer["ResultCode"].clone()
    } else {
        answer["resultCode"].clone()
    };
    Outcome {
        status,
        code: answer["code"].clone(),
        result,
        items: answer["formRequestResults"]
            .as_array()
            .map(|items| items.iter().map(|i| i["resultCode"].clone()).collect())
            .unwrap_or_default(),
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
                CARE_UNIT,
                "HALSA-1",
                "0b7e5a1c-2f4d-4c1e-9a57-3f1d2b8c9e10",
                "20991231",
                "Hälsodeklaration",
            ]),
            proptest::string::string_regex(control).unwrap(),
            0usize..12,
        )
            .prop_map(|(good, bad, at)| {
                let at = (at..good.len())
                    .find(|i| good.is_char_boundary(*i))
                    .unwrap_or(good.len());
                format!("{}{bad}{}", &good[..at], &good[at..])
            }),
        (
            prop::sample::select(vec![
                1usize, 12, 13, 64, 65, 128, 129, 255, 256, 4000, 4001, 100_000,
            ]),
            prop::sample::select(vec!['x', '1', 'å', ' ', '\n', '\u{1F600}']),
        )
            .prop_map(|(length, c)| c.to_string().repeat(length)),
        Just(String::new()),
        Just(" HALSA-1 ".to_owned()),
        Just("20200101".to_owned()),
        Just("20240230".to_owned()),
        Just("Rad ett\r\n\tRad två".to_owned()),
        Just("\u{FEFF}\u{200B}".to_owned()),
    ]
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
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

/// Sets the member at `pointer` (its parent must exist).
fn set(body: &mut Value, pointer: &str, value: Value) {
    let (parent, name) = pointer.rsplit_once('/').expect("a pointer");
    let parent = body
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("{pointer} has a parent"));
    match parent {
        Value::Object(members) => {
            members.insert(name.to_owned(), value);
        }
        Value::Array(items) => items[name.parse::<usize>().unwrap()] = value,
        _ => panic!("{pointer}: the parent is neither object nor array"),
    }
}

/// Runs `cases` cases of `contract` with one string member of its body (built per backend by
/// `base`) replaced by an arbitrary string, on every backend.
fn fuzz(contract: &str, fields: &[&'static str], cases: u32, base: impl Fn(&Backend) -> Value) {
    let runtime = runtime();
    let backends = runtime.block_on(Backend::all());
    let fields = prop::sample::select(fields.to_vec());
    let result = runner(cases).run(&(fields, text()), |(field, value)| {
        runtime.block_on(async {
            let mut outcomes = Vec::new();
            for backend in &backends {
                let mut body = base(backend);
                set(&mut body, field, Value::String(value.clone()));
                let before = backend.stored().await;
                let outcome = call(backend, contract, &body).await;
                if !outcome.served() {
                    assert_eq!(
                        backend.stored().await,
                        before,
                        "{}: {contract} {field} refused ({outcome:?}) but stored something",
                        backend.name
                    );
                }
                outcomes.push(outcome);
            }
            assert!(
                outcomes.windows(2).all(|pair| pair[0] == pair[1]),
                "{contract} {field} = {value:?}: {outcomes:?}"
            );
        });
        Ok(())
    });
    for backend in backends {
        backend.engine.stop();
        runtime.block_on(backend.database.cleanup());
    }
    result.unwrap();
}

/// The example as a new, changeable version.
fn draft() -> Value {
    example_with(&json!({"templateVersion": null, "publishStatus": "Unpublished"}))
}

#[test]
fn save_form_template() {
    const QUESTION: &str = "/formTemplate/pages/0/page/questionBlocks/0/questions/0";
    fuzz(
        "SaveFormTemplate",
        &[
            "/formTemplate/templateId",
            "/formTemplate/formName",
            "/formTemplate/formTitle",
            "/formTemplate/description",
            "/formTemplate/descriptionInternal",
            "/formTemplate/category",
            "/formTemplate/formCompleteText",
            "/formTemplate/language",
            "/formTemplate/term",
            "/formTemplate/publishStatus",
            "/formTemplate/healthCareFacilityUnit",
            "/formTemplate/informationURL",
            "/formTemplate/pages/0/page/subject",
            "/formTemplate/pages/0/page/description",
            "/formTemplate/pages/0/page/questionBlocks/0/subject",
            "/formTemplate/pages/0/page/questionBlocks/0/questions/0/questionId",
            "/formTemplate/pages/0/page/questionBlocks/0/questions/0/subject",
            "/formTemplate/pages/0/page/questionBlocks/0/questions/0/input",
            "/formTemplate/pages/0/page/questionBlocks/0/questions/0/inputUnit",
            "/formTemplate/pages/0/page/questionBlocks/0/questions/0/answerPattern",
            "/formTemplate/pages/0/page/questionBlocks/0/questions/0/validationEvents/0/text",
            "/formTemplate/pages/0/page/questionBlocks/0/questions/0/validationEvents/0/event",
        ],
        64,
        |_| {
            let body = json!({"formTemplate": draft()});
            assert!(body.pointer(QUESTION).is_some());
            body
        },
    );
}

#[test]
fn template_lookups_and_delete() {
    fuzz(
        "GetFormTemplate",
        &["/healthcare_facility_CareUnit", "/templateId"],
        24,
        |_| json!({"healthcare_facility_CareUnit": CARE_UNIT, "templateId": "HALSA-1"}),
    );
    fuzz(
        "GetFormTemplates",
        &[
            "/healthcare_Facility_CareUnit",
            "/subjectOfCare",
            "/templateIds/0",
            "/clinicalProcessInterestIds/0",
            "/publishedStatus/0",
        ],
        24,
        |_| {
            json!({"healthcare_Facility_CareUnit": CARE_UNIT, "subjectOfCare": TOLVAN,
                   "templateIds": ["HALSA-1"], "clinicalProcessInterestIds": ["HA-1"],
                   "publishedStatus": ["Published"]})
        },
    );
    fuzz(
        "DeleteFormTemplate",
        &["/templateId", "/healthCareFacilityUnit"],
        24,
        |_| json!({"templateId": "HALSA-1", "templateVersion": 1, "healthCareFacilityUnit": CARE_UNIT}),
    );
}

#[test]
fn create_form_request() {
    fuzz(
        "CreateFormRequest",
        &[
            "/formRequests/0/healthcare_Facility_CareUnit",
            "/formRequests/0/healthcare_facility_CareUnitName",
            "/formRequests/0/healthcare_CareGiver",
            "/formRequests/0/healthcare_MedUnit",
            "/formRequests/0/healthcare_systemID",
            "/formRequests/0/subjectOfCare",
            "/formRequests/0/templateId",
            "/formRequests/0/clinicalProcessInterestId",
            "/formRequests/0/formText",
            "/formRequests/0/expireDate",
            "/formRequests/0/keepUntil",
        ],
        64,
        |_| json!({"formRequests": [form_request(TOLVAN)]}),
    );
}

#[test]
fn create_form() {
    fuzz(
        "CreateForm",
        &[
            "/healthcare_facility_CareUnit",
            "/subjectOfCare",
            "/templateId",
            "/clinicalProcessInterestId",
            "/actor/actorType",
            "/actor/actorId/root",
            "/actor/actorId/extension",
        ],
        48,
        |_| {
            json!({"healthcare_facility_CareUnit": CARE_UNIT, "subjectOfCare": TOLVAN,
                   "templateId": "HALSA-1", "clinicalProcessInterestId": "HA-1",
                   "actor": {"actorId": {"root": "1.2.752.129.2.1.3.1", "extension": TOLVAN}, "actorType": "CITIZEN"}})
        },
    );
}

#[test]
fn get_forms() {
    fuzz(
        "GetForms",
        &[
            "/healthcare_facility_CareUnit",
            "/subjectOfCare",
            "/clinicalProcessInterestIds/0",
            "/templateIds/0",
            "/formStatus/0",
            "/createdFrom",
            "/createdTo",
            "/pageToken",
        ],
        48,
        |_| {
            json!({"healthcare_facility_CareUnit": CARE_UNIT, "subjectOfCare": TOLVAN,
                   "clinicalProcessInterestIds": ["HA-1"], "templateIds": ["HALSA-1"],
                   "formStatus": ["ONGOING"], "createdFrom": "20200101", "createdTo": "20991231"})
        },
    );
}

#[test]
fn the_citizens_form_contracts() {
    let by_id = |backend: &Backend| json!({"formId": backend.form_id, "subjectOfCare": TOLVAN});
    fuzz("GetForm", &["/formId", "/subjectOfCare"], 24, by_id);
    fuzz(
        "GetFormQuestionPage",
        &["/formId", "/subjectOfCare", "/direction"],
        24,
        |backend| json!({"formId": backend.form_id, "subjectOfCare": TOLVAN, "pageNumber": 0, "direction": "FORWARD"}),
    );
    fuzz(
        "SaveFormPage",
        &[
            "/formId",
            "/subjectOfCare",
            "/pageAnswers/questionAnswerBlocks/0/answers/0/valueID",
            "/pageAnswers/questionAnswerBlocks/0/answers/0/value",
        ],
        48,
        |backend| {
            json!({"formId": backend.form_id, "subjectOfCare": TOLVAN, "temporarySave": true,
                   "pageAnswers": {"pageNumber": 1, "questionAnswerBlocks": [
                       {"blockNumber": 1, "answers": [{"valueID": "height", "value": 180}]}]}})
        },
    );
    fuzz("SaveForm", &["/formId", "/subjectOfCare"], 24, by_id);
    fuzz("CancelForm", &["/formId", "/subjectOfCare"], 24, by_id);
}

#[test]
fn a_control_character_is_refused_naming_its_field_and_free_text_keeps_its_line_breaks() {
    let runtime = runtime();
    let backends = runtime.block_on(Backend::all());
    runtime.block_on(async {
        for backend in &backends {
            for field in ["formName", "formTitle", "category", "term", "templateId"] {
                let mut template = draft();
                template[field] = json!("a\u{0}b");
                let before = backend.stored().await;
                let (status, answer) = backend
                    .engine
                    .call("SaveFormTemplate", &json!({"formTemplate": template}))
                    .await;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{}: {field}", backend.name);
                assert_eq!(answer["code"], "INVALID_REQUEST");
                let detail = answer["detail"].as_str().unwrap();
                assert!(
                    detail.contains(&format!(
                        "`formTemplate.{field}` contains a control character (U+0000)"
                    )),
                    "{}: {detail}",
                    backend.name
                );
                assert_eq!(backend.stored().await, before, "{}: {field}", backend.name);
            }
            let template = example_with(&json!({
                "templateId": "LINES-1",
                "description": "Rad ett\r\n\tRad två",
                "term": "Jag intygar\r\natt det stämmer.",
            }));
            backend.engine.save_template(&template).await;

            // Lengths the store would refuse are refused at the edge, naming the field.
            let long = example_with(&json!({"templateId": "T".repeat(65)}));
            let (status, answer) = backend
                .engine
                .call("SaveFormTemplate", &json!({"formTemplate": long}))
                .await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{}: {answer}",
                backend.name
            );
            assert!(
                answer["detail"]
                    .as_str()
                    .unwrap()
                    .starts_with("formTemplate.templateId:"),
                "{answer}"
            );
            let big = example_with(&json!({"templateVersion": 2_147_483_648_u64}));
            let (status, answer) = backend
                .engine
                .call("SaveFormTemplate", &json!({"formTemplate": big}))
                .await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{}: {answer}",
                backend.name
            );
            assert!(
                answer["detail"]
                    .as_str()
                    .unwrap()
                    .starts_with("formTemplate.templateVersion:"),
                "{answer}"
            );
        }
    });
    for backend in backends {
        backend.engine.stop();
        runtime.block_on(backend.database.cleanup());
    }
}
