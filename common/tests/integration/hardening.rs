//! Per-caller rate limiting through the shared skeleton: a caller beyond its burst gets 429
//! `RATE_LIMITED` with `Retry-After`, other callers and the operational endpoints do not.

use axum::Router;
use axum::routing::get;
use common::auth::{AuthConfig, Authenticator, Caller};
use common::rate_limit::RateLimitConfig;
use common::testing::security::serve_protected;
use serde_json::Value;

const HEADER: &str = "x-rivta-original-serviceconsumer-hsaid";

async fn hello(caller: Caller) -> String {
    format!("hello {caller}")
}

#[tokio::test]
async fn a_caller_beyond_its_burst_gets_429_with_retry_after() {
    let authenticator = Authenticator::from_config(&AuthConfig {
        rate_limit: RateLimitConfig {
            enabled: true,
            requests_per_second: 1,
            burst: 3,
        },
        ..AuthConfig::default()
    })
    .await
    .unwrap();
    let (base, shutdown) =
        serve_protected(&authenticator, Router::new().route("/hello", get(hello))).await;
    assert!(base.starts_with("http:"), "{base}");
    let client = common::testing::http();

    for n in 0..3 {
        let ok = client
            .get(format!("{base}/hello"))
            .header(HEADER, "SE1-BUSY")
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200, "request {n} is within the burst");
        assert_eq!(ok.text().await.unwrap(), "hello SE1-BUSY");
    }
    let limited = client
        .get(format!("{base}/hello"))
        .header(HEADER, "SE1-BUSY")
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(
        limited.headers()["content-type"],
        "application/problem+json"
    );
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let problem: Value = limited.json().await.unwrap();
    assert_eq!(problem["code"], "RATE_LIMITED");
    assert_eq!(problem["status"], 429);

    let other = client
        .get(format!("{base}/hello"))
        .header(HEADER, "SE1-QUIET")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "another caller has its own bucket");
    for _ in 0..5 {
        let health = client
            .get(format!("{base}/health/live"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            health.status(),
            200,
            "operational endpoints are not limited"
        );
    }

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let again = client
        .get(format!("{base}/hello"))
        .header(HEADER, "SE1-BUSY")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200, "the bucket refills");
    shutdown.cancel();
}
