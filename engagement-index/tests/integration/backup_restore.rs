//! Backing up and restoring the index, as an operator would (README, "Backing up and
//! restoring"): on PostgreSQL with `pg_dump` and `pg_restore`, on SQLite with an online copy
//! (`VACUUM INTO`, what `sqlite3 FILE ".backup COPY"` also gives) taken while the index runs.
//! An index started on the copy finds what was stored, keeps the audit log of the reads
//! before, accepts new Updates (ids and sequences go on from the copy's) and runs its
//! retention, monthly partitions included.

use std::process::Command;

use common::retention::{RetentionConfig, RetentionJob};
use common::testing::TestDatabase;
use serde_json::json;

use crate::index_support::{TestIndex, config, engagement, resident, save};

/// What the original index stores and reads before the backup.
async fn store_and_read(index: &TestIndex) -> Vec<serde_json::Value> {
    index
        .update(&[save(&engagement(1)), save(&engagement(5))])
        .await
        .assert_ok();
    let found = index.find(&resident(1), "TEST-DOMAIN-2", json!({})).await;
    assert_eq!(found.len(), 1, "{}: {found:?}", index.backend);
    found
}

/// Checks an index started on the copy.
async fn check_restored(restored: &TestDatabase, found_before: &[serde_json::Value]) {
    let backend = restored.backend;
    let index = TestIndex::start(config(restored), backend).await;
    assert_eq!(
        index.find(&resident(1), "TEST-DOMAIN-2", json!({})).await,
        found_before,
        "{backend}: the restored index finds what was stored"
    );
    let reads = index.audited("FindContent").await;
    assert_eq!(
        reads.get(&resident(1)),
        Some(&2),
        "{backend}: the read before the backup and the one after are in the audit log: {reads:?}"
    );
    index.update(&[save(&engagement(9))]).await.assert_ok();
    assert_eq!(index.stored_count().await, 3, "{backend}");
    let stores = engagement_index::store::open(&restored.config)
        .await
        .unwrap();
    RetentionJob::new(
        "engagement-index",
        RetentionConfig::default(),
        stores.retention,
    )
    .run_once()
    .await
    .unwrap_or_else(|error| panic!("{backend}: retention on the restored database: {error}"));
}

fn run(command: &mut Command) {
    let output = command.output().unwrap_or_else(|error| {
        panic!("cannot run {command:?}: {error}");
    });
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn a_copy_made_with_pg_dump_and_pg_restore_serves_what_was_stored() {
    let Some(original) = TestDatabase::postgres().await else {
        eprintln!("note: TEST_DATABASE_URL is unset; pg_dump and pg_restore are not tested");
        return;
    };
    if Command::new("pg_dump").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").is_err(),
            "pg_dump is not installed (Debian: postgresql-client)"
        );
        eprintln!("note: no pg_dump; a dump and restore is not tested");
        return;
    }
    let index = TestIndex::start(config(&original), "postgres").await;
    let found = store_and_read(&index).await;
    let dump = tempfile::tempdir().unwrap();
    let file = dump.path().join("engagement-index.dump");
    let url = |database: &TestDatabase| database.config.url.clone().unwrap();
    // While the index runs: pg_dump reads one consistent snapshot.
    run(Command::new("pg_dump")
        .args(["--format=custom", "--no-owner", "--file"])
        .arg(&file)
        .arg(url(&original)));
    let restored = TestDatabase::postgres().await.unwrap();
    run(Command::new("pg_restore")
        .args(["--exit-on-error", "--no-owner", "--dbname"])
        .arg(url(&restored))
        .arg(&file));
    check_restored(&restored, &found).await;
    original.cleanup().await;
    restored.cleanup().await;
}

#[tokio::test]
async fn an_online_copy_of_the_sqlite_file_serves_what_was_stored() {
    let original = TestDatabase::sqlite();
    let index = TestIndex::start(config(&original), "sqlite").await;
    let found = store_and_read(&index).await;
    let restored = TestDatabase::sqlite();
    let copy = restored.config.data_dir.join("engagement-index.sqlite");
    // A connection of its own, as the sqlite3 shell's would be, beside the running index.
    let file = original.config.data_dir.join("engagement-index.sqlite");
    let pool =
        sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&file))
            .await
            .unwrap();
    sqlx::query("VACUUM INTO ?")
        .bind(copy.to_str().unwrap())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    check_restored(&restored, &found).await;
}
