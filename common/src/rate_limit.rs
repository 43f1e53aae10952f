//! Per-caller rate limiting: a token bucket (GCRA, `governor`) per effective caller HSA-id,
//! answering 429 `RATE_LIMITED` with `Retry-After` when a caller's bucket is empty.
//!
//! Runs after authentication (it keys on the [`Caller`]); [`crate::auth::Authenticator::protect`]
//! puts both in the right order. Anonymous callers (open mode) share one bucket. The key is an
//! HSA-id, never anything from the request body.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::problem::Problem;

/// How many requests between two sweeps of idle callers' buckets.
const SWEEP_EVERY: u64 = 4096;

/// `[auth.rate_limit]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Off by default; turn it on in production.
    pub enabled: bool,
    /// Sustained requests per second allowed for one caller.
    pub requests_per_second: u32,
    /// Requests a caller may send at once above the sustained rate (the bucket size).
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            requests_per_second: 50,
            burst: 100,
        }
    }
}

/// The buckets of every caller; cheap to clone.
#[derive(Clone)]
pub struct RateLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
    requests: Arc<AtomicU64>,
}

impl RateLimiter {
    /// `None` when the configuration turns rate limiting off.
    pub fn from_config(config: &RateLimitConfig) -> Option<Self> {
        if !config.enabled {
            return None;
        }
        let rate = NonZeroU32::new(config.requests_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        Some(Self {
            limiter: Arc::new(DefaultKeyedRateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            )),
            requests: Arc::new(AtomicU64::new(0)),
        })
    }

    /// `Ok` when `key` may make a request now, else how long until it may.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        if self.requests.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// The 429 answer, with `Retry-After` in whole seconds (at least 1).
pub fn too_many_requests(wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITED",
        format!(
            "Too many requests from this caller. Retry after {} s.",
            seconds.max(1)
        ),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

/// Middleware: refuses a request whose caller's bucket is empty.
pub async fn middleware(
    State(limiter): State<RateLimiter>,
    request: Request,
    next: Next,
) -> Response {
    let key = request
        .extensions()
        .get::<Caller>()
        .map_or_else(|| String::from("anonymous"), Caller::rate_limit_key);
    match limiter.check(&key) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            tracing::warn!(caller = %key, retry_after_ms = wait.as_millis(), "rate limited");
            metrics::counter!("http_rate_limited_total").increment(1);
            too_many_requests(wait)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_beyond_its_burst_waits_and_others_do_not() {
        let limiter = RateLimiter::from_config(&RateLimitConfig {
            enabled: true,
            requests_per_second: 1,
            burst: 2,
        })
        .unwrap();
        assert!(limiter.check("a").is_ok());
        assert!(limiter.check("a").is_ok());
        let wait = limiter.check("a").unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(limiter.check("b").is_ok());
    }

    #[test]
    fn off_by_default() {
        assert!(RateLimiter::from_config(&RateLimitConfig::default()).is_none());
    }

    #[test]
    fn retry_after_is_rounded_up_to_whole_seconds() {
        let response = too_many_requests(Duration::from_millis(1200));
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }
}
