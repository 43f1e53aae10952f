//! Building and running the service: database, routes, listener.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use common::server::{BoundService, ServiceDescription};
use common::shutdown::Shutdown;

use crate::api::{self, AppState};
use crate::config::Config;
use crate::{SERVICE_NAME, store};

pub struct Application {
    server: BoundService,
}

impl Application {
    /// Opens and migrates the database and binds the listener; serving starts with
    /// [`Self::run_until_stopped`].
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let (store, database) = store::open(&config.database)
            .await
            .context("the form engine cannot open its database")?;
        let readiness = {
            let store = Arc::clone(&store);
            common::server::readiness(move || {
                let store = Arc::clone(&store);
                async move { store.ping().await.map_err(|e| e.to_string()) }
            })
        };
        let http = config.http.clone();
        let (routes, openapi) = api::router(AppState::new(config, store));
        let service = ServiceDescription {
            name: SERVICE_NAME,
            openapi,
            readiness,
        };
        let server = BoundService::bind(service, routes, &http).await?;
        tracing::info!(address = %server.local_addr(), %database, "form engine ready");
        Ok(Self { server })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Serves until `shutdown` is cancelled.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        self.server
            .serve(shutdown)
            .await
            .context("the form engine server failed")
    }
}
