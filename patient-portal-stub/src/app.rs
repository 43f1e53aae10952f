//! Building and running the service: database, routes, listener.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::Utc;
use common::audit::AuditLog;
use common::auth::Authenticator;
use common::installation::Installation;
use common::permissions::Permissions;
use common::retention::RetentionJob;
use common::server::{BoundService, ServiceDescription};
use common::shutdown::Shutdown;

use crate::api::{self, AppState};
use crate::config::Config;
use crate::domain::{Portal, truncate_to_micros};
use crate::engine::FormEngine;
use crate::{SERVICE_NAME, store, web};

pub struct Application {
    server: BoundService,
    /// Keeps the audit log's monthly partitions on PostgreSQL (`[retention]`).
    retention: RetentionJob,
}

impl Application {
    /// Sets up caller authentication (`[auth]`), opens and migrates the database, applies the
    /// declared grants and binds the listener; serving starts with [`Self::run_until_stopped`].
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let authenticator = Authenticator::from_config(&config.auth)
            .await
            .context("the patient portal cannot set up caller authentication ([auth])")?;
        authenticator.log_start(SERVICE_NAME);
        let (store, database, database_readiness) = store::open_with_readiness(&config.database)
            .await
            .context("the patient portal cannot open its database")?;
        let installation = Installation::start(
            SERVICE_NAME,
            store.installation_store(),
            &config.installation,
        )
        .await
        .context("the patient portal cannot start its installation ([installation])")?;
        let permissions = Permissions::new(store.permission_store(), &authenticator);
        permissions
            .declare(&config.auth.permissions)
            .await
            .context("cannot apply the grants of the configuration ([[auth.permissions]])")?;
        let audit = AuditLog::grouped(store.audit_store(), config.database.response_timeout());
        let retention =
            RetentionJob::new(SERVICE_NAME, config.retention.clone(), store.retention())
                .with_response_timeout(config.database.response_timeout());
        let citizens = config.test_citizens()?;
        store
            .apply_configured_citizens(&citizens, truncate_to_micros(Utc::now()))
            .await
            .context("the patient portal cannot store its test citizens")?;
        let readiness =
            common::server::database_readiness(database_readiness).with_installation(&installation);
        let http = config.http.clone();
        let engine = FormEngine::with_credentials(
            &config.form_engine_url,
            config.hsa_id.clone(),
            &config.form_engine_client,
        )
        .context(
            "cannot set up the portal's credentials for the form engine ([form_engine_client])",
        )?;
        let state = AppState {
            config: Arc::new(config),
            portal: Portal::new(store),
            engine,
            permissions,
            audit,
        };
        // The contracts and admin endpoints authenticate their callers; the citizen's pages
        // do not (citizens sign in there) and get the security headers, HSTS over TLS.
        let (permissions, audit) = (state.permissions.clone(), state.audit.clone());
        let (routes, openapi) = api::router(state.clone(), &authenticator);
        let pages = web::router(state, authenticator.tls().is_some());
        let routes = installation.mount(routes.merge(pages), &authenticator, permissions, audit);
        let service = ServiceDescription {
            name: SERVICE_NAME,
            openapi,
            readiness,
        };
        let server = BoundService::bind(service, routes, &http)
            .await?
            .with_tls(authenticator.tls());
        tracing::info!(
            address = %server.local_addr(),
            scheme = server.scheme(),
            %database,
            test_citizens = citizens.len(),
            "patient portal ready"
        );
        Ok(Self { server, retention })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// `https` when `[auth.tls]` is configured, else `http`.
    pub fn scheme(&self) -> &'static str {
        self.server.scheme()
    }

    /// Serves until `shutdown` is cancelled.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        // The sweeper goes on through the server's grace period and stops with the server.
        let background = Shutdown::new();
        let retention = tokio::spawn(self.retention.run(background.clone()));
        let served = self
            .server
            .serve(shutdown)
            .await
            .context("the patient portal server failed");
        background.cancel();
        let _ = retention.await;
        served
    }
}
