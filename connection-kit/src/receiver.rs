//! The ProcessNotification receiver the kit starts for a deployment walk: registered as a
//! subscriber for the run, it records what the engagement index pushes and answers OK.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use chrono::{DateTime, Utc};
use common::config::HttpConfig;
use common::shutdown::Shutdown;
use http::HeaderMap;
use serde_json::{Value, json};
use tokio::sync::Notify;

pub const PATH: &str = "/ProcessNotification";

/// A notification as it arrived.
#[derive(Clone, Debug)]
pub struct Received {
    pub at: DateTime<Utc>,
    pub body: Value,
    pub notification_id: Option<String>,
    pub logical_address: Option<String>,
    pub correlation_id: Option<String>,
}

#[derive(Clone, Default)]
struct Inbox {
    received: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    inbox: Inbox,
    address: SocketAddr,
    shutdown: Shutdown,
}

impl Receiver {
    /// Listens on `listen` (port 0 picks a free one).
    pub async fn start(listen: SocketAddr) -> anyhow::Result<Self> {
        let http = HttpConfig {
            host: listen.ip(),
            ..HttpConfig::with_port(listen.port())
        };
        let listener = common::server::bind(&http).await.map_err(|e| {
            anyhow::anyhow!("the kit cannot listen for notifications on {listen}: {e}")
        })?;
        let address = listener.local_addr()?;
        let inbox = Inbox::default();
        let app = Router::new()
            .route(PATH, post(receive))
            .with_state(inbox.clone());
        let shutdown = Shutdown::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            if let Err(error) = common::server::serve(listener, app, stop).await {
                eprintln!("the kit's notification receiver stopped: {error}");
            }
        });
        Ok(Self {
            inbox,
            address,
            shutdown,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    pub fn received(&self) -> Vec<Received> {
        self.inbox.received.lock().expect("inbox").clone()
    }

    /// Waits for the next arrival, at most `timeout`.
    pub async fn wait(&self, timeout: std::time::Duration) {
        let _ = tokio::time::timeout(timeout, self.inbox.arrived.notified()).await;
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> axum::Json<Value> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return axum::Json(json!({"ResultCode": "ERROR", "comment": "The body is not JSON."}));
    };
    inbox.received.lock().expect("inbox").push(Received {
        at: Utc::now(),
        body,
        notification_id: header("x-notification-id"),
        logical_address: header("x-rivta-logical-address"),
        correlation_id: header(crate::exchange::CORRELATION_ID),
    });
    inbox.arrived.notify_waiters();
    axum::Json(json!({"ResultCode": "OK"}))
}
