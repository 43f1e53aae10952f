//! Starting the portal on port 0 and talking to it as a care system, an operator and a
//! citizen's browser would.

#![allow(dead_code)] // not every helper is used by every test

pub mod browser;
pub mod fake_engine;

use common::config::{DatabaseConfig, HttpConfig};
use common::shutdown::Shutdown;
use patient_portal_stub::{Application, Config};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const TOLVAN: &str = "191212121212";
pub const TOLVA: &str = "201212121212";
pub const LENA: &str = "199001012385";
pub const SARA: &str = "198507099805";
pub const KARIN: &str = "197001012389";
/// A well-formed number no test citizen has.
pub const STRANGER: &str = "194004048897";

pub struct Portal {
    pub base: String,
    pub http: reqwest::Client,
    shutdown: Shutdown,
}

impl Portal {
    pub async fn start(database: &DatabaseConfig) -> Self {
        Self::start_with(Config {
            database: database.clone(),
            ..Config::default()
        })
        .await
    }

    pub async fn start_with(mut config: Config) -> Self {
        common::telemetry::init_for_tests();
        config.http = HttpConfig::with_port(0);
        let app = Application::build(config).await.expect("the portal starts");
        let base = format!("http://{}", app.local_addr());
        let shutdown = Shutdown::new();
        tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Self {
            base,
            http: common::testing::http(),
            shutdown,
        }
    }

    pub fn stop(&self) {
        self.shutdown.cancel();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("the portal answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.url(path))
            .send()
            .await
            .expect("the portal answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .http
            .put(self.url(path))
            .json(body)
            .send()
            .await
            .expect("the portal answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// AddMessageToPatientPortalInbox with the given subject and body; the answer.
    pub async fn add_message(&self, subject_of_care: &str, subject: &str, body: &str) -> Value {
        let (status, answer) = self
            .post(
                "/patientportal/v1/AddMessageToPatientPortalInbox",
                &message(subject_of_care, subject, body),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer
    }

    pub async fn citizen(&self, personal_identity_number: &str) -> Value {
        let (status, list) = self.get("/admin/citizens").await;
        assert_eq!(status, StatusCode::OK);
        list["citizens"]
            .as_array()
            .expect("a list")
            .iter()
            .find(|c| c["personalIdentityNumber"] == personal_identity_number)
            .cloned()
            .unwrap_or_else(|| panic!("no test citizen {personal_identity_number}"))
    }

    pub async fn citizen_id(&self, personal_identity_number: &str) -> String {
        self.citizen(personal_identity_number).await["citizenId"]
            .as_str()
            .expect("an id")
            .to_owned()
    }

    pub async fn notifications_of(&self, personal_identity_number: &str) -> Vec<Value> {
        let id = self.citizen_id(personal_identity_number).await;
        let (status, list) = self
            .get(&format!("/admin/notifications?citizenId={id}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list["notifications"].as_array().expect("a list").clone()
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A complete, valid AddMessageToPatientPortalInbox request.
pub fn message(subject_of_care: &str, subject: &str, body: &str) -> Value {
    json!({
        "subjectOfCare": subject_of_care,
        "healthcare_facility_CareUnit": "SE2321000016-1HZ3",
        "careUnitName": "Vårdcentralen Tolvhälsan",
        "subject": subject,
        "body": body,
        "url": "https://forms.example/forms/8d3f2c1e?step=1&lang=sv",
        "sourceSystem": "SE2321000016-SYS1",
        "expireDate": "20991231"
    })
}
