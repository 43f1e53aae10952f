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
    merge: Option<Merge>,
}

/// Consecutive queued payloads whose `field` arrays may travel in one POST.
#[derive(Clone, Copy)]
struct Merge {
    field: &'static str,
    max_items: usize,
}

/// What one POST carries: the first queued message, and with merging those after it.
struct Batch {
    head: Delivery,
    ids: Vec<i64>,
    payload: serde_json::Value,
    items: i32,
}

impl Batch {
    fn single(head: Delivery) -> Self {
        Self {
            ids: vec![head.id],
            payload: head.payload.clone(),
            items: head.item_count,
            head,
        }
    }

    /// Merges `run` (the queue from its head on) while the items fit in `merge.max_items`.
    fn merged(run: Vec<Delivery>, merge: Merge) -> Option<Self> {
        let mut run = run.into_iter();
        let mut batch = Self::single(run.next()?);
        if !batch.payload[merge.field].is_array() {
            return Some(batch);
        }
        for next in run {
            let Some(items) = next.payload[merge.field].as_array() else {
                break;
            };
            let total = batch.payload[merge.field].as_array().map_or(0, Vec::len) + items.len();
            if total > merge.max_items {
                break;
            }
            let items = items.clone();
            if let Some(array) = batch.payload[merge.field].as_array_mut() {
                array.extend(items);
            }
            batch.ids.push(next.id);
            batch.items = batch.items.saturating_add(next.item_count);
        }
        Some(batch)
    }
}

/// What the queue of a destination does after an attempt.
enum Next {
    /// Go on with the next message.
    Continue,
    /// The head waits for its next attempt, and the rest wait behind it.
    Wait,
    /// A merged batch was refused: send one message at a time to find the one refused.
    OneByOne,
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
                merge: None,
            }),
        }
    }

    /// Sends consecutive queued messages in one POST, their `field` arrays concatenated up to
    /// `max_items` items, for receivers whose contract is idempotent per item (engagement-index
    /// Update). The `x-notification-id` is then the first message's. A merged POST refused with
    /// `ResultCode: ERROR` is retried one message at a time, so only the refused one is
    /// dead-lettered.
    #[must_use]
    pub fn merging(mut self, field: &'static str, max_items: usize) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.merge = Some(Merge {
                field,
                max_items: max_items.max(1),
            });
        }
        self
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
        let mut one_by_one = false;
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
            let batch = match self.next_batch(destination, one_by_one).await {
                Ok(Some(batch)) if batch.head.next_attempt_at <= Utc::now() => batch,
                Ok(_) => break,
                Err(error) => {
                    tracing::error!(service = self.service, destination, %error, "cannot read the delivery queue");
                    break;
                }
            };
            let Some(Route::Push { url, headers }) = self.resolver.route(destination).await else {
                break;
            };
            match self.attempt(&batch, &url, headers).await {
                Next::Continue => {}
                Next::Wait => break,
                Next::OneByOne => one_by_one = true,
            }
        }
        if let Err(error) = self.store.release(destination, self.id).await {
            tracing::warn!(service = self.service, destination, %error, "cannot release the delivery lease");
        }
    }

    /// The next POST's worth of `destination`'s queue.
    async fn next_batch(
        &self,
        destination: &str,
        one_by_one: bool,
    ) -> Result<Option<Batch>, super::DeliveryError> {
        match self.merge {
            Some(merge) if !one_by_one => {
                let limit = i64::try_from(merge.max_items).unwrap_or(i64::MAX);
                Ok(Batch::merged(
                    self.store.pending_run(destination, limit).await?,
                    merge,
                ))
            }
            _ => Ok(self.store.head(destination).await?.map(Batch::single)),
        }
    }

    /// One attempt at `batch`.
    async fn attempt(&self, batch: &Batch, url: &str, headers: HeaderMap) -> Next {
        let delivery = &batch.head;
        let span = tracing::info_span!(
            "delivery",
            service = self.service,
            destination = %delivery.destination,
            notification_id = %delivery.notification_id,
            attempt = delivery.attempts + 1,
            messages = batch.ids.len(),
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
        let outcome = correlation::scope(correlation_id, self.post(batch, url, headers))
            .instrument(span.clone())
            .await;
        // Instrumented, not entered: a span entered across an await leaks into whatever the
        // executor runs next on this thread.
        self.record(batch, outcome).instrument(span).await
    }

    async fn post(&self, batch: &Batch, url: &str, headers: HeaderMap) -> Outcome {
        let delivery = &batch.head;
        let mut request = self
            .client
            .post(url)
            .headers(crate::http_client::propagation_headers())
            .headers(headers)
            .header(NOTIFICATION_ID_HEADER, delivery.notification_id.to_string())
            .json(&batch.payload);
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

    async fn record(&self, batch: &Batch, outcome: Outcome) -> Next {
        let delivery = &batch.head;
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
                    items = batch.items,
                    "delivered"
                );
                self.store
                    .mark_delivered(&batch.ids)
                    .await
                    .map(|()| Next::Continue)
            }
            Outcome::Refused(reason) if batch.ids.len() > 1 => {
                count("refused_batch");
                tracing::warn!(%reason, "a merged delivery was refused; sending one message at a time");
                Ok(Next::OneByOne)
            }
            Outcome::Refused(reason) => {
                count("dead");
                tracing::warn!(%reason, "dead-lettered: refused by the receiver");
                self.store
                    .mark_dead(&batch.ids, &reason)
                    .await
                    .map(|()| Next::Continue)
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
                            &batch.ids,
                            &format!("{reason} (gave up after {attempts} attempts)"),
                        )
                        .await
                        .map(|()| Next::Continue)
                } else {
                    count("failed");
                    let wait = self.policy.backoff(attempts);
                    tracing::warn!(%reason, attempts, retry_in_ms = wait.as_millis(), "delivery failed, will retry");
                    let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                    self.store
                        .mark_failed(&batch.ids, &reason, next)
                        .await
                        .map(|()| Next::Wait)
                }
            }
        };
        stored.unwrap_or_else(|error| {
            tracing::error!(%error, "cannot record the delivery outcome; it will be attempted again");
            Next::Wait
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
