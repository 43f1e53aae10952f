//! Test helpers shared by the services' and the workspace's tests (feature `testing`).

pub mod accessibility;
pub mod backup;
pub mod database_front;
pub mod nats;
pub mod security;

use std::str::FromStr;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// A PostgreSQL database made for one test from `TEST_DATABASE_URL`, dropped on
/// [`Self::drop_database`], or when the value is dropped (a test that panicked never gets there).
pub struct ScratchDatabase {
    pub url: String,
    admin: PgConnectOptions,
    name: String,
    dropped: bool,
}

impl ScratchDatabase {
    /// `None` when `TEST_DATABASE_URL` is unset: the caller runs on SQLite only.
    pub async fn create() -> Option<Self> {
        let base = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        let admin =
            PgConnectOptions::from_str(&base).expect("TEST_DATABASE_URL is a PostgreSQL URL");
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut connection = PgConnection::connect_with(&admin)
            .await
            .expect("TEST_DATABASE_URL must point at a running PostgreSQL server");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut connection)
            .await
            .expect("the test user may create databases");
        let url = admin_url_with_database(&base, &name);
        Some(Self {
            url,
            admin,
            name,
            dropped: false,
        })
    }

    pub async fn drop_database(mut self) {
        drop_named(&self.admin, &self.name).await;
        self.dropped = true;
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // Drop cannot await and may run inside a runtime: drop the database from a thread of
        // its own with a runtime of its own.
        let admin = self.admin.clone();
        let name = std::mem::take(&mut self.name);
        let _ = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(drop_named(&admin, &name));
            }
        })
        .join();
    }
}

async fn drop_named(admin: &PgConnectOptions, name: &str) {
    if let Ok(mut connection) = PgConnection::connect_with(admin).await {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
        )))
        .execute(&mut connection)
        .await;
    }
}

/// `postgres://u@h:5432/x?opt` with its database replaced by `name`.
fn admin_url_with_database(base: &str, name: &str) -> String {
    let (without_query, query) = base
        .split_once('?')
        .map_or((base, None), |(a, q)| (a, Some(q)));
    let authority_start = without_query.find("://").map_or(0, |i| i + 3);
    let path_start = without_query[authority_start..]
        .find('/')
        .map_or(without_query.len(), |i| authority_start + i);
    let mut url = format!("{}/{name}", &without_query[..path_start]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scratch_database_left_without_cleanup_is_dropped_with_its_value() {
        let Some(scratch) = ScratchDatabase::create().await else {
            return; // SQLite only: nothing to drop.
        };
        let (admin, name) = (scratch.admin.clone(), scratch.name.clone());
        drop(scratch);
        let mut connection = PgConnection::connect_with(&admin).await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
            .bind(&name)
            .fetch_one(&mut connection)
            .await
            .unwrap();
        assert_eq!(left, 0, "{name} is still there");
    }

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            super::admin_url_with_database("postgres://postgres@127.0.0.1:5432/test", "t_1"),
            "postgres://postgres@127.0.0.1:5432/t_1"
        );
        assert_eq!(
            super::admin_url_with_database("postgres://postgres@localhost?sslmode=disable", "t_1"),
            "postgres://postgres@localhost/t_1?sslmode=disable"
        );
    }
}

/// A database for one test: always a SQLite file in a temporary directory, and in addition a
/// scratch PostgreSQL database when `TEST_DATABASE_URL` is set. Store tests run their scenario
/// once for each entry of [`TestDatabase::all`].
pub struct TestDatabase {
    /// `sqlite` or `postgres`, for assertion messages.
    pub backend: &'static str,
    pub config: crate::config::DatabaseConfig,
    scratch: Option<ScratchDatabase>,
    _dir: tempfile::TempDir,
}

impl TestDatabase {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config = crate::config::DatabaseConfig {
            url: None,
            data_dir: dir.path().to_owned(),
            max_connections: 5,
            ..crate::config::DatabaseConfig::default()
        };
        Self {
            backend: "sqlite",
            config,
            scratch: None,
            _dir: dir,
        }
    }

    pub async fn postgres() -> Option<Self> {
        let scratch = ScratchDatabase::create().await?;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config = crate::config::DatabaseConfig {
            url: Some(scratch.url.clone()),
            data_dir: dir.path().to_owned(),
            max_connections: 5,
            ..crate::config::DatabaseConfig::default()
        };
        Some(Self {
            backend: "postgres",
            config,
            scratch: Some(scratch),
            _dir: dir,
        })
    }

    /// SQLite, and PostgreSQL when `TEST_DATABASE_URL` is set. With `TEST_BACKENDS=postgres`
    /// as well, PostgreSQL alone: a second pass over the same tests (as CI runs them, after a
    /// pass on SQLite) then does not repeat the SQLite half.
    pub async fn all() -> Vec<Self> {
        let postgres = Self::postgres().await;
        let postgres_only = postgres.is_some()
            && std::env::var("TEST_BACKENDS").is_ok_and(|backends| backends == "postgres");
        let mut all = Vec::with_capacity(2);
        if !postgres_only {
            all.push(Self::sqlite());
        }
        all.extend(postgres);
        all
    }

    /// Drops the scratch PostgreSQL database (the SQLite directory goes with `self`).
    pub async fn cleanup(self) {
        if let Some(scratch) = self.scratch {
            scratch.drop_database().await;
        }
    }
}

/// Fails when the committed `openapi/<file_name>` differs from `document`; with
/// `UPDATE_OPENAPI=1` rewrites the file instead.
pub fn assert_openapi_current(document: &utoipa::openapi::OpenApi, file_name: &str) {
    let generated = format!("{}\n", crate::openapi::to_json(document, true));
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../openapi")
        .join(file_name);
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("openapi/ is writable");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/{file_name} differs from what the code generates. Regenerate it with \
         `UPDATE_OPENAPI=1 cargo test --workspace openapi` and commit the result."
    );
}

/// Log output captured in memory, for asserting what reaches the log.
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer lock")).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("log buffer lock")
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A subscriber writing every event at TRACE and above, as JSON lines, into `logs`.
pub fn capturing_subscriber(logs: &CapturedLogs) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .finish()
}

/// An HTTP client for tests (reqwest needs the process's crypto provider installed first).
pub fn http() -> reqwest::Client {
    crate::http_client::client(std::time::Duration::from_secs(30))
}
