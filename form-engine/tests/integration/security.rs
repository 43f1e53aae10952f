//! Issue 8 in the form engine: a real engine (the application, over HTTP) with bearer tokens
//! signed by a key made in the test, on SQLite and (with `TEST_DATABASE_URL`) PostgreSQL. A
//! matrix of callers and contracts shows each caller reaching exactly its care units (a care
//! system) or its citizen's forms (the e-service) and nothing else; a citizen never sees
//! another citizen's form, which answers exactly like an unknown id; and the audit log, read
//! through `/admin/audit`, holds one row for every access to a form. Also: mutual TLS end to
//! end.

use crate::support;

use common::auth::AuthConfig;
use common::config::HttpConfig;
use common::permissions::{PermissionGrant, Role};
use common::testing::TestDatabase;
use common::testing::security::{Answer, TestCa, TestService, TokenSetup, audited, grant};
use form_engine::{Application, Config};
use http::StatusCode;
use serde_json::{Value, json};
use support::{CARE_UNIT, FakeIndex, LENA, OTHER_CARE_UNIT, TOLVAN, example, example_with};

pub(crate) const CS1: &str = "SE1-CS1";
pub(crate) const CS2: &str = "SE1-CS2";
pub(crate) const PORTAL: &str = "SE1-PORTAL";
pub(crate) const ADMIN: &str = "SE1-ADMIN";
const NOBODY: &str = "SE1-NOBODY";
const CALLERS: [&str; 5] = [CS1, CS2, PORTAL, ADMIN, NOBODY];

/// Care system 1 has an agreement for the example's care unit, care system 2 for another; the
/// portal is the e-service.
fn grants() -> Vec<PermissionGrant> {
    vec![
        grant(CS1, Role::CareSystem, CARE_UNIT),
        grant(CS2, Role::CareSystem, OTHER_CARE_UNIT),
        grant(PORTAL, Role::Eservice, "*"),
        grant(ADMIN, Role::Admin, "*"),
    ]
}

/// An engine that authenticates with signed tokens and knows the test callers' grants.
pub(crate) async fn with_tokens(database: &TestDatabase) -> TestService {
    let tokens = TokenSetup::new("engine-test-key", grants());
    start_engine(database, tokens.auth, tokens.client, tokens.dir)
        .await
        .with_signer(tokens.signer)
}

async fn start_engine(
    database: &TestDatabase,
    auth: AuthConfig,
    client: reqwest::Client,
    dir: tempfile::TempDir,
) -> TestService {
    let index = FakeIndex::start().await;
    common::telemetry::init_for_tests();
    let config = Config {
        http: HttpConfig::with_port(0),
        auth,
        ..support::config(&database.config, &index.url())
    };
    let app = Application::build(config).await.unwrap();
    let service = TestService::new(app.scheme(), app.local_addr(), client, ADMIN);
    tokio::spawn(app.run_until_stopped(service.shutdown()));
    service.keeping(index).keeping(dir)
}

/// The engine's contracts, called as one caller or another.
trait Engine {
    async fn call(&self, caller: &str, contract: &str, body: &Value) -> Answer;
    async fn templates(&self);
    async fn request_form(
        &self,
        caller: &str,
        care_unit: &str,
        template: &str,
        subject: &str,
    ) -> String;
}

impl Engine for TestService {
    async fn call(&self, caller: &str, contract: &str, body: &Value) -> Answer {
        self.request(
            Some(caller),
            http::Method::POST,
            &format!("/forminteraction/v2/{contract}"),
            Some(body),
        )
        .await
    }

    /// The example template at care unit 1 (by care system 1) and a copy at care unit 2 (by
    /// care system 2).
    async fn templates(&self) {
        let saved = self
            .call(CS1, "SaveFormTemplate", &json!({"formTemplate": example()}))
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        let other = example_with(&json!({
            "templateId": "HALSA-2", "healthCareFacilityUnit": OTHER_CARE_UNIT
        }));
        let saved = self
            .call(CS2, "SaveFormTemplate", &json!({"formTemplate": other}))
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    }

    /// A form requested by `caller` for `subject` from `template` at `care_unit`.
    async fn request_form(
        &self,
        caller: &str,
        care_unit: &str,
        template: &str,
        subject: &str,
    ) -> String {
        let answer = self
            .call(
                caller,
                "CreateFormRequest",
                &json!({"formRequests": [item(care_unit, template, subject)]}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.body["resultCode"], "OK", "{}", answer.body);
        answer.body["formRequestResponses"][0]["formId"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

fn item(care_unit: &str, template: &str, subject: &str) -> Value {
    let today = common::riv_time::today_in_sweden();
    let later = |days| common::riv_time::format_date(today + chrono::Days::new(days));
    json!({
        "healthcare_Facility_CareUnit": care_unit,
        "subjectOfCare": subject,
        "templateId": template,
        "expireDate": later(30),
        "keepUntil": later(365),
    })
}

/// What one caller gets from one request: allowed (any answer but 401/403/404 of hiding), a
/// 403 refusal, or the 404 of a form it may not see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Allowed,
    Forbidden,
    Hidden,
}

struct Case {
    name: &'static str,
    contract: &'static str,
    body: Value,
    expect: fn(&str) -> Expect,
    /// The form whose audit rows this call adds one to.
    form: Option<String>,
}

fn only(allowed: &'static [&'static str]) -> impl Fn(&str) -> Expect {
    move |caller| {
        if allowed.contains(&caller) {
            Expect::Allowed
        } else {
            Expect::Forbidden
        }
    }
}

#[allow(clippy::too_many_lines)]
fn matrix(tolvan_form: &str, lena_form: &str, unknown: &str) -> Vec<Case> {
    let form = |id: &str, extra: Value| {
        let mut body = json!({"formId": id});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    vec![
        Case {
            name: "save the care unit 1 template",
            contract: "SaveFormTemplate",
            body: json!({"formTemplate": example()}),
            expect: |c| only(&[CS1])(c),
            form: None,
        },
        Case {
            name: "read the care unit 2 templates",
            contract: "GetFormTemplate",
            body: json!({"healthcare_facility_CareUnit": OTHER_CARE_UNIT}),
            expect: |c| only(&[CS2])(c),
            form: None,
        },
        Case {
            name: "delete a template version of care unit 1",
            contract: "DeleteFormTemplate",
            body: json!({"templateId": "HALSA-1", "templateVersion": 99, "healthCareFacilityUnit": CARE_UNIT}),
            expect: |c| only(&[CS1])(c),
            form: None,
        },
        Case {
            name: "list the templates a citizen can start at care unit 1",
            contract: "GetFormTemplates",
            body: json!({"healthcare_Facility_CareUnit": CARE_UNIT, "subjectOfCare": TOLVAN}),
            expect: |c| only(&[PORTAL])(c),
            form: None,
        },
        Case {
            name: "read a template's schema",
            contract: "GetFormTemplateSchema",
            body: json!({"templateId": "HALSA-1"}),
            expect: |c| only(&[CS1, CS2, PORTAL])(c),
            form: None,
        },
        Case {
            name: "request a form at care unit 2",
            contract: "CreateFormRequest",
            body: json!({"formRequests": [item(OTHER_CARE_UNIT, "HALSA-2", LENA)]}),
            expect: |c| only(&[CS2])(c),
            form: None,
        },
        Case {
            name: "start a form as a citizen",
            contract: "CreateForm",
            body: json!({"healthcare_facility_CareUnit": CARE_UNIT, "subjectOfCare": TOLVAN, "templateId": "HALSA-1"}),
            expect: |c| only(&[PORTAL])(c),
            form: None,
        },
        Case {
            name: "list care unit 1's forms",
            contract: "GetForms",
            body: json!({"healthcare_facility_CareUnit": CARE_UNIT}),
            expect: |c| only(&[CS1])(c),
            form: None,
        },
        Case {
            name: "read Tolvan's form as a care system",
            contract: "GetForm",
            body: form(tolvan_form, json!({})),
            expect: |c| match c {
                CS1 => Expect::Allowed,
                CS2 | PORTAL => Expect::Hidden,
                _ => Expect::Forbidden,
            },
            form: Some(tolvan_form.to_owned()),
        },
        Case {
            name: "read Tolvan's form for Tolvan",
            contract: "GetForm",
            body: form(tolvan_form, json!({"subjectOfCare": TOLVAN})),
            expect: |c| match c {
                CS1 | PORTAL => Expect::Allowed,
                CS2 => Expect::Hidden,
                _ => Expect::Forbidden,
            },
            form: Some(tolvan_form.to_owned()),
        },
        Case {
            name: "read Tolvan's form for Lena",
            contract: "GetForm",
            body: form(tolvan_form, json!({"subjectOfCare": LENA})),
            // Another citizen's form is hidden from everyone, even the care unit's own care
            // system (api.md §5).
            expect: |c| match c {
                CS1 | CS2 | PORTAL => Expect::Hidden,
                _ => Expect::Forbidden,
            },
            form: Some(tolvan_form.to_owned()),
        },
        Case {
            name: "read an unknown form",
            contract: "GetForm",
            body: form(unknown, json!({"subjectOfCare": TOLVAN})),
            expect: |c| match c {
                CS1 | CS2 | PORTAL => Expect::Hidden,
                _ => Expect::Forbidden,
            },
            form: Some(unknown.to_owned()),
        },
        Case {
            name: "move in Tolvan's form",
            contract: "GetFormQuestionPage",
            body: form(
                tolvan_form,
                json!({"subjectOfCare": TOLVAN, "pageNumber": 0, "direction": "FORWARD"}),
            ),
            expect: |c| only(&[PORTAL])(c),
            form: Some(tolvan_form.to_owned()),
        },
        Case {
            name: "save a page of Tolvan's form",
            contract: "SaveFormPage",
            body: form(
                tolvan_form,
                json!({"subjectOfCare": TOLVAN, "temporarySave": true,
                "pageAnswers": {"pageNumber": 1, "questionAnswerBlocks": [
                    {"blockNumber": 1, "answers": [{"valueID": "height", "value": 180}]}]}}),
            ),
            expect: |c| only(&[PORTAL])(c),
            form: Some(tolvan_form.to_owned()),
        },
        Case {
            name: "send Tolvan's form (not yet answered)",
            contract: "SaveForm",
            body: form(tolvan_form, json!({"subjectOfCare": TOLVAN})),
            expect: |c| only(&[PORTAL])(c),
            form: Some(tolvan_form.to_owned()),
        },
        Case {
            name: "cancel Lena's form at care unit 2",
            contract: "CancelForm",
            body: form(lena_form, json!({})),
            // Care system 1 and the e-service (without Lena) see no such form; care system 2
            // deletes it, and it is gone for those after it.
            expect: |c| match c {
                CS2 => Expect::Allowed,
                CS1 | PORTAL => Expect::Hidden,
                _ => Expect::Forbidden,
            },
            form: Some(lena_form.to_owned()),
        },
    ]
}

/// The answer to an unknown form, with the id blanked, to compare with a hidden one.
fn without_id(body: &Value, id: &str) -> String {
    body.to_string().replace(id, "<id>")
}

#[tokio::test]
async fn each_caller_reaches_exactly_its_care_units_and_citizens() {
    for database in TestDatabase::all().await {
        let engine = with_tokens(&database).await;
        let backend = database.backend;
        engine.templates().await;
        let tolvan_form = engine.request_form(CS1, CARE_UNIT, "HALSA-1", TOLVAN).await;
        let lena_form = engine
            .request_form(CS2, OTHER_CARE_UNIT, "HALSA-2", LENA)
            .await;
        let unknown = uuid::Uuid::new_v4().to_string();
        let mut calls_on: std::collections::BTreeMap<(String, String), usize> =
            std::collections::BTreeMap::new();
        for case in matrix(&tolvan_form, &lena_form, &unknown) {
            for caller in CALLERS {
                let answer = engine.call(caller, case.contract, &case.body).await;
                let expected = (case.expect)(caller);
                let what = format!("{backend}: {caller} {}: {}", case.name, answer.body);
                match expected {
                    Expect::Allowed => {
                        // Any answer of the contract itself (a template version that does
                        // not exist is a 404 of its own), never a refusal or a hidden form.
                        assert!(
                            answer.status != StatusCode::UNAUTHORIZED
                                && answer.status != StatusCode::FORBIDDEN
                                && answer.body["code"] != "FORM_NOT_FOUND",
                            "{what}"
                        );
                    }
                    Expect::Forbidden => {
                        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{what}");
                        let code = answer.body["code"].as_str().unwrap();
                        assert!(code.starts_with("FORBIDDEN_"), "{what}");
                    }
                    Expect::Hidden => {
                        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{what}");
                        assert_eq!(answer.body["code"], "FORM_NOT_FOUND", "{what}");
                    }
                }
                if let Some(form) = &case.form {
                    *calls_on
                        .entry((caller.to_owned(), form.clone()))
                        .or_default() += 1;
                }
            }
        }

        // Lists are narrowed, not refused: by citizen, each sees only what it may.
        let tolvans = |caller| {
            let engine = &engine;
            async move {
                let answer = engine
                    .call(caller, "GetForms", &json!({"subjectOfCare": TOLVAN}))
                    .await;
                assert_eq!(answer.status, StatusCode::OK, "{caller}: {}", answer.body);
                answer.body["forms"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| {
                        f["healthcare_facility_CareUnit"]
                            .as_str()
                            .unwrap()
                            .to_owned()
                    })
                    .collect::<Vec<_>>()
            }
        };
        let by_cs1 = tolvans(CS1).await;
        assert!(
            !by_cs1.is_empty() && by_cs1.iter().all(|u| u == CARE_UNIT),
            "{backend}"
        );
        assert!(
            tolvans(CS2).await.is_empty(),
            "{backend}: no agreement for care unit 1"
        );
        assert_eq!(tolvans(PORTAL).await.len(), by_cs1.len(), "{backend}");
        let lenas = engine
            .call(PORTAL, "GetForms", &json!({"subjectOfCare": LENA}))
            .await;
        assert!(
            lenas.body["forms"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["subjectOfCare"] == LENA),
            "{backend}"
        );

        // Every call on a form left exactly one audit row naming it.
        for caller in CALLERS {
            let events = engine.audit_of(caller).await;
            for ((who, form), calls) in &calls_on {
                if who != caller {
                    continue;
                }
                let rows = events
                    .iter()
                    .filter(|e| e["resource"] == form.as_str())
                    .count();
                // Lists and the request that made the form also name it; count the calls.
                let other = events
                    .iter()
                    .filter(|e| {
                        e["resource"] == form.as_str()
                            && (e["action"] == "GetForms" || e["action"] == "CreateFormRequest")
                    })
                    .count();
                assert_eq!(
                    rows - other,
                    *calls,
                    "{backend}: {caller} on {form}: {events:?}"
                );
            }
        }

        // By patient: Tolvan's log shows who read and changed the form, and who was refused.
        let of_tolvan = engine.audit_of_patient(TOLVAN).await;
        let has = |action: &str, caller: &str, outcome: &str| {
            of_tolvan.iter().any(|e| {
                e["action"] == action
                    && e["caller"] == caller
                    && e["outcome"] == outcome
                    && e["resource"] == tolvan_form.as_str()
            })
        };
        assert!(has("CreateFormRequest", CS1, "success"), "{backend}");
        assert!(has("GetForm", CS1, "success"));
        assert!(has("GetForm", PORTAL, "success"));
        assert!(
            has("GetForm", CS2, "refused"),
            "a care system of another unit"
        );
        assert!(
            has("GetForm", PORTAL, "refused"),
            "the e-service for another citizen"
        );
        assert!(has("SaveFormPage", PORTAL, "success"));
        assert!(has("GetFormQuestionPage", PORTAL, "success"));
        let saved = of_tolvan
            .iter()
            .find(|e| e["action"] == "SaveFormPage" && e["outcome"] == "success")
            .unwrap();
        assert_eq!(saved["role"], "eservice");
        assert_eq!(saved["careUnit"], CARE_UNIT);
        assert_eq!(saved["authMethod"], "bearer_token");
        let unknown_rows: Vec<Value> = engine
            .audit_of(PORTAL)
            .await
            .into_iter()
            .filter(|e| e["resource"] == unknown.as_str())
            .collect();
        assert_eq!(unknown_rows.len(), 1);
        assert_eq!(unknown_rows[0]["outcome"], "not_found");
        drop(engine);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_citizen_never_sees_another_citizens_form() {
    for database in TestDatabase::all().await {
        let engine = with_tokens(&database).await;
        engine.templates().await;
        let tolvans = engine.request_form(CS1, CARE_UNIT, "HALSA-1", TOLVAN).await;
        let unknown = uuid::Uuid::new_v4().to_string();
        let contracts: [(&str, Value); 5] = [
            ("GetForm", json!({})),
            (
                "GetFormQuestionPage",
                json!({"pageNumber": 0, "direction": "FORWARD"}),
            ),
            (
                "SaveFormPage",
                json!({"temporarySave": true, "pageAnswers": {"pageNumber": 1, "questionAnswerBlocks": []}}),
            ),
            ("SaveForm", json!({})),
            ("CancelForm", json!({})),
        ];
        for (contract, extra) in contracts {
            let body = |id: &str| {
                let mut body = json!({"formId": id, "subjectOfCare": LENA});
                body.as_object_mut()
                    .unwrap()
                    .extend(extra.as_object().unwrap().clone());
                body
            };
            let hidden = engine.call(PORTAL, contract, &body(&tolvans)).await;
            let absent = engine.call(PORTAL, contract, &body(&unknown)).await;
            assert_eq!(
                hidden.status,
                StatusCode::NOT_FOUND,
                "{contract}: {}",
                hidden.body
            );
            assert_eq!(
                without_id(&hidden.body, &tolvans),
                without_id(&absent.body, &unknown),
                "{} {contract}: Lena's answer about Tolvan's form is that of an unknown form",
                database.backend
            );
        }
        // Tolvan's form is untouched and still his.
        let his = engine
            .call(
                PORTAL,
                "GetForm",
                &json!({"formId": tolvans, "subjectOfCare": TOLVAN}),
            )
            .await;
        assert_eq!(his.status, StatusCode::OK);
        assert_eq!(his.body["form"]["formStatus"], "ONGOING");
        // Nor does a list for Lena name it.
        let list = engine
            .call(PORTAL, "GetForms", &json!({"subjectOfCare": LENA}))
            .await;
        assert!(!list.body.to_string().contains(&tolvans));
        // Each probe is in Tolvan's log as refused.
        let probes = engine
            .audit_of_patient(TOLVAN)
            .await
            .into_iter()
            .filter(|e| e["caller"] == PORTAL && e["outcome"] == "refused")
            .count();
        assert_eq!(probes, 5, "{}", database.backend);
        drop(engine);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn without_a_token_nothing_but_the_probes_answers() {
    let database = TestDatabase::sqlite();
    let engine = with_tokens(&database).await;
    for contract in [
        "SaveFormTemplate",
        "CreateFormRequest",
        "GetForm",
        "GetForms",
    ] {
        let answer = engine
            .request(
                None,
                http::Method::POST,
                &format!("/forminteraction/v2/{contract}"),
                Some(&json!({})),
            )
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{contract}");
        assert_eq!(answer.body["code"], "UNAUTHORIZED");
    }
    for admin in ["/admin/engagement-index", "/admin/permissions"] {
        let answer = engine
            .request(Some(CS1), http::Method::GET, admin, None)
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{admin}");
        assert_eq!(answer.body["code"], "FORBIDDEN_ADMIN");
        let answer = engine
            .request(Some(ADMIN), http::Method::GET, admin, None)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{admin}: {}", answer.body);
    }
    let live = engine
        .request(None, http::Method::GET, "/health/live", None)
        .await;
    assert_eq!(live.status, StatusCode::OK);
}

#[tokio::test]
async fn mutual_tls_end_to_end_the_certificates_name_care_system_and_portal() {
    for database in TestDatabase::all().await {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("Test SITHS CA");
        let auth = ca.mtls_config(dir.path(), grants());
        let care_system = ca.https_client(Some(&ca.client(CS1)));
        let engine = start_engine(&database, auth, care_system, dir).await;
        assert!(engine.base.starts_with("https://"));
        let call = |client: &reqwest::Client, contract: &str, body: Value| {
            let request = client
                .post(format!("{}/forminteraction/v2/{contract}", engine.base))
                .json(&body);
            async move {
                let response = request.send().await.unwrap();
                let status = response.status();
                (status, response.json::<Value>().await.unwrap())
            }
        };
        let (status, body) = call(
            &engine.client,
            "SaveFormTemplate",
            json!({"formTemplate": example()}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = call(
            &engine.client,
            "CreateFormRequest",
            json!({"formRequests": [item(CARE_UNIT, "HALSA-1", TOLVAN)]}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let form_id = body["formRequestResponses"][0]["formId"]
            .as_str()
            .unwrap()
            .to_owned();

        let portal = ca.https_client(Some(&ca.client(PORTAL)));
        let (status, body) = call(
            &portal,
            "GetForm",
            json!({"formId": form_id, "subjectOfCare": TOLVAN}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _) = call(
            &portal,
            "GetForm",
            json!({"formId": form_id, "subjectOfCare": LENA}),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let other = ca.https_client(Some(&ca.client(CS2)));
        let (status, body) = call(
            &other,
            "CreateFormRequest",
            json!({"formRequests": [item(CARE_UNIT, "HALSA-1", LENA)]}),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["code"], "FORBIDDEN_CARE_UNIT");

        let admin = ca.https_client(Some(&ca.client(ADMIN)));
        let fields = ["action", "caller", "outcome", "authMethod"];
        assert_eq!(
            audited(&admin, &engine.base, TOLVAN, &fields).await,
            [
                ["CreateFormRequest", CS1, "success", "mutual_tls"],
                ["GetForm", PORTAL, "success", "mutual_tls"],
                ["GetForm", PORTAL, "refused", "mutual_tls"],
            ],
            "{}",
            database.backend
        );
        // No certificate: no connection.
        assert!(
            ca.https_client(None)
                .get(format!("{}/health/live", engine.base))
                .send()
                .await
                .is_err()
        );
        drop(engine);
        database.cleanup().await;
    }
}
