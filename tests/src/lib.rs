//! Starts the whole system in-process for end-to-end tests: the three services on port 0,
//! connected to each other as in production, each on its own SQLite file in a temporary
//! directory, or on its own scratch PostgreSQL database when `TEST_DATABASE_URL` is set; and,
//! when a test asks for it, the demo care system.

use std::net::SocketAddr;
use std::time::Duration;

use common::config::{DatabaseConfig, HttpConfig};
use common::shutdown::Shutdown;
use common::testing::ScratchDatabase;
use common::testing::database_front::DatabaseFront;
pub use demo_care_system;
use demo_care_system::{DemoCareSystem, DemoCareSystemConfig, DemoCareSystemHandle};

pub struct TestSystem {
    pub form_engine: SocketAddr,
    pub engagement_index: SocketAddr,
    pub portal: SocketAddr,
    /// `https` when the services were started with TLS ([`Security`]), else `http`.
    pub scheme: &'static str,
    pub http: reqwest::Client,
    shutdown: Shutdown,
    index_shutdown: Shutdown,
    index_stopped: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    index_config: engagement_index::Config,
    /// Bound before the form engine starts when the engine notifies the demo care system
    /// directly ([`Self::start_notifying_directly`]).
    care_system_listener: std::sync::Mutex<Option<tokio::net::TcpListener>>,
    databases: Vec<ScratchDatabase>,
    /// On PostgreSQL after [`Self::start_behind_database_front`]: between the services and the
    /// server, for the test to cut and restore.
    pub database_front: Option<DatabaseFront>,
    _data_dir: tempfile::TempDir,
}

/// How the services authenticate their callers (`[auth]` of each) and the credentials they
/// call each other with, as docs/security.md describes; the default is open mode.
#[derive(Clone, Debug, Default)]
pub struct Security {
    pub form_engine: common::auth::AuthConfig,
    pub engagement_index: common::auth::AuthConfig,
    pub portal: common::auth::AuthConfig,
    /// The form engine's `[engagement_index_client]`.
    pub form_engine_to_index: common::http_client::ClientAuthConfig,
    /// The portal's `[form_engine_client]`.
    pub portal_to_form_engine: common::http_client::ClientAuthConfig,
}

/// Delivery settings that keep tests fast: quick polls and short back-off.
fn quick_delivery(policy: &mut common::delivery::DeliveryPolicy) {
    policy.poll_interval_ms = 20;
    policy.initial_backoff_ms = 50;
    policy.max_backoff_ms = 500;
    policy.max_attempts = 1000;
}

impl TestSystem {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_secured(Security::default()).await
    }

    /// Starts the services with `security`; with TLS they are reached at
    /// `https://127.0.0.1:<port>` (see [`Self::base_url`]).
    pub async fn start_secured(security: Security) -> anyhow::Result<Self> {
        Box::pin(Self::start_configured(security, false, false)).await
    }

    /// Starts the services with each one's PostgreSQL database reached through one
    /// [`DatabaseFront`] (`database_front`), which the test cuts to take the server away. On
    /// SQLite (no `TEST_DATABASE_URL`) there is no front.
    pub async fn start_behind_database_front() -> anyhow::Result<Self> {
        Box::pin(Self::start_configured(Security::default(), false, true)).await
    }

    /// Starts the services with the form engine notifying the demo care system directly (the
    /// `direct` route of its care unit, as `nordform` runs the demo) instead of through the
    /// engagement index; start the care system with [`Self::start_care_system`].
    pub async fn start_notifying_directly() -> anyhow::Result<Self> {
        Box::pin(Self::start_configured(Security::default(), true, false)).await
    }

    /// Boxed by its callers: starting the three services is a large future, which would
    /// otherwise be carried inside every test's.
    async fn start_configured(
        security: Security,
        direct: bool,
        behind_front: bool,
    ) -> anyhow::Result<Self> {
        common::telemetry::init_for_tests();
        let data_dir = tempfile::tempdir()?;
        let mut databases = Vec::new();
        let database_front = match std::env::var("TEST_DATABASE_URL") {
            Ok(server) if behind_front && !server.is_empty() => {
                let server = reqwest::Url::parse(&server)?;
                let upstream = format!(
                    "{}:{}",
                    server.host_str().unwrap_or("127.0.0.1"),
                    server.port().unwrap_or(5432)
                );
                Some(DatabaseFront::start(upstream).await)
            }
            _ => None,
        };
        let front_port = database_front.as_ref().map(DatabaseFront::port);
        let mut database = async || -> anyhow::Result<DatabaseConfig> {
            let mut config = DatabaseConfig {
                data_dir: data_dir.path().to_owned(),
                ..DatabaseConfig::default()
            };
            if let Some(scratch) = ScratchDatabase::create().await {
                let mut url = reqwest::Url::parse(&scratch.url)?;
                if let Some(port) = front_port {
                    // A request waits 3 s for a connection while the front is cut, not 10,
                    // and a worker 2 s for an answer while it is silent.
                    config.acquire_timeout_secs = 3;
                    config.response_timeout_secs = 2;
                    url.set_host(Some("127.0.0.1"))?;
                    url.set_port(Some(port))
                        .map_err(|()| anyhow::anyhow!("a database URL without a port"))?;
                }
                config.url = Some(url.to_string());
                databases.push(scratch);
            }
            Ok(config)
        };
        // Behind the front a request is given up after 5 s, not 30, while it is silent.
        let http = || HttpConfig {
            request_timeout_secs: if behind_front { 5 } else { 30 },
            ..HttpConfig::with_port(0)
        };
        let mut index_config = engagement_index::Config {
            http: http(),
            database: database().await?,
            ..engagement_index::Config::default()
        };
        quick_delivery(&mut index_config.delivery);
        index_config.notification.linger_ms = Some(10);
        index_config.auth = security.engagement_index;
        let mut form_engine = form_engine::Config {
            http: http(),
            database: database().await?,
            ..form_engine::Config::default()
        };
        quick_delivery(&mut form_engine.delivery);
        // The form designer's test staff, as `nordform --demo` offers them.
        form_engine.designer.staff = form_engine::demo::designer_staff();
        form_engine.auth = security.form_engine;
        form_engine.engagement_index_client = security.form_engine_to_index;
        let care_system_listener = if direct {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let demo = DemoCareSystemConfig::new("", "", "", serde_json::Value::Null);
            form_engine
                .notification
                .routes
                .push(form_engine::config::RouteConfig {
                    care_unit: Some(common::identity::HsaId::parse(&demo.care_unit)?),
                    source_system: None,
                    route: form_engine::domain::notification::Route::Direct,
                    url: Some(url(listener.local_addr()?, "/notifications")),
                    logical_address: Some(common::identity::HsaId::parse(&demo.hsa_id)?),
                });
            Some(listener)
        } else {
            None
        };
        let mut portal = patient_portal_stub::Config {
            http: http(),
            database: database().await?,
            ..patient_portal_stub::Config::default()
        };
        portal.auth = security.portal;
        portal.form_engine_client = security.portal_to_form_engine;

        let shutdown = Shutdown::new();
        let index_shutdown = Shutdown::new();
        let index = engagement_index::Application::build(index_config.clone()).await?;
        let engagement_index = index.local_addr();
        let scheme = index.scheme();
        // A restart must come back on the same port, where the form engine posts.
        index_config.http.port = engagement_index.port();
        let index_stopped = tokio::spawn(index.run_until_stopped(index_shutdown.clone()));

        form_engine.engagement_index_url = format!("{scheme}://{engagement_index}");
        form_engine.engagement_index_hsa_id = Some(index_config.hsa_id.clone());
        let form_engine = form_engine::Application::build(form_engine).await?;
        portal.form_engine_url = format!("{}://{}", form_engine.scheme(), form_engine.local_addr());
        let portal = patient_portal_stub::Application::build(portal).await?;
        let addresses = (form_engine.local_addr(), portal.local_addr());
        tokio::spawn(form_engine.run_until_stopped(shutdown.clone()));
        tokio::spawn(portal.run_until_stopped(shutdown.clone()));
        Ok(Self {
            form_engine: addresses.0,
            engagement_index,
            portal: addresses.1,
            scheme,
            http: common::testing::http(),
            shutdown,
            index_shutdown,
            index_stopped: Some(index_stopped),
            index_config,
            care_system_listener: std::sync::Mutex::new(care_system_listener),
            databases,
            database_front,
            _data_dir: data_dir,
        })
    }

    /// The base URL of a service of this system (`http://` or `https://`).
    pub fn base_url(&self, address: SocketAddr) -> String {
        format!("{}://{address}", self.scheme)
    }

    /// What the service at `address` exports at `/metrics`.
    pub async fn metrics(&self, address: SocketAddr) -> String {
        let response = self
            .http
            .get(format!("{}/metrics", self.base_url(address)))
            .send()
            .await
            .expect("/metrics answers");
        response.text().await.expect("/metrics has a body")
    }

    /// Each service with its name, for tests that check all three alike.
    pub fn services(&self) -> [(&'static str, SocketAddr); 3] {
        [
            ("form-engine", self.form_engine),
            ("engagement-index", self.engagement_index),
            ("patient-portal-stub", self.portal),
        ]
    }

    /// Starts the demo care system on port 0, set up (template saved, subscribed).
    pub async fn start_care_system(&self) -> anyhow::Result<(DemoCareSystemHandle, SocketAddr)> {
        let mut config = DemoCareSystemConfig::new(
            &url(self.form_engine, ""),
            &url(self.engagement_index, ""),
            &url(self.portal, ""),
            form_engine::demo::health_declaration_json(),
        );
        config.http = HttpConfig::with_port(0);
        let listener = self
            .care_system_listener
            .lock()
            .expect("listener lock")
            .take();
        let care_system = match listener {
            Some(listener) => DemoCareSystem::on_listener(config, listener),
            None => DemoCareSystem::build(config).await?,
        };
        let address = care_system.local_addr();
        care_system.set_up().await?;
        let handle = care_system.handle();
        tokio::spawn(care_system.run_until_stopped(self.shutdown.clone()));
        Ok((handle, address))
    }

    /// Stops the engagement index (its port refuses connections until it is started again).
    pub async fn stop_engagement_index(&mut self) {
        self.index_shutdown.cancel();
        if let Some(stopped) = self.index_stopped.take() {
            let _ = stopped.await;
        }
    }

    /// Starts the engagement index again, on the same port and database.
    pub async fn start_engagement_index(&mut self) -> anyhow::Result<()> {
        self.index_shutdown = Shutdown::new();
        let index = engagement_index::Application::build(self.index_config.clone()).await?;
        self.index_stopped = Some(tokio::spawn(
            index.run_until_stopped(self.index_shutdown.clone()),
        ));
        Ok(())
    }

    /// Stops the services and drops any scratch databases.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        self.stop_engagement_index().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        for database in self.databases {
            database.drop_database().await;
        }
    }
}

pub fn url(address: SocketAddr, path: &str) -> String {
    format!("http://{address}{path}")
}
