//! Update and FindContent against one million stored engagements on PostgreSQL.
//!
//! `TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench -p engagement-index --bench update_find`
//!
//! Makes a scratch database (dropped at the end), loads 1,000,000 engagements (20,000
//! residents × 5 domains × 10 posts) with one INSERT ... SELECT, starts the index as it runs
//! in production (HTTP on loopback, fan-out and delivery workers running), then measures, one
//! request at a time: Update of 1, 10, 100 and 1000 new engagements, Update of 1000 changed
//! engagements (newer mostRecentContent), FindContent; and, with `BENCH_CLIENTS` (default 32)
//! concurrent clients for `BENCH_SECONDS` (default 10), single-engagement Updates a second.
//! `BENCH_POOL` sets the index's connection pool (default 10, the configuration default).
//!
//! The scale run: `BENCH_RESIDENTS=200000` loads 10,000,000 engagements instead, and
//! `BENCH_AUDIT_ROWS=50000000` first fills the audit log with two years of reads, a partition
//! a month (support::load_audit). `BENCH_PREWARM=1` then reads the engagement table and its
//! indexes into PostgreSQL's buffers (support::prewarm), for a server whose `shared_buffers`
//! can hold them.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::config::HttpConfig;
use common::shutdown::Shutdown;
use common::testing::TestDatabase;
use engagement_index::{Application, Config};
use serde_json::{Value, json};
use support::{
    DOMAINS, Summary, changed, env_number, fresh, load, load_audit, post, resident, residents,
    summarise,
};

fn report(name: &str, count: usize, summary: &Summary) {
    println!(
        "| {name} | {count} | {:.2} ms | {:.2} ms |",
        summary.median.as_secs_f64() * 1000.0,
        summary.p99.as_secs_f64() * 1000.0
    );
}

#[tokio::main]
async fn main() {
    let Some(database) = TestDatabase::postgres().await else {
        eprintln!("set TEST_DATABASE_URL to a PostgreSQL server to run this benchmark");
        return;
    };
    common::telemetry::init_for_tests();
    let url = database.config.url.clone().expect("a PostgreSQL URL");
    let mut config = Config {
        http: HttpConfig::with_port(0),
        database: database.config.clone(),
        ..Config::default()
    };
    // The index's own default pool (10) unless BENCH_POOL says otherwise.
    config.database.max_connections = u32::try_from(env_number("BENCH_POOL", 10)).unwrap_or(10);
    // Migrations first (Application::build runs them), then the load.
    let app = Application::build(config.clone())
        .await
        .expect("the index starts");
    let base = format!("http://{}", app.local_addr());
    let shutdown = Shutdown::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    load(&url).await;
    load_audit(&url, env_number("BENCH_AUDIT_ROWS", 0)).await;
    // The load's pages written out now, not by checkpoints during the measurements.
    support::checkpoint(&url).await;
    support::prewarm(&url).await;

    let client = common::testing::http();
    let update = format!("{base}/engagementindex/v1/Update");
    let find = format!("{base}/engagementindex/v1/FindContent");
    let serial = AtomicU64::new(0);

    // Warm up connections and plans.
    for _ in 0..50 {
        let n = serial.fetch_add(1, Ordering::Relaxed);
        post(
            &client,
            &update,
            &json!({"engagementTransaction": [fresh(n)]}),
        )
        .await;
    }

    println!("| Request | Requests | Median | p99 |");
    println!("|---|---|---|---|");
    for (size, requests) in [(1_u64, 1000_usize), (10, 300), (100, 100), (1000, 40)] {
        let mut samples = Vec::with_capacity(requests);
        for _ in 0..requests {
            let transactions: Vec<Value> = (0..size)
                .map(|_| fresh(serial.fetch_add(1, Ordering::Relaxed)))
                .collect();
            samples.push(
                post(
                    &client,
                    &update,
                    &json!({"engagementTransaction": transactions}),
                )
                .await,
            );
        }
        report(
            &format!("Update, {size} new"),
            requests,
            &summarise(samples),
        );
    }
    let mut samples = Vec::new();
    for round in 1..=40_u64 {
        let start = round * 24_989;
        let transactions: Vec<Value> = (0..1000).map(|i| changed(start + i * 997, round)).collect();
        samples.push(
            post(
                &client,
                &update,
                &json!({"engagementTransaction": transactions}),
            )
            .await,
        );
    }
    report(
        "Update, 1000 changed (newer mostRecentContent)",
        40,
        &summarise(samples),
    );

    let mut samples = Vec::new();
    for i in 0..2000_u64 {
        let body = json!({
            "registeredResidentIdentification": resident(i * 7919),
            "serviceDomain": format!("riv:bench:domain{}", i % DOMAINS),
        });
        samples.push(post(&client, &find, &body).await);
    }
    report(
        &format!(
            "FindContent (10 of {} match)",
            residents() * DOMAINS * support::POSTS_PER_DOMAIN
        ),
        2000,
        &summarise(samples),
    );

    let clients = env_number("BENCH_CLIENTS", 32);
    let seconds = env_number("BENCH_SECONDS", 10);
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let serial = Arc::new(serial);
    let mut workers = Vec::new();
    for _ in 0..clients {
        let (client, update, done, serial) = (
            client.clone(),
            update.clone(),
            Arc::clone(&done),
            Arc::clone(&serial),
        );
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < deadline {
                let n = serial.fetch_add(1, Ordering::Relaxed);
                samples.push(
                    post(
                        &client,
                        &update,
                        &json!({"engagementTransaction": [fresh(n)]}),
                    )
                    .await,
                );
                done.fetch_add(1, Ordering::Relaxed);
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for worker in workers {
        samples.extend(worker.await.expect("a worker"));
    }
    let total = done.load(Ordering::Relaxed);
    #[allow(clippy::cast_precision_loss)]
    let rate = total as f64 / seconds as f64;
    report(
        &format!("Update, 1 new, {clients} concurrent clients"),
        samples.len(),
        &summarise(samples),
    );
    println!("single-engagement Updates per second with {clients} clients: {rate:.0}");

    shutdown.cancel();
    let _ = server.await;
    database.cleanup().await;
}
