//! The pool's settings from `[database]`, on SQLite and (with `TEST_DATABASE_URL`) PostgreSQL:
//! a request that finds every connection taken waits `acquire_timeout_secs`, not the built-in
//! 10 s, and then fails as a database that cannot serve now (503 `DATABASE_UNAVAILABLE` at
//! the edge); a wait of zero is refused at start. Readiness tells a pool busy with requests from
//! one that hands nothing on.

use std::time::{Duration, Instant};

use common::config::DatabaseConfig;
use common::db::{DatabaseError, DatabaseTarget, PoolReadiness, PoolSettings, is_unavailable};
use common::testing::TestDatabase;
use sqlx::migrate::Migrator;

/// With the pool's one connection held, how long a second request waits before it fails (as a
/// database that cannot serve now).
async fn second_wait<DB: sqlx::Database>(pool: &sqlx::Pool<DB>, backend: &str) -> Duration {
    let _held = pool.acquire().await.unwrap();
    let asked = Instant::now();
    let error = pool.acquire().await.unwrap_err();
    assert!(is_unavailable(&error), "{backend}: {error}");
    asked.elapsed()
}

#[tokio::test]
async fn a_request_waits_for_a_connection_as_long_as_configured() {
    for database in TestDatabase::all().await {
        let config = DatabaseConfig {
            max_connections: 1,
            acquire_timeout_secs: 1,
            ..database.config.clone()
        };
        let settings = PoolSettings::from_config(&config).unwrap();
        let backend = database.backend;
        let waited = match DatabaseTarget::from_config(&config, "pool.sqlite").unwrap() {
            DatabaseTarget::Sqlite(path) => {
                let pool = common::db::open_sqlite_with(&path, settings, &Migrator::DEFAULT);
                second_wait(&pool.await.unwrap(), backend).await
            }
            DatabaseTarget::Postgres(url) => {
                let pool = common::db::open_postgres_with(&url, settings, &Migrator::DEFAULT);
                second_wait(&pool.await.unwrap(), backend).await
            }
        };
        // The configured second, not the built-in ten.
        assert!(
            waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
            "{backend}: waited {waited:?}"
        );
        database.cleanup().await;
    }
}

#[test]
fn a_wait_of_zero_is_refused() {
    let config = DatabaseConfig {
        acquire_timeout_secs: 0,
        ..DatabaseConfig::default()
    };
    let refused = PoolSettings::from_config(&config).unwrap_err();
    assert!(matches!(refused, DatabaseError::AcquireTimeout));
    assert!(
        refused
            .to_string()
            .contains("database.acquire_timeout_secs")
    );
    assert_eq!(
        PoolSettings::from_config(&DatabaseConfig::default())
            .unwrap()
            .acquire_timeout,
        Duration::from_secs(10)
    );
}

/// Opens `config`'s database with a pool of `max_connections` and its readiness check.
async fn pool_with_readiness(
    config: &DatabaseConfig,
    max_connections: u32,
) -> (Holder, PoolReadiness) {
    let config = DatabaseConfig {
        max_connections,
        ..config.clone()
    };
    let settings = PoolSettings::from_config(&config).unwrap();
    let watch = settings.watch.clone();
    match DatabaseTarget::from_config(&config, "ready.sqlite").unwrap() {
        DatabaseTarget::Sqlite(path) => {
            let pool = common::db::open_sqlite_with(&path, settings, &Migrator::DEFAULT)
                .await
                .unwrap();
            let readiness = PoolReadiness::new(pool.clone(), watch);
            (Holder::Sqlite(pool), readiness)
        }
        DatabaseTarget::Postgres(url) => {
            let pool = common::db::open_postgres_with(&url, settings, &Migrator::DEFAULT)
                .await
                .unwrap();
            let readiness = PoolReadiness::new(pool.clone(), watch);
            (Holder::Postgres(pool), readiness)
        }
    }
}

enum Holder {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Holder {
    /// Takes a connection, answers a round trip on it and keeps it for `hold`, `times` times:
    /// a request that holds its connection.
    fn keep_busy(&self, hold: Duration, times: usize) -> tokio::task::JoinHandle<()> {
        match self {
            Self::Sqlite(pool) => keep_busy(pool.clone(), hold, times),
            Self::Postgres(pool) => keep_busy(pool.clone(), hold, times),
        }
    }

    /// How long a request arriving now waits for a connection (at most `patience`).
    async fn wait_in_line(&self, patience: Duration) -> Option<Duration> {
        match self {
            Self::Sqlite(pool) => wait_in_line(pool, patience).await,
            Self::Postgres(pool) => wait_in_line(pool, patience).await,
        }
    }
}

fn keep_busy<DB: sqlx::Database>(
    pool: sqlx::Pool<DB>,
    hold: Duration,
    times: usize,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        for _ in 0..times {
            let mut connection = pool.acquire().await.unwrap();
            sqlx::Connection::ping(&mut *connection).await.unwrap();
            tokio::time::sleep(hold).await;
        }
    })
}

async fn wait_in_line<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
    patience: Duration,
) -> Option<Duration> {
    let asked = Instant::now();
    let taken = tokio::time::timeout(patience, pool.acquire()).await.is_ok();
    taken.then(|| asked.elapsed())
}

#[tokio::test]
async fn a_pool_busy_with_requests_is_ready() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let (pool, readiness) = pool_with_readiness(&database.config, 2).await;
        // Idle: the check pings a connection.
        readiness.check().await.unwrap();
        // Forty requests each holding a connection for 150 ms, on two connections: a line of
        // three seconds, longer than readiness waits (2 s).
        let requests: Vec<_> = (0..40)
            .map(|_| pool.keep_busy(Duration::from_millis(150), 2))
            .collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            pool.wait_in_line(Duration::from_secs(2)).await,
            None,
            "{backend}: the line is shorter than the check's patience; the test proves nothing"
        );
        let asked = Instant::now();
        tokio::time::timeout(Duration::from_secs(2), readiness.check())
            .await
            .unwrap_or_else(|_| panic!("{backend}: a busy pool was not ready within 2 s"))
            .unwrap();
        assert!(
            asked.elapsed() < Duration::from_millis(500),
            "{backend}: the check waited {:?}",
            asked.elapsed()
        );
        for request in requests {
            request.await.unwrap();
        }
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_pool_that_hands_nothing_on_is_not_ready() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let (pool, readiness) = pool_with_readiness(&database.config, 1).await;
        readiness.check().await.unwrap();
        // One request holds the only connection, as a statement that never ends would.
        let stuck = pool.keep_busy(Duration::from_hours(1), 1);
        tokio::time::sleep(common::db::HANDED_ON_WITHIN + Duration::from_millis(200)).await;
        assert!(
            tokio::time::timeout(Duration::from_secs(1), readiness.check())
                .await
                .is_err(),
            "{backend}: a pool that handed nothing on for {:?} counted as answering",
            common::db::HANDED_ON_WITHIN
        );
        stuck.abort();
        database.cleanup().await;
    }
}

#[test]
fn a_response_timeout_of_zero_is_refused() {
    let config = DatabaseConfig {
        response_timeout_secs: 0,
        ..DatabaseConfig::default()
    };
    let refused = PoolSettings::from_config(&config).unwrap_err();
    assert!(matches!(refused, DatabaseError::ResponseTimeout));
}

/// PostgreSQL through a front that silences the connections open so far (a frozen server, or
/// a failover whose old primary vanished): a connection given back with its answer unread
/// (its check is bounded at 5 s, the patched sqlx-core of vendor/README.md), and an idle one
/// checked before use (bounded by `response_timeout_secs`), are given up and closed, so that a
/// pool of one connection serves again on a new one, instead of waiting for ever.
#[tokio::test]
async fn connections_to_a_silent_server_are_given_up_and_their_places_freed() {
    for database in TestDatabase::all().await {
        let Some(url) = database.config.url.clone() else {
            continue;
        };
        let (front, url) = common::testing::database_front::DatabaseFront::before(&url).await;
        let config = DatabaseConfig {
            url: Some(url.clone()),
            max_connections: 1,
            acquire_timeout_secs: 10,
            response_timeout_secs: 1,
            ..database.config.clone()
        };
        let settings = PoolSettings::from_config(&config).unwrap();
        let pool = common::db::open_postgres_with(&url, settings, &Migrator::DEFAULT)
            .await
            .unwrap();
        let select = || sqlx::query("SELECT 1").execute(&pool);
        select().await.unwrap();

        // A statement sent into the silence, given up by its caller: its connection comes
        // back with the answer unread.
        front.silence();
        let given_up = tokio::time::timeout(Duration::from_millis(300), select()).await;
        assert!(given_up.is_err(), "a silent server answered");
        let asked = Instant::now();
        select().await.unwrap();
        let waited = asked.elapsed();
        // The check's bound (5 s), then a new connection; not the acquire timeout, or never.
        assert!(waited < Duration::from_secs(8), "waited {waited:?}");

        // An idle connection (checked before use) to a server that fell silent meanwhile.
        front.silence();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let asked = Instant::now();
        select().await.unwrap();
        let waited = asked.elapsed();
        // The limit (1 s), then a new connection.
        assert!(waited < Duration::from_secs(4), "waited {waited:?}");

        // The queue tables' vacuum: given up after the limit, and the next one runs.
        sqlx::query("CREATE TABLE vacuumed_queue (id bigint)")
            .execute(&pool)
            .await
            .unwrap();
        let vacuum = common::db::QueueVacuum::new(
            pool.clone(),
            &["vacuumed_queue"],
            Duration::from_secs(10),
        )
        .unwrap()
        .with_response_timeout(config.response_timeout());
        front.silence();
        let asked = Instant::now();
        let given_up = tokio::time::timeout(Duration::from_secs(30), vacuum.once())
            .await
            .expect("a vacuum into the silence waits no longer than its limit");
        assert!(given_up.is_err(), "a silent server vacuumed");
        assert!(
            asked.elapsed() < Duration::from_secs(3),
            "{:?}",
            asked.elapsed()
        );
        // The next ones run on schedule (every 10 s in production; here at once, each bound
        // counting its wait for the pool's one place, freed within the check's 5 s).
        let again = Instant::now();
        while let Err(error) = vacuum.once().await {
            assert!(
                again.elapsed() < Duration::from_secs(10),
                "the next vacuum: {error}"
            );
        }

        pool.close().await;
        drop(front);
        database.cleanup().await;
    }
}

/// The comparison of this host's clock with the database server's
/// (`database_clock_offset_seconds`): on one host the two agree, and a host whose clock runs
/// 30 s ahead reads as 30 s ahead.
#[tokio::test]
async fn the_database_clock_is_compared_with_this_hosts() {
    for database in TestDatabase::all().await {
        let Some(url) = database.config.url.clone() else {
            continue;
        };
        let pool = common::db::open_postgres(&url, 2, &Migrator::DEFAULT)
            .await
            .unwrap();
        let limit = common::db::ResponseTimeout::DEFAULT;
        let same = common::db::ClockProbe::postgres(pool.clone(), limit, chrono::Utc::now)
            .read()
            .await
            .unwrap();
        assert!(same.offset_secs.abs() < 0.5, "{same:?}");
        let ahead = common::db::ClockProbe::postgres(pool.clone(), limit, || {
            chrono::Utc::now() + chrono::TimeDelta::seconds(30)
        })
        .read()
        .await
        .unwrap();
        assert!((ahead.offset_secs + 30.0).abs() < 0.5, "{ahead:?}");

        // What the service runs: the gauge the alert NordformClockOffset reads.
        common::metrics::handle();
        let shutdown = common::shutdown::Shutdown::new();
        let watching = tokio::spawn(
            common::db::ClockProbe::postgres(pool.clone(), limit, || {
                chrono::Utc::now() + chrono::TimeDelta::seconds(30)
            })
            .watch("clock-watch-test", shutdown.clone()),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        let exported = loop {
            let text = common::metrics::handle().render();
            let line = text.lines().find(|line| {
                line.starts_with("database_clock_offset_seconds{")
                    && line.contains("service=\"clock-watch-test\"")
            });
            if let Some(line) = line {
                break line.rsplit(' ').next().unwrap().parse::<f64>().unwrap();
            }
            assert!(Instant::now() < deadline, "no gauge:\n{text}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!((exported + 30.0).abs() < 0.5, "{exported}");
        shutdown.cancel();
        watching.await.unwrap();
        pool.close().await;
        database.cleanup().await;
    }
}
