//! End-to-end notification latency: from an Update's commit (its OK answer) to the
//! subscriber receiving the ProcessNotification, under a steady load.
//!
//! `cargo bench -p engagement-index --bench notification_latency` runs on SQLite;
//! with `TEST_DATABASE_URL=postgres://...` on a scratch PostgreSQL database.
//! `BENCH_RATE` (Updates a second, default 200) and `BENCH_SECONDS` (default 15) set the load.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use common::config::HttpConfig;
use common::shutdown::Shutdown;
use common::testing::TestDatabase;
use engagement_index::config::DeclaredSubscriber;
use engagement_index::domain::subscriber::DeliveryMode;
use engagement_index::{Application, Config};
use serde_json::{Value, json};

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn receive(State(arrivals): State<Arrivals>, body: axum::Json<Value>) -> axum::Json<Value> {
    let now = Instant::now();
    let mut arrivals = arrivals.lock().unwrap();
    for transaction in body["engagementTransaction"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let id = transaction["engagement"]["businessObjectInstanceIdentifier"]
            .as_str()
            .unwrap_or_default();
        arrivals.insert(id.to_owned(), now);
    }
    axum::Json(json!({ "ResultCode": "OK" }))
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

#[tokio::main]
async fn main() {
    let rate = env_number("BENCH_RATE", 200);
    let seconds = env_number("BENCH_SECONDS", 15);
    let database = match TestDatabase::postgres().await {
        Some(database) => database,
        None => TestDatabase::sqlite(),
    };

    let arrivals: Arrivals = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/notify", post(receive))
        .with_state(Arc::clone(&arrivals));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let config = Config {
        http: HttpConfig::with_port(0),
        database: database.config.clone(),
        subscribers: vec![DeclaredSubscriber {
            logical_address: "BENCH-SUBSCRIBER".into(),
            url: Some(format!("http://{receiver}/notify")),
            delivery: DeliveryMode::Push,
            filter: Vec::new(),
        }],
        ..Config::default()
    };
    let index = Application::build(config).await.unwrap();
    let base = format!("http://{}", index.local_addr());
    let shutdown = Shutdown::new();
    tokio::spawn(index.run_until_stopped(shutdown.clone()));
    let client = common::testing::http();

    println!(
        "notification latency: {} backend, {rate} Updates/s for {seconds} s",
        database.backend
    );
    let committed: Arc<Mutex<HashMap<String, (Instant, Instant)>>> = Arc::default();
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    let total = rate * seconds;
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..total {
        ticker.tick().await;
        let (client, base, committed) = (client.clone(), base.clone(), Arc::clone(&committed));
        requests.spawn(async move {
            let id = format!("BENCH-{n}");
            let body = json!({"engagementTransaction": [{"deleteFlag": false, "engagement": {
                "registeredResidentIdentification": format!("1912{:08}", n % 100_000_000),
                "serviceDomain": "riv:bench", "categorization": "Bench",
                "logicalAddress": "SE0000000003-CU01", "businessObjectInstanceIdentifier": id,
                "clinicalProcessInterestId": "NA", "sourceSystem": "SE0000000003-SYS1",
                "dataController": "SE2321000016"}}]});
            let sent = Instant::now();
            let response = client
                .post(format!("{base}/engagementindex/v1/Update"))
                .header("x-rivta-logical-address", "SE0000000001-EI01")
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            committed.lock().unwrap().insert(id, (sent, Instant::now()));
        });
    }
    while requests.join_next().await.is_some() {}
    let deadline = Instant::now() + Duration::from_secs(30);
    while arrivals.lock().unwrap().len() < usize::try_from(total).unwrap()
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();

    let mut from_answer = Vec::new();
    let mut from_request = Vec::new();
    {
        let arrivals = arrivals.lock().unwrap();
        for (id, (sent, answered)) in committed.lock().unwrap().iter() {
            if let Some(arrived) = arrivals.get(id) {
                from_answer.push(arrived.saturating_duration_since(*answered));
                from_request.push(arrived.saturating_duration_since(*sent));
            }
        }
    }
    from_answer.sort();
    from_request.sort();
    println!("delivered {} of {total}", from_answer.len());
    for (name, values) in [
        ("commit (OK answer) -> receiver", &from_answer),
        ("Update sent -> receiver", &from_request),
    ] {
        println!(
            "{name}: median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            percentile(values, 0.5).as_secs_f64() * 1000.0,
            percentile(values, 0.99).as_secs_f64() * 1000.0,
            values.last().unwrap().as_secs_f64() * 1000.0
        );
    }
    database.cleanup().await;
}
