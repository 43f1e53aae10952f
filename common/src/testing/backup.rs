//! Copies of a service's database made as an operator backs it up (README, "Backing up and
//! restoring"): `pg_dump` and `pg_restore` into a new scratch database on PostgreSQL, an online
//! `VACUUM INTO` (what `sqlite3 FILE ".backup COPY"` gives) on SQLite, both while the service
//! runs.

use std::process::Command;

use super::TestDatabase;
use crate::db::DatabaseTarget;

/// A copy of `original` (the service's file is `file_name` on SQLite) in a new test database,
/// or `None` on PostgreSQL without `pg_dump` outside CI (the caller says what it skips).
pub async fn copy_database(original: &TestDatabase, file_name: &str) -> Option<TestDatabase> {
    match DatabaseTarget::from_config(&original.config, file_name).expect("a database target") {
        DatabaseTarget::Sqlite(file) => {
            let copy = TestDatabase::sqlite();
            let into = copy.config.data_dir.join(file_name);
            // A connection of its own beside the running service, as the sqlite3 shell's.
            let pool = sqlx::SqlitePool::connect_with(
                sqlx::sqlite::SqliteConnectOptions::new().filename(&file),
            )
            .await
            .expect("the service's SQLite file opens");
            sqlx::query("VACUUM INTO ?")
                .bind(into.to_str().expect("a UTF-8 path"))
                .execute(&pool)
                .await
                .expect("VACUUM INTO copies the file");
            pool.close().await;
            Some(copy)
        }
        DatabaseTarget::Postgres(url) => {
            if Command::new("pg_dump").arg("--version").output().is_err() {
                assert!(
                    std::env::var("CI").is_err(),
                    "pg_dump is not installed (Debian: postgresql-client)"
                );
                return None;
            }
            let dir = tempfile::tempdir().expect("a temporary directory");
            let dump = dir.path().join("dump");
            run(Command::new("pg_dump")
                .args(["--format=custom", "--no-owner", "--file"])
                .arg(&dump)
                .arg(&url));
            let copy = TestDatabase::postgres()
                .await
                .expect("a second scratch database");
            let into = copy.config.url.clone().expect("a PostgreSQL URL");
            run(Command::new("pg_restore")
                .args(["--exit-on-error", "--no-owner", "--dbname"])
                .arg(&into)
                .arg(&dump));
            Some(copy)
        }
    }
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
