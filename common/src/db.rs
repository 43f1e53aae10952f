//! Storage plumbing shared by the services: which backend a configuration names, opening a
//! SQLite file (created on first start, WAL) or a PostgreSQL pool, and running migrations.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::config::DatabaseConfig;

mod backend;
mod clock_offset;
mod queue_vacuum;
mod readiness;
mod response_timeout;
mod unavailable;

pub use clock_offset::{ClockProbe, ClockReading, WARN_OFFSET};
pub use queue_vacuum::QueueVacuum;
pub use readiness::{HANDED_ON_WITHIN, PoolReadiness, PoolWatch};
pub use response_timeout::ResponseTimeout;
pub use unavailable::{Unavailable, is_unavailable};

pub use backend::{Backend, parse_sqlite_time, sqlite_time};

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("database url `{0}` must start with postgres://, postgresql:// or sqlite:")]
    UnknownScheme(String),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database.acquire_timeout_secs must be at least 1")]
    AcquireTimeout,
    #[error("database.response_timeout_secs must be at least 1")]
    ResponseTimeout,
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The backend a configuration names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseTarget {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseTarget {
    /// `file_name` is the default SQLite file under `data_dir` (`engagement-index.sqlite`).
    pub fn from_config(config: &DatabaseConfig, file_name: &str) -> Result<Self, DatabaseError> {
        match config.url.as_deref().map(str::trim) {
            None | Some("") => Ok(Self::Sqlite(config.data_dir.join(file_name))),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Self::Postgres(url.to_owned()))
            }
            Some(url) if url.starts_with("sqlite:") => {
                let path = url
                    .trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:");
                Ok(Self::Sqlite(PathBuf::from(path)))
            }
            Some(url) => Err(DatabaseError::UnknownScheme(redact(url))),
        }
    }

    /// What to print at start: the file, or the server without its password.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("SQLite {}", path.display()),
            Self::Postgres(url) => format!("PostgreSQL {}", redact(url)),
        }
    }
}

/// A database URL with any password replaced by `***`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// How long a request waits for a pooled connection unless configured
/// (`database.acquire_timeout_secs`).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The pool settings of `config`: its size and how long a request waits for a connection.
#[derive(Clone, Debug)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// How long the check of a connection idle for a while waits for its answer before the
    /// connection is closed and another one tried.
    pub response_timeout: ResponseTimeout,
    /// Told whenever the pool hands a connection on, for readiness ([`PoolReadiness`]).
    pub watch: PoolWatch,
}

impl PoolSettings {
    /// `max_connections` connections, the default wait.
    pub fn sized(max_connections: u32) -> Self {
        Self {
            max_connections,
            acquire_timeout: ACQUIRE_TIMEOUT,
            response_timeout: ResponseTimeout::DEFAULT,
            watch: PoolWatch::default(),
        }
    }

    /// A service's `[database]` settings, refused when a wait is zero.
    pub fn from_config(config: &DatabaseConfig) -> Result<Self, DatabaseError> {
        if config.acquire_timeout_secs == 0 {
            return Err(DatabaseError::AcquireTimeout);
        }
        Ok(Self {
            max_connections: config.max_connections,
            acquire_timeout: Duration::from_secs(config.acquire_timeout_secs),
            response_timeout: response_timeout(config)?,
            watch: PoolWatch::default(),
        })
    }
}

/// `database.response_timeout_secs`, refused when zero.
fn response_timeout(config: &DatabaseConfig) -> Result<ResponseTimeout, DatabaseError> {
    match config.response_timeout_secs {
        0 => Err(DatabaseError::ResponseTimeout),
        _ => Ok(config.response_timeout()),
    }
}

/// A service's pool on the backend its configuration names.
pub enum ConfiguredPool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A service's database as configured, opened (created and migrated as needed).
pub struct OpenedDatabase {
    pub pool: ConfiguredPool,
    /// `/health/ready`'s check of that pool.
    pub readiness: PoolReadiness,
    /// The database, for the start-up log line (no password).
    pub description: String,
}

/// Opens the database `config` names (the SQLite file `file_name` under `data_dir` unless a
/// URL is given) with the pool settings of `config`, migrated by the backend's migrator.
pub async fn open_configured(
    config: &DatabaseConfig,
    file_name: &str,
    sqlite: &Migrator,
    postgres: &Migrator,
) -> Result<OpenedDatabase, DatabaseError> {
    let target = DatabaseTarget::from_config(config, file_name)?;
    let description = target.describe();
    let settings = PoolSettings::from_config(config)?;
    let watch = settings.watch.clone();
    let (pool, readiness) = match target {
        DatabaseTarget::Sqlite(path) => {
            let pool = open_sqlite_with(&path, settings, sqlite).await?;
            let readiness = PoolReadiness::new(pool.clone(), watch);
            (ConfiguredPool::Sqlite(pool), readiness)
        }
        DatabaseTarget::Postgres(url) => {
            let limit = settings.response_timeout;
            let pool = open_postgres_with(&url, settings, postgres).await?;
            let readiness = PoolReadiness::new(pool.clone(), watch)
                .with_clock(ClockProbe::postgres(pool.clone(), limit, chrono::Utc::now));
            (ConfiguredPool::Postgres(pool), readiness)
        }
    };
    Ok(OpenedDatabase {
        pool,
        readiness,
        description,
    })
}

/// Opens (creating when missing) a SQLite database in WAL mode with `max_connections` and runs
/// `migrator`.
pub async fn open_sqlite(
    path: &std::path::Path,
    max_connections: u32,
    migrator: &Migrator,
) -> Result<SqlitePool, DatabaseError> {
    open_sqlite_with(path, PoolSettings::sized(max_connections), migrator).await
}

/// [`open_sqlite`] with the pool's `settings`.
pub async fn open_sqlite_with(
    path: &std::path::Path,
    settings: PoolSettings,
    migrator: &Migrator,
) -> Result<SqlitePool, DatabaseError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| DatabaseError::DataDir {
            path: dir.to_owned(),
            source,
        })?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let watch = settings.watch;
    let pool = SqlitePoolOptions::new()
        .max_connections(settings.max_connections.max(1))
        .acquire_timeout(settings.acquire_timeout)
        .before_acquire(move |_, _| {
            watch.handed_on();
            Box::pin(async { Ok(true) })
        })
        .connect_with(options)
        .await
        .map_err(DatabaseError::Connect)?;
    migrator.run(&pool).await?;
    Ok(pool)
}

/// A pooled connection idle this long is checked (a round trip) before it is handed out, so
/// one the server closed meanwhile (a restart, a failover) is replaced instead of failing a
/// request. sqlx checks every connection by default; under load that doubled the round
/// trips of a short query, and a connection in use a moment ago is alive.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// Connects to PostgreSQL with a pool of `max_connections` and runs `migrator`.
pub async fn open_postgres(
    url: &str,
    max_connections: u32,
    migrator: &Migrator,
) -> Result<PgPool, DatabaseError> {
    open_postgres_with(url, PoolSettings::sized(max_connections), migrator).await
}

/// [`open_postgres`] with the pool's `settings`.
pub async fn open_postgres_with(
    url: &str,
    settings: PoolSettings,
    migrator: &Migrator,
) -> Result<PgPool, DatabaseError> {
    let options = PgConnectOptions::from_str(url).map_err(DatabaseError::Connect)?;
    let (watch, limit) = (settings.watch, settings.response_timeout);
    let pool = PgPoolOptions::new()
        .max_connections(settings.max_connections.max(1))
        .acquire_timeout(settings.acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(move |connection, metadata| {
            let watch = watch.clone();
            Box::pin(async move {
                if metadata.idle_for >= PING_WHEN_IDLE_FOR {
                    // A silent server is given up on like a closed one: the pool then tries
                    // another connection or opens a new one.
                    limit.bound(sqlx::Connection::ping(connection)).await?;
                }
                watch.handed_on();
                Ok(true)
            })
        })
        .connect_with(options)
        .await
        .map_err(DatabaseError::Connect)?;
    migrator.run(&pool).await?;
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: Option<&str>) -> DatabaseConfig {
        DatabaseConfig {
            url: url.map(str::to_owned),
            ..DatabaseConfig::default()
        }
    }

    #[test]
    fn the_url_scheme_chooses_the_backend() {
        assert_eq!(
            DatabaseTarget::from_config(&config(None), "x.sqlite").unwrap(),
            DatabaseTarget::Sqlite(PathBuf::from("data/x.sqlite"))
        );
        assert_eq!(
            DatabaseTarget::from_config(&config(Some("sqlite:///var/lib/x.db")), "x").unwrap(),
            DatabaseTarget::Sqlite(PathBuf::from("/var/lib/x.db"))
        );
        assert!(matches!(
            DatabaseTarget::from_config(&config(Some("postgres://u@h/db")), "x").unwrap(),
            DatabaseTarget::Postgres(_)
        ));
        let error =
            DatabaseTarget::from_config(&config(Some("mysql://u:secret@h/db")), "x").unwrap_err();
        assert!(!error.to_string().contains("secret"), "{error}");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact("postgres://app@db/x"), "postgres://app@db/x");
    }
}
