//! Calls to the deployment, each recorded as an [`Exchange`] (the request, the answer and how
//! long it took) so the report can show the evidence of every check.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use http::{HeaderMap, Method};
use serde::Serialize;
use serde_json::Value;

use crate::auth::Clients;

/// The correlation id header every service echoes.
pub const CORRELATION_ID: &str = "x-skltp-correlation-id";
const CONSUMER: &str = "x-rivta-original-serviceconsumer-hsaid";
/// Bodies longer than this are cut in the report (a 1000-transaction batch is large).
const BODY_SHOWN: usize = 3000;
/// Response headers worth showing as evidence.
const SHOWN_HEADERS: &[&str] = &[
    "content-type",
    CORRELATION_ID,
    "x-notification-id",
    "x-rivta-logical-address",
    "traceparent",
    "retry-after",
    "www-authenticate",
];

/// One request and its answer, as the report shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    /// Why no answer came (a transport or TLS error).
    pub error: Option<String>,
    pub sent_at: DateTime<Utc>,
    pub duration_ms: u64,
}

/// An answer: status, headers and the body, parsed as JSON when it is JSON.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
    pub duration: Duration,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `resultCode` or `ResultCode` (the contracts spell it both ways).
    pub fn result_code(&self) -> &str {
        self.json
            .get("resultCode")
            .or_else(|| self.json.get("ResultCode"))
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// A short description for a failure message.
    pub fn summary(&self) -> String {
        format!("HTTP {} {}", self.status, cut(&self.text, 300))
    }
}

/// A request to make.
pub struct Request<'a> {
    pub method: Method,
    pub url: String,
    pub body: Option<Body<'a>>,
    pub headers: Vec<(&'static str, String)>,
    /// Send without the credentials (to check that the deployment refuses it).
    pub anonymous: bool,
}

pub enum Body<'a> {
    Json(&'a Value),
    /// Sent as is with `content-type: application/json` (malformed on purpose).
    Raw(&'a str),
}

impl<'a> Request<'a> {
    pub fn post(url: String, body: &'a Value) -> Self {
        Self {
            method: Method::POST,
            url,
            body: Some(Body::Json(body)),
            headers: Vec::new(),
            anonymous: false,
        }
    }

    pub fn new(method: Method, url: String) -> Self {
        Self {
            method,
            url,
            body: None,
            headers: Vec::new(),
            anonymous: false,
        }
    }

    #[must_use]
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// The kit's HTTP client: sends with the credentials, records every exchange for the check
/// that is running.
#[derive(Clone)]
pub struct Http {
    clients: Clients,
    recorded: Arc<Mutex<Vec<Exchange>>>,
    run_id: String,
}

impl Http {
    pub fn new(clients: Clients, run_id: &str) -> Self {
        Self {
            clients,
            recorded: Arc::default(),
            run_id: run_id.to_owned(),
        }
    }

    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// The exchanges since the last call (the running check's evidence).
    pub fn take_recorded(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.recorded.lock().expect("exchange log"))
    }

    /// Keeps one exchange as the running check's evidence (after polling, only the last
    /// answer is worth showing).
    pub fn keep(&self, exchange: Exchange) {
        self.recorded.lock().expect("exchange log").push(exchange);
    }

    /// A correlation id of this run, so the deployment's logs can be searched for the run.
    pub fn correlation_id(&self) -> String {
        format!(
            "nordform-verify-{}-{}",
            self.run_id,
            uuid::Uuid::new_v4().simple()
        )
    }

    pub async fn post(&self, url: String, body: &Value) -> Result<Answer, String> {
        self.send(Request::post(url, body)).await
    }

    /// Sends the request; a transport error is an `Err` with its whole chain of causes.
    pub async fn send(&self, request: Request<'_>) -> Result<Answer, String> {
        let client = if request.anonymous {
            &self.clients.anonymous
        } else {
            &self.clients.authenticated
        };
        let mut headers: Vec<(String, String)> = vec![(
            CORRELATION_ID.to_owned(),
            request
                .headers
                .iter()
                .find(|(n, _)| *n == CORRELATION_ID)
                .map_or_else(|| self.correlation_id(), |(_, v)| v.clone()),
        )];
        headers.push((CONSUMER.to_owned(), self.clients.hsa_id.clone()));
        for (name, value) in &request.headers {
            if *name != CORRELATION_ID {
                headers.push(((*name).to_owned(), value.clone()));
            }
        }
        let mut builder = client.request(request.method.clone(), &request.url);
        for (name, value) in &headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let mut shown_headers = headers.clone();
        if !request.anonymous
            && let Some(token) = &self.clients.token
        {
            let token = token.get().map_err(|e| e.to_string())?;
            builder = builder.bearer_auth(&*token);
            shown_headers.push(("authorization".into(), "Bearer (not shown)".into()));
        }
        let shown_body = match &request.body {
            Some(Body::Json(value)) => {
                builder = builder.json(value);
                Some(cut(&value.to_string(), BODY_SHOWN))
            }
            Some(Body::Raw(text)) => {
                builder = builder
                    .header("content-type", "application/json")
                    .body((*text).to_owned());
                Some(cut(text, BODY_SHOWN))
            }
            None => None,
        };
        let sent_at = Utc::now();
        let started = Instant::now();
        let outcome = match builder.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let response_headers = response.headers().clone();
                match response.text().await {
                    Ok(text) => Ok((status, response_headers, text)),
                    Err(error) => Err(chain(&error)),
                }
            }
            Err(error) => Err(chain(&error)),
        };
        let duration = started.elapsed();
        let mut exchange = Exchange {
            method: request.method.to_string(),
            url: request.url.clone(),
            request_headers: shown_headers,
            request_body: shown_body,
            status: None,
            response_headers: Vec::new(),
            response_body: None,
            error: None,
            sent_at,
            duration_ms: millis(duration),
        };
        let result = match outcome {
            Ok((status, response_headers, text)) => {
                exchange.status = Some(status);
                exchange.response_headers = SHOWN_HEADERS
                    .iter()
                    .filter_map(|name| {
                        response_headers
                            .get(*name)
                            .and_then(|v| v.to_str().ok())
                            .map(|v| ((*name).to_owned(), v.to_owned()))
                    })
                    .collect();
                exchange.response_body = Some(cut(&text, BODY_SHOWN));
                Ok(Answer {
                    status,
                    headers: response_headers,
                    json: serde_json::from_str(&text).unwrap_or(Value::Null),
                    text,
                    duration,
                })
            }
            Err(error) => {
                exchange.error = Some(error.clone());
                Err(format!("{} {}: {error}", request.method, request.url))
            }
        };
        self.recorded.lock().expect("exchange log").push(exchange);
        result
    }
}

/// An error with its causes, one after the other (reqwest hides the TLS reason in a source).
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// At most `max` characters, with the length said when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max).collect();
    format!("{kept}… ({} bytes in all)", text.len())
}
