//! The worker that empties the delivery queue.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use http::{HeaderMap, HeaderValue};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tracing::Instrument as _;
use uuid::Uuid;

use super::answer::{self, Outcome, Refusal};
use super::together::Together;
use super::{
    Delivery, DeliveryError, DeliveryPolicy, DeliveryStore, DestinationResolver,
    NOTIFICATION_ID_HEADER, Route,
};
use crate::correlation::{self, CorrelationId};
use crate::db::ResponseTimeout;
use crate::shutdown::Shutdown;

/// How often queue figures are refreshed for the metrics.
const STATS_INTERVAL: Duration = Duration::from_secs(5);

/// How long a destination's task waits for more after its queue empties (at most half a
/// lease) before it releases the destination.
const IDLE: Duration = Duration::from_secs(2);

/// Unmerged messages read from the queue at a time.
const READ_AHEAD: i64 = 32;

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
    /// Per destination, the messages of a merged POST refused for good: each is sent alone
    /// before merging resumes, so only the one at fault is dead-lettered.
    split: Mutex<HashMap<String, BTreeSet<i64>>>,
    /// The destinations' tasks ask these together (`together`): delivered marks, each
    /// written once its statement commits (a task waits for its mark before it reads again),
    marks: Together<Vec<i64>, Result<(), String>>,
    /// the next messages of a destination's queue, where the store reads several queues in
    /// one statement ([`DeliveryStore::reads_together`]),
    reads: Together<(String, i64), Result<Vec<Delivery>, String>>,
    /// and routes, looked up after every wake.
    routes: Together<String, Option<Route>>,
    /// The bound on each question to the queue and the routes: a silent database fails the
    /// question, which is asked again later, instead of stopping deliveries for good
    /// (`crate::db::ResponseTimeout`).
    limit: ResponseTimeout,
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
    /// The messages' stable ids, in `ids` order: what the log names.
    notification_ids: Vec<Uuid>,
    /// The POST's body: the head's JSON as queued, or the merged messages'.
    body: String,
    items: i32,
}

impl Batch {
    fn single(head: Delivery) -> Self {
        Self {
            ids: vec![head.id],
            notification_ids: vec![head.notification_id],
            body: head.payload.as_str().to_owned(),
            items: head.item_count,
            head,
        }
    }

    /// Merges `run` (the queue from its head on) while the items fit in `merge.max_items`,
    /// stopping before any message that must go alone.
    fn merged(run: Vec<Delivery>, merge: Merge, alone: &BTreeSet<i64>) -> Option<Self> {
        let mut run = run.into_iter();
        let mut batch = Self::single(run.next()?);
        if alone.contains(&batch.head.id) || !batch.head.payload[merge.field].is_array() {
            return Some(batch);
        }
        // A tree only when there is something to merge.
        let mut payload: Option<serde_json::Value> = None;
        for next in run {
            if alone.contains(&next.id) {
                break;
            }
            let Some(items) = next.payload[merge.field].as_array() else {
                break;
            };
            let merged = payload.get_or_insert_with(|| (*batch.head.payload).clone());
            let total = merged[merge.field].as_array().map_or(0, Vec::len) + items.len();
            if total > merge.max_items {
                break;
            }
            if let Some(array) = merged[merge.field].as_array_mut() {
                array.extend(items.iter().cloned());
            }
            batch.ids.push(next.id);
            batch.notification_ids.push(next.notification_id);
            batch.items = batch.items.saturating_add(next.item_count);
        }
        if let Some(payload) = payload.filter(|_| batch.ids.len() > 1) {
            batch.body = payload.to_string();
        }
        Some(batch)
    }
}

/// What the queue of a destination does after an attempt.
enum Next {
    /// Go on with the next message (or, after a split, the first of the refused batch alone).
    Continue,
    /// The head waits for its next attempt, and the rest wait behind it.
    Wait,
}

/// Why a message became a dead letter: the `cause` label of `deliveries_dead_lettered_total`.
#[derive(Clone, Copy)]
enum Cause {
    /// The receiver refused it (4xx, `ResultCode: ERROR`).
    Refused,
    /// Transient failures until the policy's attempts or age ran out.
    GaveUp,
}

impl Cause {
    fn as_str(self) -> &'static str {
        match self {
            Self::Refused => "refused",
            Self::GaveUp => "gave_up",
        }
    }
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
                split: Mutex::default(),
                marks: Together::new(),
                reads: Together::new(),
                routes: Together::new(),
                limit: ResponseTimeout::DEFAULT,
            }),
        }
    }

    /// Bounds each question to the queue by `limit` (`database.response_timeout_secs`)
    /// instead of [`ResponseTimeout::DEFAULT`].
    #[must_use]
    pub fn with_response_timeout(mut self, limit: ResponseTimeout) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.limit = limit;
        }
        self
    }

    /// Sends consecutive queued messages in one POST, their `field` arrays concatenated up to
    /// `max_items` items, for receivers whose contract is idempotent per item (engagement-index
    /// Update). The `x-notification-id` is then the first message's. A merged POST refused for
    /// good (4xx, `ResultCode: ERROR`) is split: its messages are sent again one at a time, at
    /// once, so only the refused one is dead-lettered and the others are delivered in order.
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
        let askers = shared.answer_together();
        // Per destination served by a task of this worker, what wakes that task.
        let mut running: HashMap<String, Arc<Notify>> = HashMap::new();
        // Destinations not for this worker now ([`Served::LeftAlone`]), until when they are left
        // alone. A pull destination's messages wait for their receiver, a busy destination of
        // another worker stays due: without this every look at the queue, which the end of a
        // task starts at once, would start their tasks again, round after round.
        let mut left_alone: HashMap<String, tokio::time::Instant> = HashMap::new();
        let mut tasks: JoinSet<(String, Served)> = JoinSet::new();
        let mut stats_due = tokio::time::Instant::now();
        let mut seen_destinations = HashSet::new();
        loop {
            if tokio::time::Instant::now() >= stats_due {
                shared.publish_stats(&mut seen_destinations).await;
                stats_due = tokio::time::Instant::now() + STATS_INTERVAL;
            }
            match shared
                .limit
                .bound(shared.store.due_destinations(Utc::now()))
                .await
            {
                Ok(due) => {
                    let now = tokio::time::Instant::now();
                    left_alone.retain(|_, until| *until > now);
                    for destination in due {
                        if let Some(wake) = running.get(&destination) {
                            wake.notify_one();
                            continue;
                        }
                        if left_alone.contains_key(&destination) {
                            continue;
                        }
                        let wake = Arc::new(Notify::new());
                        running.insert(destination.clone(), Arc::clone(&wake));
                        let shared = Arc::clone(&shared);
                        let shutdown = shutdown.clone();
                        tasks.spawn(async move {
                            let served = shared
                                .serve_destination(&destination, &wake, &shutdown)
                                .await;
                            (destination, served)
                        });
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
                    shared.task_ended(done, &mut running, &mut left_alone);
                }
            }
            while let Some(done) = tasks.try_join_next() {
                shared.task_ended(done, &mut running, &mut left_alone);
            }
        }
        while tasks.join_next().await.is_some() {}
        for asker in askers {
            asker.abort();
        }
    }
}

/// How a destination's task ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Served {
    /// Served until its queue emptied, its messages are in back-off, or the worker stops:
    /// looked at again as soon as it is due.
    Pushed,
    /// Not for this worker now: a pull destination, one without a route, one whose lease
    /// another worker holds, or one whose queue could not be read. Left alone for a poll
    /// interval.
    LeftAlone,
}

impl Shared {
    /// Forgets the task of a destination that ended; one left alone is not started again for a
    /// poll interval.
    fn task_ended(
        &self,
        done: Result<(String, Served), tokio::task::JoinError>,
        running: &mut HashMap<String, Arc<Notify>>,
        left_alone: &mut HashMap<String, tokio::time::Instant>,
    ) {
        if let Ok((destination, served)) = done {
            running.remove(&destination);
            if served == Served::LeftAlone {
                let until = tokio::time::Instant::now() + self.policy.poll_interval();
                left_alone.insert(destination, until);
            }
        }
    }

    /// Delivers the due messages of one destination, in order, while this worker holds its
    /// lease. The task stays a while after the queue empties, woken through `wake` when more
    /// is due: a busy destination then costs a read and a mark per message, not a lease, a
    /// route lookup and a release each time.
    async fn serve_destination(
        &self,
        destination: &str,
        wake: &Notify,
        shutdown: &Shutdown,
    ) -> Served {
        let mut served = Served::Pushed;
        let lease = self.policy.lease();
        // Renewed when half of it has gone. The route is looked up again then, and after
        // every wake, so a changed url applies to what is queued after the change.
        let renew_every = self.policy.lease() / 2;
        let idle = IDLE.min(renew_every);
        let mut renew_at = tokio::time::Instant::now();
        let mut route: Option<(String, HeaderMap)> = None;
        // Messages read ahead of their turn; dropped whenever the lease is renewed.
        let mut ahead: VecDeque<Delivery> = VecDeque::new();
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            if tokio::time::Instant::now() >= renew_at {
                match self
                    .limit
                    .bound(self.store.claim(destination, self.id, lease))
                    .await
                {
                    Ok(true) => renew_at = tokio::time::Instant::now() + renew_every,
                    // Another worker delivers here.
                    Ok(false) => return Served::LeftAlone,
                    Err(error) => {
                        tracing::error!(service = self.service, destination, %error, "cannot take the delivery lease");
                        return Served::LeftAlone;
                    }
                }
                ahead.clear();
                route = None;
            }
            if route.is_none() {
                // The route first: a queue that takes a message out to read it (JetStream)
                // must not do so for a pull destination.
                let Some(Some(Route::Push { url, headers })) =
                    self.routes.ask(destination.to_owned()).await
                else {
                    served = Served::LeftAlone;
                    break;
                };
                route = Some((url, headers));
            }
            let batch = match self.next_batch(destination, &mut ahead).await {
                Ok(Some(batch)) if batch.head.next_attempt_at <= Utc::now() => batch,
                // In back-off: the main loop finds it again when it is due.
                Ok(Some(_)) => break,
                Ok(None) => {
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = wake.notified() => {
                            // Looked up again: what woke the task may be a changed subscriber.
                            route = None;
                            continue;
                        }
                        () = tokio::time::sleep(idle) => break,
                    }
                }
                Err(error) => {
                    tracing::error!(service = self.service, destination, %error, "cannot read the delivery queue");
                    served = Served::LeftAlone;
                    break;
                }
            };
            let Some((url, headers)) = &route else { break };
            match self.attempt(&batch, url, headers.clone()).await {
                Next::Continue => {}
                Next::Wait => break,
            }
        }
        if let Err(error) = self
            .limit
            .bound(self.store.release(destination, self.id))
            .await
        {
            tracing::warn!(service = self.service, destination, %error, "cannot release the delivery lease");
        }
        served
    }

    /// The next POST's worth of `destination`'s queue. Unmerged messages are read
    /// [`READ_AHEAD`] at a time into `ahead`.
    async fn next_batch(
        &self,
        destination: &str,
        ahead: &mut VecDeque<Delivery>,
    ) -> Result<Option<Batch>, DeliveryError> {
        let Some(merge) = self.merge.filter(|_| self.resolver.merges(destination)) else {
            if ahead.is_empty() {
                ahead.extend(self.pending_run(destination, READ_AHEAD).await?);
            }
            return Ok(ahead.pop_front().map(Batch::single));
        };
        let limit = i64::try_from(merge.max_items).unwrap_or(i64::MAX);
        let run = self.pending_run(destination, limit).await?;
        let alone = self.alone(destination, run.first().map(|head| head.id));
        Ok(Batch::merged(run, merge, &alone))
    }

    /// The first `limit` pending messages of `destination`: read with other destinations'
    /// where the store can do that in one statement.
    async fn pending_run(
        &self,
        destination: &str,
        limit: i64,
    ) -> Result<Vec<Delivery>, DeliveryError> {
        if !self.store.reads_together() {
            return self
                .limit
                .bound(self.store.pending_run(destination, limit))
                .await;
        }
        match self.reads.ask((destination.to_owned(), limit)).await {
            Some(run) => run.map_err(DeliveryError::Batched),
            None => Err(DeliveryError::Batched(String::from(
                "the reader of the delivery queue has stopped",
            ))),
        }
    }

    /// Starts the tasks that answer the destinations' questions together; aborted when the
    /// worker stops.
    fn answer_together(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let (store, limit) = (Arc::clone(&self.store), self.limit);
        let marks = self.marks.start(move |marks: Vec<Vec<i64>>| {
            let store = Arc::clone(&store);
            async move {
                let ids: Vec<i64> = marks.iter().flatten().copied().collect();
                let result = limit
                    .bound(store.mark_delivered(&ids, Utc::now()))
                    .await
                    .map_err(|error| error.to_string());
                vec![result; marks.len()]
            }
        });
        let store = Arc::clone(&self.store);
        let reads = self.reads.start(move |wanted: Vec<(String, i64)>| {
            let store = Arc::clone(&store);
            async move {
                let asked = wanted.len();
                match limit.bound(store.pending_runs(&wanted)).await {
                    Ok(runs) if runs.len() == asked => runs.into_iter().map(Ok).collect(),
                    Ok(_) => {
                        vec![Err(String::from("the queue answered a read it was not asked")); asked]
                    }
                    Err(error) => vec![Err(error.to_string()); asked],
                }
            }
        });
        let resolver = Arc::clone(&self.resolver);
        let routes = self.routes.start(move |destinations: Vec<String>| {
            let resolver = Arc::clone(&resolver);
            // Not found in time: each destination is left alone and looked up again later.
            async move {
                tokio::time::timeout(limit.limit(), resolver.routes(&destinations))
                    .await
                    .unwrap_or_else(|_| vec![None; destinations.len()])
            }
        });
        [marks, reads, routes].into_iter().flatten().collect()
    }

    /// The messages of `destination` still to be sent alone after a split; those before the
    /// queue's `head` have left the queue and are forgotten.
    fn alone(&self, destination: &str, head: Option<i64>) -> BTreeSet<i64> {
        let mut split = self
            .split
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(ids) = split.get_mut(destination) else {
            return BTreeSet::new();
        };
        match head {
            Some(head) => *ids = ids.split_off(&head),
            None => ids.clear(),
        }
        if ids.is_empty() {
            split.remove(destination);
            return BTreeSet::new();
        }
        ids.clone()
    }

    /// Remembers that the messages of `batch` go alone from now on.
    fn split(&self, batch: &Batch) {
        self.split
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(batch.head.destination.clone())
            .or_default()
            .extend(&batch.ids);
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
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(batch.body.clone());
        if let Ok(value) = HeaderValue::from_str(&delivery.created_at.to_rfc3339()) {
            request = request.header("x-notification-created", value);
        }
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                return Outcome::Transient {
                    reason: transport_error(&error),
                    retry_after: None,
                };
            }
        };
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let body = read_body(response, answer::BODY_LIMIT).await;
        answer::classify(status, &headers, &body, Utc::now())
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
                match self.marks.ask(batch.ids.clone()).await {
                    Some(Ok(())) => Ok(Next::Continue),
                    Some(Err(error)) => Err(DeliveryError::Batched(error)),
                    None => Err(DeliveryError::Batched(String::from(
                        "the writer of delivered marks has stopped",
                    ))),
                }
            }
            Outcome::Permanent(refusal) if batch.ids.len() > 1 => {
                // Which message is at fault is unknown: each goes alone, at once, in order.
                count("refused_batch");
                tracing::warn!(
                    status = refusal.status,
                    code = refusal.code.as_deref(),
                    "a merged delivery was refused; sending its messages one at a time"
                );
                self.split(batch);
                Ok(Next::Continue)
            }
            Outcome::Permanent(refusal) => {
                count("dead");
                self.dead_letter(batch, &refusal.answer, Some(&refusal))
                    .await
                    .map(|()| Next::Continue)
            }
            Outcome::Transient {
                reason,
                retry_after,
            } => {
                let attempts = u32::try_from(delivery.attempts).unwrap_or(0) + 1;
                let age = (Utc::now() - delivery.created_at)
                    .to_std()
                    .unwrap_or_default();
                if attempts >= self.policy.max_attempts || age >= self.policy.max_age() {
                    count("dead");
                    let answer = format!("{reason} (gave up after {attempts} attempts)");
                    self.dead_letter(batch, &answer, None)
                        .await
                        .map(|()| Next::Continue)
                } else {
                    count("failed");
                    // Never sooner than the receiver asked; never later than the message
                    // may live (it is given up on then anyway).
                    let wait = retry_after
                        .map_or_else(
                            || self.policy.backoff(attempts),
                            |asked| asked.max(self.policy.backoff(attempts)),
                        )
                        .min(self.policy.max_age());
                    tracing::warn!(%reason, attempts, retry_in_ms = wait.as_millis(), "delivery failed, will retry");
                    let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                    self.limit
                        .bound(self.store.mark_failed(&batch.ids, &reason, next))
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

    /// Dead-letters the messages of `batch` with `answer` kept for operators; logs it once,
    /// without the answer (it may quote personal data), and counts it. `refusal` is the
    /// receiver's when it refused them, `None` when they were given up on.
    async fn dead_letter(
        &self,
        batch: &Batch,
        answer: &str,
        refusal: Option<&Refusal>,
    ) -> Result<(), super::DeliveryError> {
        let cause = if refusal.is_some() {
            Cause::Refused
        } else {
            Cause::GaveUp
        };
        self.limit
            .bound(self.store.mark_dead(&batch.ids, answer))
            .await?;
        metrics::counter!(
            "deliveries_dead_lettered_total",
            "service" => self.service,
            "destination" => batch.head.destination.clone(),
            "cause" => cause.as_str()
        )
        .increment(u64::try_from(batch.ids.len()).unwrap_or(u64::MAX));
        let notification_ids = batch
            .notification_ids
            .iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join(",");
        if let Some(refusal) = refusal {
            tracing::warn!(
                cause = cause.as_str(),
                status = refusal.status,
                code = refusal.code.as_deref(),
                notification_ids,
                "dead-lettered: refused by the receiver"
            );
        } else {
            // The last failure as the worker words it (status, time-out, connection): no
            // receiver text in it.
            tracing::error!(
                cause = cause.as_str(),
                reason = answer,
                attempts = batch.head.attempts + 1,
                messages = batch.ids.len(),
                notification_ids,
                "dead-lettered: gave up"
            );
        }
        Ok(())
    }

    async fn publish_stats(&self, seen: &mut HashSet<String>) {
        let stats = match self.limit.bound(self.store.stats()).await {
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

/// At most `limit` bytes of an answer's body; what could not be read is left out.
async fn read_body(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = limit - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == limit {
            break;
        }
    }
    body
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
