//! Retention of what was delivered: the delivery queue keeps delivered and acknowledged
//! messages for the configured age, the cleanup job deletes them in batches (never a pending
//! message or a dead letter), pull offsets stay monotonic across a cleanup, and the last
//! acknowledged batch can be fetched again while it is kept. On SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL, with a clock the test moves by days.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use common::delivery::{
    DeliveredMessages, Delivery, DeliveryState, DeliveryStore, NewDelivery, PgDeliveryStore,
    PullPoint, SqliteDeliveryStore,
};
use common::retention::{Clock, RetentionConfig, RetentionJob, Sweep};
use common::testing::TestDatabase;
use serde_json::json;
use sqlx::migrate::{Migration, Migrator};

static SQLITE: Migrator = sqlx::migrate!("migrations/delivery/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/delivery/postgres");

const DAY: i64 = 24 * 3600;

enum Queue {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Queue {
    async fn open(database: &TestDatabase) -> Self {
        match &database.config.url {
            Some(url) => {
                Self::Postgres(common::db::open_postgres(url, 10, &POSTGRES).await.unwrap())
            }
            None => Self::Sqlite(
                common::db::open_sqlite(&database.config.data_dir.join("queue.sqlite"), 5, &SQLITE)
                    .await
                    .unwrap(),
            ),
        }
    }

    /// Another connection pool on the same database: another process, as far as the queue knows.
    fn open_same(&self) -> Self {
        match self {
            Self::Sqlite(pool) => Self::Sqlite(sqlx::SqlitePool::connect_lazy_with(
                (*pool.connect_options()).clone(),
            )),
            Self::Postgres(pool) => Self::Postgres(sqlx::PgPool::connect_lazy_with(
                (*pool.connect_options()).clone(),
            )),
        }
    }

    fn store(&self) -> Arc<dyn DeliveryStore> {
        match self {
            Self::Sqlite(pool) => Arc::new(SqliteDeliveryStore::new(pool.clone())),
            Self::Postgres(pool) => Arc::new(PgDeliveryStore::new(pool.clone())),
        }
    }

    async fn enqueue(&self, destination: &str, count: usize, now: DateTime<Utc>) {
        let deliveries: Vec<NewDelivery> = (0..count)
            .map(|n| NewDelivery {
                destination: destination.to_owned(),
                payload: json!({ "engagementTransaction": [{ "n": n }] }).into(),
                item_count: 1,
                correlation_id: None,
                traceparent: None,
            })
            .collect();
        match self {
            Self::Sqlite(pool) => {
                let mut connection = pool.acquire().await.unwrap();
                common::delivery::enqueue_sqlite(&mut connection, &deliveries, now)
                    .await
                    .unwrap();
            }
            Self::Postgres(pool) => {
                let mut connection = pool.acquire().await.unwrap();
                common::delivery::enqueue_postgres(&mut connection, &deliveries, now)
                    .await
                    .unwrap();
            }
        }
    }

    async fn count(&self, state: &str) -> i64 {
        const SQL: &str = "SELECT COUNT(*) FROM delivery WHERE state = ";
        let sql = format!("{SQL}'{state}'");
        match self {
            Self::Sqlite(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(pool)
                .await
                .unwrap(),
            Self::Postgres(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(pool)
                .await
                .unwrap(),
        }
    }

    /// The oldest delivered message's time, if any is kept.
    async fn oldest_delivered(&self) -> Option<DateTime<Utc>> {
        let store = self.store();
        let mut oldest = None;
        for destination in [PUSH, PULL] {
            for delivery in store
                .list(destination, DeliveryState::Delivered, 100_000)
                .await
                .unwrap()
            {
                let at = delivery
                    .delivered_at
                    .expect("a delivered message has a time");
                oldest = Some(oldest.map_or(at, |o: DateTime<Utc>| o.min(at)));
            }
        }
        oldest
    }
}

/// A clock the test sets.
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

const PUSH: &str = "SE1-PUSH";
const PULL: &str = "SE1-PULL";

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 6, 0, 0).unwrap()
}

fn job(store: Arc<dyn DeliveryStore>, config: RetentionConfig, clock: &TestClock) -> RetentionJob {
    let sweeps: Vec<Arc<dyn Sweep>> = vec![Arc::new(DeliveredMessages(store))];
    RetentionJob::new("test", config, sweeps).with_clock(clock.clock())
}

fn ids(deliveries: &[Delivery]) -> Vec<i64> {
    deliveries.iter().map(|d| d.id).collect()
}

#[tokio::test]
async fn a_week_of_traffic_is_cleaned_to_the_configured_age_and_the_pull_point_answers_from_the_right_offsets()
 {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let queue = Queue::open(&database).await;
        let store = queue.store();
        let clock = TestClock::new(start());
        let config = RetentionConfig {
            max_age_secs: 3 * DAY as u64,
            batch_size: 7,
            interval_secs: 600,
            ..RetentionConfig::default()
        };

        // A week: every day a push receiver accepts 10 messages and refuses one for good, and
        // a pull subscriber fetches the day's 10 and acknowledges the day before's.
        let mut acknowledged = 0;
        let mut batches: Vec<Vec<i64>> = Vec::new();
        for day in 0..7 {
            let now = start() + Duration::seconds(day * DAY);
            queue.enqueue(PUSH, 11, now).await;
            let run = store.pending_run(PUSH, 11).await.unwrap();
            store.mark_delivered(&ids(&run[..10]), now).await.unwrap();
            store.mark_dead(&[run[10].id], "400 refused").await.unwrap();

            queue.enqueue(PULL, 10, now).await;
            let batch = store.pull(PULL, acknowledged, 100, now).await.unwrap();
            assert_eq!(batch.len(), 10, "{backend}: day {day}");
            acknowledged = batch.last().unwrap().id;
            batches.push(ids(&batch));
        }
        // The pull subscriber acknowledged days 0 to 5; day 6's batch is still pending.
        assert_eq!(queue.count("delivered").await, 70 + 60, "{backend}");
        assert_eq!(queue.count("pending").await, 10, "{backend}");
        assert_eq!(queue.count("dead").await, 7, "{backend}");
        let stats = store.stats().await.unwrap();
        assert_eq!(
            stats
                .iter()
                .map(|s| (s.destination.as_str(), s.pending, s.dead))
                .collect::<Vec<_>>(),
            vec![(PULL, 10, 0), (PUSH, 0, 7)],
            "{backend}: kept rows are not counted as waiting"
        );

        // A week after the first day, with 3 days' retention: days 0-3 go (delivered or
        // acknowledged before day 4), days 4-6 stay.
        clock.set(start() + Duration::seconds(7 * DAY));
        let cleaned = job(Arc::clone(&store), config.clone(), &clock)
            .run_once()
            .await
            .unwrap();
        // Push: days 0-3 (40). Pull: day N's batch is acknowledged on day N+1, so batches 0-2
        // (acknowledged on days 1-3) go (30).
        assert_eq!(cleaned.of("delivery"), 70, "{backend}");
        assert_eq!(queue.count("delivered").await, 30 + 30, "{backend}");
        assert_eq!(
            queue.count("dead").await,
            7,
            "{backend}: dead letters are kept"
        );
        assert_eq!(queue.count("pending").await, 10, "{backend}");
        let oldest = queue.oldest_delivered().await.unwrap();
        assert!(
            oldest >= clock.0.lock().unwrap().to_owned() - Duration::seconds(3 * DAY),
            "{backend}: nothing older than the configured age is kept ({oldest})"
        );
        // A second run finds nothing more.
        assert_eq!(
            job(Arc::clone(&store), config.clone(), &clock)
                .run_once()
                .await
                .unwrap()
                .total(),
            0
        );

        // The pull point answers from the right offsets: after the acknowledged offset the
        // pending batch; after an offset whose message was deleted, the same next messages;
        // after an acknowledged but kept one, no message twice.
        let now = start() + Duration::seconds(7 * DAY);
        assert_eq!(acknowledged, *batches[6].last().unwrap());
        let next = store
            .pull(PULL, *batches[5].last().unwrap(), 100, now)
            .await
            .unwrap();
        assert_eq!(ids(&next), batches[6], "{backend}");
        let after_deleted = store.pull(PULL, batches[0][3], 100, now).await.unwrap();
        assert_eq!(ids(&after_deleted), batches[6], "{backend}");
        let after_kept = store.pull(PULL, batches[4][0], 100, now).await.unwrap();
        assert_eq!(ids(&after_kept), batches[6], "{backend}");
        assert_eq!(
            store.pull_point(PULL).await.unwrap(),
            PullPoint {
                acknowledged_offset: batches[5][9],
                previous_offset: batches[4][9],
            },
            "{backend}: a stale offset moves nothing"
        );

        // Re-fetch: the last acknowledged batch again, also paged, acknowledging nothing.
        assert_eq!(ids(&store.refetch(PULL, 0, 100).await.unwrap()), batches[5]);
        assert_eq!(
            ids(&store.refetch(PULL, batches[5][6], 100).await.unwrap()),
            batches[5][7..]
        );
        assert_eq!(
            ids(&store.refetch(PULL, 0, 4).await.unwrap()),
            batches[5][..4]
        );
        assert_eq!(queue.count("pending").await, 10);

        // Day 6's batch acknowledged; then, long after, everything delivered is gone, and new
        // messages still get offsets beyond every earlier one.
        let last = *batches[6].last().unwrap();
        assert!(store.pull(PULL, last, 100, now).await.unwrap().is_empty());
        assert_eq!(ids(&store.refetch(PULL, 0, 100).await.unwrap()), batches[6]);
        clock.set(start() + Duration::seconds(30 * DAY));
        let cleaned = job(Arc::clone(&store), config.clone(), &clock)
            .run_once()
            .await
            .unwrap();
        assert_eq!(cleaned.of("delivery"), 70, "{backend}");
        assert_eq!(queue.count("delivered").await, 0, "{backend}");
        assert!(
            store.refetch(PULL, 0, 100).await.unwrap().is_empty(),
            "{backend}: a batch past retention is gone"
        );
        queue
            .enqueue(PULL, 2, start() + Duration::seconds(30 * DAY))
            .await;
        let fresh = store.pull(PULL, last, 100, now).await.unwrap();
        assert_eq!(fresh.len(), 2, "{backend}");
        assert!(fresh[0].id > last, "{backend}: offsets only grow");
        assert_eq!(queue.count("dead").await, 7, "{backend}");
        assert_eq!(
            store
                .list(PUSH, DeliveryState::Dead, 100)
                .await
                .unwrap()
                .len(),
            7
        );
        database.cleanup().await;
    }
}

#[tokio::test]
async fn two_processes_cleaning_at_once_delete_each_message_once_and_keep_what_is_pending() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let queue = Queue::open(&database).await;
        let store = queue.store();
        let delivered_at = start();
        for destination in ["SE1-A", "SE1-B", "SE1-C"] {
            queue.enqueue(destination, 400, delivered_at).await;
            let run = store.pending_run(destination, 300).await.unwrap();
            store
                .mark_delivered(&ids(&run), delivered_at)
                .await
                .unwrap();
            store
                .mark_dead(&[run[0].id + 300], "gave up")
                .await
                .unwrap();
        }
        let clock = TestClock::new(delivered_at + Duration::seconds(8 * DAY));
        let config = RetentionConfig {
            batch_size: 25,
            ..RetentionConfig::default()
        };
        let other = queue.open_same();
        let first = job(Arc::clone(&store), config.clone(), &clock);
        let second = job(other.store(), config, &clock);
        let (a, b) = tokio::join!(first.run_once(), second.run_once());
        let (a, b) = (a.unwrap().total(), b.unwrap().total());
        assert_eq!(
            a + b,
            900,
            "{backend}: each message deleted once ({a} + {b})"
        );
        assert_eq!(queue.count("delivered").await, 0, "{backend}");
        assert_eq!(queue.count("pending").await, 297, "{backend}");
        assert_eq!(queue.count("dead").await, 3, "{backend}");
        database.cleanup().await;
    }
}

#[tokio::test]
async fn nothing_younger_than_the_age_and_nothing_pending_is_deleted() {
    for database in TestDatabase::all().await {
        let queue = Queue::open(&database).await;
        let store = queue.store();
        queue.enqueue(PUSH, 5, start()).await;
        let run = store.pending_run(PUSH, 2).await.unwrap();
        store.mark_delivered(&ids(&run), start()).await.unwrap();
        // Delivered again (a worker that lost its lease): the time of the first delivery stays.
        store
            .mark_delivered(&ids(&run), start() + Duration::seconds(DAY))
            .await
            .unwrap();
        let clock = TestClock::new(start() + Duration::seconds(7 * DAY - 1));
        let job = job(Arc::clone(&store), RetentionConfig::default(), &clock);
        assert_eq!(job.run_once().await.unwrap().total(), 0);
        clock.set(start() + Duration::seconds(7 * DAY + 1));
        assert_eq!(job.run_once().await.unwrap().of("delivery"), 2);
        assert_eq!(queue.count("pending").await, 3);
        database.cleanup().await;
    }
}

/// The SQLite rebuild of the queue (a CHECK cannot change in place) keeps the ids and carries
/// the AUTOINCREMENT counter: after the newest messages were removed, new ones still get
/// higher ids, so no pull offset is ever handed out twice.
#[tokio::test]
async fn the_sqlite_rebuild_never_reuses_an_offset() {
    let dir = tempfile::tempdir().unwrap();
    let pool = common::db::open_sqlite(&dir.path().join("q.sqlite"), 1, &Migrator::DEFAULT)
        .await
        .unwrap();
    let before: Vec<Migration> = SQLITE.iter().filter(|m| m.version < 40).cloned().collect();
    Migrator::with_migrations(before).run(&pool).await.unwrap();
    for _ in 0..5 {
        sqlx::query(
            "INSERT INTO delivery (destination, notification_id, payload, item_count, next_attempt_at, created_at) \
             VALUES ('SE1-PULL', ?1, '{}', 1, '2026-03-02T06:00:00.000000Z', '2026-03-02T06:00:00.000000Z')",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .execute(&pool)
        .await
        .unwrap();
    }
    // Acknowledged the old way: deleted.
    sqlx::query("DELETE FROM delivery WHERE id > 2")
        .execute(&pool)
        .await
        .unwrap();
    SQLITE.run(&pool).await.unwrap();
    let queue = Queue::Sqlite(pool);
    queue.enqueue(PULL, 1, start()).await;
    let store = queue.store();
    let pulled = store.pull(PULL, 0, 10, start()).await.unwrap();
    assert_eq!(ids(&pulled), vec![1, 2, 6]);
    assert_eq!(pulled[0].state, DeliveryState::Pending);
}

#[test]
fn the_configuration_has_sane_defaults_and_refuses_nonsense() {
    let config = RetentionConfig::default();
    assert_eq!(config.max_age_secs, 7 * DAY as u64);
    assert!(config.validate("retention").is_ok());
    let error = RetentionConfig {
        batch_size: 0,
        ..RetentionConfig::default()
    }
    .validate("retention")
    .unwrap_err();
    assert!(
        error.to_string().contains("retention.batch_size"),
        "{error}"
    );
    assert_eq!(config.cutoff(start()), start() - Duration::seconds(7 * DAY));
}

/// A sweep whose partition maintenance waits for ever, as on a database gone silent in the
/// middle of a month's export.
struct Stalled;

#[async_trait::async_trait]
impl Sweep for Stalled {
    fn table(&self) -> &'static str {
        "stalled_table"
    }

    async fn delete_batch(
        &self,
        _cutoff: DateTime<Utc>,
        _limit: i64,
    ) -> Result<u64, common::retention::SweepError> {
        Ok(0)
    }

    async fn maintain(
        &self,
        _now: DateTime<Utc>,
        _config: &RetentionConfig,
    ) -> Result<u64, common::retention::SweepError> {
        std::future::pending().await
    }
}

/// The gauge's value for `table` of the service `retention-gauge-test`, if exported.
fn running_since(table: &str) -> Option<f64> {
    common::metrics::handle()
        .render()
        .lines()
        .find(|line| {
            line.starts_with("retention_running_since_timestamp_seconds{")
                && line.contains("service=\"retention-gauge-test\"")
                && line.contains(&format!("table=\"{table}\""))
        })
        .map(|line| line.rsplit(' ').next().unwrap().parse().unwrap())
}

#[tokio::test]
async fn a_sweep_that_never_finishes_shows_since_when_it_runs_and_a_finished_one_shows_zero() {
    let clock = TestClock::new(start());
    let dir = tempfile::tempdir().unwrap();
    let queue = Queue::Sqlite(
        common::db::open_sqlite(&dir.path().join("queue.sqlite"), 2, &SQLITE)
            .await
            .unwrap(),
    );
    let sweeps: Vec<Arc<dyn Sweep>> = vec![
        Arc::new(DeliveredMessages(queue.store())),
        Arc::new(Stalled),
    ];
    common::metrics::handle();
    let job = RetentionJob::new("retention-gauge-test", RetentionConfig::default(), sweeps)
        .with_clock(clock.clock());
    let run = tokio::spawn(async move { job.run_once().await });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while running_since("stalled_table").is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the stalled sweep's gauge"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    #[allow(clippy::cast_precision_loss)]
    let started = start().timestamp() as f64;
    // What NordformRetentionStalled alerts on: the time the stuck sweep started.
    assert_eq!(running_since("stalled_table"), Some(started));
    // The sweep before it finished.
    assert_eq!(running_since("delivery"), Some(0.0));
    assert!(!run.is_finished());
    run.abort();
}
