//! Issue 8 in the engagement index: a real index (the application, over HTTP) with bearer
//! tokens signed by a key made in the test, on SQLite and (with `TEST_DATABASE_URL`)
//! PostgreSQL. A matrix of callers and contracts shows each caller reaching exactly its
//! sourceSystems, owners and service domains and nothing else, and the audit log (read through
//! `/admin/audit`) holding exactly one row per patient and access. Also: a trusted gateway,
//! mutual TLS end to end, the pull point, rate limiting, and open mode.

use std::collections::BTreeMap;
use std::time::Duration;

use common::auth::AuthConfig;
use common::config::HttpConfig;
use common::identity::HsaId;
use common::permissions::Role;
use common::rate_limit::RateLimitConfig;
use common::shutdown::Shutdown;
use common::testing::TestDatabase;
use common::testing::security::{
    Answer, TestCa, TestService, TestSigner, TokenSetup, audited, grant,
};
use engagement_index::config::DeclaredSubscriber;
use engagement_index::domain::subscriber::{DeliveryMode, SubscriberFilter};
use engagement_index::{Application, Config};
use http::StatusCode;
use serde_json::{Value, json};

const EI: &str = "SE0000000001-EI01";
const UPDATE: &str = "/engagementindex/v1/Update";
const FIND_CONTENT: &str = "/engagementindex/v1/FindContent";
const PROCESS_NOTIFICATION: &str = "/engagementindex/v1/ProcessNotification";
const GET_UPDATES: &str = "/engagementindex/v1/GetUpdates";
const CONSUMER: &str = "x-rivta-original-serviceconsumer-hsaid";

const DOMAIN_X: &str = "riv:test:domainx";
const DOMAIN_Y: &str = "riv:test:domainy";
const PATIENT_A: &str = "191212121212";
const PATIENT_B: &str = "197010632391";

const SRC_A: &str = "SE1-SRC-A";
const SRC_B: &str = "SE1-SRC-B";
const PEER: &str = "SE1-PEER";
const READER_X: &str = "SE1-READER-X";
const READER_ALL: &str = "SE1-READER-ALL";
const ADMIN: &str = "SE1-ADMIN";
const PULL: &str = "SE1-PULL";
const NOBODY: &str = "SE1-NOBODY";
const GATEWAY: &str = "SE1-GW";

const CALLERS: [&str; 8] = [
    SRC_A, SRC_B, PEER, READER_X, READER_ALL, ADMIN, PULL, NOBODY,
];

/// The deployment under test: two source systems, a federated peer index, a reader of one
/// domain, a reader of all, an admin; the pull subscriber and NOBODY hold no grant.
fn grants() -> Vec<common::permissions::PermissionGrant> {
    vec![
        grant(SRC_A, Role::SourceSystem, SRC_A),
        grant(SRC_B, Role::SourceSystem, SRC_B),
        grant(PEER, Role::SourceSystem, PEER),
        grant(READER_X, Role::Reader, DOMAIN_X),
        grant(READER_ALL, Role::Reader, "*"),
        grant(ADMIN, Role::Admin, "*"),
    ]
}

fn config(database: &TestDatabase, auth: AuthConfig) -> Config {
    let mut config = Config {
        http: HttpConfig::with_port(0),
        database: database.config.clone(),
        hsa_id: HsaId::parse(EI).unwrap(),
        subscribers: vec![DeclaredSubscriber {
            logical_address: PULL.to_owned(),
            url: None,
            delivery: DeliveryMode::Pull,
            filter: vec![SubscriberFilter {
                service_domain: DOMAIN_X.to_owned(),
                categorization: Vec::new(),
                registered_resident_identification: Vec::new(),
            }],
        }],
        auth,
        ..Config::default()
    };
    config.notification.linger_ms = Some(5);
    config
}

async fn start(config: Config, client: reqwest::Client, dir: tempfile::TempDir) -> TestService {
    common::telemetry::init_for_tests();
    let app = Application::build(config).await.unwrap();
    let service = TestService::new(app.scheme(), app.local_addr(), client, ADMIN).keeping(dir);
    tokio::spawn(app.run_until_stopped(service.shutdown()));
    service
}

/// An index taking bearer tokens of a key made here, with the matrix's grants.
async fn with_tokens(database: &TestDatabase, adjust: impl FnOnce(&mut AuthConfig)) -> TestService {
    let mut tokens = TokenSetup::new("ei-test-key", grants());
    tokens.auth.gateways = vec![HsaId::parse(GATEWAY).unwrap()];
    adjust(&mut tokens.auth);
    start(config(database, tokens.auth), tokens.client, tokens.dir)
        .await
        .with_signer(tokens.signer)
}

/// Calls a request of the matrix.
trait CallRequest {
    async fn call(&self, caller: Option<&str>, request: &Request) -> Answer;
}

impl CallRequest for TestService {
    async fn call(&self, caller: Option<&str>, request: &Request) -> Answer {
        self.request(
            caller,
            request.method.clone(),
            &request.path,
            request.body.as_ref(),
        )
        .await
    }
}

fn engagement(patient: &str, domain: &str, source_system: &str, id: &str) -> Value {
    json!({
        "registeredResidentIdentification": patient,
        "serviceDomain": domain,
        "categorization": "booking",
        "logicalAddress": "SE1-CU1",
        "businessObjectInstanceIdentifier": id,
        "clinicalProcessInterestId": "NA",
        "mostRecentContent": "20260101120000",
        "sourceSystem": source_system,
        "dataController": "SE1-CG1",
    })
}

fn notified(engagement: Value, owner: &str) -> Value {
    let mut engagement = engagement;
    let object = engagement.as_object_mut().unwrap();
    object.insert("owner".into(), json!(owner));
    object.insert("creationTime".into(), json!("20260101120000"));
    object.insert("updateTime".into(), json!("20260101120000"));
    engagement
}

fn transactions(engagements: Vec<Value>) -> Value {
    json!({"engagementTransaction": engagements
        .into_iter()
        .map(|engagement| json!({"deleteFlag": false, "engagement": engagement}))
        .collect::<Vec<_>>()})
}

struct Request {
    method: http::Method,
    path: String,
    body: Option<Value>,
}

fn post(path: &str, body: Value) -> Request {
    Request {
        method: http::Method::POST,
        path: path.to_owned(),
        body: Some(body),
    }
}

fn get(path: &str) -> Request {
    Request {
        method: http::Method::GET,
        path: path.to_owned(),
        body: None,
    }
}

/// The audit rows one call writes: action, and the patients of an allowed and of a refused
/// call (`None`: a row without a patient).
struct Audited {
    action: &'static str,
    allowed: Vec<Option<&'static str>>,
    refused: Vec<Option<&'static str>>,
}

/// One row of the matrix: a request, who may make it, the code refusing the others, and what
/// the audit log gets.
struct Case {
    name: &'static str,
    request: Request,
    allowed: &'static [&'static str],
    refusal: &'static str,
    audited: Option<Audited>,
}

/// The matrix, in the order it runs (later rows read what earlier ones wrote).
fn matrix() -> Vec<Case> {
    vec![
        Case {
            name: "Update as source system A",
            request: post(
                UPDATE,
                transactions(vec![engagement(PATIENT_A, DOMAIN_X, SRC_A, "a-1")]),
            ),
            allowed: &[SRC_A],
            refusal: "FORBIDDEN_SOURCE_SYSTEM",
            audited: Some(Audited {
                action: "Update",
                allowed: vec![Some(PATIENT_A)],
                refused: vec![Some(PATIENT_A)],
            }),
        },
        Case {
            name: "Update as source system B",
            request: post(
                UPDATE,
                transactions(vec![engagement(PATIENT_A, DOMAIN_Y, SRC_B, "b-1")]),
            ),
            allowed: &[SRC_B],
            refusal: "FORBIDDEN_SOURCE_SYSTEM",
            audited: Some(Audited {
                action: "Update",
                allowed: vec![Some(PATIENT_A)],
                refused: vec![Some(PATIENT_A)],
            }),
        },
        Case {
            name: "Update as A and B at once",
            request: post(
                UPDATE,
                transactions(vec![
                    engagement(PATIENT_B, DOMAIN_X, SRC_A, "mixed"),
                    engagement(PATIENT_B, DOMAIN_Y, SRC_B, "mixed"),
                ]),
            ),
            allowed: &[],
            refusal: "FORBIDDEN_SOURCE_SYSTEM",
            audited: Some(Audited {
                action: "Update",
                allowed: vec![],
                refused: vec![Some(PATIENT_B), Some(PATIENT_B)],
            }),
        },
        Case {
            name: "ProcessNotification of the peer's posts",
            request: post(
                PROCESS_NOTIFICATION,
                transactions(vec![notified(
                    engagement(PATIENT_B, DOMAIN_X, "SE1-SRC-PEER", "p-1"),
                    PEER,
                )]),
            ),
            allowed: &[PEER],
            refusal: "FORBIDDEN_SOURCE_SYSTEM",
            audited: Some(Audited {
                action: "ProcessNotification",
                allowed: vec![Some(PATIENT_B)],
                refused: vec![Some(PATIENT_B)],
            }),
        },
        Case {
            name: "ProcessNotification of another index's posts",
            request: post(
                PROCESS_NOTIFICATION,
                transactions(vec![notified(
                    engagement(PATIENT_B, DOMAIN_Y, "SE1-SRC-OTHER", "o-1"),
                    "SE1-OTHER-EI",
                )]),
            ),
            allowed: &[],
            refusal: "FORBIDDEN_SOURCE_SYSTEM",
            audited: Some(Audited {
                action: "ProcessNotification",
                allowed: vec![],
                refused: vec![Some(PATIENT_B)],
            }),
        },
        Case {
            name: "FindContent in domain X",
            request: post(
                FIND_CONTENT,
                json!({"registeredResidentIdentification": PATIENT_A, "serviceDomain": DOMAIN_X}),
            ),
            allowed: &[READER_X, READER_ALL],
            refusal: "FORBIDDEN_READER",
            audited: Some(Audited {
                action: "FindContent",
                allowed: vec![Some(PATIENT_A)],
                refused: vec![Some(PATIENT_A)],
            }),
        },
        Case {
            name: "FindContent in domain Y",
            request: post(
                FIND_CONTENT,
                json!({"registeredResidentIdentification": PATIENT_A, "serviceDomain": DOMAIN_Y}),
            ),
            allowed: &[READER_ALL],
            refusal: "FORBIDDEN_READER",
            audited: Some(Audited {
                action: "FindContent",
                allowed: vec![Some(PATIENT_A)],
                refused: vec![Some(PATIENT_A)],
            }),
        },
        Case {
            name: "GetUpdates of domain X",
            request: post(
                GET_UPDATES,
                json!({"serviceDomain": DOMAIN_X, "timeStamp": "20000101000000"}),
            ),
            allowed: &[READER_X, READER_ALL],
            refusal: "FORBIDDEN_READER",
            // Domain X holds A (source system A's Update) and B (the peer's notification).
            audited: Some(Audited {
                action: "GetUpdates",
                allowed: vec![Some(PATIENT_A), Some(PATIENT_B)],
                refused: vec![None],
            }),
        },
        Case {
            name: "GetUpdates of domain Y",
            request: post(
                GET_UPDATES,
                json!({"serviceDomain": DOMAIN_Y, "timeStamp": "20000101000000"}),
            ),
            allowed: &[READER_ALL],
            refusal: "FORBIDDEN_READER",
            audited: Some(Audited {
                action: "GetUpdates",
                allowed: vec![Some(PATIENT_A)],
                refused: vec![None],
            }),
        },
        Case {
            name: "list the subscribers",
            request: get("/admin/subscribers"),
            allowed: &[ADMIN],
            refusal: "FORBIDDEN_ADMIN",
            audited: None,
        },
        Case {
            name: "declare a subscriber",
            request: Request {
                method: http::Method::PUT,
                path: "/admin/subscribers/SE1-NEW".to_owned(),
                body: Some(json!({"delivery": "pull"})),
            },
            allowed: &[ADMIN],
            refusal: "FORBIDDEN_ADMIN",
            audited: None,
        },
        Case {
            name: "list the grants",
            request: get("/admin/permissions"),
            allowed: &[ADMIN],
            refusal: "FORBIDDEN_ADMIN",
            audited: None,
        },
        Case {
            name: "read the audit log by caller",
            request: get("/admin/audit/by-caller/SE1-NOBODY"),
            allowed: &[ADMIN],
            refusal: "FORBIDDEN_ADMIN",
            audited: None,
        },
        Case {
            name: "fetch the pull subscriber's notifications",
            request: post(
                "/engagementindex/v1/subscribers/SE1-PULL/notifications",
                json!({"afterOffset": 0}),
            ),
            allowed: &[PULL, ADMIN],
            refusal: "FORBIDDEN_SUBSCRIBER",
            audited: None,
        },
    ]
}

/// An audit row as the matrix compares them: action, outcome, patient.
type Row = (String, String, Option<String>);

/// (action, outcome, patient) of audit rows, sorted, for comparing multisets.
fn rows(events: &[Value], actions: &[&str]) -> Vec<Row> {
    let mut rows: Vec<_> = events
        .iter()
        .filter(|e| actions.contains(&e["action"].as_str().unwrap()))
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
                e["patient"].as_str().map(str::to_owned),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn each_caller_reaches_exactly_its_source_systems_owners_and_domains() {
    for database in TestDatabase::all().await {
        let index = with_tokens(&database, |_| {}).await;
        let backend = database.backend;
        let mut expected: BTreeMap<&str, Vec<Row>> = BTreeMap::new();
        for case in matrix() {
            for caller in CALLERS {
                let answer = index.call(Some(caller), &case.request).await;
                let allowed = case.allowed.contains(&caller);
                if allowed {
                    assert!(
                        answer.status.is_success(),
                        "{backend}: {caller} may {}: {} {}",
                        case.name,
                        answer.status,
                        answer.body
                    );
                } else {
                    assert_eq!(
                        answer.status,
                        StatusCode::FORBIDDEN,
                        "{backend}: {caller} may not {}: {}",
                        case.name,
                        answer.body
                    );
                    assert_eq!(
                        answer.body["code"], case.refusal,
                        "{backend}: {}",
                        case.name
                    );
                    let detail = answer.body["detail"].as_str().unwrap();
                    assert!(detail.contains(caller), "{detail}");
                }
                if let Some(audited) = &case.audited {
                    let (outcome, patients) = if allowed {
                        ("success", &audited.allowed)
                    } else {
                        ("refused", &audited.refused)
                    };
                    expected
                        .entry(caller)
                        .or_default()
                        .extend(patients.iter().map(|p| {
                            (
                                audited.action.to_owned(),
                                outcome.to_owned(),
                                p.map(str::to_owned),
                            )
                        }));
                }
            }
        }

        // What was refused stored nothing: B's mixed Update and the other index's posts are
        // absent, what was allowed is there exactly once.
        let find = |patient: &str, domain: &str| {
            post(
                FIND_CONTENT,
                json!({"registeredResidentIdentification": patient, "serviceDomain": domain}),
            )
        };
        let ids = |answer: Answer| -> Vec<String> {
            answer.body["engagement"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    e["businessObjectInstanceIdentifier"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect()
        };
        assert_eq!(
            ids(index
                .call(Some(READER_ALL), &find(PATIENT_A, DOMAIN_X))
                .await),
            ["a-1"]
        );
        assert_eq!(
            ids(index
                .call(Some(READER_ALL), &find(PATIENT_A, DOMAIN_Y))
                .await),
            ["b-1"]
        );
        assert_eq!(
            ids(index
                .call(Some(READER_ALL), &find(PATIENT_B, DOMAIN_X))
                .await),
            ["p-1"]
        );
        assert!(
            ids(index
                .call(Some(READER_ALL), &find(PATIENT_B, DOMAIN_Y))
                .await)
            .is_empty()
        );
        // Those four reads are READER_ALL's too.
        let reads = expected.entry(READER_ALL).or_default();
        for patient in [PATIENT_A, PATIENT_A, PATIENT_B, PATIENT_B] {
            reads.push((
                "FindContent".to_owned(),
                "success".to_owned(),
                Some(patient.to_owned()),
            ));
        }

        // The audit log holds exactly one row per caller, patient and access.
        let contracts = ["Update", "ProcessNotification", "FindContent", "GetUpdates"];
        for caller in CALLERS {
            let events = index.audit_of(caller).await;
            let mut wanted = expected.remove(caller).unwrap_or_default();
            wanted.sort();
            assert_eq!(rows(&events, &contracts), wanted, "{backend}: {caller}");
            for event in &events {
                assert_eq!(event["authMethod"], "bearer_token");
                assert!(event.get("gateway").is_none());
                assert!(
                    event["correlationId"]
                        .as_str()
                        .is_some_and(|c| !c.is_empty())
                );
            }
            let allowed_update = events
                .iter()
                .find(|e| e["action"] == "Update" && e["outcome"] == "success");
            if let Some(update) = allowed_update {
                assert_eq!(update["role"], "source_system");
                assert_eq!(update["caller"], caller);
            }
        }

        // By patient: every access to A's data, each with its caller.
        let of_a = index.audit_of_patient(PATIENT_A).await;
        let a_success: Vec<(&str, &str)> = of_a
            .iter()
            .filter(|e| e["outcome"] == "success")
            .map(|e| (e["action"].as_str().unwrap(), e["caller"].as_str().unwrap()))
            .collect();
        for wanted in [
            ("Update", SRC_A),
            ("Update", SRC_B),
            ("FindContent", READER_X),
            ("FindContent", READER_ALL),
            ("GetUpdates", READER_X),
            ("GetUpdates", READER_ALL),
        ] {
            assert!(
                a_success.contains(&wanted),
                "{backend}: {wanted:?} in {a_success:?}"
            );
        }
        // The query itself is recorded.
        let again = index.audit_of_patient(PATIENT_A).await;
        assert!(
            again
                .iter()
                .any(|e| e["action"] == "AuditQueryByPatient" && e["caller"] == ADMIN),
            "{backend}"
        );
        drop(index);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn without_a_valid_token_nothing_but_the_probes_answers() {
    let database = TestDatabase::sqlite();
    let index = with_tokens(&database, |_| {}).await;
    for case in matrix() {
        let answer = index.call(None, &case.request).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", case.name);
        assert_eq!(answer.body["code"], "UNAUTHORIZED");
    }
    // A token of another key is refused the same way.
    let stranger = TestSigner::new("ei-test-key").token(ADMIN);
    let forged = index
        .client
        .get(format!("{}/admin/subscribers", index.base))
        .bearer_auth(stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    // The header names nobody without a token.
    let claimed = index
        .request_with(
            None,
            http::Method::GET,
            "/admin/subscribers",
            None,
            &[(CONSUMER, ADMIN)],
        )
        .await;
    assert_eq!(claimed.status, StatusCode::UNAUTHORIZED);
    for probe in ["/health/live", "/health/ready", "/metrics"] {
        let answer = index
            .request_with(None, http::Method::GET, probe, None, &[])
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{probe}");
    }
}

#[tokio::test]
async fn a_gateway_acts_for_the_consumer_it_names_and_others_cannot_name_one() {
    for database in TestDatabase::all().await {
        let index = with_tokens(&database, |_| {}).await;
        let update = transactions(vec![engagement(PATIENT_A, DOMAIN_X, SRC_A, "gw-1")]);
        // The gateway relays for source system A: A's grants count.
        let relayed = index
            .request_with(
                Some(GATEWAY),
                http::Method::POST,
                UPDATE,
                Some(&update),
                &[(CONSUMER, SRC_A)],
            )
            .await;
        assert_eq!(relayed.status, StatusCode::OK, "{}", relayed.body);
        // The gateway itself, or for a consumer without the grant: refused.
        let itself = index
            .request_with(
                Some(GATEWAY),
                http::Method::POST,
                UPDATE,
                Some(&update),
                &[],
            )
            .await;
        assert_eq!(itself.status, StatusCode::FORBIDDEN);
        let for_b = index
            .request_with(
                Some(GATEWAY),
                http::Method::POST,
                UPDATE,
                Some(&update),
                &[(CONSUMER, SRC_B)],
            )
            .await;
        assert_eq!(for_b.body["code"], "FORBIDDEN_SOURCE_SYSTEM");
        // Source system B naming A is still B.
        let impostor = index
            .request_with(
                Some(SRC_B),
                http::Method::POST,
                UPDATE,
                Some(&update),
                &[(CONSUMER, SRC_A)],
            )
            .await;
        assert_eq!(impostor.status, StatusCode::FORBIDDEN);
        assert!(impostor.body["detail"].as_str().unwrap().contains(SRC_B));

        // The audit log keeps both: on behalf of whom, and through which gateway.
        let of_a = index.audit_of(SRC_A).await;
        let through = of_a
            .iter()
            .find(|e| e["action"] == "Update" && e["outcome"] == "success")
            .expect("the relayed Update is recorded for A");
        assert_eq!(through["gateway"], GATEWAY);
        assert_eq!(through["patient"], PATIENT_A);
        assert!(
            index
                .audit_of(GATEWAY)
                .await
                .iter()
                .all(|e| e["outcome"] == "refused")
        );
        let of_b = index.audit_of(SRC_B).await;
        assert_eq!(
            of_b.len(),
            2,
            "{}: the relayed and the impostor's refusal",
            database.backend
        );
        drop(index);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn the_pull_point_serves_the_subscriber_itself_and_audits_each_patient() {
    for database in TestDatabase::all().await {
        let index = with_tokens(&database, |_| {}).await;
        let update = transactions(vec![
            engagement(PATIENT_A, DOMAIN_X, SRC_A, "pull-1"),
            engagement(PATIENT_B, DOMAIN_X, SRC_A, "pull-2"),
            engagement(PATIENT_B, DOMAIN_Y, SRC_A, "not-for-pull"),
        ]);
        assert_eq!(
            index.call(Some(SRC_A), &post(UPDATE, update)).await.status,
            StatusCode::OK
        );

        // Wait for the fan-out to queue the notification.
        let pull = post(
            "/engagementindex/v1/subscribers/SE1-PULL/notifications",
            json!({"afterOffset": 0}),
        );
        let mut answer = index.call(Some(PULL), &pull).await;
        for _ in 0..100 {
            if !answer.body["notification"].as_array().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            answer = index.call(Some(PULL), &pull).await;
        }
        assert_eq!(answer.status, StatusCode::OK);
        let pulled: Vec<&str> = answer.body["notification"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|n| n["engagementTransaction"].as_array().unwrap())
            .map(|t| {
                t["engagement"]["businessObjectInstanceIdentifier"]
                    .as_str()
                    .unwrap()
            })
            .collect();
        assert_eq!(pulled, ["pull-1", "pull-2"], "{}", database.backend);

        // Another subscriber's queue is not this caller's: refused before anything is read.
        let other = index
            .call(
                Some(PULL),
                &post(
                    "/engagementindex/v1/subscribers/SE1-NOT-ME/notifications",
                    json!({}),
                ),
            )
            .await;
        assert_eq!(other.body["code"], "FORBIDDEN_SUBSCRIBER");

        let events = index.audit_of(PULL).await;
        let mut pulled_patients: Vec<&str> = events
            .iter()
            .filter(|e| e["action"] == "PullNotifications")
            .map(|e| {
                assert_eq!(e["resource"], PULL);
                e["patient"].as_str().unwrap()
            })
            .collect();
        pulled_patients.sort_unstable();
        // One row per patient of the fetch that returned something (empty fetches name nobody).
        assert_eq!(
            pulled_patients,
            [PATIENT_A, PATIENT_B],
            "{}",
            database.backend
        );
        drop(index);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_caller_beyond_its_rate_gets_429_and_others_go_on() {
    let database = TestDatabase::sqlite();
    let index = with_tokens(&database, |auth| {
        auth.rate_limit = RateLimitConfig {
            enabled: true,
            requests_per_second: 1,
            burst: 3,
        };
    })
    .await;
    let find = post(
        FIND_CONTENT,
        json!({"registeredResidentIdentification": PATIENT_A, "serviceDomain": DOMAIN_X}),
    );
    for _ in 0..3 {
        assert_eq!(
            index.call(Some(READER_X), &find).await.status,
            StatusCode::OK
        );
    }
    let limited = index
        .client
        .post(format!("{}{FIND_CONTENT}", index.base))
        .bearer_auth(index.signer.as_ref().unwrap().token(READER_X))
        .json(find.body.as_ref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key("retry-after"));
    let problem: Value = limited.json().await.unwrap();
    assert_eq!(problem["code"], "RATE_LIMITED");
    assert_eq!(
        index.call(Some(READER_ALL), &find).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn mutual_tls_end_to_end_the_certificate_names_the_caller() {
    for database in TestDatabase::all().await {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("Test SITHS CA");
        let auth = ca.mtls_config(dir.path(), grants());
        let as_src_a = ca.https_client(Some(&ca.client(SRC_A)));
        let index = start(config(&database, auth), as_src_a.clone(), dir).await;
        assert!(index.base.starts_with("https://"));

        let update = transactions(vec![engagement(PATIENT_A, DOMAIN_X, SRC_A, "tls-1")]);
        let answer = index.call(None, &post(UPDATE, update.clone())).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

        // Source system B's certificate may not post as A, whatever header it sends.
        let as_src_b = ca.https_client(Some(&ca.client(SRC_B)));
        let refused = as_src_b
            .post(format!("{}{UPDATE}", index.base))
            .header(CONSUMER, SRC_A)
            .json(&update)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let problem: Value = refused.json().await.unwrap();
        assert_eq!(problem["code"], "FORBIDDEN_SOURCE_SYSTEM");

        // The reader finds it; the audit log shows both, authenticated by certificate.
        let reader = ca.https_client(Some(&ca.client(READER_X)));
        let found: Value = reader
            .post(format!("{}{FIND_CONTENT}", index.base))
            .json(
                &json!({"registeredResidentIdentification": PATIENT_A, "serviceDomain": DOMAIN_X}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            found["engagement"][0]["businessObjectInstanceIdentifier"],
            "tls-1"
        );
        let admin = ca.https_client(Some(&ca.client(ADMIN)));
        let fields = ["action", "caller", "outcome", "authMethod"];
        assert_eq!(
            audited(&admin, &index.base, PATIENT_A, &fields).await,
            [
                ["Update", SRC_A, "success", "mutual_tls"],
                ["Update", SRC_B, "refused", "mutual_tls"],
                ["FindContent", READER_X, "success", "mutual_tls"],
            ],
            "{}",
            database.backend
        );

        // No certificate, or one from another CA: no connection at all.
        let anonymous = ca.https_client(None);
        assert!(
            anonymous
                .get(format!("{}/health/live", index.base))
                .send()
                .await
                .is_err()
        );
        let stranger = TestCa::new("Another CA");
        let foreign = ca.https_client(Some(&stranger.client(ADMIN)));
        assert!(
            foreign
                .get(format!("{}/admin/subscribers", index.base))
                .send()
                .await
                .is_err()
        );
        drop(index);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn open_mode_answers_everyone_and_still_audits() {
    let database = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let index = start(
        config(&database, AuthConfig::default()),
        common::testing::http(),
        dir,
    )
    .await;
    assert!(index.base.starts_with("http://"));
    let update = transactions(vec![engagement(PATIENT_A, DOMAIN_X, SRC_A, "open-1")]);
    let answer = index
        .request_with(
            None,
            http::Method::POST,
            UPDATE,
            Some(&update),
            &[(CONSUMER, NOBODY)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let anonymous = index
        .call(
            None,
            &post(
                FIND_CONTENT,
                json!({"registeredResidentIdentification": PATIENT_A, "serviceDomain": DOMAIN_Y}),
            ),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::OK);
    let events = index.audit_of(NOBODY).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["authMethod"], "open");
    assert_eq!(events[0]["patient"], PATIENT_A);
    let anonymous_events = index.audit_of("anonymous").await;
    assert_eq!(anonymous_events.len(), 1);
    assert_eq!(anonymous_events[0]["action"], "FindContent");
}

/// A subscriber that takes notifications only from callers with a certificate of `ca`, and
/// records who sent each.
async fn receiver_requiring_certificates(
    ca: &TestCa,
    dir: &std::path::Path,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    Shutdown,
) {
    use axum::routing::post;
    let seen: std::sync::Arc<std::sync::Mutex<Vec<String>>> = std::sync::Arc::default();
    let record = {
        let seen = std::sync::Arc::clone(&seen);
        move |caller: common::auth::Caller| {
            let seen = std::sync::Arc::clone(&seen);
            async move {
                seen.lock().unwrap().push(caller.name().to_owned());
                axum::Json(json!({"ResultCode": "OK"}))
            }
        }
    };
    let authenticator = common::auth::Authenticator::from_config(&ca.mtls_config(dir, Vec::new()))
        .await
        .unwrap();
    let api = authenticator.protect(axum::Router::new().route("/notify", post(record)));
    let service = common::server::ServiceDescription {
        name: "subscriber",
        openapi: utoipa::openapi::OpenApi::default(),
        readiness: common::server::readiness(|| async { Ok(()) }),
    };
    let bound = common::server::BoundService::bind(service, api, &HttpConfig::with_port(0))
        .await
        .unwrap()
        .with_tls(authenticator.tls());
    let url = format!("https://127.0.0.1:{}/notify", bound.local_addr().port());
    let shutdown = Shutdown::new();
    tokio::spawn(bound.serve(shutdown.clone()));
    (url, seen, shutdown)
}

#[tokio::test]
async fn push_deliveries_present_the_index_certificate_to_a_subscriber_requiring_one() {
    let database = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Test SITHS CA");
    let (url, seen, receiver) = receiver_requiring_certificates(&ca, dir.path()).await;
    let identity = ca.client(EI);
    let mut config = config(&database, AuthConfig::default());
    config.subscribers.push(DeclaredSubscriber {
        logical_address: "SE1-CARE-SYSTEM".to_owned(),
        url: Some(url),
        delivery: DeliveryMode::Push,
        filter: Vec::new(),
    });
    config.subscriber_client = common::http_client::ClientAuthConfig {
        certificate: Some(common::testing::security::write(
            dir.path(),
            "ei.pem",
            &identity.certificate_pem,
        )),
        private_key: Some(common::testing::security::write(
            dir.path(),
            "ei.key",
            &identity.key_pem,
        )),
        server_ca: Some(common::testing::security::write(
            dir.path(),
            "ca.pem",
            &ca.pem,
        )),
        bearer_token_file: None,
    };
    config.delivery.poll_interval_ms = 20;
    let index = start(
        config,
        common::testing::http(),
        tempfile::tempdir().unwrap(),
    )
    .await;
    let update = transactions(vec![engagement(PATIENT_A, DOMAIN_X, SRC_A, "push-1")]);
    assert_eq!(
        index.call(None, &post(UPDATE, update)).await.status,
        StatusCode::OK
    );
    for _ in 0..200 {
        if !seen.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [EI],
        "the subscriber saw the index's certificate"
    );
    receiver.cancel();
}
