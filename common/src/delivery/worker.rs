//! The worker that empties the delivery queue.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use http::{HeaderMap, HeaderValue};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tracing::Instrument as _;
use uuid::Uuid;

use super::{
    Delivery, DeliveryPolicy, DeliveryStore, DestinationResolver, NOTIFICATION_ID_HEADER, Route,
};
use crate::correlation::{self, CorrelationId};
use crate::shutdown::Shutdown;

/// How often queue figures are refreshed for the metrics.
const STATS_INTERVAL: Duration = Duration::from_secs(5);

pub struct DeliveryWorker {
    shared: Arc<Shared>,
}

struct Shared {
    service: &'static str,
    id: Uuid,
    store: Arc<dyn DeliveryStore>,
    resolver: Arc<dyn DestinationResolver>,
    policy: DeliveryPolicy,
    client: reqwest::Client,
    wake: Arc<Notify>,
}

enum Outcome {
    Delivered,
    /// Worth trying again.
    Failed(String),
    /// The receiver refused it (`ResultCode: ERROR`): trying again would not help.
    Refused(String),
}

impl DeliveryWorker {
    /// `service` labels the metrics (`engagement-index`, `form-engine`).
    pub fn new(
        service: &'static str,
        store: Arc<dyn DeliveryStore>,
        resolver: Arc<dyn DestinationResolver>,
        policy: DeliveryPolicy,
    ) -> Self {
        let client = crate::http_client::client(policy.request_timeout());
        Self::with_client(service, store, resolver, policy, client)
    }

    /// As [`Self::new`], delivering with `client`: one that presents this service's client
    /// certificate ([`crate::http_client::ClientAuthConfig::client`]) when the receivers
    /// require mutual TLS. Its timeout should be the policy's `request_timeout()`.
    pub fn with_client(
        service: &'static str,
        store: Arc<dyn DeliveryStore>,
        resolver: Arc<dyn DestinationResolver>,
        policy: DeliveryPolicy,
        client: reqwest::Client,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                service,
                id: Uuid::new_v4(),
                store,
                resolver,
                policy,
                client,
                wake: Arc::new(Notify::new()),
            }),
        }
    }

    /// Notifying it makes the worker look at the queue now rather than at the next poll.
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.shared.wake)
    }

    /// Delivers until `shutdown` is cancelled; a delivery in flight is finished first.
    pub async fn run(self, shutdown: Shutdown) {
        let shared = self.shared;
        let mut running: HashSet<String> = HashSet::new();
        let mut tasks: JoinSet<String> = JoinSet::new();
        let mut stats_due = tokio::time::Instant::now();
        let mut seen_destinations = HashSet::new();
        loop {
            if tokio::time::Instant::now() >= stats_due {
                shared.publish_stats(&mut seen_destinations).await;
                stats_due = tokio::time::Instant::now() + STATS_INTERVAL;
            }
            match shared.store.due_destinations(Utc::now()).await {
                Ok(due) => {
                    for destination in due {
                        if running.insert(destination.clone()) {
                            let shared = Arc::clone(&shared);
                            let shutdown = shutdown.clone();
                            tasks.spawn(async move {
                                shared.serve_destination(&destination, &shutdown).await;
                                destination
                            });
                        }
                    }
                }
                Err(error) => {
                    tracing::error!(service = shared.service, %error, "cannot read the delivery queue");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = shared.wake.notified() => {},
                () = tokio::time::sleep(shared.policy.poll_interval()) => {},
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Ok(destination) = done {
                        running.remove(&destination);
                    }
                }
            }
            while let Some(done) = tasks.try_join_next() {
                if let Ok(destination) = done {
                    running.remove(&destination);
                }
            }
        }
        while tasks.join_next().await.is_some() {}
    }
}

impl Shared {
    /// Delivers the due messages of one destination, in order, while this worker holds its lease.
    async fn serve_destination(&self, destination: &str, shutdown: &Shutdown) {
        let lease = chrono::Duration::from_std(self.policy.lease())
            .unwrap_or(chrono::Duration::seconds(30));
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let now = Utc::now();
            match self
                .store
                .claim(destination, self.id, now + lease, now)
                .await
            {
                Ok(true) => {}
                Ok(false) => return, // another worker delivers here
                Err(error) => {
                    tracing::error!(service = self.service, destination, %error, "cannot take the delivery lease");
                    return;
                }
            }
            let head = match self.store.head(destination).await {
                Ok(Some(head)) if head.next_attempt_at <= Utc::now() => head,
                Ok(_) => break,
                Err(error) => {
                    tracing::error!(service = self.service, destination, %error, "cannot read the delivery queue");
                    break;
                }
            };
            let Some(Route::Push { url, headers }) = self.resolver.route(destination).await else {
                break;
            };
            if !self.attempt(&head, &url, headers).await {
                break; // the head waits for its next attempt; the rest wait behind it
            }
        }
        if let Err(error) = self.store.release(destination, self.id).await {
            tracing::warn!(service = self.service, destination, %error, "cannot release the delivery lease");
        }
    }

    /// One attempt at `delivery`; true when the queue may move on.
    async fn attempt(&self, delivery: &Delivery, url: &str, headers: HeaderMap) -> bool {
        let span = tracing::info_span!(
            "delivery",
            service = self.service,
            destination = %delivery.destination,
            notification_id = %delivery.notification_id,
            attempt = delivery.attempts + 1,
        );
        if let Some(traceparent) = delivery
            .traceparent
            .as_deref()
            .and_then(|t| HeaderValue::from_str(t).ok())
        {
            let mut carrier = HeaderMap::new();
            carrier.insert("traceparent", traceparent);
            crate::telemetry::continue_trace(&span, &carrier);
        }
        let correlation_id = delivery
            .correlation_id
            .as_deref()
            .and_then(|id| CorrelationId::from_header(&HeaderValue::from_str(id).ok()?))
            .unwrap_or_default();
        let outcome = correlation::scope(correlation_id, self.post(delivery, url, headers))
            .instrument(span.clone())
            .await;
        // Instrumented, not entered: a span entered across an await leaks into whatever the
        // executor runs next on this thread.
        self.record(delivery, outcome).instrument(span).await
    }

    async fn post(&self, delivery: &Delivery, url: &str, headers: HeaderMap) -> Outcome {
        let mut request = self
            .client
            .post(url)
            .headers(crate::http_client::propagation_headers())
            .headers(headers)
            .header(NOTIFICATION_ID_HEADER, delivery.notification_id.to_string())
            .json(&delivery.payload);
        if let Ok(value) = HeaderValue::from_str(&delivery.created_at.to_rfc3339()) {
            request = request.header("x-notification-created", value);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => return Outcome::Failed(transport_error(&error)),
        };
        let status = response.status();
        if !status.is_success() {
            return Outcome::Failed(format!("the receiver answered HTTP {status}"));
        }
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let result_code = body
            .get("ResultCode")
            .or_else(|| body.get("resultCode"))
            .and_then(serde_json::Value::as_str);
        match result_code {
            Some("OK" | "INFO") => Outcome::Delivered,
            Some("ERROR") => {
                let comment = body
                    .get("comment")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("no comment");
                Outcome::Refused(format!("the receiver answered ResultCode ERROR: {comment}"))
            }
            _ => Outcome::Failed(format!(
                "the receiver answered HTTP {status} without ResultCode OK or INFO"
            )),
        }
    }

    async fn record(&self, delivery: &Delivery, outcome: Outcome) -> bool {
        let destination = delivery.destination.clone();
        let count = |outcome: &'static str| {
            metrics::counter!(
                "delivery_attempts_total",
                "service" => self.service,
                "destination" => destination.clone(),
                "outcome" => outcome
            )
            .increment(1);
        };
        let stored = match outcome {
            Outcome::Delivered => {
                count("delivered");
                let latency = (Utc::now() - delivery.created_at)
                    .to_std()
                    .unwrap_or_default();
                metrics::histogram!("delivery_latency_seconds", "service" => self.service)
                    .record(latency.as_secs_f64());
                tracing::info!(
                    latency_ms = latency.as_millis(),
                    items = delivery.item_count,
                    "delivered"
                );
                self.store.mark_delivered(delivery.id).await.map(|()| true)
            }
            Outcome::Refused(reason) => {
                count("dead");
                tracing::warn!(%reason, "dead-lettered: refused by the receiver");
                self.store
                    .mark_dead(delivery.id, &reason)
                    .await
                    .map(|()| true)
            }
            Outcome::Failed(reason) => {
                let attempts = u32::try_from(delivery.attempts).unwrap_or(0) + 1;
                let age = (Utc::now() - delivery.created_at)
                    .to_std()
                    .unwrap_or_default();
                if attempts >= self.policy.max_attempts || age >= self.policy.max_age() {
                    count("dead");
                    tracing::error!(%reason, attempts, "dead-lettered: gave up");
                    self.store
                        .mark_dead(
                            delivery.id,
                            &format!("{reason} (gave up after {attempts} attempts)"),
                        )
                        .await
                        .map(|()| true)
                } else {
                    count("failed");
                    let wait = self.policy.backoff(attempts);
                    tracing::warn!(%reason, attempts, retry_in_ms = wait.as_millis(), "delivery failed, will retry");
                    let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                    self.store
                        .mark_failed(delivery.id, &reason, next)
                        .await
                        .map(|()| false)
                }
            }
        };
        stored.unwrap_or_else(|error| {
            tracing::error!(%error, "cannot record the delivery outcome; it will be attempted again");
            false
        })
    }

    async fn publish_stats(&self, seen: &mut HashSet<String>) {
        let stats = match self.store.stats().await {
            Ok(stats) => stats,
            Err(error) => {
                tracing::warn!(service = self.service, %error, "cannot read delivery queue figures");
                return;
            }
        };
        let now = Utc::now();
        let mut current: HashMap<String, (f64, f64, f64)> = HashMap::new();
        for stat in stats {
            #[allow(clippy::cast_precision_loss)] // queue depths are far below 2^52
            let figures = (
                stat.pending as f64,
                stat.dead as f64,
                stat.oldest_pending.map_or(0.0, |t| {
                    (now - t).to_std().unwrap_or_default().as_secs_f64()
                }),
            );
            current.insert(stat.destination, figures);
        }
        // Destinations whose queue emptied report zero rather than their last figures.
        for destination in seen.iter() {
            current
                .entry(destination.clone())
                .or_insert((0.0, 0.0, 0.0));
        }
        for (destination, (pending, dead, oldest)) in current {
            let labels = [
                ("service", self.service.to_owned()),
                ("destination", destination.clone()),
            ];
            metrics::gauge!("delivery_queue_depth", &labels).set(pending);
            metrics::gauge!("delivery_dead_letters", &labels).set(dead);
            metrics::gauge!("delivery_oldest_pending_age_seconds", &labels).set(oldest);
            seen.insert(destination);
        }
    }
}

/// A transport error as an operator needs it, without the payload.
fn transport_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        String::from("the receiver did not answer in time")
    } else if error.is_connect() {
        String::from("cannot connect to the receiver")
    } else {
        format!("transport error: {error}")
    }
}
