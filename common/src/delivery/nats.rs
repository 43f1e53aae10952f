//! The delivery queue on NATS JetStream: the notification backbone when one database is not
//! enough for the fan-out (`notification.backbone = "nats"`).
//!
//! A producer publishes to the stream with [`JetStreamDeliveries::publish_round`] (the engagement
//! index's fan-out: the message ids name the round, so a round published again after a crash
//! is stored once), or queues in its database as the transactional outbox and lets
//! [`JetStreamRelay`] publish each queued message once, with the queue id as `Nats-Msg-Id`,
//! and delete it from the database. From there on [`JetStreamDeliveries`] is the
//! [`DeliveryStore`] the shared worker and the pull point use:
//!
//! - one subject per destination, `<stream>.q.<destination in hex>`; the offset of a message is
//!   its stream sequence;
//! - a push destination is a durable consumer (`d_<hex>`) filtering its subject, with at most
//!   one message unacknowledged: every process's worker asks the same consumer for its next
//!   message (on one subscription per process, [`pulls`]), so the work is shared and order is
//!   kept. A failed attempt is a NAK with the back-off as delay; an
//!   attempt whose worker died is sent again when the ack wait (the policy's lease) runs out;
//! - a dead letter is copied to `<stream>.dead.<hex>` (with its last error and attempts in
//!   headers) and terminated on the consumer; a redrive publishes it again to the queue subject
//!   (behind what is pending: JetStream cannot insert before) and removes the copy;
//! - a pull destination's acknowledged and previous offsets are the last message of
//!   `<stream>_PULL`'s subject `<stream>.pp.<hex>`;
//! - delivered messages are kept until the stream's `max_age` drops them, so retention is the
//!   stream's, not [`DeliveryStore::delete_delivered`]'s.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::message::AckKind;
use async_nats::jetstream::{self, Context, stream};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;

use crate::db::ResponseTimeout;

use super::{
    Delivery, DeliveryError, DeliveryPolicy, DeliveryState, DeliveryStore, DestinationStats,
    NewDelivery, PullPoint, StoredPayload,
};

mod pulls;

const MESSAGE_ID: &str = "Nats-Msg-Id";
const ERROR_HEADER: &str = "Nordform-Last-Error";
const ATTEMPTS_HEADER: &str = "Nordform-Attempts";
/// Messages published by one relay round before their acknowledgements are awaited.
const RELAY_RUN: i64 = 1000;
/// The relay's lease in the outbox's lease table: a name no destination has (destinations
/// are logical addresses, which hold no spaces).
const RELAY_LEASE: &str = "nats relay";

/// `[notification.nats]`: where the stream lives and how long it keeps messages.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JetStreamConfig {
    /// The NATS server(s), e.g. `nats://127.0.0.1:4222`. `tls://` requires TLS; a user and
    /// password (`nats://user:password@host:4222`) or a token (`nats://token@host:4222`) in
    /// the URL authenticate the index.
    pub url: String,
    /// PEM roots the server's certificate must chain to. Only these are trusted when set
    /// (else the host's own store), and TLS is required.
    pub tls_ca_file: Option<PathBuf>,
    /// A client certificate (PEM) for a server that verifies its clients; with `tls_key_file`.
    /// TLS is required when set.
    pub tls_certificate_file: Option<PathBuf>,
    /// The private key (PEM) of `tls_certificate_file`.
    pub tls_key_file: Option<PathBuf>,
    /// The stream's name; subjects are its lower-case name followed by `.q.`, `.dead.`, `.pp.`.
    /// Services sharing a NATS server need different names.
    pub stream: String,
    /// How long the stream keeps a message (delivered or not): at least the delivery policy's
    /// `max_age_secs`, or pending messages are dropped before they are given up on.
    pub max_age_secs: u64,
    /// A message published again within this window (same queue id) is stored once.
    pub duplicate_window_secs: u64,
}

impl Default for JetStreamConfig {
    fn default() -> Self {
        Self {
            url: String::from("nats://127.0.0.1:4222"),
            tls_ca_file: None,
            tls_certificate_file: None,
            tls_key_file: None,
            stream: String::from("NORDFORM"),
            max_age_secs: 7 * 24 * 3600,
            duplicate_window_secs: 600,
        }
    }
}

impl JetStreamConfig {
    /// The client's options: the TLS settings above; the URL carries the rest.
    fn connect_options(&self) -> Result<async_nats::ConnectOptions, DeliveryError> {
        let mut options = async_nats::ConnectOptions::new();
        if let Some(roots) = &self.tls_ca_file {
            options = options
                .add_root_certificates(roots.clone())
                .require_tls(true);
        }
        match (&self.tls_certificate_file, &self.tls_key_file) {
            (Some(certificate), Some(key)) => {
                options = options
                    .add_client_certificate(certificate.clone(), key.clone())
                    .require_tls(true);
            }
            (None, None) => {}
            _ => {
                return Err(DeliveryError::Backbone(String::from(
                    "notification.nats.tls_certificate_file and tls_key_file go together",
                )));
            }
        }
        Ok(options)
    }
}

fn nats_error(error: impl std::fmt::Display) -> DeliveryError {
    DeliveryError::Backbone(error.to_string())
}

/// A queued message as the stream holds it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    destination: String,
    notification_id: Uuid,
    /// The notification's JSON, unless `shared` holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload: Option<Box<serde_json::value::RawValue>>,
    /// The stream sequence of the message holding the JSON: one copy for every subscriber of a
    /// round getting the same notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shared: Option<u64>,
    /// The shared JSON's SHA-256 (hex): what is read at `shared` must be it, or nothing is
    /// sent (a stream made anew numbers its messages from 1 again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shared_sha256: Option<String>,
    item_count: i32,
    correlation_id: Option<String>,
    traceparent: Option<String>,
    created_at: DateTime<Utc>,
}

impl Envelope {
    fn of(delivery: &Delivery) -> Self {
        Self {
            destination: delivery.destination.clone(),
            notification_id: delivery.notification_id,
            payload: Some(delivery.payload.raw().to_owned()),
            shared: None,
            shared_sha256: None,
            item_count: delivery.item_count,
            correlation_id: delivery.correlation_id.clone(),
            traceparent: delivery.traceparent.clone(),
            created_at: delivery.created_at,
        }
    }

    fn into_delivery(
        self,
        payload: Box<serde_json::value::RawValue>,
        id: i64,
        state: DeliveryState,
    ) -> Delivery {
        Delivery {
            id,
            destination: self.destination,
            notification_id: self.notification_id,
            payload: StoredPayload::from(payload),
            item_count: self.item_count,
            state,
            attempts: 0,
            next_attempt_at: Utc::now(),
            last_error: None,
            correlation_id: self.correlation_id,
            traceparent: self.traceparent,
            created_at: self.created_at,
            delivered_at: None,
        }
    }
}

/// An [`Envelope`] written from a new message, borrowing its parts.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutgoingEnvelope<'a> {
    destination: &'a str,
    notification_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a serde_json::value::RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shared: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shared_sha256: Option<&'a str>,
    item_count: i32,
    correlation_id: Option<&'a str>,
    traceparent: Option<&'a str>,
    created_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
struct StoredPullPoint {
    acknowledged: i64,
    previous: i64,
}

/// Destination names may hold characters a subject or consumer name may not: hex keeps any.
fn token(destination: &str) -> String {
    destination.bytes().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn destination_of(token: &str) -> Option<String> {
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

fn sequence(id: i64) -> u64 {
    u64::try_from(id).unwrap_or(0)
}

fn offset(sequence: u64) -> i64 {
    i64::try_from(sequence).unwrap_or(i64::MAX)
}

/// The mutex's value, also after a panic elsewhere: every value here stays whole.
fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The queue stream and the pull points' stream (`configs` in that order), each made if the
/// server has none.
async fn streams_on_server(
    context: &Context,
    configs: &[stream::Config; 2],
) -> Result<[stream::Stream; 2], DeliveryError> {
    let queue = queue_stream(context, &configs[0]).await?;
    let pull_points = context
        .get_or_create_stream(configs[1].clone())
        .await
        .map_err(nats_error)?;
    Ok([queue, pull_points])
}

/// When the server made `stream`, in nanoseconds since the epoch.
fn created_at(stream: &stream::Stream) -> i128 {
    stream.cached_info().created.unix_timestamp_nanos()
}

/// The queue stream, made if the server has none. The offsets pull subscribers hold are its
/// sequence numbers, so a stream made anew (the first, or after the server lost its storage)
/// numbers its messages from the microsecond it was made, above any number an earlier stream
/// of that name gave out: a subscriber acknowledging an earlier stream's offset skips nothing
/// of the new one. NATS 2.9 cannot make a stream with a first sequence, so it is made with a
/// subject nothing is published to, moved on to that number by a purge, and only then given
/// its subjects. Every step can be done again by another process, or after a crash between
/// them, with the same result: the number is the stream's own creation time.
async fn queue_stream(
    context: &Context,
    config: &stream::Config,
) -> Result<stream::Stream, DeliveryError> {
    let starting = vec![format!("{}.starting", config.name.to_lowercase())];
    let stream = context
        .get_or_create_stream(stream::Config {
            subjects: starting.clone(),
            ..config.clone()
        })
        .await
        .map_err(nats_error)?;
    if stream.cached_info().config.subjects != starting {
        return Ok(stream);
    }
    let micros = stream.cached_info().created.unix_timestamp_nanos() / 1000;
    stream
        .purge()
        .sequence(u64::try_from(micros).unwrap_or(1))
        .await
        .map_err(nats_error)?;
    context.update_stream(config).await.map_err(nats_error)?;
    context.get_stream(&config.name).await.map_err(nats_error)
}

/// The delivery queue on a JetStream stream.
pub struct JetStreamDeliveries {
    context: Context,
    stream: stream::Stream,
    /// The stream's name, as the server's API subjects spell it.
    stream_name: String,
    /// The workers' requests for their destinations' next messages.
    pulls: pulls::Pulls,
    pull_points: stream::Stream,
    prefix: String,
    /// How long a fetched message stays with its worker before another gets it.
    ack_wait: Duration,
    /// Messages this process fetched and has not settled, by offset.
    in_flight: Mutex<HashMap<i64, jetstream::Message>>,
    /// The last failure of messages this process tried (JetStream keeps no text on a NAK).
    last_errors: Mutex<HashMap<i64, String>>,
    /// Destinations whose consumer this process has made sure of.
    consumers: Mutex<std::collections::HashSet<String>>,
    /// Their handles, so that fetching a message is one request, not two.
    handles: Mutex<HashMap<String, jetstream::consumer::PullConsumer>>,
    /// Destinations this process published to since its worker last asked what is due.
    published: Mutex<Published>,
    /// How often every consumer is looked at, whatever this process published meanwhile.
    list_every: Duration,
    /// Shared payloads read lately, by stream sequence: every subscriber's message of a round
    /// names the same one.
    shared: Mutex<std::collections::VecDeque<SharedPayload>>,
    streams: Streams,
}

/// Shared payloads kept in memory once read.
const SHARED_KEPT: usize = 16;

/// After a failure the streams are looked at again at most this often.
const LOOK_AGAIN_AFTER: Duration = Duration::from_secs(1);

/// The two streams as this process made sure of them: how to make them again, and when the
/// server made them, to tell a stream made anew (a NATS server that lost its storage, or a
/// stream deleted by hand) from the one this process has been using.
struct Streams {
    /// The queue stream's configuration, then the pull points'.
    configs: [stream::Config; 2],
    /// When the server made each, in nanoseconds since the epoch.
    created: Mutex<[i128; 2]>,
    /// The last look after a failure; one look at a time.
    looked_at: tokio::sync::Mutex<Option<std::time::Instant>>,
}

/// A payload stored once for several messages: where, its SHA-256 and its text.
struct SharedPayload {
    at: u64,
    sha256: String,
    text: Box<serde_json::value::RawValue>,
}

fn sha256_hex(text: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(text)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// What [`JetStreamDeliveries::due_destinations`] can answer without asking the server.
#[derive(Default)]
struct Published {
    destinations: std::collections::HashSet<String>,
    listed_at: Option<std::time::Instant>,
}

impl JetStreamDeliveries {
    /// Connects and creates the stream (and the pull points' stream) if they do not exist.
    pub async fn connect(
        config: &JetStreamConfig,
        policy: &DeliveryPolicy,
    ) -> Result<Self, DeliveryError> {
        let client = config
            .connect_options()?
            .connect(config.url.as_str())
            .await
            .map_err(nats_error)?;
        let context = jetstream::new(client);
        let prefix = config.stream.to_lowercase();
        let configs = [
            stream::Config {
                name: config.stream.clone(),
                subjects: vec![format!("{prefix}.q.>"), format!("{prefix}.dead.>")],
                max_age: Duration::from_secs(config.max_age_secs),
                duplicate_window: Duration::from_secs(
                    config.duplicate_window_secs.min(config.max_age_secs),
                ),
                allow_direct: true,
                ..Default::default()
            },
            stream::Config {
                name: format!("{}_PULL", config.stream),
                subjects: vec![format!("{prefix}.pp.>")],
                max_messages_per_subject: 1,
                allow_direct: true,
                ..Default::default()
            },
        ];
        let [stream, pull_points] = streams_on_server(&context, &configs).await?;
        let created = [&stream, &pull_points].map(created_at);
        let pulls = pulls::Pulls::start(context.client(), format!("{prefix}.q.")).await?;
        Ok(Self {
            context,
            stream,
            stream_name: config.stream.clone(),
            pulls,
            pull_points,
            prefix,
            ack_wait: policy.lease().max(Duration::from_secs(1)),
            in_flight: Mutex::default(),
            last_errors: Mutex::default(),
            consumers: Mutex::default(),
            handles: Mutex::default(),
            published: Mutex::default(),
            list_every: policy.poll_interval(),
            shared: Mutex::default(),
            streams: Streams {
                configs,
                created: Mutex::new(created),
                looked_at: tokio::sync::Mutex::default(),
            },
        })
    }

    /// Removes the stream and the pull points: for tests and decommissioning.
    pub async fn delete(&self, config: &JetStreamConfig) -> Result<(), DeliveryError> {
        for name in [config.stream.clone(), format!("{}_PULL", config.stream)] {
            self.context.delete_stream(name).await.map_err(nats_error)?;
        }
        Ok(())
    }

    fn queue_subject(&self, destination: &str) -> String {
        format!("{}.q.{}", self.prefix, token(destination))
    }

    /// Where payloads shared by several messages are kept: no destination's token is
    /// `payloads` (not hex), so no consumer's filter takes them.
    fn shared_subject(&self) -> String {
        format!("{}.q.payloads", self.prefix)
    }

    fn dead_subject(&self, destination: &str) -> String {
        format!("{}.dead.{}", self.prefix, token(destination))
    }

    fn pull_subject(&self, destination: &str) -> String {
        format!("{}.pp.{}", self.prefix, token(destination))
    }

    /// The durable consumer of a push destination, created on first use: it starts at the
    /// stream's first message of the destination, so nothing published before is missed.
    async fn consumer(
        &self,
        destination: &str,
    ) -> Result<jetstream::consumer::PullConsumer, DeliveryError> {
        if let Some(consumer) = self
            .handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(destination)
        {
            return Ok(consumer.clone());
        }
        let name = format!("d_{}", token(destination));
        let consumer = self
            .stream
            .get_or_create_consumer(
                &name,
                pull::Config {
                    durable_name: Some(name.clone()),
                    filter_subject: self.queue_subject(destination),
                    deliver_policy: DeliverPolicy::All,
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: self.ack_wait,
                    // One message out at a time, whichever process holds it: queue order.
                    max_ack_pending: 1,
                    max_deliver: -1,
                    ..Default::default()
                },
            )
            .await
            .map_err(nats_error)?;
        self.handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(destination.to_owned(), consumer.clone());
        Ok(consumer)
    }

    /// Forgets the consumer handle of `destination`: the next use asks the server again.
    fn forget_consumer(&self, destination: &str) {
        self.handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(destination);
    }

    /// Fails at once while the client is not connected to the server (it reconnects by
    /// itself). The calls an operator or a pull subscriber waits for check this first: each of
    /// their several requests to the server would otherwise wait for its timeout, and the
    /// answer would come after the caller's patience, not as the 503 it should be.
    fn connected(&self) -> Result<(), DeliveryError> {
        match self.context.client().connection_state() {
            async_nats::connection::State::Connected => Ok(()),
            _ => Err(DeliveryError::Backbone(
                "not connected to the NATS server".to_owned(),
            )),
        }
    }

    /// `result`, after a look at the streams when it is the backbone's failure: see
    /// [`Self::look_at_streams`].
    async fn noticing<T>(&self, result: Result<T, DeliveryError>) -> Result<T, DeliveryError> {
        if matches!(result, Err(DeliveryError::Backbone(_))) {
            self.look_at_streams().await;
        }
        result
    }

    /// Makes sure both streams are on the server, making again one it no longer has: a NATS
    /// server that lost its storage, or a stream deleted by hand, would otherwise fail every
    /// round and every delivery until this process restarts. A stream made anew (by this
    /// process or another) holds none of what was published before and has no consumers, so
    /// what this process remembers of the old one is dropped. While the server is out of reach
    /// this does nothing; the caller tries again later.
    async fn look_at_streams(&self) {
        let mut looked_at = self.streams.looked_at.lock().await;
        if looked_at.is_some_and(|at| at.elapsed() < LOOK_AGAIN_AFTER) {
            return;
        }
        *looked_at = Some(std::time::Instant::now());
        let Ok(streams) = streams_on_server(&self.context, &self.streams.configs).await else {
            return;
        };
        let mut made_anew = Vec::new();
        let mut remembered = locked(&self.streams.created);
        for ((stream, known), config) in streams
            .iter()
            .zip(remembered.iter_mut())
            .zip(&self.streams.configs)
        {
            let created = created_at(stream);
            if *known != created {
                *known = created;
                made_anew.push(config.name.as_str());
            }
        }
        drop(remembered);
        if made_anew.is_empty() {
            return;
        }
        locked(&self.consumers).clear();
        locked(&self.handles).clear();
        locked(&self.in_flight).clear();
        locked(&self.last_errors).clear();
        locked(&self.shared).clear();
        metrics::counter!("notification_backbone_streams_made_anew_total")
            .increment(made_anew.len() as u64);
        tracing::error!(
            streams = ?made_anew,
            "the NATS server no longer had these streams (its storage lost, or the streams \
             deleted) and they are made anew: the notifications they held, delivered or not, \
             dead letters and pull offsets, are lost; what is accepted from now on is notified"
        );
    }

    /// Publishes `deliveries` (already committed to the database queue) in order, each with its
    /// queue id as message id, and waits until the stream has stored them.
    pub async fn publish(&self, deliveries: &[Delivery]) -> Result<(), DeliveryError> {
        let result = self.publish_once(deliveries).await;
        self.noticing(result).await
    }

    async fn publish_once(&self, deliveries: &[Delivery]) -> Result<(), DeliveryError> {
        let mut acks = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let body = serde_json::to_vec(&Envelope::of(delivery))?;
            acks.push(
                self.send(&delivery.destination, &delivery.id.to_string(), body)
                    .await?,
            );
        }
        self.stored(acks, deliveries.iter().map(|d| d.destination.clone()))
            .await
    }

    /// Publishes a fan-out round's notifications straight to the stream, in order, and waits
    /// until the stream has stored them all. `round` names the round (no other round has the
    /// same): a subscriber's `n`th notification of it has the message id
    /// `round-<round>-<subscriber in hex>-<n>`, so a round published again after a crash, with
    /// the same changes, is stored once, even if subscribers came or went meanwhile. A payload
    /// several subscribers get is stored once and their messages name it.
    pub async fn publish_round(
        &self,
        round: i64,
        notifications: &[NewDelivery],
    ) -> Result<(), DeliveryError> {
        let result = self.publish_round_once(round, notifications).await;
        self.noticing(result).await
    }

    async fn publish_round_once(
        &self,
        round: i64,
        notifications: &[NewDelivery],
    ) -> Result<(), DeliveryError> {
        let shared = self.share(round, notifications).await?;
        let created_at = Utc::now();
        let mut acks = Vec::with_capacity(notifications.len());
        let mut part = 0;
        for (i, notification) in notifications.iter().enumerate() {
            let destination = notification.destination.as_str();
            part = match i.checked_sub(1).map(|p| &notifications[p].destination) {
                Some(previous) if previous == destination => part + 1,
                _ => 0,
            };
            let shared = shared.get(&notification.payload.identity());
            let payload: Option<&serde_json::value::RawValue> = match shared {
                Some(_) => None,
                None => Some(serde_json::from_str(notification.payload.as_str())?),
            };
            let body = serde_json::to_vec(&OutgoingEnvelope {
                destination,
                notification_id: Uuid::new_v4(),
                payload,
                shared: shared.map(|(at, _)| *at),
                shared_sha256: shared.map(|(_, sha256)| sha256.as_str()),
                item_count: notification.item_count,
                correlation_id: notification.correlation_id.as_deref(),
                traceparent: notification.traceparent.as_deref(),
                created_at,
            })?;
            let id = format!("round-{round}-{}-{part}", token(destination));
            acks.push(self.send(destination, &id, body).await?);
        }
        self.stored(acks, notifications.iter().map(|n| n.destination.clone()))
            .await
    }

    /// Stores once each payload that several of `notifications` carry (every subscriber
    /// without a filter, usually), and returns where, by the payload's identity. Its message
    /// id is the round and the payload's SHA-256: published again after a crash, the same
    /// text is found at its first sequence, and a payload planned differently meanwhile (a
    /// filter changed) is another message, never one holding what a subscriber did not ask for.
    async fn share(
        &self,
        round: i64,
        notifications: &[NewDelivery],
    ) -> Result<HashMap<usize, (u64, String)>, DeliveryError> {
        let mut uses: HashMap<usize, (usize, &super::Payload)> = HashMap::new();
        for notification in notifications {
            uses.entry(notification.payload.identity())
                .or_insert((0, &notification.payload))
                .0 += 1;
        }
        let mut acks = Vec::new();
        for (identity, (count, payload)) in uses {
            if count < 2 {
                continue;
            }
            let sha256 = sha256_hex(payload.as_str().as_bytes());
            let mut headers = HeaderMap::new();
            headers.insert(
                MESSAGE_ID,
                format!("round-{round}-payload-{sha256}").as_str(),
            );
            let ack = self
                .context
                .publish_with_headers(
                    self.shared_subject(),
                    headers,
                    payload.as_str().to_owned().into(),
                )
                .await
                .map_err(nats_error)?;
            acks.push((identity, sha256, ack));
        }
        let mut shared = HashMap::with_capacity(acks.len());
        for (identity, sha256, ack) in acks {
            // A duplicate's acknowledgement names the sequence of the first copy.
            let at = ack.await.map_err(nats_error)?.sequence;
            shared.insert(identity, (at, sha256));
        }
        Ok(shared)
    }

    /// The delivery a stored envelope stands for, its payload read from where it is shared.
    async fn open(
        &self,
        mut envelope: Envelope,
        id: i64,
        state: DeliveryState,
    ) -> Result<Delivery, DeliveryError> {
        let payload = match (envelope.payload.take(), envelope.shared) {
            (Some(payload), _) => payload,
            (None, Some(at)) => {
                let sha256 = envelope.shared_sha256.as_deref().unwrap_or_default();
                self.shared_payload(at, sha256).await?
            }
            (None, None) => {
                return Err(DeliveryError::Backbone(format!(
                    "message {id} of {} holds no payload",
                    envelope.destination
                )));
            }
        };
        Ok(envelope.into_delivery(payload, id, state))
    }

    /// The shared payload at `at` whose SHA-256 is `sha256`, from memory when read lately.
    async fn shared_payload(
        &self,
        at: u64,
        sha256: &str,
    ) -> Result<Box<serde_json::value::RawValue>, DeliveryError> {
        let kept = self
            .shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|kept| kept.at == at && kept.sha256 == sha256)
            .map(|kept| kept.text.clone());
        if let Some(text) = kept {
            return Ok(text);
        }
        let message = self.stream.direct_get(at).await.map_err(nats_error)?;
        if sha256_hex(&message.payload) != sha256 {
            return Err(DeliveryError::Backbone(format!(
                "the payload at {at} is not the one its message names"
            )));
        }
        let text: Box<serde_json::value::RawValue> = serde_json::from_slice(&message.payload)?;
        let mut kept = self
            .shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() >= SHARED_KEPT {
            kept.pop_front();
        }
        kept.push_back(SharedPayload {
            at,
            sha256: sha256.to_owned(),
            text: text.clone(),
        });
        Ok(text)
    }

    /// Publishes `body` to `destination`'s queue with the message id `id`, its consumer made
    /// first; the stream's acknowledgement is to be awaited.
    async fn send(
        &self,
        destination: &str,
        id: &str,
        body: Vec<u8>,
    ) -> Result<async_nats::jetstream::context::PublishAckFuture, DeliveryError> {
        self.ensure_consumer(destination).await?;
        let mut headers = HeaderMap::new();
        headers.insert(MESSAGE_ID, id);
        self.context
            .publish_with_headers(self.queue_subject(destination), headers, body.into())
            .await
            .map_err(nats_error)
    }

    /// Waits until the stream has stored what was sent, then notes the destinations for the
    /// worker.
    async fn stored(
        &self,
        acks: Vec<async_nats::jetstream::context::PublishAckFuture>,
        destinations: impl Iterator<Item = String>,
    ) -> Result<(), DeliveryError> {
        for ack in acks {
            ack.await.map_err(nats_error)?;
        }
        self.published
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .destinations
            .extend(destinations);
        Ok(())
    }

    /// Makes sure `destination`'s consumer exists before its first message is published, so
    /// that it starts at that message.
    async fn ensure_consumer(&self, destination: &str) -> Result<(), DeliveryError> {
        let known = self
            .consumers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(destination);
        if !known {
            self.consumer(destination).await?;
            self.consumers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(destination.to_owned());
        }
        Ok(())
    }

    /// The destinations this process published to since the last answer, when every consumer
    /// was looked at less than a poll interval ago: the relay wakes the worker after each
    /// round, and listing every consumer (50 subscribers: 3-12 ms a round under load) then told
    /// it little more. The full look, at least every poll interval, finds the rest: messages
    /// other processes published, and retries whose back-off has ended.
    fn published_lately(&self) -> Option<Vec<String>> {
        let mut published = self
            .published
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let fresh = published
            .listed_at
            .is_some_and(|at| at.elapsed() < self.list_every);
        (fresh && !published.destinations.is_empty())
            .then(|| published.destinations.drain().collect())
    }

    /// Up to `limit` messages of `subject` after `after`, at most up to `until`, in order.
    async fn read(
        &self,
        subject: &str,
        after: u64,
        until: Option<u64>,
        limit: i64,
        state: DeliveryState,
    ) -> Result<Vec<(Delivery, HeaderMap)>, DeliveryError> {
        let mut found = Vec::new();
        let mut next = after + 1;
        while i64::try_from(found.len()).unwrap_or(i64::MAX) < limit {
            let message = match self
                .stream
                .direct_get_next_for_subject(subject, Some(next))
                .await
            {
                Ok(message) => message,
                Err(error) if error.kind() == jetstream::stream::DirectGetErrorKind::NotFound => {
                    break;
                }
                Err(error) => return Err(nats_error(error)),
            };
            if until.is_some_and(|until| message.sequence > until) {
                break;
            }
            next = message.sequence + 1;
            let envelope: Envelope = serde_json::from_slice(&message.payload)?;
            found.push((
                self.open(envelope, offset(message.sequence), state).await?,
                message.headers,
            ));
        }
        Ok(found)
    }

    async fn stored_pull_point(
        &self,
        destination: &str,
    ) -> Result<Option<StoredPullPoint>, DeliveryError> {
        match self
            .pull_points
            .direct_get_last_for_subject(self.pull_subject(destination))
            .await
        {
            Ok(message) => Ok(Some(serde_json::from_slice(&message.payload)?)),
            Err(error) if error.kind() == jetstream::stream::DirectGetErrorKind::NotFound => {
                Ok(None)
            }
            Err(error) => Err(nats_error(error)),
        }
    }

    /// The offset up to which `destination`'s messages are settled: its pull point, or its
    /// consumer's acknowledgement floor.
    async fn floor(&self, destination: &str) -> Result<u64, DeliveryError> {
        if let Some(point) = self.stored_pull_point(destination).await? {
            return Ok(sequence(point.acknowledged));
        }
        let info = self
            .stream
            .consumer_info(format!("d_{}", token(destination)))
            .await;
        Ok(info.map_or(0, |info| info.ack_floor.stream_sequence))
    }

    fn take(&self, ids: &[i64]) -> Vec<(i64, jetstream::Message)> {
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        ids.iter()
            .filter_map(|id| in_flight.remove(id).map(|message| (*id, message)))
            .collect()
    }

    fn last_error(&self, id: i64) -> Option<String> {
        self.last_errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&id)
            .cloned()
    }
}

/// The bodies of the store's calls that the worker and the metrics make all the time, so
/// that their failures lead to a look at the streams.
impl JetStreamDeliveries {
    /// [`DeliveryStore::due_destinations`].
    async fn due(&self) -> Result<Vec<String>, DeliveryError> {
        if let Some(published) = self.published_lately() {
            return Ok(published);
        }
        let listed_at = std::time::Instant::now();
        let mut consumers = self.stream.consumers();
        let mut due = Vec::new();
        while let Some(info) = consumers.next().await {
            let info = info.map_err(nats_error)?;
            // A message in back-off counts as unacknowledged: the worker finds nothing to
            // fetch until it is due, and that is cheap.
            if (info.num_pending > 0 || info.num_ack_pending > 0)
                && let Some(destination) = info.name.strip_prefix("d_").and_then(destination_of)
            {
                due.push(destination);
            }
        }
        let mut published = self
            .published
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        published.listed_at = Some(listed_at);
        for destination in published.destinations.drain() {
            if !due.contains(&destination) {
                due.push(destination);
            }
        }
        Ok(due)
    }

    /// [`DeliveryStore::head`].
    async fn next_of(&self, destination: &str) -> Result<Option<Delivery>, DeliveryError> {
        // Written out once, not once per message held: every destination's held message is
        // looked through here.
        let subject = self.queue_subject(destination);
        let held = self
            .in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|(_, message)| message.subject.as_str() == subject)
            .map(|(id, message)| (*id, message.clone()))
            .min_by_key(|(id, _)| *id);
        let (id, message) = if let Some(held) = held {
            held
        } else {
            let consumer = self.consumer(destination).await?;
            // The default API prefix: the context is made by `jetstream::new`.
            let subject = format!(
                "$JS.API.CONSUMER.MSG.NEXT.{}.{}",
                self.stream_name,
                consumer.cached_info().name
            );
            let answer = self.pulls.next(subject, &token(destination)).await;
            let answer = answer.inspect_err(|_| {
                // Perhaps removed by another process: asked for again next time.
                self.forget_consumer(destination);
            })?;
            // No message, or none to be had while another worker holds one.
            let Some(message) = answer else {
                return Ok(None);
            };
            let message = jetstream::Message {
                message,
                context: self.context.clone(),
            };
            let id = offset(message.info().map_err(nats_error)?.stream_sequence);
            self.in_flight
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(id, message.clone());
            (id, message)
        };
        let attempts = message.info().map_or(1, |info| info.delivered) - 1;
        let envelope: Envelope = serde_json::from_slice(&message.payload)?;
        let mut delivery = self.open(envelope, id, DeliveryState::Pending).await?;
        delivery.attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        delivery.last_error = self.last_error(id);
        Ok(Some(delivery))
    }

    /// [`DeliveryStore::stats`].
    async fn figures(&self) -> Result<Vec<DestinationStats>, DeliveryError> {
        let mut consumers = self.stream.consumers();
        let mut stats = Vec::new();
        while let Some(info) = consumers.next().await {
            let info = info.map_err(nats_error)?;
            let Some(destination) = info.name.strip_prefix("d_").and_then(destination_of) else {
                continue;
            };
            let dead = self
                .read(
                    &self.dead_subject(&destination),
                    0,
                    None,
                    10_000,
                    DeliveryState::Dead,
                )
                .await?
                .len();
            let pending = if self.stored_pull_point(&destination).await?.is_some() {
                self.list(&destination, DeliveryState::Pending, 10_000)
                    .await?
                    .len()
            } else {
                usize::try_from(info.num_pending).unwrap_or(usize::MAX) + info.num_ack_pending
            };
            stats.push(DestinationStats {
                destination,
                pending: i64::try_from(pending).unwrap_or(i64::MAX),
                dead: i64::try_from(dead).unwrap_or(i64::MAX),
                oldest_pending: None,
            });
        }
        Ok(stats)
    }
}

#[async_trait]
impl DeliveryStore for JetStreamDeliveries {
    async fn due_destinations(&self, _now: DateTime<Utc>) -> Result<Vec<String>, DeliveryError> {
        let result = self.due().await;
        self.noticing(result).await
    }

    async fn claim(
        &self,
        _destination: &str,
        _worker: Uuid,
        _lease: Duration,
    ) -> Result<bool, DeliveryError> {
        // The consumer hands out one message at a time whoever asks: no lease needed.
        Ok(true)
    }

    async fn release(&self, _destination: &str, _worker: Uuid) -> Result<(), DeliveryError> {
        Ok(())
    }

    async fn head(&self, destination: &str) -> Result<Option<Delivery>, DeliveryError> {
        let result = self.next_of(destination).await;
        self.noticing(result).await
    }

    async fn pending_run(
        &self,
        destination: &str,
        _limit: i64,
    ) -> Result<Vec<Delivery>, DeliveryError> {
        // One message out at a time: a run is its head (merging does not apply here).
        Ok(self.head(destination).await?.into_iter().collect())
    }

    async fn mark_delivered(&self, ids: &[i64], _now: DateTime<Utc>) -> Result<(), DeliveryError> {
        // Double: the next fetch must find the consumer free. Each message is another
        // destination's (the worker marks what its destinations delivered meanwhile together),
        // so their acknowledgements are awaited together, not one after another.
        let taken = self.take(ids);
        let acks = taken.iter().map(|(_, message)| message.double_ack());
        let results = futures::future::join_all(acks).await;
        {
            let mut last_errors = self
                .last_errors
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for ((id, _), result) in taken.iter().zip(&results) {
                if result.is_ok() {
                    last_errors.remove(id);
                }
            }
        }
        results
            .into_iter()
            .find_map(Result::err)
            .map_or(Ok(()), |error| Err(nats_error(error)))
    }

    async fn mark_failed(
        &self,
        ids: &[i64],
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), DeliveryError> {
        let delay = (next_attempt_at - Utc::now()).to_std().unwrap_or_default();
        for (id, message) in self.take(ids) {
            self.last_errors
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(id, error.to_owned());
            message
                .double_ack_with(AckKind::Nak(Some(delay)))
                .await
                .map_err(nats_error)?;
        }
        Ok(())
    }

    async fn mark_dead(&self, ids: &[i64], error: &str) -> Result<(), DeliveryError> {
        for (id, message) in self.take(ids) {
            let envelope: Envelope = serde_json::from_slice(&message.payload)?;
            let attempts = message.info().map_or(1, |info| info.delivered);
            let mut headers = HeaderMap::new();
            headers.insert(MESSAGE_ID, format!("dead-{id}").as_str());
            headers.insert(ERROR_HEADER, error.replace(['\r', '\n'], " ").as_str());
            headers.insert(ATTEMPTS_HEADER, attempts.to_string().as_str());
            self.context
                .publish_with_headers(
                    self.dead_subject(&envelope.destination),
                    headers,
                    message.payload.clone(),
                )
                .await
                .map_err(nats_error)?
                .await
                .map_err(nats_error)?;
            message
                .double_ack_with(AckKind::Term)
                .await
                .map_err(nats_error)?;
            self.last_errors
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&id);
        }
        Ok(())
    }

    async fn list(
        &self,
        destination: &str,
        state: DeliveryState,
        limit: i64,
    ) -> Result<Vec<Delivery>, DeliveryError> {
        self.connected()?;
        match state {
            DeliveryState::Dead => Ok(self
                .read(&self.dead_subject(destination), 0, None, limit, state)
                .await?
                .into_iter()
                .map(|(mut delivery, headers)| {
                    delivery.last_error = headers.get(ERROR_HEADER).map(ToString::to_string);
                    delivery.attempts = headers
                        .get(ATTEMPTS_HEADER)
                        .and_then(|a| a.as_str().parse().ok())
                        .unwrap_or(0);
                    delivery
                })
                .collect()),
            DeliveryState::Pending => {
                let floor = self.floor(destination).await?;
                let subject = self.queue_subject(destination);
                Ok(self
                    .read(&subject, floor, None, limit, state)
                    .await?
                    .into_iter()
                    .map(|(mut delivery, _)| {
                        delivery.last_error = self.last_error(delivery.id);
                        delivery
                    })
                    .collect())
            }
            DeliveryState::Delivered => {
                let floor = self.floor(destination).await?;
                let subject = self.queue_subject(destination);
                Ok(self
                    .read(&subject, 0, Some(floor), limit, state)
                    .await?
                    .into_iter()
                    .map(|(delivery, _)| delivery)
                    .collect())
            }
        }
    }

    async fn redrive(&self, destination: &str, _now: DateTime<Utc>) -> Result<u64, DeliveryError> {
        self.connected()?;
        let dead = self
            .read(
                &self.dead_subject(destination),
                0,
                None,
                i64::MAX,
                DeliveryState::Dead,
            )
            .await?;
        self.consumer(destination).await?;
        let mut redriven = 0;
        for (delivery, _) in dead {
            let mut headers = HeaderMap::new();
            headers.insert(MESSAGE_ID, format!("redrive-{}", delivery.id).as_str());
            let body = serde_json::to_vec(&Envelope::of(&delivery))?;
            self.context
                .publish_with_headers(self.queue_subject(destination), headers, body.into())
                .await
                .map_err(nats_error)?
                .await
                .map_err(nats_error)?;
            self.stream
                .delete_message(sequence(delivery.id))
                .await
                .map_err(nats_error)?;
            redriven += 1;
        }
        Ok(redriven)
    }

    async fn stats(&self) -> Result<Vec<DestinationStats>, DeliveryError> {
        self.connected()?;
        let result = self.figures().await;
        self.noticing(result).await
    }

    async fn pull(
        &self,
        destination: &str,
        after_offset: i64,
        max_items: i64,
        _now: DateTime<Utc>,
    ) -> Result<Vec<Delivery>, DeliveryError> {
        self.connected()?;
        let point = self
            .stored_pull_point(destination)
            .await?
            .unwrap_or(StoredPullPoint {
                acknowledged: 0,
                previous: 0,
            });
        let mut acknowledged = point.acknowledged;
        if after_offset > point.acknowledged {
            let moved = StoredPullPoint {
                acknowledged: after_offset,
                previous: point.acknowledged,
            };
            self.context
                .publish(
                    self.pull_subject(destination),
                    serde_json::to_vec(&moved)?.into(),
                )
                .await
                .map_err(nats_error)?
                .await
                .map_err(nats_error)?;
            acknowledged = after_offset;
        }
        let subject = self.queue_subject(destination);
        Ok(self
            .read(
                &subject,
                sequence(acknowledged.max(after_offset)),
                None,
                max_items,
                DeliveryState::Pending,
            )
            .await?
            .into_iter()
            .map(|(delivery, _)| delivery)
            .collect())
    }

    async fn pull_point(&self, destination: &str) -> Result<PullPoint, DeliveryError> {
        self.connected()?;
        Ok(self
            .stored_pull_point(destination)
            .await?
            .map_or_else(PullPoint::default, |point| PullPoint {
                acknowledged_offset: point.acknowledged,
                previous_offset: point.previous,
            }))
    }

    async fn refetch(
        &self,
        destination: &str,
        after_offset: i64,
        max_items: i64,
    ) -> Result<Vec<Delivery>, DeliveryError> {
        self.connected()?;
        let Some(point) = self.stored_pull_point(destination).await? else {
            return Ok(Vec::new());
        };
        let subject = self.queue_subject(destination);
        Ok(self
            .read(
                &subject,
                sequence(point.previous.max(after_offset)),
                Some(sequence(point.acknowledged)),
                max_items,
                DeliveryState::Delivered,
            )
            .await?
            .into_iter()
            .map(|(delivery, _)| delivery)
            .collect())
    }

    async fn delete_delivered(
        &self,
        _cutoff: DateTime<Utc>,
        _limit: i64,
    ) -> Result<u64, DeliveryError> {
        // The stream's max_age drops old messages.
        Ok(0)
    }

    async fn remove_destination(&self, destination: &str) -> Result<u64, DeliveryError> {
        self.connected()?;
        self.forget_consumer(destination);
        self.pulls.forget_destination(&token(destination));
        self.consumers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(destination);
        // What this process's worker holds of it is never sent on: a subscriber made again
        // under the same address starts empty.
        let subject = self.queue_subject(destination);
        self.in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, message| message.subject.as_str() != subject);
        // None when it never had one.
        let _ = self
            .stream
            .delete_consumer(&format!("d_{}", token(destination)))
            .await;
        let mut removed = 0;
        for subject in [subject, self.dead_subject(destination)] {
            removed += self
                .stream
                .purge()
                .filter(subject)
                .await
                .map_err(nats_error)?
                .purged;
        }
        self.pull_points
            .purge()
            .filter(self.pull_subject(destination))
            .await
            .map_err(nats_error)?;
        Ok(removed)
    }
}

/// Moves committed messages from the database queue (the outbox) onto the stream.
pub struct JetStreamRelay {
    outbox: Arc<dyn DeliveryStore>,
    backbone: Arc<JetStreamDeliveries>,
    id: Uuid,
    lease: Duration,
    /// The bound on each of its questions to the database: a silent database fails the
    /// relay, which is tried again, instead of holding back every round for good.
    limit: ResponseTimeout,
}

impl JetStreamRelay {
    pub fn new(
        outbox: Arc<dyn DeliveryStore>,
        backbone: Arc<JetStreamDeliveries>,
        policy: &DeliveryPolicy,
    ) -> Self {
        Self {
            outbox,
            backbone,
            id: Uuid::new_v4(),
            lease: policy.lease(),
            limit: ResponseTimeout::DEFAULT,
        }
    }

    /// Gives each question to the database up after `limit` (`database.response_timeout_secs`).
    #[must_use]
    pub fn with_response_timeout(mut self, limit: ResponseTimeout) -> Self {
        self.limit = limit;
        self
    }

    /// Publishes what the outbox holds, in queue order; returns how many messages it moved.
    /// One process relays at a time (it holds the relay's lease; 0 when another does), in
    /// runs of at most [`RELAY_RUN`] messages of all destinations: a read, the publishes, and
    /// one delete. A message leaves the outbox only once the stream has stored it; a crash in
    /// between publishes it again, and the stream drops the copy.
    pub async fn relay(&self) -> Result<usize, DeliveryError> {
        let claim = self.outbox.claim(RELAY_LEASE, self.id, self.lease);
        if !self.limit.bound(claim).await? {
            return Ok(0); // another process relays
        }
        let result = self.relay_all().await;
        self.limit
            .bound(self.outbox.release(RELAY_LEASE, self.id))
            .await?;
        result
    }

    async fn relay_all(&self) -> Result<usize, DeliveryError> {
        let mut moved = 0;
        loop {
            let run = self.limit.bound(self.outbox.pending(RELAY_RUN)).await?;
            if run.is_empty() {
                return Ok(moved);
            }
            self.backbone.publish(&run).await?;
            let ids: Vec<i64> = run.iter().map(|delivery| delivery.id).collect();
            self.limit
                .bound(self.outbox.relayed(&ids, Utc::now()))
                .await?;
            moved += ids.len();
            if i64::try_from(ids.len()).is_ok_and(|n| n < RELAY_RUN) {
                return Ok(moved);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_destination_name_survives_its_subject_token() {
        for name in ["SE2321000016-1000", "a.b*c>d e", "ÅÄÖ"] {
            let token = token(name);
            assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
            assert_eq!(destination_of(&token).as_deref(), Some(name));
        }
    }
}
