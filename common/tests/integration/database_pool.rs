//! The pool's settings from `[database]`, on SQLite and (with `TEST_DATABASE_URL`) PostgreSQL:
//! a request that finds every connection taken waits `acquire_timeout_secs`, not the built-in
//! 10 s, and then fails as a database that cannot serve now (503 `DATABASE_UNAVAILABLE` at
//! the edge); a wait of zero is refused at start.

use std::time::{Duration, Instant};

use common::config::DatabaseConfig;
use common::db::{DatabaseError, DatabaseTarget, PoolSettings, is_unavailable};
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
