//! Every service, started on port 0, answers the operational endpoints and speaks problem JSON.

use nordform_tests::{TestSystem, url};

#[tokio::test]
async fn every_service_is_live_ready_and_documented() {
    let system = TestSystem::start().await.unwrap();
    for (name, address) in system.services() {
        for path in ["/health/live", "/health/ready"] {
            let response = system.http.get(url(address, path)).send().await.unwrap();
            assert_eq!(response.status(), 200, "{name} {path}");
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["status"], "UP", "{name} {path}");
        }
        let openapi: serde_json::Value = system
            .http
            .get(url(address, "/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(openapi["openapi"], "3.1.0", "{name}");
        assert!(openapi["paths"]["/health/ready"].is_object(), "{name}");
        let docs = system
            .http
            .get(url(address, "/docs/"))
            .send()
            .await
            .unwrap();
        assert_eq!(docs.status(), 200, "{name}");
        assert!(
            docs.text().await.unwrap().contains("swagger"),
            "{name} serves its own docs page"
        );
        let asset = system
            .http
            .get(url(address, "/docs/swagger-ui-bundle.js"))
            .send()
            .await
            .unwrap();
        assert_eq!(asset.status(), 200, "{name} serves the docs assets itself");
    }
    system.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_per_route_and_problems_by_code() {
    let system = TestSystem::start().await.unwrap();
    for (name, address) in system.services() {
        system
            .http
            .get(url(address, "/health/live"))
            .send()
            .await
            .unwrap();
        let refused = system
            .http
            .get(url(address, "/no-such-page"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 404);
        let metrics = system
            .http
            .get(url(address, "/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(metrics.status(), 200);
        assert!(
            metrics.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let text = metrics.text().await.unwrap();
        let counted = text.lines().any(|line| {
            line.starts_with("http_requests_total{")
                && line.contains(&format!("service=\"{name}\""))
                && line.contains("route=\"/health/live\"")
        });
        assert!(counted, "{name} counts /health/live:\n{text}");
        // Problems by their code, which the alerts in deploy/prometheus/ tell apart.
        let problems = text.lines().any(|line| {
            line.starts_with("http_problems_total{")
                && line.contains(&format!("service=\"{name}\""))
                && line.contains("code=\"NOT_FOUND\"")
        });
        assert!(
            problems,
            "{name} counts its problem answers by code:\n{text}"
        );
        assert!(
            text.contains("http_request_duration_seconds_bucket"),
            "{name} has latency histograms"
        );
        // On PostgreSQL, how far this host's clock is from the server's (one host here): read
        // as the service starts, so asked again for a moment.
        let offset = |text: &str| {
            text.lines()
                .find(|line| {
                    line.starts_with("database_clock_offset_seconds{")
                        && line.contains(&format!("service=\"{name}\""))
                })
                .map(|line| line.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        };
        if std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty()) {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            let mut text = text;
            let read = loop {
                if let Some(read) = offset(&text) {
                    break read;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "{name}: no clock offset:\n{text}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                text = system.metrics(address).await;
            };
            assert!(read.abs() < 1.0, "{name}: {read}");
        } else {
            assert_eq!(offset(&text), None, "{name}: SQLite's clock is this host's");
        }
    }
    system.stop().await;
}

#[tokio::test]
async fn unknown_paths_answer_problem_json_and_echo_the_correlation_id() {
    let system = TestSystem::start().await.unwrap();
    for (name, address) in system.services() {
        let response = system
            .http
            .post(url(address, "/no/such/endpoint"))
            .header("x-skltp-correlation-id", "trace-me-1")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{name}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{name}"
        );
        assert_eq!(
            response.headers()["x-skltp-correlation-id"],
            "trace-me-1",
            "{name}"
        );
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["status"], 404);
        assert_eq!(problem["code"], "NOT_FOUND");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("/no/such/endpoint")
        );
    }
    system.stop().await;
}
