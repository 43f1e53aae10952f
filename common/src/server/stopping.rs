//! How a server stops without dropping its callers' requests. After the signal it goes on
//! serving for a grace period (`http.shutdown_grace_secs`) while telling load balancers and
//! clients to go elsewhere: readiness answers 503 and every HTTP/1 answer closes its
//! connection. Then it stops accepting connections and lets the requests in flight finish,
//! for at most the request timeout.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, Version, header};
use tokio_util::sync::CancellationToken;

use crate::shutdown::Shutdown;

/// Set once the server has begun to stop; shared by its readiness check and its middleware.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stopping(CancellationToken);

impl Stopping {
    pub(crate) fn is_stopping(&self) -> bool {
        self.0.is_cancelled()
    }

    fn begin(&self) {
        self.0.cancel();
    }
}

/// While the server stops, each HTTP/1 answer says `Connection: close`. A client keeping its
/// connection would go on sending to this instance after the load balancer has taken it out;
/// with a new connection its next request goes to another one. (HTTP/2 connections are told
/// with a GOAWAY frame when the server stops accepting.)
pub(crate) async fn close_connections(
    State(stopping): State<Stopping>,
    request: Request,
    next: Next,
) -> Response {
    let http1 = request.version() <= Version::HTTP_11;
    let mut response = next.run(request).await;
    if http1 && stopping.is_stopping() {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Cancels the returned token when the server is to stop accepting connections: `grace` after
/// `shutdown` was cancelled, with `stopping` set from the signal on.
pub(crate) fn stop_accepting_after_grace(
    shutdown: Shutdown,
    stopping: Stopping,
    grace: Duration,
    name: &'static str,
) -> (Shutdown, tokio::task::JoinHandle<()>) {
    let accepting_ends = Shutdown::new();
    let task = tokio::spawn({
        let accepting_ends = accepting_ends.clone();
        async move {
            shutdown.cancelled().await;
            stopping.begin();
            if !grace.is_zero() {
                tracing::info!(
                    service = name,
                    grace_secs = grace.as_secs(),
                    "stopping: readiness answers 503 and answers close their connections; \
                     serving on until the grace period ends"
                );
                tokio::time::sleep(grace).await;
            }
            accepting_ends.cancel();
        }
    });
    (accepting_ends, task)
}
