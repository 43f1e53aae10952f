//! Building and running the service: database, routes, listener, and the background work:
//! delivering the outbox to the engagement index, and sweeping expired and outdated forms.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use common::delivery::DeliveryWorker;
use common::server::{BoundService, ServiceDescription};
use common::shutdown::Shutdown;

use crate::api::{self, AppState};
use crate::config::Config;
use crate::domain::form::sweeper::Sweeper;
use crate::outbox::EngagementIndexRoute;
use crate::{SERVICE_NAME, store};

pub struct Application {
    server: BoundService,
    delivery: DeliveryWorker,
    sweeper: Sweeper,
}

impl Application {
    /// Opens and migrates the database and binds the listener; serving, delivering and
    /// sweeping start with [`Self::run_until_stopped`].
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let (store, database) = store::open(&config.database)
            .await
            .context("the form engine cannot open its database")?;
        let delivery = DeliveryWorker::new(
            SERVICE_NAME,
            store.deliveries(),
            Arc::new(EngagementIndexRoute::new(&config)),
            config.delivery.clone(),
        )
        // Update is idempotent per engagement: posts queued together go in one request, so
        // a busy engine keeps up with its own form changes.
        .merging("engagementTransaction", 1000);
        let sweeper = Sweeper::new(
            Arc::clone(&store),
            api::poster(&config),
            config.forms.clone(),
            delivery.waker(),
        );
        let readiness = {
            let store = Arc::clone(&store);
            common::server::readiness(move || {
                let store = Arc::clone(&store);
                async move { store.ping().await.map_err(|e| e.to_string()) }
            })
        };
        let http = config.http.clone();
        let index = config.engagement_index_update_url();
        let (routes, openapi) = api::router(AppState::new(config, store, delivery.waker()));
        let service = ServiceDescription {
            name: SERVICE_NAME,
            openapi,
            readiness,
        };
        let server = BoundService::bind(service, routes, &http).await?;
        tracing::info!(address = %server.local_addr(), %database, engagement_index = %index, "form engine ready");
        Ok(Self {
            server,
            delivery,
            sweeper,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Serves, delivers and sweeps until `shutdown` is cancelled.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let delivery = tokio::spawn(self.delivery.run(shutdown.clone()));
        let sweeper = tokio::spawn(self.sweeper.run(shutdown.clone()));
        let served = self.server.serve(shutdown.clone()).await;
        shutdown.cancel();
        let _ = tokio::join!(delivery, sweeper);
        served.context("the form engine server failed")
    }
}
