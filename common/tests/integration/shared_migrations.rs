//! The SQLite rewrites of the shared tables' times (Unix milliseconds to RFC 3339 text) keep
//! every row, and an unreadable stored time is an error. (The services apply these migrations
//! through `common::schema`.)

use chrono::{DateTime, Utc};
use common::audit::{
    AuditEvent, AuditOutcome, AuditQuery, AuditStore, AuditSubject, SqliteAuditStore,
};
use common::auth::{AuthMethod, Caller};
use common::delivery::{DeliveryStore, SqliteDeliveryStore};
use common::identity::{HsaId, PersonalIdentityNumber};
use common::permissions::{PermissionStore, SqlitePermissionStore};
use sqlx::migrate::{Migration, Migrator};
use sqlx::{Executor as _, SqlitePool};

/// Runs common's SQLite security migrations up to and including `last`.
async fn migrate_to(pool: &SqlitePool, last: i64) {
    let all = sqlx::migrate!("migrations/security/sqlite");
    let some: Vec<Migration> = all.iter().filter(|m| m.version <= last).cloned().collect();
    Migrator::with_migrations(some).run(pool).await.unwrap();
}

async fn scratch() -> (tempfile::TempDir, SqlitePool) {
    let dir = tempfile::tempdir().unwrap();
    let pool = common::db::open_sqlite(&dir.path().join("s.sqlite"), 1, &Migrator::DEFAULT)
        .await
        .unwrap();
    (dir, pool)
}

#[tokio::test]
async fn sqlite_times_written_as_milliseconds_read_back_after_the_rewrite() {
    let (_dir, pool) = scratch().await;
    migrate_to(&pool, 2).await;
    pool.execute(
        "INSERT INTO auth_permission VALUES ('SE2321000016-1000', 'admin', '*', 'config', 1772366400123);
         INSERT INTO audit_event (at, caller, auth_method, action, patient, outcome)
         VALUES (1772366400005, 'SE2321000016-1000', 'open', 'GetForm', '191212121212', 'success'),
                (1772366401999, 'SE2321000016-1000', 'open', 'GetForm', '191212121212', 'refused');",
    )
    .await
    .unwrap();
    migrate_to(&pool, i64::MAX).await;

    let permissions = SqlitePermissionStore::new(pool.clone());
    let listed = permissions.list(None).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].created_at, millis(1_772_366_400_123));

    let audit = SqliteAuditStore::new(pool.clone());
    let patient = PersonalIdentityNumber::parse("191212121212").unwrap();
    let query = |from, to| AuditQuery {
        subject: AuditSubject::Patient(patient.clone()),
        from,
        to,
        after: None,
        limit: 10,
    };
    let records = audit.query(&query(None, None)).await.unwrap();
    let times: Vec<DateTime<Utc>> = records.iter().map(|r| r.at).collect();
    assert_eq!(
        times,
        [millis(1_772_366_400_005), millis(1_772_366_401_999)]
    );
    // Comparing the text compares the times, the old rows and a new one alike.
    let caller = Caller::direct(HsaId::parse("SE2321000016-1000").unwrap(), AuthMethod::Open);
    let event = AuditEvent::new(&caller, "GetForm", AuditOutcome::Success).patient(&patient);
    let id = audit
        .append(&event, millis(1_772_366_401_000))
        .await
        .unwrap();
    assert_eq!(id, 3, "ids continue after the rebuilt table's");
    let between = audit
        .query(&query(
            Some(millis(1_772_366_400_006)),
            Some(millis(1_772_366_401_999)),
        ))
        .await
        .unwrap();
    assert_eq!(between.iter().map(|r| r.id).collect::<Vec<_>>(), [3]);

    // Still append-only.
    assert!(pool.execute("DELETE FROM audit_event").await.is_err());
    assert!(
        pool.execute("UPDATE audit_event SET caller = 'x'")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn an_unreadable_stored_time_is_an_error_not_1970() {
    let (_dir, pool) = scratch().await;
    migrate_to(&pool, 2).await;
    pool.execute(
        "INSERT INTO auth_permission VALUES ('SE2321000016-1000', 'admin', '*', 'config', 'soon')",
    )
    .await
    .unwrap();
    migrate_to(&pool, i64::MAX).await;
    let error = SqlitePermissionStore::new(pool)
        .list(Some(&HsaId::parse("SE2321000016-1000").unwrap()))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("soon"), "{error}");
}

fn millis(value: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(value).unwrap()
}

#[tokio::test]
async fn delivery_times_written_as_milliseconds_read_back_after_the_rewrite() {
    let (_dir, pool) = scratch().await;
    let all = sqlx::migrate!("migrations/delivery/sqlite");
    let first: Vec<Migration> = all.iter().filter(|m| m.version == 1).cloned().collect();
    Migrator::with_migrations(first).run(&pool).await.unwrap();
    pool.execute(
        "INSERT INTO delivery (destination, notification_id, payload, item_count, next_attempt_at, created_at)
         VALUES ('SE1-SUB', '2b1c5d1e-8a55-4f55-9a8e-2b8f0f6f4b01', '{}', 1, 1772366400123, 1772366400005)",
    )
    .await
    .unwrap();
    all.run(&pool).await.unwrap();

    let store = SqliteDeliveryStore::new(pool);
    let pulled = store.pull("SE1-SUB", 0, 10, millis(0)).await.unwrap();
    assert_eq!(pulled.len(), 1);
    assert_eq!(pulled[0].id, 1);
    assert_eq!(pulled[0].next_attempt_at, millis(1_772_366_400_123));
    assert_eq!(pulled[0].created_at, millis(1_772_366_400_005));
    assert!(
        store
            .due_destinations(millis(1_772_366_400_122))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .due_destinations(millis(1_772_366_400_123))
            .await
            .unwrap(),
        ["SE1-SUB"]
    );
}
