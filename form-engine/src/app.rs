//! Building and running the service: database, routes, listener, and the background work:
//! delivering the outbox to the engagement index, sweeping expired and outdated forms, and
//! reminding citizens of unanswered forms when a patient portal is configured.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use common::auth::Authenticator;
use common::delivery::DeliveryWorker;
use common::installation::Installation;
use common::permissions::Permissions;
use common::retention::RetentionJob;
use common::server::{BoundService, ServiceDescription};
use common::shutdown::Shutdown;

use crate::api::{self, AppState};
use crate::care_systems::{CareSystemRoutes, EngineDestinations};
use crate::config::Config;
use crate::domain::follow_up::reminders::ReminderJob;
use crate::domain::form::sweeper::Sweeper;
use crate::domain::notification::relay::AlarmRelay;
use crate::outbox::EngagementIndexRoute;
use crate::{SERVICE_NAME, store};

pub struct Application {
    server: BoundService,
    delivery: DeliveryWorker,
    sweeper: Sweeper,
    /// Pushes the alarm feed to care systems notified directly.
    alarm_relay: AlarmRelay,
    /// Reminders to citizens, when a patient portal is configured.
    reminders: Option<ReminderJob>,
    /// Deletes what was delivered once it is older than `[retention]` says.
    retention: RetentionJob,
}

impl Application {
    /// Sets up caller authentication (`[auth]`), opens and migrates the database, applies the
    /// declared grants and binds the listener; serving, delivering and sweeping start with
    /// [`Self::run_until_stopped`].
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let authenticator = Authenticator::from_config(&config.auth)
            .await
            .context("the form engine cannot set up caller authentication ([auth])")?;
        authenticator.log_start(SERVICE_NAME);
        let (store, database, database_readiness) = store::open_with_readiness(&config.database)
            .await
            .context("the form engine cannot open its database")?;
        let installation = Installation::start(
            SERVICE_NAME,
            store.installation_store(),
            &config.installation,
        )
        .await
        .context("the form engine cannot start its installation ([installation])")?;
        let permissions = Permissions::new(store.permission_store(), &authenticator);
        permissions
            .declare(&config.auth.permissions)
            .await
            .context("cannot apply the grants of the configuration ([[auth.permissions]])")?;
        config
            .notification
            .validate()
            .context("the form engine's notification routes ([notification])")?;
        // The bound on the workers' statements (`database.response_timeout_secs`).
        let response_timeout = config.database.response_timeout();
        let client = &config.engagement_index_client;
        let index_route = EngagementIndexRoute::new(&config).with_bearer(
            client
                .bearer_token()
                .context("cannot read the engine's bearer token ([engagement_index_client])")?,
        );
        let delivery = DeliveryWorker::with_client(
            SERVICE_NAME,
            store.deliveries(),
            Arc::new(EngineDestinations::new(
                index_route,
                CareSystemRoutes::new(Arc::new(config.notification.routes())),
            )),
            config.delivery.clone(),
            client.client(config.delivery.request_timeout()).context(
                "cannot set up the engine's client credentials ([engagement_index_client])",
            )?,
        )
        // Update is idempotent per engagement: posts queued together go in one request, so
        // a busy engine keeps up with its own form changes.
        .merging("engagementTransaction", 1000)
        .with_response_timeout(response_timeout);
        let sweeper = Sweeper::new(
            Arc::clone(&store),
            api::poster(&config),
            config.forms.rules(),
            delivery.waker(),
        )
        .with_response_timeout(response_timeout);
        let alarm_relay = AlarmRelay::new(
            Arc::clone(&store),
            api::poster(&config),
            config.notification.alarm_relay_interval(),
            delivery.waker(),
        )
        .with_response_timeout(response_timeout);
        let retention =
            RetentionJob::new(SERVICE_NAME, config.retention.clone(), store.retention())
                .with_response_timeout(response_timeout);
        let readiness =
            common::server::database_readiness(database_readiness).with_installation(&installation);
        let http = config.http.clone();
        let index = config.engagement_index_update_url();
        let library_owner = config.instruments.care_unit.clone();
        let portal = portal_client(&config)?;
        let reminder_rules = config.reminders.rules();
        let state = AppState::with_security(config, store, delivery.waker(), permissions);
        let reminders = portal.map(|portal| {
            ReminderJob::new(
                Arc::clone(&state.store),
                Arc::clone(&state.templates),
                Arc::new(portal),
                reminder_rules,
                crate::domain::follow_up::clock::system(),
            )
            .with_response_timeout(response_timeout)
        });
        if let Some(care_unit) = library_owner {
            crate::instruments::load(&state.templates, &care_unit)
                .await
                .context("the form engine cannot load its instrument library ([instruments])")?;
        }
        let (permissions, audit) = (state.permissions.clone(), state.audit.clone());
        // The designer's pages sign staff in themselves (docs/designer.md), so they are not
        // behind the callers' authentication.
        let designer = crate::designer::router(&state, authenticator.tls().is_some());
        let (migration_routes, migration_openapi) =
            api::migration::router(api::migration::MigrationState {
                migration: state.store.migration(),
                app: state.clone(),
                installation: installation.clone(),
                authenticator: authenticator.clone(),
                permissions: permissions.clone(),
            });
        let (routes, mut openapi) = api::secured_router(state, &authenticator);
        openapi.merge(api::tightened(&migration_openapi));
        let routes = routes.merge(designer).merge(migration_routes);
        let routes = installation.mount(routes, &authenticator, permissions, audit);
        let service = ServiceDescription {
            name: SERVICE_NAME,
            openapi,
            readiness,
        };
        let server = BoundService::bind(service, routes, &http)
            .await?
            .with_tls(authenticator.tls());
        tracing::info!(address = %server.local_addr(), scheme = server.scheme(), %database, engagement_index = %index, "form engine ready");
        Ok(Self {
            server,
            delivery,
            sweeper,
            alarm_relay,
            reminders,
            retention,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// `https` when `[auth.tls]` is configured, else `http`.
    pub fn scheme(&self) -> &'static str {
        self.server.scheme()
    }

    /// Serves, delivers, sweeps and reminds until `shutdown` is cancelled.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        // The background work goes on through the server's grace period, and stops with the
        // server, whatever stopped it.
        let background = Shutdown::new();
        let delivery = tokio::spawn(self.delivery.run(background.clone()));
        let sweeper = tokio::spawn(self.sweeper.run(background.clone()));
        let alarm_relay = tokio::spawn(self.alarm_relay.run(background.clone()));
        let retention = tokio::spawn(self.retention.run(background.clone()));
        let reminders = self
            .reminders
            .map(|job| tokio::spawn(job.run(background.clone())));
        let served = self.server.serve(shutdown).await;
        background.cancel();
        let _ = tokio::join!(delivery, sweeper, alarm_relay, retention);
        if let Some(reminders) = reminders {
            let _ = reminders.await;
        }
        served.context("the form engine server failed")
    }
}

/// The client of the patient portal the reminders go to, when one is configured.
fn portal_client(config: &Config) -> anyhow::Result<Option<crate::portal::PortalClient>> {
    let Some(url) = &config.patient_portal_url else {
        return Ok(None);
    };
    let client = &config.patient_portal_client;
    let http = client
        .client(config.reminders.request_timeout())
        .context("cannot set up the engine's client credentials ([patient_portal_client])")?;
    let bearer = client
        .bearer_token()
        .context("cannot read the engine's bearer token ([patient_portal_client])")?;
    Ok(Some(crate::portal::PortalClient::new(
        http,
        url,
        config.reminders.form_link.as_deref(),
        config.hsa_id.as_str(),
        bearer,
    )))
}
