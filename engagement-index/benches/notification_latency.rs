//! End-to-end notification latency: from an Update's commit (its OK answer) to the
//! subscriber receiving the ProcessNotification, under a steady load.
//!
//! `cargo bench -p engagement-index --bench notification_latency` runs on SQLite;
//! with `TEST_DATABASE_URL=postgres://...` on a scratch PostgreSQL database.
//! `BENCH_RATE` (Updates a second, default 200) and `BENCH_SECONDS` (default 15) set the load,
//! `BENCH_WARMUP` (seconds, default 2) how long the same load runs first, uncounted (the pool
//! connecting, the delivery tasks starting, the database's caches warming),
//! `BENCH_POOL` the index's database connections (default 10, as configured by default),
//! `BENCH_LINGER_MS` the fan-out's `notification.linger_ms` (default: the backbone's default),
//! `BENCH_SUBSCRIBERS` (default 1) how many push subscribers get every change, and
//! `BENCH_BACKBONE=nats` puts their queues on NATS JetStream (`NORDFORM_NATS_URL`, default
//! 127.0.0.1:4222) instead of the database.
//!
//! `BENCH_PROCESS=1` runs the index as its own process, the release binary with a
//! configuration file written by the benchmark, and reports that process's peak memory and
//! CPU over the counted seconds; `BENCH_INDEX_BINARY` names another build of it (the
//! container image's: `target/production/engagement-index`).
//!
//! The receiver stands in for the subscribers' systems inside this process: it reads only the
//! ids it needs from each ProcessNotification, so that the index's work dominates the figures.

#[global_allocator]
static ALLOCATOR: common::allocator::Allocator = common::allocator::Allocator;

use std::collections::HashMap;
use std::fmt::Write as _;
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

/// Per subscriber and engagement (`BENCH-SUBSCRIBER-<s>`, `BENCH-<n>`), when it arrived.
type Arrivals = Arc<Mutex<HashMap<(u32, u64), Instant>>>;

/// The parts of a ProcessNotification the receiver reads.
#[derive(serde::Deserialize)]
struct Notification<'a> {
    #[serde(rename = "engagementTransaction", borrow)]
    transactions: Vec<Transaction<'a>>,
}

#[derive(serde::Deserialize)]
struct Transaction<'a> {
    #[serde(borrow)]
    engagement: Engagement<'a>,
}

#[derive(serde::Deserialize)]
struct Engagement<'a> {
    #[serde(rename = "businessObjectInstanceIdentifier")]
    id: &'a str,
}

/// The number after the last `-` of `text`.
fn number(text: &str) -> u64 {
    text.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
}

async fn receive(
    State(arrivals): State<Arrivals>,
    headers: http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::Json<Value> {
    let now = Instant::now();
    let subscriber = headers
        .get("x-rivta-logical-address")
        .and_then(|v| v.to_str().ok())
        .map_or(u64::MAX, number);
    let subscriber = u32::try_from(subscriber).unwrap_or(u32::MAX);
    let notification: Notification<'_> =
        serde_json::from_slice(&body).expect("a ProcessNotification");
    let mut arrivals = arrivals.lock().unwrap();
    for transaction in notification.transactions {
        arrivals.insert((subscriber, number(transaction.engagement.id)), now);
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
    let warmup = env_number("BENCH_WARMUP", 2);
    let subscribers = env_number("BENCH_SUBSCRIBERS", 1);
    let nats = std::env::var("BENCH_BACKBONE").is_ok_and(|b| b == "nats");
    let database = match TestDatabase::postgres().await {
        Some(database) => database,
        None => TestDatabase::sqlite(),
    };

    // Sized for the whole run up front: growing a map of a million entries under its lock
    // stalls every receiver for a few hundred milliseconds, which showed as latency spikes.
    let total = rate * (warmup + seconds);
    let arrivals: Arrivals = Arc::new(Mutex::new(HashMap::with_capacity(
        usize::try_from(total * subscribers).unwrap_or(0),
    )));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/notify", post(receive))
        .with_state(Arc::clone(&arrivals));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut config = Config {
        http: HttpConfig::with_port(0),
        database: database.config.clone(),
        subscribers: (0..subscribers)
            .map(|n| DeclaredSubscriber {
                logical_address: format!("BENCH-SUBSCRIBER-{n}"),
                url: Some(format!("http://{receiver}/notify")),
                delivery: DeliveryMode::Push,
                filter: Vec::new(),
            })
            .collect(),
        ..Config::default()
    };
    let stream = format!("BENCH_{}", uuid::Uuid::new_v4().simple());
    if nats {
        config.notification.backbone = engagement_index::config::Backbone::Nats;
        config.notification.nats.url =
            std::env::var("NORDFORM_NATS_URL").unwrap_or_else(|_| "127.0.0.1:4222".into());
        config.notification.nats.stream.clone_from(&stream);
    }
    config.database.max_connections = u32::try_from(env_number("BENCH_POOL", 10)).unwrap_or(10);
    config.notification.linger_ms = std::env::var("BENCH_LINGER_MS")
        .ok()
        .and_then(|v| v.parse().ok());
    let nats_config = config.notification.nats.clone();
    let linger = config.notification.linger();
    let shutdown = Shutdown::new();
    let (base, process) = if std::env::var("BENCH_PROCESS").is_ok_and(|p| p == "1") {
        let (base, child) = spawn_index(&config, nats).await;
        (base, Some(child))
    } else {
        let index = Application::build(config).await.unwrap();
        let base = format!("http://{}", index.local_addr());
        tokio::spawn(index.run_until_stopped(shutdown.clone()));
        (base, None)
    };
    let client = common::testing::http();

    println!(
        "notification latency: {} backend, {} backbone (linger {} ms), {subscribers} subscribers, {rate} Updates/s for {seconds} s after {warmup} s of warm-up",
        database.backend,
        if nats { "nats" } else { "database" },
        linger.as_millis()
    );
    let committed: Arc<Mutex<HashMap<u64, (Instant, Instant)>>> = Arc::new(Mutex::new(
        HashMap::with_capacity(usize::try_from(total).unwrap_or(0)),
    ));
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    let mut requests = tokio::task::JoinSet::new();
    let counted_from = rate * warmup;
    let mut usage = process.as_ref().map(|child| Usage::new(Some(child.id())));
    for n in 0..total {
        ticker.tick().await;
        if let Some(usage) = usage.as_mut() {
            usage.sample(n == counted_from);
        }
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
            committed.lock().unwrap().insert(n, (sent, Instant::now()));
        });
    }
    while requests.join_next().await.is_some() {}
    let deadline = Instant::now() + Duration::from_secs(30);
    let expected = usize::try_from(total * subscribers).unwrap();
    while arrivals.lock().unwrap().len() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    if let Some(usage) = usage {
        usage.report();
    }
    if let Some(mut child) = process {
        child.kill().unwrap();
        child.wait().unwrap();
    }

    let mut from_answer = Vec::new();
    let mut from_request = Vec::new();
    // Per second of the load, the slowest delivery: shows whether the tail is spread or bunched.
    let mut slowest = vec![Duration::ZERO; usize::try_from(warmup + seconds).unwrap_or(0) + 1];
    let mut delivered = 0;
    {
        let arrivals = arrivals.lock().unwrap();
        let committed = committed.lock().unwrap();
        for ((_, id), arrived) in arrivals.iter() {
            if let Some((sent, answered)) = committed.get(id) {
                let latency = arrived.saturating_duration_since(*answered);
                let second = usize::try_from(id / rate.max(1)).unwrap_or(0);
                if let Some(slowest) = slowest.get_mut(second) {
                    *slowest = (*slowest).max(latency);
                }
                delivered += 1;
                if *id < counted_from {
                    continue;
                }
                from_answer.push(latency);
                from_request.push(arrived.saturating_duration_since(*sent));
            }
        }
    }
    println!(
        "slowest per second of load, the first {warmup} uncounted (ms): {}",
        slowest
            .iter()
            .map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
            .join(" ")
    );
    from_answer.sort();
    from_request.sort();
    println!(
        "delivered {delivered} of {expected}; counted {} after the warm-up",
        from_answer.len()
    );
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
    if nats {
        let policy = common::delivery::DeliveryPolicy::default();
        let backbone = common::delivery::JetStreamDeliveries::connect(&nats_config, &policy)
            .await
            .unwrap();
        backbone.delete(&nats_config).await.unwrap();
    }
    database.cleanup().await;
}

/// Starts the index's release binary with `config` written out as its configuration file;
/// returns its base URL once it answers, and the process.
async fn spawn_index(config: &Config, nats: bool) -> (String, std::process::Child) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // TOML basic strings are written as Rust's debug form of a string (quoted, escaped).
    let mut toml = String::new();
    let data_dir = config.database.data_dir.display().to_string();
    writeln!(toml, "[http]\nhost = \"127.0.0.1\"\nport = {port}").unwrap();
    writeln!(toml, "[database]\ndata_dir = {data_dir:?}").unwrap();
    writeln!(
        toml,
        "max_connections = {}",
        config.database.max_connections
    )
    .unwrap();
    if let Some(url) = &config.database.url {
        writeln!(toml, "url = {url:?}").unwrap();
    }
    writeln!(toml, "[notification]").unwrap();
    if let Some(linger) = config.notification.linger_ms {
        writeln!(toml, "linger_ms = {linger}").unwrap();
    }
    if nats {
        let nats = &config.notification.nats;
        writeln!(toml, "backbone = \"nats\"\n[notification.nats]").unwrap();
        writeln!(toml, "url = {:?}\nstream = {:?}", nats.url, nats.stream).unwrap();
    }
    for subscriber in &config.subscribers {
        let url = subscriber.url.as_deref().unwrap_or_default();
        writeln!(
            toml,
            "[[subscribers]]\nlogical_address = {:?}",
            subscriber.logical_address
        )
        .unwrap();
        writeln!(toml, "url = {url:?}").unwrap();
    }
    let file = std::env::temp_dir().join(format!("bench-index-{port}.toml"));
    std::fs::write(&file, toml).unwrap();
    // BENCH_INDEX_BINARY: another build of the index (`target/production/engagement-index`).
    let binary = std::env::var_os("BENCH_INDEX_BINARY")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_engagement-index").into());
    let child = std::process::Command::new(binary)
        .arg("--config")
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut child = child;
    let base = format!("http://127.0.0.1:{port}");
    let client = common::testing::http();
    for _ in 0..600 {
        let ready = client.get(format!("{base}/health/ready")).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return (base, child);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    panic!("the index did not become ready within a minute");
}

/// The index process's memory and CPU over the counted seconds, from `/proc`.
struct Usage {
    pid: Option<u32>,
    peak_rss_kb: u64,
    peak_anon_kb: u64,
    started: Option<(Instant, u64)>,
    last_sample: Instant,
}

impl Usage {
    fn new(pid: Option<u32>) -> Self {
        Self {
            pid,
            peak_rss_kb: 0,
            peak_anon_kb: 0,
            started: None,
            last_sample: Instant::now(),
        }
    }

    /// Samples at most every 100 ms; `start` marks the first counted request.
    fn sample(&mut self, start: bool) {
        if start {
            self.started = Some((Instant::now(), self.cpu_ticks()));
        }
        if self.started.is_some() && self.last_sample.elapsed() >= Duration::from_millis(100) {
            self.last_sample = Instant::now();
            let status = self.status();
            self.peak_rss_kb = self.peak_rss_kb.max(status_kb(&status, "VmRSS:"));
            self.peak_anon_kb = self.peak_anon_kb.max(status_kb(&status, "RssAnon:"));
        }
    }

    fn status(&self) -> String {
        self.pid
            .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
            .unwrap_or_default()
    }

    /// User and system time in clock ticks (fields 14 and 15 of `/proc/<pid>/stat`).
    fn cpu_ticks(&self) -> u64 {
        let stat = self
            .pid
            .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
            .unwrap_or_default();
        let after_name = stat.rsplit(')').next().unwrap_or_default();
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let field = |n: usize| {
            fields
                .get(n)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // After the name, field 3 of the line is index 0.
        field(11) + field(12)
    }

    fn report(&self) {
        let Some((since, ticks)) = self.started else {
            return;
        };
        #[allow(clippy::cast_precision_loss)]
        let cores = (self.cpu_ticks() - ticks) as f64 / 100.0 / since.elapsed().as_secs_f64();
        #[allow(clippy::cast_precision_loss)]
        let (peak, anon) = (
            self.peak_rss_kb as f64 / 1024.0,
            self.peak_anon_kb as f64 / 1024.0,
        );
        println!(
            "index process: peak resident {peak:.1} MB (anonymous {anon:.1} MB; the rest is the \
             mapped program), {cores:.2} cores over the counted seconds"
        );
    }
}

/// A `kB` figure of `/proc/<pid>/status`, by its label.
fn status_kb(status: &str, label: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
