//! The FHIR endpoints over HTTP, with bearer tokens and grants, on SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL: a Questionnaire imported, exported, a form of it answered
//! and read back as a QuestionnaireResponse; who may do each; and the 4xx problems.

use crate::fhir_validator;
use crate::support;

use common::auth::AuthConfig;
use common::config::HttpConfig;
use common::permissions::{PermissionGrant, Role};
use common::shutdown::Shutdown;
use common::testing::TestDatabase;
use common::testing::security::{TestSigner, grant};
use form_engine::Application;
use http::StatusCode;
use serde_json::{Value, json};
use support::{CARE_UNIT, FakeIndex, OTHER_CARE_UNIT, TOLVAN};

const CS1: &str = "SE1-CS1";
const CS2: &str = "SE1-CS2";
const PORTAL: &str = "SE1-PORTAL";
const ADMIN: &str = "SE1-ADMIN";

fn grants() -> Vec<PermissionGrant> {
    vec![
        grant(CS1, Role::CareSystem, CARE_UNIT),
        grant(CS2, Role::CareSystem, OTHER_CARE_UNIT),
        grant(PORTAL, Role::Eservice, "*"),
        grant(ADMIN, Role::Admin, "*"),
    ]
}

struct Engine {
    base: String,
    client: reqwest::Client,
    signer: TestSigner,
    shutdown: Shutdown,
    _index: FakeIndex,
    _dir: tempfile::TempDir,
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

struct Answer {
    status: StatusCode,
    content_type: String,
    body: Value,
}

impl Engine {
    async fn start(database: &TestDatabase) -> Self {
        common::telemetry::init_for_tests();
        let dir = tempfile::tempdir().unwrap();
        let signer = TestSigner::new("fhir-test-key");
        let auth: AuthConfig = signer.jwt_config(dir.path(), grants());
        let index = FakeIndex::start().await;
        let config = form_engine::Config {
            http: HttpConfig::with_port(0),
            auth,
            ..support::config(&database.config, &index.url())
        };
        let app = Application::build(config).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.local_addr().port());
        let shutdown = Shutdown::new();
        tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Self {
            base,
            client: reqwest::Client::new(),
            signer,
            shutdown,
            _index: index,
            _dir: dir,
        }
    }

    async fn send(
        &self,
        caller: Option<&str>,
        method: http::Method,
        path: &str,
        body: Option<(&str, String)>,
    ) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(caller) = caller {
            request = request.bearer_auth(self.signer.token(caller));
        }
        if let Some((content_type, body)) = body {
            request = request.header("content-type", content_type).body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Answer {
            status,
            content_type,
            body: response.json().await.unwrap_or(Value::Null),
        }
    }

    async fn import(&self, caller: &str, care_unit: &str, questionnaire: &Value) -> Answer {
        self.send(
            Some(caller),
            http::Method::POST,
            &format!("/forminteraction/v2/fhir/Questionnaire?careUnit={care_unit}"),
            Some(("application/fhir+json", questionnaire.to_string())),
        )
        .await
    }

    async fn get(&self, caller: Option<&str>, path: &str) -> Answer {
        self.send(caller, http::Method::GET, path, None).await
    }

    async fn call(&self, caller: &str, contract: &str, body: &Value) -> Answer {
        self.send(
            Some(caller),
            http::Method::POST,
            &format!("/forminteraction/v2/{contract}"),
            Some(("application/json", body.to_string())),
        )
        .await
    }
}

fn phq9() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/fhir/phq9-lhc-forms.json"
    );
    let mut q: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    // Active: published, so forms can be made of it.
    q["status"] = json!("active");
    q
}

fn problem(answer: &Answer, status: StatusCode, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(
        answer.content_type, "application/problem+json",
        "{}",
        answer.body
    );
    assert_eq!(answer.body["code"], code, "{}", answer.body);
}

#[tokio::test]
async fn a_questionnaire_in_a_form_answered_and_a_questionnaire_response_out() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let engine = Engine::start(&database).await;

        // Import: saved as SaveFormTemplate saves, without findings.
        let imported = engine.import(CS1, CARE_UNIT, &phq9()).await;
        assert_eq!(
            imported.status,
            StatusCode::OK,
            "{backend}: {}",
            imported.body
        );
        assert_eq!(imported.body["ResultCode"], "OK", "{}", imported.body);
        assert!(imported.body.get("findings").is_none());
        let template = &imported.body["formTemplate"];
        assert_eq!(template["templateId"], "44249-1-x");
        assert_eq!(template["templateVersion"], 1);
        assert_eq!(template["publishStatus"], "Published");
        assert_eq!(template["healthCareFacilityUnit"], CARE_UNIT);
        // Importing it again makes the next version: an import never changes a stored one.
        let again = engine.import(CS1, CARE_UNIT, &phq9()).await;
        assert_eq!(
            again.body["formTemplate"]["templateVersion"], 2,
            "{}",
            again.body
        );

        // Export, and GetFormTemplate agree.
        let exported = engine
            .get(
                Some(CS1),
                "/forminteraction/v2/fhir/Questionnaire/44249-1-x/1",
            )
            .await;
        assert_eq!(exported.status, StatusCode::OK, "{}", exported.body);
        assert_eq!(exported.content_type, "application/fhir+json");
        assert_eq!(exported.body["resourceType"], "Questionnaire");
        assert_eq!(exported.body["version"], "1");
        let stored: form_engine::domain::template::FormTemplate =
            serde_json::from_value(template.clone()).unwrap();
        assert_eq!(
            exported.body,
            serde_json::to_value(form_engine::domain::fhir::questionnaire(&stored)).unwrap()
        );

        // A form of it (the newest published version, 2) for Tolvan, answered and sent.
        let mut request = support::form_request(TOLVAN);
        request["templateId"] = json!("44249-1-x");
        let created = engine
            .call(
                CS1,
                "CreateFormRequest",
                &json!({"formRequests": [request]}),
            )
            .await;
        assert_eq!(created.body["resultCode"], "OK", "{}", created.body);
        let form_id = created.body["formRequestResponses"][0]["formId"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("/forminteraction/v2/fhir/QuestionnaireResponse/{form_id}");
        problem(
            &engine.get(Some(CS1), &path).await,
            StatusCode::CONFLICT,
            "FORM_NOT_COMPLETED",
        );

        let ids = [
            "q44250-9", "q44255-8", "q44259-0", "q44254-1", "q44251-7", "q44258-2", "q44252-5",
            "q44253-3", "q44260-8",
        ];
        // Alternatives 1-4 score 0-3: 2+3+4+1+2+3+4+1+2 - 9 = 13.
        let choices = [2, 3, 4, 1, 2, 3, 4, 1, 2];
        let answers: Vec<Value> = ids
            .iter()
            .zip(choices)
            .map(|(id, n)| json!({"valueID": id, "value": n}))
            .chain([json!({"valueID": "q69722-7", "value": 2})])
            .collect();
        let saved = engine
            .call(
                PORTAL,
                "SaveFormPage",
                &json!({"formId": form_id, "subjectOfCare": TOLVAN, "temporarySave": false,
                        "pageAnswers": {"pageNumber": 1, "questionAnswerBlocks": [{"blockNumber": 1, "answers": answers}]}}),
            )
            .await;
        assert_eq!(saved.body["resultCode"], "OK", "{backend}: {}", saved.body);
        let sent = engine
            .call(
                PORTAL,
                "SaveForm",
                &json!({"formId": form_id, "subjectOfCare": TOLVAN}),
            )
            .await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);

        let response = engine.get(Some(CS1), &path).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{backend}: {}",
            response.body
        );
        assert_eq!(response.content_type, "application/fhir+json");
        let qr = &response.body;
        assert_eq!(qr["resourceType"], "QuestionnaireResponse");
        assert_eq!(qr["id"], form_id.as_str());
        assert_eq!(qr["status"], "completed");
        assert_eq!(
            qr["questionnaire"],
            "urn:nordform:questionnaire:44249-1-x|2"
        );
        assert_eq!(
            qr["subject"],
            json!({"type": "Patient", "identifier": {"system": "urn:oid:1.2.752.129.2.1.3.1", "value": TOLVAN}})
        );
        let authored = qr["authored"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(authored).is_ok(),
            "{authored}"
        );
        let block = &qr["item"][0]["item"][0];
        assert_eq!(qr["item"][0]["linkId"], "#page-1");
        assert_eq!(block["linkId"], "#page-1.block-1");
        assert_eq!(block["item"][0]["linkId"], "q44250-9");
        assert_eq!(
            block["item"][0]["answer"],
            json!([{"valueCoding": {"system": "http://loinc.org", "code": "LA6569-3", "display": "Several days"}}])
        );
        assert_eq!(
            block["item"][9]["answer"][0]["valueCoding"]["code"],
            "LA6573-5"
        );
        let total = &qr["item"][1];
        assert_eq!(total["linkId"], "/44261-6");
        assert_eq!(total["answer"], json!([{"valueDecimal": 13}]));

        // What is exported is FHIR R4.
        fhir_validator::validate(&[exported.body.clone(), response.body.clone()]);

        // Who may: another care unit's system sees neither; the e-service is no care system.
        problem(
            &engine.get(Some(CS2), &path).await,
            StatusCode::NOT_FOUND,
            "FORM_NOT_FOUND",
        );
        let forbidden = engine.get(Some(PORTAL), &path).await;
        assert_eq!(
            forbidden.status,
            StatusCode::FORBIDDEN,
            "{}",
            forbidden.body
        );
        assert_eq!(
            engine.get(None, &path).await.status,
            StatusCode::UNAUTHORIZED
        );
        problem(
            &engine
                .get(
                    Some(CS2),
                    "/forminteraction/v2/fhir/Questionnaire/44249-1-x/1",
                )
                .await,
            StatusCode::NOT_FOUND,
            "TEMPLATE_NOT_FOUND",
        );
        let forbidden = engine
            .get(
                Some(PORTAL),
                "/forminteraction/v2/fhir/Questionnaire/44249-1-x/1",
            )
            .await;
        assert_eq!(
            forbidden.status,
            StatusCode::FORBIDDEN,
            "{}",
            forbidden.body
        );
        let forbidden = engine.import(CS2, CARE_UNIT, &phq9()).await;
        assert_eq!(
            forbidden.status,
            StatusCode::FORBIDDEN,
            "{}",
            forbidden.body
        );
        assert_eq!(forbidden.body["code"], "FORBIDDEN_CARE_UNIT");

        // The reads are audited like GetForm's: who, which form, which patient, the outcome.
        let audit = engine
            .send(
                Some(ADMIN),
                http::Method::POST,
                "/admin/audit/by-patient",
                Some(("application/json", json!({"patient": TOLVAN}).to_string())),
            )
            .await;
        assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
        let has = |caller: &str, outcome: &str| {
            audit.body["events"].as_array().unwrap().iter().any(|e| {
                e["action"] == "ExportQuestionnaireResponse"
                    && e["caller"] == caller
                    && e["outcome"] == outcome
                    && e["resource"] == form_id.as_str()
            })
        };
        assert!(has(CS1, "success"), "{backend}: {}", audit.body);
        assert!(has(CS2, "refused"), "{backend}: {}", audit.body);
        drop(engine);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn refusals_are_problems_naming_the_field_and_unmappable_items_are_findings() {
    let database = TestDatabase::sqlite();
    let engine = Engine::start(&database).await;
    let import_path = "/forminteraction/v2/fhir/Questionnaire";

    // Not a Questionnaire; not JSON; a missing linkId; no care unit; a bad care unit.
    let patient = engine
        .import(
            CS1,
            CARE_UNIT,
            &json!({"resourceType": "Patient", "status": "active"}),
        )
        .await;
    problem(&patient, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    assert!(
        patient.body["detail"]
            .as_str()
            .unwrap()
            .contains("resourceType")
    );
    let mut unknown_status = phq9();
    unknown_status["status"] = json!("final");
    let status = engine.import(CS1, CARE_UNIT, &unknown_status).await;
    problem(&status, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    assert!(
        status.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("status:"),
        "{}",
        status.body
    );
    let modifier = engine
        .import(
            CS1,
            CARE_UNIT,
            &json!({"resourceType": "Questionnaire", "status": "draft", "modifierExtension": [null]}),
        )
        .await;
    problem(&modifier, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    let broken = engine
        .send(
            Some(CS1),
            http::Method::POST,
            &format!("{import_path}?careUnit={CARE_UNIT}"),
            Some(("application/fhir+json", "{\"resourceType\":".into())),
        )
        .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST, "{}", broken.body);
    let no_link = engine
        .import(
            CS1,
            CARE_UNIT,
            &json!({"resourceType": "Questionnaire", "status": "draft", "item": [{"type": "string"}]}),
        )
        .await;
    problem(&no_link, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    assert!(
        no_link.body["detail"].as_str().unwrap().contains("linkId"),
        "{}",
        no_link.body
    );
    let no_unit = engine
        .send(
            Some(CS1),
            http::Method::POST,
            import_path,
            Some(("application/fhir+json", phq9().to_string())),
        )
        .await;
    problem(&no_unit, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    assert!(
        no_unit.body["detail"]
            .as_str()
            .unwrap()
            .contains("careUnit"),
        "{}",
        no_unit.body
    );
    let text = engine
        .send(
            Some(CS1),
            http::Method::POST,
            &format!("{import_path}?careUnit={CARE_UNIT}"),
            Some(("text/plain", phq9().to_string())),
        )
        .await;
    assert_eq!(
        text.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        text.body
    );

    // An enableWhen on a later item, and one on a group: refused, each item named.
    let unmappable = json!({
        "resourceType": "Questionnaire", "id": "UNMAPPABLE", "status": "draft",
        "item": [
            {"linkId": "first", "type": "string", "text": "First",
             "enableWhen": [{"question": "later", "operator": "exists", "answerBoolean": true}]},
            {"linkId": "grp", "type": "group", "text": "Group", "item": [
                {"linkId": "in-group", "type": "string", "text": "In the group"}]},
            {"linkId": "after", "type": "string", "text": "After",
             "enableWhen": [{"question": "grp", "operator": "exists", "answerBoolean": true}]},
            {"linkId": "later", "type": "boolean", "text": "Later"}
        ]
    });
    let refused = engine.import(CS1, CARE_UNIT, &unmappable).await;
    assert_eq!(refused.status, StatusCode::OK, "{}", refused.body);
    assert_eq!(refused.body["ResultCode"], "ERROR");
    assert!(refused.body.get("formTemplate").is_none());
    let messages: Vec<&str> = refused.body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("item `first`.enableWhen")),
        "{messages:#?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("item `after`.enableWhen")),
        "{messages:#?}"
    );
    assert!(
        refused.body["comment"]
            .as_str()
            .unwrap()
            .contains("not saved")
    );
    // Nothing was stored.
    problem(
        &engine
            .get(
                Some(CS1),
                "/forminteraction/v2/fhir/Questionnaire/UNMAPPABLE/1",
            )
            .await,
        StatusCode::NOT_FOUND,
        "TEMPLATE_NOT_FOUND",
    );

    // A warning saves the template, with the warning: INFO.
    let mut copyrighted = phq9();
    copyrighted["copyright"] = json!("Pfizer");
    let saved = engine.import(CS1, CARE_UNIT, &copyrighted).await;
    assert_eq!(saved.body["ResultCode"], "INFO", "{}", saved.body);
    assert_eq!(saved.body["findings"][0]["code"], "FHIR_NOT_CARRIED");

    // Export: a version that is not a number; an unknown template; a bad form id.
    problem(
        &engine
            .get(
                Some(CS1),
                "/forminteraction/v2/fhir/Questionnaire/44249-1-x/one",
            )
            .await,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
    );
    problem(
        &engine
            .get(
                Some(CS1),
                "/forminteraction/v2/fhir/Questionnaire/44249-1-x/2147483648",
            )
            .await,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
    );
    problem(
        &engine
            .get(Some(CS1), "/forminteraction/v2/fhir/Questionnaire/NOPE/1")
            .await,
        StatusCode::NOT_FOUND,
        "TEMPLATE_NOT_FOUND",
    );
    problem(
        &engine
            .get(
                Some(CS1),
                "/forminteraction/v2/fhir/QuestionnaireResponse/not-a-guid",
            )
            .await,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
    );
    problem(
        &engine
            .get(
                Some(CS1),
                &format!(
                    "/forminteraction/v2/fhir/QuestionnaireResponse/{}",
                    uuid::Uuid::new_v4()
                ),
            )
            .await,
        StatusCode::NOT_FOUND,
        "FORM_NOT_FOUND",
    );
}

/// The document states what the FHIR endpoints take and answer.
#[test]
fn the_openapi_document_has_the_three_fhir_operations() {
    let document = serde_json::to_value(form_engine::api::openapi()).unwrap();
    let paths = &document["paths"];
    let import = &paths["/forminteraction/v2/fhir/Questionnaire"]["post"];
    assert_eq!(import["operationId"], "ImportQuestionnaire");
    assert!(import["requestBody"]["content"]["application/fhir+json"].is_object());
    assert_eq!(import["parameters"][0]["name"], "careUnit");
    assert_eq!(import["parameters"][0]["required"], true);
    let export =
        &paths["/forminteraction/v2/fhir/Questionnaire/{templateId}/{templateVersion}"]["get"];
    assert_eq!(export["operationId"], "ExportQuestionnaire");
    assert_eq!(
        export["responses"]["200"]["content"]["application/fhir+json"]["schema"]["$ref"],
        "#/components/schemas/FhirQuestionnaire"
    );
    let response = &paths["/forminteraction/v2/fhir/QuestionnaireResponse/{formId}"]["get"];
    assert_eq!(response["operationId"], "ExportQuestionnaireResponse");
    assert!(response["responses"]["409"].is_object());
    assert_eq!(
        response["responses"]["200"]["content"]["application/fhir+json"]["schema"]["$ref"],
        "#/components/schemas/FhirQuestionnaireResponse"
    );
}
