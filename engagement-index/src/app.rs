//! Building and running the service: database, routes, listener, and the background work
//! that notifies subscribers.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use common::audit::AuditLog;
use common::auth::Authenticator;
use common::delivery::{DeliveryStore, DeliveryWorker, JetStreamDeliveries, JetStreamRelay};
use common::installation::Installation;
use common::permissions::Permissions;
use common::retention::RetentionJob;
use common::server::{BoundService, ServiceDescription};
use common::shutdown::Shutdown;

use crate::api::{self, AppState, Security};
use crate::config::Config;
use crate::notification::{FanOut, Queue, SubscriberRoutes};
use crate::{SERVICE_NAME, store};

pub struct Application {
    server: BoundService,
    fan_out: FanOut,
    delivery: DeliveryWorker,
    retention: RetentionJob,
    /// PostgreSQL: the queue tables' frequent vacuum.
    queue_vacuum: Option<common::db::QueueVacuum>,
}

impl Application {
    /// Opens and migrates the database, sets up caller authentication (`[auth]`), applies the
    /// declared grants and subscribers and binds the listener; serving and delivering start
    /// with [`Self::run_until_stopped`].
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let authenticator = Authenticator::from_config(&config.auth)
            .await
            .context("the engagement index cannot set up caller authentication ([auth])")?;
        authenticator.log_start(SERVICE_NAME);
        // The bound on the workers' statements (`database.response_timeout_secs`).
        let response_timeout = config.database.response_timeout();
        let stores = store::open(&config.database)
            .await
            .context("the engagement index cannot open its database")?;
        let installation = Installation::start(
            SERVICE_NAME,
            stores.engagements.installation_store(),
            &config.installation,
        )
        .await
        .context("the engagement index cannot start its installation ([installation])")?;
        let permissions = Permissions::new(stores.engagements.permission_store(), &authenticator);
        permissions
            .declare(&config.auth.permissions)
            .await
            .context("cannot apply the grants of the configuration ([[auth.permissions]])")?;
        let security = Security {
            authenticator: authenticator.clone(),
            permissions,
            audit: AuditLog::grouped(stores.engagements.audit_store(), response_timeout),
        };
        let declared = config
            .subscribers
            .iter()
            .map(crate::config::DeclaredSubscriber::to_subscriber)
            .collect::<Result<Vec<_>, _>>()
            .context("a subscriber in the configuration is invalid")?;
        let undeclared = stores
            .subscribers
            .declare(&declared)
            .await
            .context("cannot apply the subscribers of the configuration")?;

        let client = &config.subscriber_client;
        let routes = SubscriberRoutes::new(Arc::clone(&stores.subscribers)).with_bearer(
            client
                .bearer_token()
                .context("cannot read this index's bearer token ([subscriber_client])")?,
        );
        // On NATS the fan-out publishes its rounds to the stream, and the worker and the pull
        // point use the stream; the database keeps the outbox of changes.
        let (deliveries, queue): (Arc<dyn DeliveryStore>, _) = match config.notification.backbone {
            crate::config::Backbone::Postgres => (Arc::clone(&stores.deliveries), Queue::Database),
            crate::config::Backbone::Nats => {
                let backbone = Arc::new(
                    JetStreamDeliveries::connect(&config.notification.nats, &config.delivery)
                        .await
                        .context(
                            "cannot reach the NATS JetStream backbone ([notification.nats])",
                        )?,
                );
                let earlier = JetStreamRelay::new(
                    Arc::clone(&stores.deliveries),
                    Arc::clone(&backbone),
                    &config.delivery,
                )
                .with_response_timeout(response_timeout);
                let queue = Queue::Stream {
                    stream: Arc::clone(&backbone),
                    earlier: Some(earlier),
                    lease: config.delivery.lease(),
                    owner: uuid::Uuid::new_v4(),
                };
                (backbone as Arc<dyn DeliveryStore>, queue)
            }
        };
        // The database removed their queues with them; the stream keeps its own. Once the
        // database has forgotten them no later start names them again, so the message says
        // how to finish by hand.
        for logical_address in &undeclared {
            deliveries
                .remove_destination(logical_address)
                .await
                .with_context(|| {
                    format!(
                        "cannot remove the stream's queue of {logical_address}, a subscriber no \
                         longer declared (DELETE /admin/subscribers/{logical_address} finishes it)"
                    )
                })?;
        }
        let delivery = DeliveryWorker::with_client(
            SERVICE_NAME,
            Arc::clone(&deliveries),
            Arc::new(routes),
            config.delivery.clone(),
            client
                .client(config.delivery.request_timeout())
                .context("cannot set up this index's client credentials ([subscriber_client])")?,
        )
        .with_response_timeout(response_timeout);
        let fan_out = FanOut::new(
            Arc::clone(&stores.subscribers),
            queue,
            config.notification.max_transactions,
            config.notification.linger(),
            delivery.waker(),
            response_timeout,
        );
        let retention = RetentionJob::new(
            SERVICE_NAME,
            config.retention.clone(),
            stores.retention.clone(),
        )
        .with_response_timeout(response_timeout);
        let readiness = common::server::database_readiness(stores.readiness.clone())
            .with_installation(&installation);
        let http = config.http.clone();
        let state = AppState {
            config: Arc::new(config),
            store: stores.engagements,
            subscribers: stores.subscribers,
            deliveries,
            changes_waker: fan_out.waker(),
            delivery_waker: delivery.waker(),
        };
        let (permissions, audit) = (security.permissions.clone(), security.audit.clone());
        let (migration_routes, migration_openapi) =
            api::migration::router(api::migration::MigrationState {
                app: state.clone(),
                installation: installation.clone(),
                authenticator: authenticator.clone(),
                permissions: permissions.clone(),
                audit: audit.clone(),
                engagements: stores.migration,
            });
        let (routes, mut openapi) = api::secured_router(state, security);
        openapi.merge(migration_openapi);
        let routes = routes.merge(migration_routes);
        let routes = installation.mount(routes, &authenticator, permissions, audit);
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
            database = %stores.description,
            declared_subscribers = declared.len(),
            "engagement index ready"
        );
        Ok(Self {
            server,
            fan_out,
            delivery,
            retention,
            queue_vacuum: stores.queue_vacuum,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// `https` when `[auth.tls]` is configured, else `http`.
    pub fn scheme(&self) -> &'static str {
        self.server.scheme()
    }

    /// Serves and notifies subscribers until `shutdown` is cancelled.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        // The background work goes on through the server's grace period, and stops with the
        // server, whatever stopped it.
        let background = Shutdown::new();
        let fan_out = tokio::spawn(self.fan_out.run(background.clone()));
        let delivery = tokio::spawn(self.delivery.run(background.clone()));
        let retention = tokio::spawn(self.retention.run(background.clone()));
        let queue_vacuum = self
            .queue_vacuum
            .map(|vacuum| tokio::spawn(vacuum.run(background.clone())));
        let served = self
            .server
            .serve(shutdown)
            .await
            .context("the engagement index server failed");
        background.cancel();
        let _ = tokio::join!(fan_out, delivery, retention);
        if let Some(task) = queue_vacuum {
            let _ = task.await;
        }
        served
    }
}
