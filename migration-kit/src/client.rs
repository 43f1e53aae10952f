//! Calls to one service: the migration endpoints with the service's own key
//! (`Authorization: Migration <key>`), and the admin endpoints (export, installation, the switch)
//! with the operator's credentials (connection-kit's: mutual TLS, a bearer token, or the HSA-id
//! header in open mode). Transient failures (no answer, 429, 502–504, `503 CONTENTION`, a
//! request the service abandoned as too slow) are retried with back-off for up to
//! `RETRY_FOR`: a hundred workers against a SQLite installation queue for its one writer, and
//! some of them time out at the service while they wait; every batch is an idempotent upsert,
//! so sending it again is safe. A refused key or an operational installation stops the run.

use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use connection_kit::auth::Clients;
use serde::Deserialize;
use serde_json::Value;

use crate::entity::{Entity, Service};

const CONSUMER: &str = "x-rivta-original-serviceconsumer-hsaid";
const CORRELATION_ID: &str = "x-skltp-correlation-id";
/// How long a request keeps being retried while the service answers as busy or not at all,
/// once it has answered this client before; until then (a wrong URL, a service that is down)
/// the run stops after `FIRST_CONTACT`.
const RETRY_FOR: Duration = Duration::from_mins(10);
const FIRST_CONTACT: Duration = Duration::from_secs(20);

/// One service to migrate into or export from.
#[derive(Clone)]
pub struct ServiceClient {
    pub service: Service,
    pub base: String,
    key: Option<String>,
    clients: Clients,
    /// The service has answered (anything) at least once.
    reached: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// A refused record of a batch, as the endpoint answers it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectedRecord {
    pub index: usize,
    #[serde(default)]
    pub key: Option<String>,
    pub reason: String,
    #[serde(default)]
    pub problem: Option<Value>,
}

/// The answer to a batch.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchAnswer {
    #[serde(default)]
    pub accepted: u64,
    #[serde(default)]
    pub unchanged: u64,
    #[serde(default)]
    pub rejected: Vec<RejectedRecord>,
}

/// `GET /migration/v1/digest/{entity}`.
#[derive(Clone, Debug, Deserialize)]
pub struct TargetDigest {
    pub count: u64,
    pub digest: String,
}

fn transient(status: reqwest::StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// The wait before attempt `attempt + 1`: the service's `Retry-After` when it gave one, else
/// exponential from 250 ms up to 5 s, with jitter so that a hundred workers refused at once do
/// not all come back at once.
fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let base = retry_after.unwrap_or(Duration::from_millis((250u64 << attempt.min(5)).min(5_000)));
    base + Duration::from_millis(rand::random_range(0..=base.as_millis().min(1000) as u64))
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds = response
        .headers()
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(seconds.min(60)))
}

impl ServiceClient {
    pub fn new(service: Service, base: &str, key: Option<String>, clients: Clients) -> Self {
        Self {
            service,
            base: base.trim_end_matches('/').to_owned(),
            key,
            clients,
            reached: std::sync::Arc::default(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn request(
        &self,
        method: http::Method,
        path: &str,
        with_key: bool,
    ) -> anyhow::Result<reqwest::RequestBuilder> {
        let correlation = format!("nordform-migrate-{}", uuid_like());
        let mut builder = self
            .clients
            .authenticated
            .request(method, self.url(path))
            .header(CONSUMER, &self.clients.hsa_id)
            .header(CORRELATION_ID, correlation);
        match (&self.key, with_key) {
            (Some(key), true) => {
                builder = builder.header(http::header::AUTHORIZATION, format!("Migration {key}"));
            }
            _ => {
                if let Some(token) = &self.clients.token {
                    let token = token.get().map_err(|e| anyhow!("{e}"))?;
                    builder = builder.bearer_auth(&*token);
                }
            }
        }
        Ok(builder)
    }

    /// Sends with retries of transient failures; any other answer is returned.
    async fn send(
        &self,
        make: impl Fn() -> anyhow::Result<reqwest::RequestBuilder>,
        what: &str,
    ) -> anyhow::Result<reqwest::Response> {
        let started = std::time::Instant::now();
        let mut attempt = 0;
        loop {
            let outcome = make()?.send().await;
            let (retry, after) = match &outcome {
                Ok(response) => {
                    self.reached
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    (transient(response.status()), retry_after(response))
                }
                Err(error) => (!error.is_builder(), None),
            };
            let budget = if self.reached.load(std::sync::atomic::Ordering::Relaxed) {
                RETRY_FOR
            } else {
                FIRST_CONTACT
            };
            if !retry || started.elapsed() >= budget {
                return outcome.with_context(|| format!("{what} at {}", self.base));
            }
            tokio::time::sleep(backoff(attempt, after)).await;
            attempt += 1;
        }
    }

    /// The key must be this installation's active one (seed 000's steps 11–13).
    pub async fn check_key(&self) -> anyhow::Result<Value> {
        anyhow::ensure!(
            self.key.is_some(),
            "no migration key for the {}",
            self.service.name()
        );
        let response = self
            .send(
                || self.request(http::Method::GET, "/migration/v1/installation", true),
                "checking the migration key",
            )
            .await?;
        answer_json(response, "checking the migration key").await
    }

    /// Sends one batch of records of `entity`.
    pub async fn post_batch(
        &self,
        entity: Entity,
        records: &[&str],
    ) -> anyhow::Result<BatchAnswer> {
        // The records are JSON objects already (the reader parsed each): the body is written
        // around their text once, and a retry sends the same bytes again.
        let mut body = Vec::with_capacity(records.iter().map(|r| r.len() + 1).sum::<usize>() + 16);
        body.extend_from_slice(b"{\"records\":[");
        for (i, record) in records.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(record.as_bytes());
        }
        body.extend_from_slice(b"]}");
        let body = bytes::Bytes::from(body);
        let path = format!("/migration/v1/{}", entity.name());
        let response = self
            .send(
                || {
                    Ok(self
                        .request(http::Method::POST, &path, true)?
                        .header(http::header::CONTENT_TYPE, "application/json")
                        .body(body.clone()))
                },
                &format!("sending {}", entity.name()),
            )
            .await?;
        let answer = answer_json(response, &format!("sending {}", entity.name())).await?;
        serde_json::from_value(answer).context("the answer to a batch")
    }

    /// The service's count and digest of `entity`: with the key while staging, else as admin.
    pub async fn digest(&self, entity: Entity) -> anyhow::Result<TargetDigest> {
        let path = format!("/migration/v1/digest/{}", entity.name());
        let mut response = self
            .send(
                || self.request(http::Method::GET, &path, true),
                "the digest",
            )
            .await?;
        // After the switch the key is revoked: ask as admin.
        if self.key.is_some() && matches!(response.status().as_u16(), 401 | 409) {
            response = self
                .send(
                    || self.request(http::Method::GET, &path, false),
                    "the digest",
                )
                .await?;
        }
        let answer = answer_json(response, &format!("the digest of {}", entity.name())).await?;
        serde_json::from_value(answer).context("the digest answer")
    }

    /// `GET /admin/export/{entity}`: the streaming answer (NDJSON), read with `chunk()`.
    pub async fn export(&self, entity: Entity) -> anyhow::Result<reqwest::Response> {
        let path = format!("/admin/export/{}", entity.name());
        let response = self
            .send(
                || self.request(http::Method::GET, &path, false),
                &format!("exporting {}", entity.name()),
            )
            .await?;
        if !response.status().is_success() {
            bail!(refusal(response, &format!("exporting {}", entity.name())).await);
        }
        Ok(response)
    }

    /// A contract call (JSON in, JSON out) with the operator's credentials.
    pub async fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let response = self
            .send(
                || Ok(self.request(http::Method::POST, path, false)?.json(body)),
                path,
            )
            .await?;
        answer_json(response, path).await
    }

    /// `GET /admin/installation`.
    pub async fn installation(&self) -> anyhow::Result<Value> {
        let response = self
            .send(
                || self.request(http::Method::GET, "/admin/installation", false),
                "reading the installation",
            )
            .await?;
        answer_json(response, "reading the installation").await
    }

    /// `POST /admin/installation/switch-to-operational`, saying whether the verification passed
    /// or the operator forced the switch (the service audits both).
    pub async fn switch_to_operational(&self, verification: &Value) -> anyhow::Result<Value> {
        let response = self
            .send(
                || {
                    Ok(self
                        .request(
                            http::Method::POST,
                            "/admin/installation/switch-to-operational",
                            false,
                        )?
                        .json(verification))
                },
                "switching to operational",
            )
            .await?;
        answer_json(response, "switching to operational").await
    }
}

/// The JSON of a 2xx answer, or an error that says what the service refused and why.
async fn answer_json(response: reqwest::Response, what: &str) -> anyhow::Result<Value> {
    if response.status().is_success() {
        return response
            .json()
            .await
            .with_context(|| format!("{what}: the answer is not JSON"));
    }
    bail!(refusal(response, what).await)
}

async fn refusal(response: reqwest::Response, what: &str) -> String {
    let status = response.status();
    let url = response.url().to_string();
    let text = response.text().await.unwrap_or_default();
    let detail = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|problem| {
            let code = problem.get("code").and_then(Value::as_str).unwrap_or("");
            let detail = problem
                .get("detail")
                .or_else(|| problem.get("title"))
                .and_then(Value::as_str)?;
            Some(format!("{code} {detail}").trim().to_owned())
        })
        .unwrap_or_else(|| text.chars().take(300).collect());
    let hint = match status.as_u16() {
        401 => {
            " (the migration key was refused: wrong, expired or replaced; ask the operator for a new one)"
        }
        409 => " (the installation is operational: migrating into it is over)",
        403 => " (the credentials are not an admin's of this service)",
        _ => "",
    };
    format!("{what}: {url} answered {status}: {detail}{hint}")
}

/// A short random id for correlation headers.
fn uuid_like() -> String {
    use rand::Rng as _;
    format!("{:016x}", rand::rng().random::<u64>())
}
