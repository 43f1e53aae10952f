//! The HTTP skeleton every service shares: operational endpoints (`/health/live`,
//! `/health/ready`, `/metrics`, `/openapi.json`, `/docs`), the middleware stack (correlation id,
//! request span with W3C trace context, metrics, panic guard, timeout, body limit), problem-JSON
//! fallbacks, and serving with graceful shutdown.

pub(crate) mod connections;
pub mod pages;
mod stopping;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use http::StatusCode;
use serde::Serialize;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::ToSchema;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::HttpConfig;
use crate::correlation::{self, CorrelationId};
use crate::installation::{Installation, InstallationMode};
use crate::problem::{self, ApiJson, Problem};
use crate::shutdown::Shutdown;
use crate::telemetry;

use self::connections::ConnectionLimits;
use self::stopping::Stopping;

/// Answers whether the service can do its work (its database answers; the error text goes to
/// the log, not to the caller), and in which mode its installation is. Build it with
/// [`readiness`].
#[derive(Clone)]
pub struct ReadinessCheck {
    check: Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>,
    installation: Option<Installation>,
    stopping: Stopping,
    /// The database's clock, compared with this host's while the service runs.
    clock: Option<crate::db::ClockProbe>,
}

impl ReadinessCheck {
    /// Readiness also says the installation's mode: a staging installation is ready (so that
    /// `/admin` and the migration endpoints are routed to it) with the status `STAGING`.
    #[must_use]
    pub fn with_installation(mut self, installation: &Installation) -> Self {
        self.installation = Some(installation.clone());
        self
    }
}

/// What the skeleton needs to know of a service.
pub struct ServiceDescription {
    /// `form-engine`, `engagement-index`, `patient-portal-stub`: metrics label and log field.
    pub name: &'static str,
    /// The service's own API document; the operational endpoints are added to it.
    pub openapi: OpenApi,
    pub readiness: ReadinessCheck,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthStatus {
    /// `UP` when the check passed; on `/health/ready`, `STAGING` when it passed and the
    /// installation is in staging (the contracts answer 503 `INSTALLATION_IN_STAGING`).
    #[schema(example = "UP")]
    pub status: &'static str,
    /// On `/health/ready`: the installation's mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installation_mode: Option<InstallationMode>,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health/live", tag = "operations",
    responses((status = 200, description = "The process is alive", body = HealthStatus)))]
async fn live() -> ApiJson<HealthStatus> {
    ApiJson(HealthStatus {
        status: "UP",
        installation_mode: None,
    })
}

/// Readiness: the service's database answers; a pool whose connections are all busy serving
/// requests answers too, so that a burst does not take every instance out at once. A staging
/// installation is ready too (its admin and migration endpoints serve) and says so:
/// `{"status": "STAGING", "installationMode": "staging"}`.
#[utoipa::path(get, path = "/health/ready", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve: `UP`, or `STAGING` while the installation is in \
            staging (the contracts answer 503 INSTALLATION_IN_STAGING)", body = HealthStatus),
        (status = 503, description = "NOT_READY: the database does not answer within 2 seconds (a pool \
            whose connections are all busy with requests, handing them on, is answering), or the \
            service is stopping (it serves on for `http.shutdown_grace_secs` so that load balancers \
            take it out first)", body = Problem,
            content_type = "application/problem+json")))]
async fn ready(State(readiness): State<ReadinessCheck>) -> Result<ApiJson<HealthStatus>, Problem> {
    if readiness.stopping.is_stopping() {
        return Err(Problem::unavailable(
            "NOT_READY",
            "The service is stopping; send requests to another instance.",
        ));
    }
    let checked = tokio::time::timeout(READINESS_WAIT, (readiness.check)())
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {READINESS_WAIT:?}")));
    match checked {
        Ok(()) => {
            let installation_mode = match &readiness.installation {
                Some(installation) => Some(installation.mode().await),
                None => None,
            };
            let status = match installation_mode {
                Some(InstallationMode::Staging) => "STAGING",
                _ => "UP",
            };
            Ok(ApiJson(HealthStatus {
                status,
                installation_mode,
            }))
        }
        Err(cause) => {
            tracing::warn!(%cause, "readiness check failed");
            Err(Problem::unavailable(
                "NOT_READY",
                "The service's database does not answer.",
            ))
        }
    }
}

/// How long readiness waits for the database. A database that is not there would otherwise
/// hold the check for the pool's whole acquire timeout (10 s), past any probe's patience; the
/// manifests under `deploy/` give the probe 3 s.
const READINESS_WAIT: Duration = Duration::from_secs(2);

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics() -> Response {
    crate::metrics::render()
}

fn operational_routes() -> OpenApiRouter<ReadinessCheck> {
    OpenApiRouter::new()
        .routes(routes!(live))
        .routes(routes!(ready))
        .routes(routes!(metrics))
}

/// `/openapi.json`: the document, written once (utoipa's Swagger UI would write it again at
/// every request, and with links spelled as utoipa's type spells them).
fn openapi_route<S: Clone + Send + Sync + 'static>(document: &OpenApi) -> Router<S> {
    let body = axum::body::Bytes::from(crate::openapi::to_json(document, false));
    Router::new().route(
        "/openapi.json",
        axum::routing::get(move || {
            let body = body.clone();
            async move { ([(http::header::CONTENT_TYPE, "application/json")], body) }
        }),
    )
}

/// The operational part of a service's OpenAPI document (for services' document builders).
pub fn operational_openapi() -> OpenApi {
    let (_, mut document) = operational_routes().split_for_parts();
    let problem_schema = utoipa::openapi::ComponentsBuilder::new()
        .schema_from::<Problem>()
        .build();
    document.merge(OpenApi::builder().components(Some(problem_schema)).build());
    document
}

/// Puts a service's API routes into the shared skeleton.
pub fn router(service: ServiceDescription, api: Router, http: &HttpConfig) -> Router {
    router_stopping_with(service, api, http, &Stopping::default())
}

/// [`router`], its readiness and answers following `stopping`.
fn router_stopping_with(
    service: ServiceDescription,
    api: Router,
    http: &HttpConfig,
    stopping: &Stopping,
) -> Router {
    let ServiceDescription {
        name,
        openapi,
        mut readiness,
    } = service;
    readiness.stopping = stopping.clone();
    // Install the recorder before the first request so no sample is lost.
    crate::metrics::handle();
    let openapi = crate::openapi::complete(openapi);
    let (operations, _) = operational_routes().with_state(readiness).split_for_parts();
    let timeout = http.request_timeout();
    api.merge(operations)
        .merge(openapi_route(&openapi))
        .merge(SwaggerUi::new("/docs").config(utoipa_swagger_ui::Config::from("/openapi.json")))
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn_with_state(
                    stopping.clone(),
                    stopping::close_connections,
                ))
                .layer(middleware::from_fn(correlation::middleware))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(move |request: &Request| request_span(name, request))
                        .on_request(())
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(middleware::from_fn_with_state(name, crate::metrics::track))
                .layer(middleware::from_fn(problem::every_refusal_a_problem))
                .layer(CatchPanicLayer::custom(|_| {
                    Problem::internal().into_response()
                }))
                .layer(middleware::from_fn_with_state(timeout, time_limit))
                .layer(DefaultBodyLimit::max(http.body_limit_bytes)),
        )
}

fn request_span(service: &'static str, request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let correlation_id = request
        .extensions()
        .get::<CorrelationId>()
        .map(ToString::to_string)
        .unwrap_or_default();
    let span = tracing::info_span!(
        "http.request",
        service,
        http.method = %request.method(),
        http.route = route,
        correlation_id,
        trace_id = tracing::field::Empty,
    );
    telemetry::continue_trace(&span, request.headers());
    if let Some(trace_id) = telemetry::trace_id(&span) {
        span.record("trace_id", trace_id);
    }
    span
}

async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    if let Ok(response) = tokio::time::timeout(limit, next.run(request)).await {
        response
    } else {
        tracing::error!(limit_secs = limit.as_secs(), "request timed out");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "TIMEOUT",
            "The request took too long and was abandoned. Retry later.",
        )
        .into_response()
    }
}

/// Binds the service's listener (port 0 picks a free one, for tests).
pub async fn bind(http: &HttpConfig) -> std::io::Result<TcpListener> {
    TcpListener::bind((http.host, http.port)).await
}

/// Turns Nagle's algorithm off on an accepted connection. An answer written in more than one
/// piece (TLS records, HTTP/2 frames) would otherwise have its last piece held back until the
/// client acknowledged the first, and clients delay their acknowledgements by up to 40 ms. The
/// database connections stalled that way until sqlx set the same option again (0.9.1).
pub(crate) fn no_delay(stream: &tokio::net::TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot turn Nagle's algorithm off on a connection");
    }
}

/// How long requests in flight may take to finish after the server stopped accepting
/// connections, for servers without a request timeout of their own.
pub(crate) const DRAIN_LIMIT: Duration = Duration::from_secs(30);

/// How long a connection may go without a request, for servers without a configuration of
/// their own (`http.idle_timeout_secs`).
pub(crate) const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_mins(1);

/// Serves until `shutdown` is cancelled, then lets requests in flight finish (for at most 30 s).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    let limits = ConnectionLimits {
        idle: DEFAULT_IDLE_TIMEOUT,
        drain: DRAIN_LIMIT,
    };
    connections::serve_connections(None, listener, router, None, shutdown, limits).await
}

/// A readiness check from an async closure.
pub fn readiness<F, Fut>(check: F) -> ReadinessCheck
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    ReadinessCheck {
        check: Arc::new(move || Box::pin(check())),
        installation: None,
        stopping: Stopping::default(),
        clock: None,
    }
}

/// Readiness from the service's database pool: whether the database answers, a pool busy with
/// requests counting as answering ([`crate::db::PoolReadiness`]).
pub fn database_readiness(pool: crate::db::PoolReadiness) -> ReadinessCheck {
    let clock = pool.clock().cloned();
    ReadinessCheck {
        clock,
        ..readiness(move || {
            let pool = pool.clone();
            async move { pool.check().await.map_err(|error| error.to_string()) }
        })
    }
}

/// A service's router in the shared skeleton, bound to its listener and ready to serve: plain
/// HTTP, or TLS after [`BoundService::with_tls`].
pub struct BoundService {
    name: &'static str,
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    stopping: Stopping,
    grace: Duration,
    limits: ConnectionLimits,
    clock: Option<crate::db::ClockProbe>,
}

impl BoundService {
    pub async fn bind(
        service: ServiceDescription,
        api: Router,
        http: &HttpConfig,
    ) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        anyhow::ensure!(
            http.idle_timeout_secs > 0,
            "http.idle_timeout_secs must be at least 1"
        );
        let listener = bind(http)
            .await
            .with_context(|| format!("cannot listen on {}:{}", http.host, http.port))?;
        let stopping = Stopping::default();
        let clock = service.readiness.clock.clone();
        Ok(Self {
            clock,
            name: service.name,
            listener,
            router: router_stopping_with(service, api, http, &stopping),
            tls: None,
            stopping,
            grace: http.shutdown_grace(),
            limits: ConnectionLimits {
                idle: http.idle_timeout(),
                // A request may run for the request timeout; a second more lets its answer out.
                drain: http.request_timeout() + Duration::from_secs(1),
            },
        })
    }

    /// Serves over TLS with `tls` (from [`crate::auth::Authenticator::tls`] or
    /// [`crate::tls::TlsConfig::server_config`]); `None` keeps plain HTTP.
    #[must_use]
    pub fn with_tls(mut self, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        self.tls = tls;
        self
    }

    /// `https` when serving over TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` is cancelled and the grace period (`http.shutdown_grace_secs`)
    /// after it has passed, then lets requests in flight finish.
    pub async fn serve(self, shutdown: Shutdown) -> std::io::Result<()> {
        let clock = self
            .clock
            .map(|probe| tokio::spawn(probe.watch(self.name, shutdown.clone())));
        let (accepting_ends, grace) =
            stopping::stop_accepting_after_grace(shutdown, self.stopping, self.grace, self.name);
        let served = connections::serve_connections(
            Some(self.name),
            self.listener,
            self.router,
            self.tls,
            accepting_ends,
            self.limits,
        )
        .await;
        // A server that failed before the signal leaves its grace period waiting.
        grace.abort();
        if let Some(clock) = clock {
            clock.abort();
        }
        served
    }
}
