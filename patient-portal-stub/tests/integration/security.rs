//! Issue 8 in the patient portal stub: the portal (the application, over HTTP) with bearer
//! tokens signed by a key made in the test, on SQLite and (with `TEST_DATABASE_URL`)
//! PostgreSQL. A matrix of callers and endpoints shows each caller reaching exactly its care
//! units and nothing else, and the audit log (read through `/admin/audit`) holding one row per
//! access. Also: mutual TLS end to end (the citizen's pages stay reachable without a
//! certificate and carry HSTS), the portal's own credentials on its calls to the form
//! engine, and the form pages against a real engine that takes bearer tokens.

use crate::support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::post;
use common::auth::{AuthConfig, Authenticator, Caller};
use common::config::HttpConfig;
use common::http_client::ClientAuthConfig;
use common::identity::{HsaId, PersonalIdentityNumber};
use common::permissions::{PermissionGrant, Role};
use common::shutdown::Shutdown;
use common::testing::TestDatabase;
use common::testing::security::{
    TestCa, TestService, TestSigner, TokenSetup, audited, grant, serve_protected, write,
};
use common::tls::ClientCertificateMode;
use http::StatusCode;
use patient_portal_stub::engine::FormEngine;
use patient_portal_stub::{Application, Config};
use serde_json::{Value, json};

const TOLVAN: &str = "191212121212";
const INBOX: &str = "/patientportal/v1/AddMessageToPatientPortalInbox";
const IS_ACTIVE_USER: &str = "/patientportal/v1/IsActiveUser";
const PORTAL: &str = "SE0000000001-PP01";

const CS1: &str = "SE1-CS1";
const CS2: &str = "SE1-CS2";
const ESERVICE: &str = "SE1-ESERVICE";
const ADMIN: &str = "SE1-ADMIN";
const NOBODY: &str = "SE1-NOBODY";
const CALLERS: [&str; 5] = [CS1, CS2, ESERVICE, ADMIN, NOBODY];
const CU1: &str = "SE1-CU1";
const CU2: &str = "SE1-CU2";

fn grants() -> Vec<PermissionGrant> {
    vec![
        grant(CS1, Role::CareSystem, CU1),
        grant(CS2, Role::CareSystem, CU2),
        grant(ESERVICE, Role::Eservice, "*"),
        grant(ADMIN, Role::Admin, "*"),
    ]
}

async fn start(
    database: &TestDatabase,
    auth: AuthConfig,
    client: reqwest::Client,
    dir: tempfile::TempDir,
) -> TestService {
    common::telemetry::init_for_tests();
    let config = Config {
        http: HttpConfig::with_port(0),
        database: database.config.clone(),
        auth,
        ..Config::default()
    };
    let app = Application::build(config).await.unwrap();
    let service = TestService::new(app.scheme(), app.local_addr(), client, ADMIN);
    tokio::spawn(app.run_until_stopped(service.shutdown()));
    service.keeping(dir)
}

async fn with_tokens(database: &TestDatabase) -> TestService {
    let tokens = TokenSetup::new("portal-test-key", grants());
    start(database, tokens.auth, tokens.client, tokens.dir)
        .await
        .with_signer(tokens.signer)
}

/// The portal's answers as status and body.
trait PortalCalls {
    async fn call(
        &self,
        caller: Option<&str>,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value);
}

impl PortalCalls for TestService {
    async fn call(
        &self,
        caller: Option<&str>,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let answer = self.request(caller, method, path, body).await;
        (answer.status, answer.body)
    }
}

fn message(care_unit: &str) -> Value {
    json!({
        "subjectOfCare": TOLVAN,
        "healthcare_facility_CareUnit": care_unit,
        "careUnitName": "Vårdcentralen Test",
        "subject": "Kallelse",
        "body": "Välkommen.",
        "sourceSystem": "SE1-SYS1",
    })
}

struct Case {
    name: &'static str,
    method: http::Method,
    path: &'static str,
    body: Option<Value>,
    allowed: &'static [&'static str],
    refusal: &'static str,
    /// The audit action of the call, when it touches a citizen's data named in the request.
    audited: Option<&'static str>,
}

fn matrix() -> Vec<Case> {
    vec![
        Case {
            name: "AddMessageToPatientPortalInbox for care unit 1",
            method: http::Method::POST,
            path: INBOX,
            body: Some(message(CU1)),
            allowed: &[CS1],
            refusal: "FORBIDDEN_CARE_UNIT",
            audited: Some("AddMessageToPatientPortalInbox"),
        },
        Case {
            name: "AddMessageToPatientPortalInbox for care unit 2",
            method: http::Method::POST,
            path: INBOX,
            body: Some(message(CU2)),
            allowed: &[CS2],
            refusal: "FORBIDDEN_CARE_UNIT",
            audited: Some("AddMessageToPatientPortalInbox"),
        },
        Case {
            name: "IsActiveUser",
            method: http::Method::POST,
            path: IS_ACTIVE_USER,
            body: Some(json!({"subjectOfCare": TOLVAN})),
            allowed: &[CS1, CS2],
            refusal: "FORBIDDEN_CARE_UNIT",
            audited: Some("IsActiveUser"),
        },
        Case {
            name: "list the test citizens",
            method: http::Method::GET,
            path: "/admin/citizens",
            body: None,
            allowed: &[ADMIN],
            refusal: "FORBIDDEN_ADMIN",
            audited: None,
        },
        Case {
            name: "list the simulated notifications",
            method: http::Method::GET,
            path: "/admin/notifications",
            body: None,
            allowed: &[ADMIN],
            refusal: "FORBIDDEN_ADMIN",
            audited: None,
        },
        Case {
            name: "add a test citizen",
            method: http::Method::POST,
            path: "/admin/citizens",
            body: Some(json!({"personalIdentityNumber": "194004048897", "name": "Test Testsson"})),
            allowed: &[ADMIN],
            refusal: "FORBIDDEN_ADMIN",
            audited: None,
        },
        Case {
            name: "list the grants",
            method: http::Method::GET,
            path: "/admin/permissions",
            body: None,
            allowed: &[ADMIN],
            refusal: "FORBIDDEN_ADMIN",
            audited: None,
        },
        Case {
            name: "read the audit log",
            method: http::Method::GET,
            path: "/admin/audit/by-caller/SE1-NOBODY",
            body: None,
            allowed: &[ADMIN],
            refusal: "FORBIDDEN_ADMIN",
            audited: None,
        },
    ]
}

#[tokio::test]
async fn each_caller_reaches_exactly_its_care_units() {
    for database in TestDatabase::all().await {
        let portal = with_tokens(&database).await;
        let backend = database.backend;
        let mut expected: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
        for case in matrix() {
            for caller in CALLERS {
                let (status, body) = portal
                    .call(
                        Some(caller),
                        case.method.clone(),
                        case.path,
                        case.body.as_ref(),
                    )
                    .await;
                let allowed = case.allowed.contains(&caller);
                if allowed {
                    assert!(
                        status.is_success(),
                        "{backend}: {caller} may {}: {status} {body}",
                        case.name
                    );
                } else {
                    assert_eq!(
                        status,
                        StatusCode::FORBIDDEN,
                        "{backend}: {caller} may not {}: {body}",
                        case.name
                    );
                    assert_eq!(body["code"], case.refusal, "{}", case.name);
                    assert!(body["detail"].as_str().unwrap().contains(caller));
                }
                if let Some(action) = case.audited {
                    let outcome = if allowed { "success" } else { "refused" };
                    expected
                        .entry(caller)
                        .or_default()
                        .push((action.to_owned(), outcome.to_owned()));
                }
            }
        }
        // One audit row per call naming the citizen, with the citizen and the outcome.
        for caller in CALLERS {
            let events = portal.audit_of(caller).await;
            let mut seen: Vec<(String, String)> = events
                .iter()
                .filter(|e| {
                    e["action"] == "AddMessageToPatientPortalInbox" || e["action"] == "IsActiveUser"
                })
                .map(|e| {
                    assert_eq!(e["patient"], TOLVAN);
                    assert_eq!(e["authMethod"], "bearer_token");
                    (
                        e["action"].as_str().unwrap().to_owned(),
                        e["outcome"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            seen.sort();
            let mut wanted = expected.remove(caller).unwrap_or_default();
            wanted.sort();
            assert_eq!(seen, wanted, "{backend}: {caller}");
        }
        let delivered = portal
            .audit_of(CS1)
            .await
            .into_iter()
            .find(|e| e["action"] == "AddMessageToPatientPortalInbox" && e["outcome"] == "success")
            .unwrap();
        assert_eq!(delivered["careUnit"], CU1);
        assert_eq!(delivered["role"], "care_system");
        assert!(delivered["resource"].as_str().is_some(), "the message id");
        // The admin's reads of test citizens are audited with the citizen.
        let admin = portal.audit_of(ADMIN).await;
        assert!(
            admin
                .iter()
                .any(|e| e["action"] == "ListTestCitizens" && e["patient"] == TOLVAN),
            "{backend}"
        );
        assert!(
            admin
                .iter()
                .any(|e| e["action"] == "CreateTestCitizen" && e["patient"] == "194004048897")
        );
        drop(portal);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn without_a_token_the_contracts_refuse_and_the_pages_answer() {
    let database = TestDatabase::sqlite();
    let portal = with_tokens(&database).await;
    for case in matrix() {
        let (status, body) = portal
            .call(None, case.method.clone(), case.path, case.body.as_ref())
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", case.name);
        assert_eq!(body["code"], "UNAUTHORIZED");
    }
    let page = portal
        .client
        .get(format!("{}/sign-in", portal.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        policy.starts_with("default-src 'none'"),
        "the stricter policy: {policy}"
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(
        !page.headers().contains_key("strict-transport-security"),
        "no HSTS over plain HTTP"
    );
}

#[tokio::test]
async fn mutual_tls_end_to_end_with_the_pages_open_to_browsers() {
    for database in TestDatabase::all().await {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("Test SITHS CA");
        let mut auth = ca.mtls_config(dir.path(), grants());
        // Browsers have no client certificate: the API refuses them, the pages do not.
        auth.tls.as_mut().unwrap().client_certificate = ClientCertificateMode::Optional;
        let care_system = ca.https_client(Some(&ca.client(CS1)));
        let portal = start(&database, auth, care_system.clone(), dir).await;
        assert!(portal.base.starts_with("https://"));

        let (status, answer) = portal
            .call(None, http::Method::POST, INBOX, Some(&message(CU1)))
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let (status, refused) = portal
            .call(None, http::Method::POST, INBOX, Some(&message(CU2)))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(refused["code"], "FORBIDDEN_CARE_UNIT");

        let browser = ca.https_client(None);
        let page = browser
            .get(format!("{}/sign-in", portal.base))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert!(
            page.headers()["strict-transport-security"]
                .to_str()
                .unwrap()
                .starts_with("max-age="),
            "HSTS over TLS"
        );
        let without = browser
            .post(format!("{}{INBOX}", portal.base))
            .json(&message(CU1))
            .send()
            .await
            .unwrap();
        assert_eq!(without.status(), StatusCode::UNAUTHORIZED);

        let admin = ca.https_client(Some(&ca.client(ADMIN)));
        let fields = ["caller", "outcome", "authMethod"];
        assert_eq!(
            audited(&admin, &portal.base, TOLVAN, &fields).await,
            [
                [CS1, "success", "mutual_tls"],
                [CS1, "refused", "mutual_tls"]
            ],
            "{}",
            database.backend
        );
        drop(portal);
        database.cleanup().await;
    }
}

/// A form engine that authenticates its callers as `auth` says and records, for every
/// GetForm, the caller and the subjectOfCare; it answers that the form does not exist.
async fn recording_engine(
    auth: &AuthConfig,
) -> (String, Arc<Mutex<Vec<(String, String)>>>, Shutdown) {
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let record = {
        let seen = Arc::clone(&seen);
        move |caller: Caller, axum::Json(body): axum::Json<Value>| {
            let seen = Arc::clone(&seen);
            async move {
                seen.lock().unwrap().push((
                    caller.name().to_owned(),
                    body["subjectOfCare"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                ));
                common::problem::Problem::not_found("FORM_NOT_FOUND", "No such form.")
            }
        }
    };
    let authenticator = Authenticator::from_config(auth).await.unwrap();
    let routes = Router::new().route("/forminteraction/v2/GetForm", post(record));
    let (base, shutdown) = serve_protected(&authenticator, routes).await;
    (base, seen, shutdown)
}

#[tokio::test]
async fn the_portal_calls_the_engine_with_its_certificate_or_its_token() {
    let tolvan = PersonalIdentityNumber::parse(TOLVAN).unwrap();
    let portal = HsaId::parse(PORTAL).unwrap();
    let dir = tempfile::tempdir().unwrap();

    // Mutual TLS: the portal's certificate names it.
    let ca = TestCa::new("Test SITHS CA");
    let (base, seen, engine) = recording_engine(&ca.mtls_config(dir.path(), Vec::new())).await;
    let identity = ca.client(PORTAL);
    let credentials = ClientAuthConfig {
        certificate: Some(write(dir.path(), "portal.pem", &identity.certificate_pem)),
        private_key: Some(write(dir.path(), "portal.key", &identity.key_pem)),
        server_ca: Some(write(dir.path(), "ca.pem", &ca.pem)),
        bearer_token_file: None,
    };
    let client = FormEngine::with_credentials(&base, portal.clone(), &credentials).unwrap();
    let refused = client.get_form(&tolvan, "no-such-form").await.unwrap_err();
    assert_eq!(refused.status(), Some(StatusCode::NOT_FOUND));
    assert_eq!(
        *seen.lock().unwrap(),
        [(PORTAL.to_owned(), TOLVAN.to_owned())]
    );
    // Without the certificate there is no connection.
    let plain = FormEngine::with_credentials(
        &base,
        portal.clone(),
        &ClientAuthConfig {
            server_ca: credentials.server_ca.clone(),
            ..ClientAuthConfig::default()
        },
    )
    .unwrap();
    assert_eq!(
        plain.get_form(&tolvan, "x").await.unwrap_err().status(),
        None
    );
    engine.cancel();

    // Bearer token: the token file names it.
    let token_dir = tempfile::tempdir().unwrap();
    let signer = TestSigner::new("engine-key");
    let (base, seen, engine) =
        recording_engine(&signer.jwt_config(token_dir.path(), Vec::new())).await;
    let credentials = ClientAuthConfig {
        bearer_token_file: Some(write(
            token_dir.path(),
            "portal.token",
            &signer.token(PORTAL),
        )),
        ..ClientAuthConfig::default()
    };
    let client = FormEngine::with_credentials(&base, portal, &credentials).unwrap();
    let refused = client.get_form(&tolvan, "no-such-form").await.unwrap_err();
    assert_eq!(refused.status(), Some(StatusCode::NOT_FOUND));
    assert_eq!(
        *seen.lock().unwrap(),
        [(PORTAL.to_owned(), TOLVAN.to_owned())]
    );
    engine.cancel();
}

/// The real form engine taking bearer tokens of `signer`: the care system, the portal (as the
/// e-service) and an admin have grants.
async fn engine_with_tokens(
    database: &TestDatabase,
    signer: &TestSigner,
    dir: &std::path::Path,
) -> (String, Shutdown) {
    let care_system = "SE1-CS1";
    let auth = signer.jwt_config(
        dir,
        vec![
            grant(care_system, Role::CareSystem, "SE0000000001-CU01"),
            grant(PORTAL, Role::Eservice, "*"),
            grant(ADMIN, Role::Admin, "*"),
        ],
    );
    let config = form_engine::Config {
        http: HttpConfig::with_port(0),
        database: database.config.clone(),
        // No engagement index here: the posts wait in the engine's outbox.
        engagement_index_url: "http://127.0.0.1:9".into(),
        auth,
        ..form_engine::Config::default()
    };
    let app = form_engine::Application::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let shutdown = Shutdown::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    (base, shutdown)
}

#[tokio::test]
async fn the_form_pages_work_against_an_engine_that_takes_tokens_and_show_each_citizen_only_their_own()
 {
    for database in TestDatabase::all().await {
        let dir = tempfile::tempdir().unwrap();
        let signer = TestSigner::new("engine-key");
        // The engine keeps its own database, on the same backend.
        let engine_database = if database.config.url.is_some() {
            TestDatabase::postgres().await.unwrap()
        } else {
            TestDatabase::sqlite()
        };
        let (engine, stop_engine) = engine_with_tokens(&engine_database, &signer, dir.path()).await;
        let http = common::testing::http();
        let as_care_system = |contract: &str, body: Value| {
            let request = http
                .post(format!("{engine}/forminteraction/v2/{contract}"))
                .bearer_auth(signer.token("SE1-CS1"))
                .json(&body);
            async move {
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                response.json::<Value>().await.unwrap()
            }
        };
        as_care_system(
            "SaveFormTemplate",
            json!({"formTemplate": form_engine::demo::health_declaration_json()}),
        )
        .await;
        let today = common::riv_time::today_in_sweden();
        let answer = as_care_system(
            "CreateFormRequest",
            json!({"formRequests": [{
                "healthcare_Facility_CareUnit": "SE0000000001-CU01",
                "subjectOfCare": TOLVAN,
                "templateId": "HALSA-1",
                "expireDate": common::riv_time::format_date(today + chrono::Days::new(30)),
            }]}),
        )
        .await;
        let form_id = answer["formRequestResponses"][0]["formId"]
            .as_str()
            .unwrap()
            .to_owned();

        // The portal (open to its own callers here) calls the engine with its token.
        let portal = support::Portal::start_with(Config {
            database: database.config.clone(),
            form_engine_url: engine.clone(),
            form_engine_client: ClientAuthConfig {
                bearer_token_file: Some(write(dir.path(), "portal.token", &signer.token(PORTAL))),
                ..ClientAuthConfig::default()
            },
            ..Config::default()
        })
        .await;
        let mut tolvan = support::browser::Browser::new(&portal.base);
        tolvan.sign_in(&portal.citizen_id(TOLVAN).await).await;
        let page = tolvan.get(&format!("/forms/{form_id}")).await;
        assert_eq!(
            page.status,
            StatusCode::OK,
            "{}: {}",
            database.backend,
            page.body
        );
        let mut lena = support::browser::Browser::new(&portal.base);
        lena.sign_in(&portal.citizen_id(support::LENA).await).await;
        let refused = lena.get(&format!("/forms/{form_id}")).await;
        assert_eq!(
            refused.status,
            StatusCode::NOT_FOUND,
            "{}",
            database.backend
        );

        // The engine's audit log: the portal as the e-service, Tolvan's read and Lena's probe.
        let page: Value = http
            .post(format!("{engine}/admin/audit/by-patient"))
            .bearer_auth(signer.token(ADMIN))
            .json(&json!({"patient": TOLVAN}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let by_portal: Vec<(&str, &str)> = page["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["caller"] == PORTAL && e["action"] == "GetForm")
            .map(|e| {
                assert_eq!(e["role"], "eservice");
                assert_eq!(e["authMethod"], "bearer_token");
                (
                    e["outcome"].as_str().unwrap(),
                    e["resource"].as_str().unwrap(),
                )
            })
            .collect();
        assert!(
            by_portal.contains(&("success", form_id.as_str())),
            "{by_portal:?}"
        );
        assert!(
            by_portal.contains(&("refused", form_id.as_str())),
            "{by_portal:?}"
        );
        portal.stop();
        stop_engine.cancel();
        engine_database.cleanup().await;
        database.cleanup().await;
    }
}
