//! Starting the form engine on port 0 and calling its contracts as a care system and an
//! e-service would.

#![allow(dead_code)] // each test binary uses a different part

use common::config::{DatabaseConfig, HttpConfig};
use common::shutdown::Shutdown;
use form_engine::{Application, Config};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const CARE_UNIT: &str = "SE0000000001-CU01";
pub const OTHER_CARE_UNIT: &str = "SE0000000001-CU02";
pub const TOLVAN: &str = "191212121212";
pub const LENA: &str = "199001012385";

pub struct Engine {
    pub base: String,
    pub http: reqwest::Client,
    shutdown: Shutdown,
}

impl Engine {
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
        let app = Application::build(config)
            .await
            .expect("the form engine starts");
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

    /// POSTs `body` to `/forminteraction/v2/<contract>`.
    pub async fn call(&self, contract: &str, body: &Value) -> (StatusCode, Value) {
        self.call_with(contract, body, &[]).await
    }

    pub async fn call_with(
        &self,
        contract: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}/forminteraction/v2/{contract}", self.base))
            .json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("the form engine answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Saves a template and returns the response, which must be OK or INFO.
    pub async fn save_template(&self, template: &Value) -> Value {
        let (status, body) = self
            .call("SaveFormTemplate", &json!({ "formTemplate": template }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_ne!(body["ResultCode"], "ERROR", "{body}");
        body
    }
}

/// The example template of docs/templates.md.
pub fn example() -> Value {
    form_engine::demo::health_declaration_json()
}

/// The example with `changes` merged into its top level.
pub fn example_with(changes: &Value) -> Value {
    let mut template = example();
    for (key, value) in changes.as_object().expect("an object of changes") {
        if value.is_null() {
            template.as_object_mut().unwrap().remove(key);
        } else {
            template[key] = value.clone();
        }
    }
    template
}
