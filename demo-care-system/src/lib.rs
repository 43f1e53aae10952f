//! A demo care system: the other party of the flow. It saves the example template, subscribes
//! to the engagement index for the forms domain, requests forms for its patients (and puts a
//! link in their inbox), receives ProcessNotification (from the index, or from the form engine
//! when that notifies it directly), and fetches answered forms with GetForm.
//! It keeps its own state in memory: it stands in for a real care system's records.

mod contracts;
mod pages;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use axum::Router;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use common::config::HttpConfig;
use common::shutdown::Shutdown;
use serde_json::Value;

pub use contracts::FORMS_DOMAIN;

/// Where the demo care system listens and whom it talks to.
#[derive(Clone, Debug)]
pub struct DemoCareSystemConfig {
    pub http: HttpConfig,
    /// The care system's HSA-id: its logical address as a subscriber, and the caller it names.
    pub hsa_id: String,
    /// The care unit it requests forms for.
    pub care_unit: String,
    pub care_unit_name: String,
    pub form_engine_url: String,
    pub engagement_index_url: String,
    pub portal_url: String,
    /// The template it saves at start and requests forms from.
    pub template: Value,
}

impl DemoCareSystemConfig {
    pub fn new(
        form_engine_url: &str,
        engagement_index_url: &str,
        portal_url: &str,
        template: Value,
    ) -> Self {
        Self {
            http: HttpConfig::with_port(8084),
            hsa_id: "SE0000000001-CS01".into(),
            care_unit: "SE0000000001-CU01".into(),
            care_unit_name: "Vårdcentralen Exempel".into(),
            form_engine_url: form_engine_url.trim_end_matches('/').to_owned(),
            engagement_index_url: engagement_index_url.trim_end_matches('/').to_owned(),
            portal_url: portal_url.trim_end_matches('/').to_owned(),
            template,
        }
    }

    pub fn template_id(&self) -> String {
        self.template["templateId"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// A form this care system requested.
#[derive(Clone, Debug)]
pub struct RequestedForm {
    pub form_id: String,
    pub subject_of_care: String,
    pub requested_at: DateTime<Utc>,
}

/// A ProcessNotification transaction as received.
#[derive(Clone, Debug)]
pub struct ReceivedNotification {
    pub received_at: DateTime<Utc>,
    /// Who sent it: the engagement index's HSA-id, or the form engine's when it notifies
    /// the care system directly.
    pub owner: String,
    pub delete_flag: bool,
    pub categorization: String,
    pub form_id: String,
    pub subject_of_care: String,
    pub traceparent: Option<String>,
    pub correlation_id: Option<String>,
}

#[derive(Default)]
struct Records {
    requested: Vec<RequestedForm>,
    notifications: Vec<ReceivedNotification>,
    /// The x-notification-id of every notification taken: a repeat is answered OK and
    /// ignored (a sender that did not hear the answer sends it again).
    taken: std::collections::HashSet<String>,
    /// Completed forms fetched with GetForm, by formId.
    answered: HashMap<String, Value>,
}

#[derive(Clone)]
struct DemoState {
    config: Arc<DemoCareSystemConfig>,
    http: reqwest::Client,
    records: Arc<Mutex<Records>>,
}

pub struct DemoCareSystem {
    state: DemoState,
    listener: tokio::net::TcpListener,
}

impl DemoCareSystem {
    pub async fn build(config: DemoCareSystemConfig) -> anyhow::Result<Self> {
        let listener = common::server::bind(&config.http).await.with_context(|| {
            format!(
                "the demo care system cannot listen on port {}",
                config.http.port
            )
        })?;
        Ok(Self::on_listener(config, listener))
    }

    /// As [`Self::build`], on a listener bound before (so the form engine can be told where
    /// to notify it before it starts); `config.http` is not used.
    pub fn on_listener(config: DemoCareSystemConfig, listener: tokio::net::TcpListener) -> Self {
        let state = DemoState {
            config: Arc::new(config),
            http: common::http_client::client(std::time::Duration::from_secs(10)),
            records: Arc::default(),
        };
        Self { state, listener }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Saves the example template and subscribes to the engagement index; the services must
    /// be up. Safe to repeat.
    pub async fn set_up(&self) -> anyhow::Result<()> {
        let own_url = format!("http://{}/notifications", self.local_addr());
        contracts::save_template(&self.state).await?;
        contracts::subscribe(&self.state, &own_url).await?;
        Ok(())
    }

    /// A handle for tests and the launcher to act as the care system.
    pub fn handle(&self) -> DemoCareSystemHandle {
        DemoCareSystemHandle {
            state: self.state.clone(),
        }
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let app = Router::new()
            .route("/", get(pages::overview))
            .route("/request", post(pages::request))
            .route("/forms/{form_id}", get(pages::form))
            .route("/notifications", post(contracts::receive_notification))
            .with_state(self.state)
            .layer(axum::middleware::from_fn(common::correlation::middleware));
        common::server::serve(self.listener, app, shutdown)
            .await
            .context("the demo care system failed")
    }
}

/// Acts as the care system: what its staff would do in their own user interface.
#[derive(Clone)]
pub struct DemoCareSystemHandle {
    state: DemoState,
}

impl DemoCareSystemHandle {
    /// Requests a form for a patient and puts a link to it in the patient's inbox; returns the formId.
    pub async fn request_form(&self, subject_of_care: &str) -> anyhow::Result<String> {
        contracts::request_form(&self.state, subject_of_care).await
    }

    /// Requests a form of another template of the care unit's (e.g. one made in the form
    /// designer); returns the formId.
    pub async fn request_form_of(
        &self,
        subject_of_care: &str,
        template_id: &str,
    ) -> anyhow::Result<String> {
        contracts::request_form_of(&self.state, subject_of_care, template_id).await
    }

    pub fn notifications(&self) -> Vec<ReceivedNotification> {
        self.state
            .records
            .lock()
            .expect("records lock")
            .notifications
            .clone()
    }

    /// The completed form as fetched with GetForm after its FormComplete notification.
    pub fn answered_form(&self, form_id: &str) -> Option<Value> {
        self.state
            .records
            .lock()
            .expect("records lock")
            .answered
            .get(form_id)
            .cloned()
    }
}
