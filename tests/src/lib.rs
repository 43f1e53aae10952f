//! Starts the whole system in-process for end-to-end tests: the three services on port 0,
//! each on its own SQLite file in a temporary directory, or on its own scratch PostgreSQL
//! database when `TEST_DATABASE_URL` is set.

pub mod demo_care_system;

use std::net::SocketAddr;

use common::config::{DatabaseConfig, HttpConfig};
use common::shutdown::Shutdown;
use common::testing::ScratchDatabase;

pub struct TestSystem {
    pub form_engine: SocketAddr,
    pub engagement_index: SocketAddr,
    pub portal: SocketAddr,
    pub http: reqwest::Client,
    shutdown: Shutdown,
    databases: Vec<ScratchDatabase>,
    _data_dir: tempfile::TempDir,
}

impl TestSystem {
    pub async fn start() -> anyhow::Result<Self> {
        common::telemetry::init_for_tests();
        let data_dir = tempfile::tempdir()?;
        let mut databases = Vec::new();
        let mut database = async || -> DatabaseConfig {
            let mut config = DatabaseConfig {
                data_dir: data_dir.path().to_owned(),
                ..DatabaseConfig::default()
            };
            if let Some(scratch) = ScratchDatabase::create().await {
                config.url = Some(scratch.url.clone());
                databases.push(scratch);
            }
            config
        };
        let engagement_index = engagement_index::Config {
            http: HttpConfig::with_port(0),
            database: database().await,
            ..engagement_index::Config::default()
        };
        let form_engine = form_engine::Config {
            http: HttpConfig::with_port(0),
            database: database().await,
            ..form_engine::Config::default()
        };
        let portal = patient_portal_stub::Config {
            http: HttpConfig::with_port(0),
            database: database().await,
            ..patient_portal_stub::Config::default()
        };
        let shutdown = Shutdown::new();
        let engagement_index = engagement_index::Application::build(engagement_index).await?;
        let form_engine = form_engine::Application::build(form_engine).await?;
        let portal = patient_portal_stub::Application::build(portal).await?;
        let addresses = (
            form_engine.local_addr(),
            engagement_index.local_addr(),
            portal.local_addr(),
        );
        tokio::spawn(engagement_index.run_until_stopped(shutdown.clone()));
        tokio::spawn(form_engine.run_until_stopped(shutdown.clone()));
        tokio::spawn(portal.run_until_stopped(shutdown.clone()));
        Ok(Self {
            form_engine: addresses.0,
            engagement_index: addresses.1,
            portal: addresses.2,
            http: common::testing::http(),
            shutdown,
            databases,
            _data_dir: data_dir,
        })
    }

    /// Each service with its name, for tests that check all three alike.
    pub fn services(&self) -> [(&'static str, SocketAddr); 3] {
        [
            ("form-engine", self.form_engine),
            ("engagement-index", self.engagement_index),
            ("patient-portal-stub", self.portal),
        ]
    }

    /// Stops the services and drops any scratch databases.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for database in self.databases {
            database.drop_database().await;
        }
    }
}

pub fn url(address: SocketAddr, path: &str) -> String {
    format!("http://{address}{path}")
}
