//! The monthly partitions of the audit log and the delivery queue on PostgreSQL (skipped
//! without `TEST_DATABASE_URL`): the retention job creates the months ahead, drops whole months
//! past their age (an audit month only after its export is on disk), keeps everything inside
//! the retention window, never drops a month holding a pending message or a dead letter, and
//! moves rows that landed in the default partition into their month once it is created. The
//! clock is the test's.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone as _, Utc};
use common::audit::{AuditEvent, AuditOutcome, AuditQuery, AuditStore, AuditSubject, PgAuditStore};
use common::auth::{AuthMethod, Caller};
use common::delivery::{
    DeliveredMessages, DeliveryState, DeliveryStore, NewDelivery, PgDeliveryStore,
};
use common::identity::{HsaId, PersonalIdentityNumber};
use common::partitions::MonthlyPartitions;
use common::retention::{Clock, RetentionConfig, RetentionJob, Sweep};
use common::testing::ScratchDatabase;
use sqlx::PgPool;
use sqlx::migrate::Migrator;

static SECURITY: Migrator = sqlx::migrate!("migrations/security/postgres");
static DELIVERY: Migrator = sqlx::migrate!("migrations/delivery/postgres");

const DAY: u64 = 24 * 3600;
const TO: &str = "SE1-PUSH";

#[derive(Clone)]
struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    fn new(at: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }

    fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap() = at;
    }

    fn clock(&self) -> Clock {
        let inner = Arc::clone(&self.0);
        Arc::new(move || *inner.lock().unwrap())
    }
}

fn at(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, 12, 0, 0).unwrap()
}

async fn partitions(table: &MonthlyPartitions) -> Vec<String> {
    table
        .partitions()
        .await
        .unwrap()
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

async fn partition_of(pool: &PgPool, table: &str, id: i64) -> String {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT tableoid::regclass::text FROM {table} WHERE id = $1"
    )))
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn audit_months_are_made_ahead_kept_ten_years_and_exported_before_they_are_dropped() {
    let Some(database) = ScratchDatabase::create().await else {
        return;
    };
    let pool = common::db::open_postgres(&database.url, 5, &SECURITY)
        .await
        .unwrap();
    let audit = PgAuditStore::new(pool.clone());
    let table = MonthlyPartitions::audit(pool.clone());
    let export = tempfile::tempdir().unwrap();
    let clock = TestClock::new(at(2016, 1, 15));
    let keep_for_ever = RetentionConfig::default();
    assert_eq!(
        keep_for_ever.audit_max_age_days, 3653,
        "ten years by default"
    );
    let job = |config: &RetentionConfig| {
        let sweeps: Vec<Arc<dyn Sweep>> = vec![Arc::new(table.clone())];
        RetentionJob::new("test", config.clone(), sweeps).with_clock(clock.clock())
    };

    // The first run (the service's start) makes January 2016 and three months ahead.
    job(&keep_for_ever).run_once().await.unwrap();
    let made = partitions(&table).await;
    for month in ["201601", "201602", "201603", "201604"] {
        assert!(
            made.contains(&format!("audit_event_p{month}")),
            "{month} in {made:?}"
        );
    }

    let caller = Caller::direct(HsaId::parse("SE2321000016-1000").unwrap(), AuthMethod::Open);
    let patient = PersonalIdentityNumber::parse("191212121212").unwrap();
    let event = |action: &str| {
        AuditEvent::new(&caller, action, AuditOutcome::Success)
            .patient(&patient)
            .resource(format!("form, \"{action}\""))
    };
    let january = audit
        .append(&event("GetForm"), at(2016, 1, 20))
        .await
        .unwrap();
    let february = [
        audit
            .append(&event("GetForms"), at(2016, 2, 10))
            .await
            .unwrap(),
        audit
            .append(&event("SaveForm"), at(2016, 2, 29))
            .await
            .unwrap(),
    ];
    let april = audit
        .append(&event("FindContent"), at(2016, 4, 30))
        .await
        .unwrap();
    assert_eq!(
        partition_of(&pool, "audit_event", april).await,
        "audit_event_p201604"
    );

    // Ten years on: January and February are past the age, but without an export folder the
    // audit log is never dropped.
    clock.set(at(2026, 3, 10));
    let cleaned = job(&keep_for_ever).run_once().await.unwrap();
    assert_eq!(cleaned.of("audit_event"), 0);
    assert!(
        partitions(&table)
            .await
            .contains(&"audit_event_p201601".to_owned())
    );

    let exporting = RetentionConfig {
        audit_export_dir: Some(export.path().to_owned()),
        ..RetentionConfig::default()
    };
    let cleaned = job(&exporting).run_once().await.unwrap();
    assert_eq!(
        cleaned.of("audit_event"),
        3,
        "January's and February's rows"
    );
    let left = partitions(&table).await;
    assert!(
        !left.contains(&"audit_event_p201601".to_owned()),
        "{left:?}"
    );
    assert!(
        !left.contains(&"audit_event_p201602".to_owned()),
        "{left:?}"
    );
    // March 2016 ends after the cutoff (2016-03-09): kept, as is April with its row.
    assert!(left.contains(&"audit_event_p201603".to_owned()), "{left:?}");
    for month in ["202603", "202604", "202605", "202606"] {
        assert!(
            left.contains(&format!("audit_event_p{month}")),
            "{month} in {left:?}"
        );
    }

    // Each dropped month is a CSV file with a header and its rows, oldest first.
    let database_name: String = sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(&pool)
        .await
        .unwrap();
    let read = |month: &str| {
        let file = export
            .path()
            .join(format!("{database_name}.audit_event_p{month}.csv"));
        std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
    };
    let february_file = read("201602");
    let lines: Vec<&str> = february_file.lines().collect();
    assert_eq!(
        lines[0],
        "id,at,caller,gateway,auth_method,role,action,patient,care_unit,resource,correlation_id,outcome"
    );
    assert_eq!(lines.len(), 3, "{february_file}");
    assert!(
        lines[1].starts_with(&format!("{},2016-02-10 12:00:00", february[0])),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].ends_with(
            ",SE2321000016-1000,,open,,GetForms,191212121212,,\"form, \"\"GetForms\"\"\",,success"
        ),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(&format!("{},", february[1])),
        "{}",
        lines[2]
    );
    assert!(
        read("201601")
            .lines()
            .nth(1)
            .unwrap()
            .starts_with(&format!("{january},"))
    );
    let no_partial = std::fs::read_dir(export.path()).unwrap().all(|entry| {
        !entry
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".partial")
    });
    assert!(no_partial);

    // Inside the window nothing is lost, and the log is still append-only.
    let kept = audit
        .query(&AuditQuery {
            subject: AuditSubject::Patient(patient.clone()),
            from: None,
            to: None,
            after: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(kept.iter().map(|r| r.id).collect::<Vec<_>>(), [april]);
    assert!(
        sqlx::query("DELETE FROM audit_event")
            .execute(&pool)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("UPDATE audit_event SET caller = 'x'")
            .execute(&pool)
            .await
            .is_err()
    );

    // A row written for a month without a partition lands in the default partition, and moves
    // into its month when the job makes it (here: the job did not run for half a year).
    let stray = audit
        .append(&event("GetForm"), at(2026, 9, 5))
        .await
        .unwrap();
    assert_eq!(
        partition_of(&pool, "audit_event", stray).await,
        "audit_event_default"
    );
    clock.set(at(2026, 7, 1));
    job(&exporting).run_once().await.unwrap();
    assert_eq!(
        partition_of(&pool, "audit_event", stray).await,
        "audit_event_p202609"
    );
    let next = audit
        .append(&event("GetForm"), at(2026, 9, 6))
        .await
        .unwrap();
    assert!(next > stray, "ids carry on");
    assert!(
        sqlx::query("DELETE FROM audit_event")
            .execute(&pool)
            .await
            .is_err()
    );

    pool.close().await;
    database.drop_database().await;
}

#[tokio::test]
async fn a_delivery_month_is_dropped_only_when_all_its_messages_were_delivered_before_the_cutoff() {
    let Some(database) = ScratchDatabase::create().await else {
        return;
    };
    let pool = common::db::open_postgres(&database.url, 5, &DELIVERY)
        .await
        .unwrap();
    let store: Arc<dyn DeliveryStore> = Arc::new(PgDeliveryStore::new(pool.clone()));
    let table = MonthlyPartitions::delivery(pool.clone());
    let clock = TestClock::new(at(2026, 1, 5));
    let config = RetentionConfig {
        max_age_secs: 7 * DAY,
        batch_size: 10,
        ..RetentionConfig::default()
    };
    let job = || {
        let sweeps: Vec<Arc<dyn Sweep>> = vec![
            Arc::new(table.clone()),
            Arc::new(DeliveredMessages(Arc::clone(&store))),
        ];
        RetentionJob::new("test", config.clone(), sweeps).with_clock(clock.clock())
    };
    job().run_once().await.unwrap();

    let enqueue = |count: usize, now: DateTime<Utc>| {
        let pool = pool.clone();
        let store = Arc::clone(&store);
        async move {
            let deliveries: Vec<NewDelivery> = (0..count)
                .map(|n| NewDelivery {
                    destination: TO.to_owned(),
                    payload: serde_json::json!({ "n": n }).into(),
                    item_count: 1,
                    correlation_id: None,
                    traceparent: None,
                })
                .collect();
            let mut connection = pool.acquire().await.unwrap();
            common::delivery::enqueue_postgres(&mut connection, &deliveries, now)
                .await
                .unwrap();
            let run = store.pending_run(TO, 100).await.unwrap();
            run[run.len() - count..]
                .iter()
                .map(|d| d.id)
                .collect::<Vec<i64>>()
        }
    };
    // January: one delivered, one dead letter, one still pending (retried for months).
    let january = enqueue(3, at(2026, 1, 10)).await;
    store
        .mark_delivered(&january[..1], at(2026, 1, 11))
        .await
        .unwrap();
    store
        .mark_dead(&january[1..2], "400 refused")
        .await
        .unwrap();
    // February: one delivered at once, one only in April (inside the window at the end).
    // 1 February: January's delivered message is past the age; the month stays.
    clock.set(at(2026, 2, 1));
    assert_eq!(job().run_once().await.unwrap().of("delivery"), 1);
    assert!(
        partitions(&table)
            .await
            .contains(&"delivery_p202601".to_owned())
    );
    let february = enqueue(2, at(2026, 2, 5)).await;
    store
        .mark_delivered(&february[..1], at(2026, 2, 6))
        .await
        .unwrap();
    // March: all delivered long ago.
    let march = enqueue(2, at(2026, 3, 1)).await;
    store.mark_delivered(&march, at(2026, 3, 2)).await.unwrap();
    store
        .mark_delivered(&february[1..], at(2026, 4, 15))
        .await
        .unwrap();
    // April: delivered inside the window.
    let april = enqueue(1, at(2026, 4, 14)).await;
    store.mark_delivered(&april, at(2026, 4, 15)).await.unwrap();
    assert_eq!(
        partition_of(&pool, "delivery", march[0]).await,
        "delivery_p202603"
    );

    // 20 April, seven days kept: the cutoff is 13 April.
    clock.set(at(2026, 4, 20));
    let cleaned = job().run_once().await.unwrap();
    let left = partitions(&table).await;
    assert!(
        !left.contains(&"delivery_p202603".to_owned()),
        "March dropped: {left:?}"
    );
    assert!(
        left.contains(&"delivery_p202601".to_owned()),
        "pending and dead: {left:?}"
    );
    assert!(
        left.contains(&"delivery_p202602".to_owned()),
        "delivered in April: {left:?}"
    );
    for month in ["202604", "202605", "202606", "202607"] {
        assert!(
            left.contains(&format!("delivery_p{month}")),
            "{month} in {left:?}"
        );
    }
    // March's two by the drop, February's old delivery by the batches.
    assert_eq!(cleaned.of("delivery"), 3);

    let delivered: Vec<i64> = store
        .list(TO, DeliveryState::Delivered, 100)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(delivered, [february[1], april[0]], "the window is kept");
    let dead = store.list(TO, DeliveryState::Dead, 100).await.unwrap();
    assert_eq!(dead.iter().map(|d| d.id).collect::<Vec<_>>(), [january[1]]);
    let pending = store.pending_run(TO, 100).await.unwrap();
    assert_eq!(
        pending.iter().map(|d| d.id).collect::<Vec<_>>(),
        [january[2]]
    );

    // Once January's pending message is delivered and its dead letter redriven and delivered,
    // and the age has passed, January goes whole; ids carry on after the drops.
    store.redrive(TO, at(2026, 4, 20)).await.unwrap();
    let waiting: Vec<i64> = store
        .pending_run(TO, 100)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(waiting, [january[1], january[2]]);
    store
        .mark_delivered(&waiting, at(2026, 4, 20))
        .await
        .unwrap();
    clock.set(at(2026, 4, 26));
    let cleaned = job().run_once().await.unwrap();
    // The cutoff is 19 April: February's late one goes with its month, April's by a batch.
    assert_eq!(cleaned.of("delivery"), 2);
    let left = partitions(&table).await;
    assert!(!left.contains(&"delivery_p202602".to_owned()), "{left:?}");
    assert!(
        left.contains(&"delivery_p202601".to_owned()),
        "delivered 20 April: {left:?}"
    );
    clock.set(at(2026, 4, 28));
    let cleaned = job().run_once().await.unwrap();
    assert_eq!(cleaned.of("delivery"), 2, "January's last two");
    let left = partitions(&table).await;
    assert!(!left.contains(&"delivery_p202601".to_owned()), "{left:?}");
    let later = enqueue(1, at(2026, 4, 28)).await;
    assert!(later[0] > april[0]);

    pool.close().await;
    database.drop_database().await;
}

/// Storage parameters of each partition of `table`, by name.
async fn partition_options(pool: &PgPool, table: &str) -> Vec<(String, Vec<String>)> {
    sqlx::query_as(
        "SELECT c.relname::text, coalesce(c.reloptions, '{}') FROM pg_inherits i \
         JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1) ORDER BY 1",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn delivery_payloads_are_kept_out_of_the_row_in_every_partition_old_or_new() {
    let Some(database) = ScratchDatabase::create().await else {
        return;
    };
    let pool = common::db::open_postgres(&database.url, 5, &DELIVERY)
        .await
        .unwrap();
    let every_partition_keeps_payloads_out = |options: Vec<(String, Vec<String>)>| {
        assert!(!options.is_empty());
        for (partition, options) in &options {
            assert!(
                options.contains(&"toast_tuple_target=128".to_owned()),
                "{partition}: {options:?}"
            );
        }
        options
            .into_iter()
            .map(|(name, _)| name)
            .collect::<Vec<_>>()
    };
    // Those the migrations made, around now.
    every_partition_keeps_payloads_out(partition_options(&pool, "delivery").await);
    // Those the service makes: the months ahead of a clock two years on.
    let later = Utc::now() + chrono::Months::new(24);
    let clock = TestClock::new(later);
    let sweeps: Vec<Arc<dyn Sweep>> = vec![Arc::new(MonthlyPartitions::delivery(pool.clone()))];
    RetentionJob::new("test", RetentionConfig::default(), sweeps)
        .with_clock(clock.clock())
        .run_once()
        .await
        .unwrap();
    let names = every_partition_keeps_payloads_out(partition_options(&pool, "delivery").await);
    assert!(
        names.contains(&later.format("delivery_p%Y%m").to_string()),
        "{names:?}"
    );

    // A payload over the 2 kB at which PostgreSQL starts to shrink a row, that compresses well
    // under it (and so would stay in the row compressed): it goes to the partition's TOAST
    // table, and comes back whole once delivered.
    let payload = serde_json::json!({
        "engagementTransaction": (0..100)
            .map(|n| serde_json::json!({ "n": n, "serviceDomain": "riv:crm:scheduling" }))
            .collect::<Vec<_>>()
    });
    let store = PgDeliveryStore::new(pool.clone());
    let mut connection = pool.acquire().await.unwrap();
    let queued = NewDelivery {
        destination: TO.to_owned(),
        payload: payload.clone().into(),
        item_count: 100,
        correlation_id: Some(uuid::Uuid::new_v4().to_string()),
        traceparent: Some(format!(
            "00-{}-{}-01",
            "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
        )),
    };
    common::delivery::enqueue_postgres(&mut connection, &[queued], Utc::now())
        .await
        .unwrap();
    drop(connection);
    let id = store.pending_run(TO, 1).await.unwrap()[0].id;
    store.mark_delivered(&[id], Utc::now()).await.unwrap();
    let partition = partition_of(&pool, "delivery", id).await;
    // One value out of the row: the payload, not the short ids beside it.
    let toasted: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(DISTINCT chunk_id) FROM {}",
        sqlx::query_scalar::<_, String>(
            "SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = to_regclass($1)"
        )
        .bind(&partition)
        .fetch_one(&pool)
        .await
        .unwrap()
    )))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(toasted, 1, "{partition}: values out of the row");
    let delivered = store.list(TO, DeliveryState::Delivered, 10).await.unwrap();
    assert_eq!(delivered.len(), 1);
    assert_eq!(*delivered[0].payload, payload);

    pool.close().await;
    database.drop_database().await;
}
