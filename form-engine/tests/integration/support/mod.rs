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

/// A stand-in for the engagement index's Update endpoint: keeps every Update body it is sent
/// and answers `ResultCode: OK`. It can be stopped and started again on the same port.
pub struct FakeIndex {
    pub port: u16,
    pub updates: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    stop: Option<Shutdown>,
}

impl FakeIndex {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut index = Self {
            port,
            updates: std::sync::Arc::default(),
            stop: None,
        };
        index.serve(listener);
        index
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let updates = std::sync::Arc::clone(&self.updates);
        let app = axum::Router::new().route(
            "/engagementindex/v1/Update",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let updates = std::sync::Arc::clone(&updates);
                async move {
                    updates.lock().unwrap().push(body);
                    axum::Json(json!({"ResultCode": "OK"}))
                }
            }),
        );
        let stop = Shutdown::new();
        let until = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(until.cancelled_owned())
                .await;
        });
        self.stop = Some(stop);
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.cancel();
        }
    }

    pub async fn restart(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("the port is free again");
        self.serve(listener);
    }

    /// Every engagement transaction received so far, in order.
    pub fn transactions(&self) -> Vec<Value> {
        self.updates
            .lock()
            .unwrap()
            .iter()
            .flat_map(|u| {
                u["engagementTransaction"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Waits until at least `count` transactions have arrived (at most 10 s).
    pub async fn wait_for(&self, count: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let got = self.transactions();
            if got.len() >= count || std::time::Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// (categorization, deleteFlag, formId) of a transaction.
pub fn post(transaction: &Value) -> (String, bool, String) {
    (
        transaction["engagement"]["categorization"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        transaction["deleteFlag"].as_bool().unwrap_or_default(),
        transaction["engagement"]["businessObjectInstanceIdentifier"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// An engine configuration on `database` posting to `index_url`, with quick delivery retries.
pub fn config(database: &DatabaseConfig, index_url: &str) -> Config {
    let mut config = Config {
        database: database.clone(),
        engagement_index_url: index_url.to_owned(),
        ..Config::default()
    };
    config.delivery.initial_backoff_ms = 50;
    config.delivery.max_backoff_ms = 200;
    config.delivery.poll_interval_ms = 50;
    config
}

/// A CreateFormRequest item for the example template.
pub fn form_request(subject: &str) -> Value {
    let today = common::riv_time::today_in_sweden();
    let later = |days| common::riv_time::format_date(today + chrono::Days::new(days));
    json!({
        "healthcare_Facility_CareUnit": CARE_UNIT,
        "healthcare_systemID": "SE0000000001-CS01",
        "subjectOfCare": subject,
        "templateId": "HALSA-1",
        "formText": "Hälsodeklaration inför din operation",
        "expireDate": later(30),
        "keepUntil": later(365),
    })
}

impl Engine {
    /// Requests one form of the example template for `subject` and returns its id.
    pub async fn request_form(&self, subject: &str) -> String {
        let (status, body) = self
            .call(
                "CreateFormRequest",
                &json!({"formRequests": [form_request(subject)]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["resultCode"], "OK", "{body}");
        body["formRequestResponses"][0]["formId"]
            .as_str()
            .expect("a form id")
            .to_owned()
    }

    /// SaveFormPage with answers grouped as `[(block, [(valueID, value)])]`.
    pub async fn save_page(
        &self,
        form_id: &str,
        subject: &str,
        page: u32,
        blocks: &[(u32, Vec<(&str, Value)>)],
        temporary: bool,
    ) -> (StatusCode, Value) {
        let blocks: Vec<Value> = blocks
            .iter()
            .map(|(block, answers)| {
                json!({"blockNumber": block, "answers": answers.iter()
                    .map(|(id, value)| json!({"valueID": id, "value": value})).collect::<Vec<_>>()})
            })
            .collect();
        self.call(
            "SaveFormPage",
            &json!({"formId": form_id, "subjectOfCare": subject, "temporarySave": temporary,
                    "pageAnswers": {"pageNumber": page, "questionAnswerBlocks": blocks}}),
        )
        .await
    }

    pub async fn get_form(&self, form_id: &str, subject: &str) -> Value {
        let (status, body) = self
            .call(
                "GetForm",
                &json!({"formId": form_id, "subjectOfCare": subject}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["form"].clone()
    }
}

/// valueID → (value, resultCode, resultCodeText) of the answers on a page view.
pub fn answer_statuses(page: &Value) -> Vec<(String, Option<Value>, String, Option<String>)> {
    let mut found = Vec::new();
    for block in page["questionBlocks"].as_array().into_iter().flatten() {
        for question in block["questions"].as_array().into_iter().flatten() {
            for answer in question["answers"].as_array().into_iter().flatten() {
                found.push((
                    answer["valueID"].as_str().unwrap_or_default().to_owned(),
                    answer.get("value").cloned(),
                    answer["answerStatus"]["resultCode"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    answer["answerStatus"]["resultCodeText"]
                        .as_str()
                        .map(str::to_owned),
                ));
            }
        }
    }
    found
}
