//! The installation in each service, through HTTP on SQLite and (with `TEST_DATABASE_URL`)
//! PostgreSQL: started in staging by configuration, every operation of the service's own
//! document outside /admin and /migration answers 503 INSTALLATION_IN_STAGING with Retry-After,
//! readiness says STAGING, the admin endpoints and the migration key work, and the audited
//! switch to operational opens the contracts and closes the migration endpoints.

use common::config::{DatabaseConfig, HttpConfig};
use common::installation::{InstallationConfig, InstallationMode};
use common::shutdown::Shutdown;
use common::testing::TestDatabase;
use serde_json::{Value, json};

/// One service: how to start it and one contract call that answers 200 once operational.
struct Service {
    name: &'static str,
    contract: (&'static str, Value),
}

const SERVICES: [&str; 3] = ["engagement-index", "form-engine", "patient-portal-stub"];

fn service(name: &str) -> Service {
    match name {
        "engagement-index" => Service {
            name: "engagement-index",
            contract: (
                "/engagementindex/v1/FindContent",
                json!({"registeredResidentIdentification": "191212121212",
                       "serviceDomain": "riv:crm:scheduling"}),
            ),
        },
        "form-engine" => Service {
            name: "form-engine",
            contract: (
                "/forminteraction/v2/GetFormTemplates",
                json!({"healthcare_Facility_CareUnit": "SE2321000016-1HZ3"}),
            ),
        },
        _ => Service {
            name: "patient-portal-stub",
            contract: (
                "/patientportal/v1/IsActiveUser",
                json!({"subjectOfCare": "191212121212"}),
            ),
        },
    }
}

struct Running {
    base: String,
    shutdown: Shutdown,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn start(name: &str, database: DatabaseConfig, installation: InstallationConfig) -> Running {
    let http = HttpConfig::with_port(0);
    let shutdown = Shutdown::new();
    let address = match name {
        "engagement-index" => {
            let app = engagement_index::Application::build(engagement_index::Config {
                http,
                database,
                installation,
                ..engagement_index::Config::default()
            })
            .await
            .unwrap();
            let address = app.local_addr();
            tokio::spawn(app.run_until_stopped(shutdown.clone()));
            address
        }
        "form-engine" => {
            let app = form_engine::Application::build(form_engine::Config {
                http,
                database,
                installation,
                ..form_engine::Config::default()
            })
            .await
            .unwrap();
            let address = app.local_addr();
            tokio::spawn(app.run_until_stopped(shutdown.clone()));
            address
        }
        _ => {
            let app = patient_portal_stub::Application::build(patient_portal_stub::Config {
                http,
                database,
                installation,
                ..patient_portal_stub::Config::default()
            })
            .await
            .unwrap();
            let address = app.local_addr();
            tokio::spawn(app.run_until_stopped(shutdown.clone()));
            address
        }
    };
    Running {
        base: format!("http://{address}"),
        shutdown,
    }
}

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: Value,
}

async fn call(
    base: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    key: Option<&str>,
) -> Answer {
    let client = common::testing::http();
    let method = http::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut request = client.request(method, format!("{base}{path}"));
    if let Some(body) = body {
        request = request.json(body);
    }
    if let Some(key) = key {
        request = request.header("authorization", format!("Migration {key}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        headers,
        body,
    }
}

/// Every operation of the service's document that a staging installation closes, with its
/// path parameters filled in.
fn gated_operations(document: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        if !common::installation::is_gated(path) {
            continue;
        }
        let concrete = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "SE2321000016-1HZ3"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                found.push((method.clone(), concrete.clone()));
            }
        }
    }
    found
}

fn staging() -> InstallationConfig {
    InstallationConfig {
        initial_mode: InstallationMode::Staging,
        ..InstallationConfig::default()
    }
}

fn assert_problem(answer: &Answer, status: u16, code: &str, context: &str) {
    assert_eq!(answer.status, status, "{context}: {}", answer.body);
    assert_eq!(answer.body["code"], code, "{context}: {}", answer.body);
}

async fn staging_scenario(name: &str) {
    for database in TestDatabase::all().await {
        let service = service(name);
        let context = format!("{} on {}", service.name, database.backend);
        let running = start(service.name, database.config.clone(), staging()).await;
        let base = running.base.as_str();

        // Every contract of the document, and the citizen's pages, are closed.
        let document = call(base, "GET", "/openapi.json", None, None).await.body;
        let gated = gated_operations(&document);
        assert!(gated.len() >= 2, "{context}: {gated:?}");
        let mut closed = gated.clone();
        if service.name == "patient-portal-stub" {
            closed.push(("get".into(), "/sign-in".into()));
            closed.push(("get".into(), "/".into()));
        }
        for (method, path) in &closed {
            let body = (method != "get").then(|| json!({}));
            let answer = call(base, method, path, body.as_ref(), None).await;
            let what = format!("{context}: {method} {path}");
            assert_problem(&answer, 503, "INSTALLATION_IN_STAGING", &what);
            assert_eq!(answer.headers["retry-after"], "300", "{what}");
        }
        let (contract, body) = &service.contract;
        let documented = &document["paths"][contract]["post"]["responses"]["503"];
        assert!(
            documented["description"]
                .as_str()
                .unwrap()
                .contains("INSTALLATION_IN_STAGING"),
            "{context}: {documented}"
        );
        let ready = call(base, "GET", "/health/ready", None, None).await;
        assert_eq!(ready.status, 200, "{context}");
        assert_eq!(
            ready.body,
            json!({"status": "STAGING", "installationMode": "staging"}),
            "{context}"
        );

        // Admin works; a key is shown once and checked; a second key revokes the first.
        let shown = call(base, "GET", "/admin/installation", None, None).await;
        assert_eq!(shown.status, 200, "{context}: {}", shown.body);
        assert_eq!(shown.body["service"], service.name, "{context}");
        assert_eq!(shown.body["mode"], "staging", "{context}");
        let create = async || {
            let created = call(
                base,
                "POST",
                "/admin/installation/migration-keys",
                None,
                None,
            )
            .await;
            assert_eq!(created.status, 201, "{context}: {}", created.body);
            created.body["key"].as_str().unwrap().to_owned()
        };
        let first = create().await;
        let check = async |key: &str| {
            call(base, "GET", "/migration/v1/installation", None, Some(key)).await
        };
        let checked = check(&first).await;
        assert_eq!(checked.status, 200, "{context}: {}", checked.body);
        assert_eq!(checked.body["installationId"], shown.body["installationId"]);
        let wrong = format!("{}x", &first[..first.len() - 1]);
        assert_problem(&check(&wrong).await, 401, "MIGRATION_KEY_REFUSED", &context);
        let second = create().await;
        assert_problem(&check(&first).await, 401, "MIGRATION_KEY_REFUSED", &context);
        assert_eq!(check(&second).await.status, 200, "{context}");

        // The switch: audited, the key revoked, the contracts open, migration closed.
        let switched = call(
            base,
            "POST",
            "/admin/installation/switch-to-operational",
            None,
            None,
        )
        .await;
        assert_eq!(switched.status, 200, "{context}: {}", switched.body);
        assert_eq!(switched.body["mode"], "operational", "{context}");
        assert_eq!(switched.body["modeChangedBy"], "anonymous", "{context}");
        let answered = call(base, "POST", contract, Some(body), None).await;
        assert_eq!(answered.status, 200, "{context}: {}", answered.body);
        for (method, path) in &gated {
            let body = (method != "get").then(|| json!({}));
            let answer = call(base, method, path, body.as_ref(), None).await;
            assert_ne!(
                answer.body["code"], "INSTALLATION_IN_STAGING",
                "{context}: {method} {path}"
            );
        }
        let ready = call(base, "GET", "/health/ready", None, None).await;
        assert_eq!(
            ready.body,
            json!({"status": "UP", "installationMode": "operational"}),
            "{context}"
        );
        assert_problem(
            &check(&second).await,
            409,
            "INSTALLATION_OPERATIONAL",
            &context,
        );
        let refused = call(
            base,
            "POST",
            "/admin/installation/migration-keys",
            None,
            None,
        )
        .await;
        assert_problem(&refused, 409, "INSTALLATION_OPERATIONAL", &context);
        let audit = call(base, "GET", "/admin/audit/by-caller/anonymous", None, None).await;
        let actions: Vec<&str> = audit.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["action"].as_str())
            .filter(|a| a.starts_with("Installation") || a.starts_with("MigrationKey"))
            .collect();
        assert_eq!(
            actions,
            [
                "MigrationKeyCreate",
                "MigrationKeyCreate",
                "InstallationSwitchToOperational"
            ],
            "{context}"
        );
        drop(running);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn the_engagement_index_starts_in_staging_when_configured() {
    staging_scenario(SERVICES[0]).await;
}

#[tokio::test]
async fn the_form_engine_starts_in_staging_when_configured() {
    staging_scenario(SERVICES[1]).await;
}

#[tokio::test]
async fn the_patient_portal_starts_in_staging_when_configured() {
    staging_scenario(SERVICES[2]).await;
}

#[tokio::test]
async fn every_service_is_operational_unless_configured_otherwise() {
    for name in SERVICES {
        let database = TestDatabase::sqlite();
        let service = service(name);
        let running = start(name, database.config.clone(), InstallationConfig::default()).await;
        let (contract, body) = &service.contract;
        let answered = call(&running.base, "POST", contract, Some(body), None).await;
        assert_eq!(answered.status, 200, "{name}: {}", answered.body);
        let shown = call(&running.base, "GET", "/admin/installation", None, None).await;
        assert_eq!(shown.body["mode"], "operational", "{name}");
        assert_eq!(
            shown.body["modeChangedBy"], "configuration (installation.initial_mode)",
            "{name}"
        );
    }
}
