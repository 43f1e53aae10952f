//! What the engagement index's PostgreSQL benchmarks share: the generated engagements, the
//! one-statement load of a million of them, and percentiles.

#![allow(dead_code)] // each benchmark uses part of it

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Connection as _;

/// Residents loaded: `BENCH_RESIDENTS`, 20,000 unless set (200,000 loads 10,000,000
/// engagements, the scale run).
pub fn residents() -> u64 {
    static RESIDENTS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *RESIDENTS.get_or_init(|| env_number("BENCH_RESIDENTS", 20_000).max(1))
}
pub const DOMAINS: u64 = 5;
pub const POSTS_PER_DOMAIN: u64 = 10;

pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn resident(n: u64) -> String {
    format!("19{:010}", n % residents())
}

/// A new engagement (never stored before): a category nobody else uses.
pub fn fresh(serial: u64) -> Value {
    json!({
        "deleteFlag": false,
        "engagement": {
            "registeredResidentIdentification": resident(serial.wrapping_mul(7919)),
            "serviceDomain": format!("riv:bench:domain{}", serial % DOMAINS),
            "categorization": format!("new-{serial}"),
            "logicalAddress": "SE2321000016-BENCH",
            "businessObjectInstanceIdentifier": format!("object-{serial}"),
            "clinicalProcessInterestId": "NA",
            "mostRecentContent": "20240101120000",
            "sourceSystem": "SE2321000016-SRC1",
            "dataController": "SE2321000016-DC01"
        }
    })
}

/// A loaded engagement, with a mostRecentContent newer than any before (`round` grows).
pub fn changed(n: u64, round: u64) -> Value {
    let r = n % residents();
    let d = (n / residents()) % DOMAINS;
    let p = (n / (residents() * DOMAINS)) % POSTS_PER_DOMAIN;
    json!({
        "deleteFlag": false,
        "engagement": {
            "registeredResidentIdentification": resident(r),
            "serviceDomain": format!("riv:bench:domain{d}"),
            "categorization": format!("category-{p}"),
            "logicalAddress": "SE2321000016-BENCH",
            "businessObjectInstanceIdentifier": format!("object-{r}-{d}-{p}"),
            "clinicalProcessInterestId": "NA",
            "mostRecentContent": format!("2025010112{:02}{:02}", round / 60 % 60, round % 60),
            "sourceSystem": "SE2321000016-SRC1",
            "dataController": "SE2321000016-DC01"
        }
    })
}

/// Loads `residents() × DOMAINS × POSTS_PER_DOMAIN` engagements (1,000,000 by default) with
/// one INSERT ... SELECT into the index's own table (already created by its migrations).
pub async fn load(url: &str) {
    let started = Instant::now();
    let mut connection = sqlx::PgConnection::connect(url).await.expect("PostgreSQL");
    sqlx::query(
        "INSERT INTO engagement (registered_resident_identification, service_domain, categorization, \
             logical_address, business_object_instance_identifier, clinical_process_interest_id, \
             source_system, data_controller, owner, most_recent_content, creation_time, update_time, changed_at) \
         SELECT '19' || lpad((n % $1)::text, 10, '0'), \
                'riv:bench:domain' || ((n / $1) % $2), \
                'category-' || ((n / ($1 * $2)) % $3), \
                'SE2321000016-BENCH', \
                'object-' || (n % $1) || '-' || ((n / $1) % $2) || '-' || ((n / ($1 * $2)) % $3), \
                'NA', 'SE2321000016-SRC1', 'SE2321000016-DC01', 'SE0000000001-EI01', \
                timestamptz '2024-01-01 11:00:00+00', now() - interval '1 day', NULL, now() - interval '1 day' \
         FROM generate_series(0, $1 * $2 * $3 - 1) AS n",
    )
    .bind(i64::try_from(residents()).unwrap())
    .bind(i64::try_from(DOMAINS).unwrap())
    .bind(i64::try_from(POSTS_PER_DOMAIN).unwrap())
    .execute(&mut connection)
    .await
    .expect("the engagements load");
    loaded(&mut connection, "engagement", "engagements", started).await;
}

/// Appends `rows` audit rows (`BENCH_AUDIT_ROWS`) spread evenly over the 24 months before
/// now, each month in its own partition as the retention job would have made them: the audit
/// log of an index that has answered for two years. One read per row, over the loaded
/// residents, by a handful of callers.
pub async fn load_audit(url: &str, rows: u64) {
    if rows == 0 {
        return;
    }
    let started = Instant::now();
    let mut connection = sqlx::PgConnection::connect(url).await.expect("PostgreSQL");
    let months: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT to_char(m, 'YYYYMM'), m::text, (m + interval '1 month')::text          FROM generate_series(date_trunc('month', now() AT TIME ZONE 'UTC') - interval '24 months',                               date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month',                               interval '1 month') AS m",
    )
    .fetch_all(&mut connection)
    .await
    .expect("the months");
    for (name, from, to) in &months {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE IF NOT EXISTS audit_event_p{name} PARTITION OF audit_event              FOR VALUES FROM ('{from}+00') TO ('{to}+00')"
        )))
        .execute(&mut connection)
        .await
        .expect("an audit partition");
    }
    // In slices of a million rows, so no one statement holds the whole load.
    let slice = 1_000_000_u64;
    let mut first = 0_u64;
    while first < rows {
        let last = (first + slice).min(rows) - 1;
        sqlx::query(
            "INSERT INTO audit_event (at, caller, auth_method, role, action, patient, resource, outcome)              SELECT date_trunc('month', now()) - interval '24 months'                       + (n::double precision / $3) * (interval '24 months' - interval '1 second'),                     'SE2321000016-CALLER' || (n % 7), 'mutual_tls', 'reader', 'FindContent',                     '19' || lpad((n * 7919 % $4)::text, 10, '0'), 'riv:bench:domain' || (n % 5), 'success'              FROM generate_series($1::bigint, $2::bigint) AS n",
        )
        .bind(i64::try_from(first).unwrap())
        .bind(i64::try_from(last).unwrap())
        .bind(i64::try_from(rows).unwrap())
        .bind(i64::try_from(residents()).unwrap())
        .execute(&mut connection)
        .await
        .expect("the audit load");
        first = last + 1;
    }
    loaded(&mut connection, "audit_event", "audit rows", started).await;
}

/// Vacuums and analyses a loaded table and says how many rows it holds and how long the load
/// took.
async fn loaded(connection: &mut sqlx::PgConnection, table: &str, what: &str, started: Instant) {
    sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM ANALYZE {table}")))
        .execute(&mut *connection)
        .await
        .expect("analyze");
    let count: i64 =
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&mut *connection)
            .await
            .unwrap();
    println!(
        "loaded {count} {what} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Writes every dirty page out (`CHECKPOINT`), so a measurement after it does not share the
/// disk with a checkpoint of what came before.
pub async fn checkpoint(url: &str) {
    let mut connection = sqlx::PgConnection::connect(url).await.expect("PostgreSQL");
    sqlx::query("CHECKPOINT")
        .execute(&mut connection)
        .await
        .expect("a checkpoint");
}

/// With `BENCH_PREWARM=1`, reads the engagement table and its indexes into PostgreSQL's
/// buffers (`pg_prewarm`, from the server's contrib), as a server that has run for a while
/// holds them: a bulk load leaves them cold, or pushed out by the audit rows loaded after.
/// Only useful with `shared_buffers` large enough to hold them (docs/benchmarks.md).
pub async fn prewarm(url: &str) {
    if env_number("BENCH_PREWARM", 0) == 0 {
        return;
    }
    let mut connection = sqlx::PgConnection::connect(url).await.expect("PostgreSQL");
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        .execute(&mut connection)
        .await
        .expect("pg_prewarm (PostgreSQL's contrib)");
    let pages: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.relname::text, pg_prewarm(c.oid) FROM pg_class c \
         WHERE c.oid = 'engagement'::regclass \
            OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'engagement'::regclass) \
         ORDER BY c.relname",
    )
    .fetch_all(&mut connection)
    .await
    .expect("the prewarm");
    let listed: Vec<String> = pages
        .iter()
        .map(|(name, pages)| format!("{name} {} MB", pages * 8 / 1024))
        .collect();
    println!("prewarmed {}", listed.join(", "));
}

pub struct Summary {
    pub median: Duration,
    pub p99: Duration,
}

pub fn summarise(mut samples: Vec<Duration>) -> Summary {
    samples.sort();
    let at = |p: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
        samples[index]
    };
    Summary {
        median: at(0.5),
        p99: at(0.99),
    }
}

/// POSTs `body` and answers how long the answer took; any answer but 2xx stops the run.
pub async fn post(client: &reqwest::Client, url: &str, body: &Value) -> Duration {
    let started = Instant::now();
    let response = client.post(url).json(body).send().await.expect("an answer");
    let status = response.status();
    let text = response.text().await.expect("a body");
    assert!(status.is_success(), "{status}: {text}");
    started.elapsed()
}
