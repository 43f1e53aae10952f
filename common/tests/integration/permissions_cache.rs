//! Grants served from memory, on SQLite and (with `TEST_DATABASE_URL`) PostgreSQL: a change
//! through one service's `Permissions` is seen by its next check at once, and by another
//! process's (another pool and cache on the same database) within a few seconds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::auth::{AuthMethod, Caller};
use common::identity::HsaId;
use common::permissions::{
    DEFAULT_REFRESH, GrantSource, PermissionGrant, PermissionStore, Permissions, PgPermissionStore,
    Role, SqlitePermissionStore,
};
use common::testing::TestDatabase;
use sqlx::migrate::Migrator;

static SQLITE: Migrator = sqlx::migrate!("migrations/security/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/security/postgres");

/// One process's view: its own pool and its own cached `Permissions`.
async fn process(database: &TestDatabase) -> Permissions {
    let store: Arc<dyn PermissionStore> = if let Some(url) = &database.config.url {
        let pool = common::db::open_postgres(url, 2, &POSTGRES).await.unwrap();
        Arc::new(PgPermissionStore::new(pool))
    } else {
        let path = database.config.data_dir.join("security.sqlite");
        let pool = common::db::open_sqlite(&path, 2, &SQLITE).await.unwrap();
        Arc::new(SqlitePermissionStore::new(pool))
    };
    Permissions::with_enforcement(store, true)
}

fn reader() -> Caller {
    Caller::direct(HsaId::parse("SE1-READER").unwrap(), AuthMethod::MutualTls)
}

async fn may_read(permissions: &Permissions, domain: &str) -> bool {
    permissions
        .require(&reader(), Role::Reader, domain)
        .await
        .is_ok()
}

/// Checks `permissions` until it answers `expected`; how long that took.
async fn until(permissions: &Permissions, domain: &str, expected: bool) -> Duration {
    let started = Instant::now();
    while may_read(permissions, domain).await != expected {
        assert!(
            started.elapsed() < DEFAULT_REFRESH * 3,
            "still {} after {:?}",
            !expected,
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

#[tokio::test]
async fn a_grant_change_is_seen_at_once_here_and_within_seconds_elsewhere() {
    for database in TestDatabase::all().await {
        let here = process(&database).await;
        let elsewhere = process(&database).await;
        let grant = PermissionGrant::new(
            HsaId::parse("SE1-READER").unwrap(),
            Role::Reader,
            "riv:clinicalprocess:a",
        );
        // Both have read (and hold) the table without the grant.
        assert!(!may_read(&here, &grant.scope).await, "{}", database.backend);
        assert!(!may_read(&elsewhere, &grant.scope).await);

        here.store()
            .put(&grant, GrantSource::Admin, Utc::now())
            .await
            .unwrap();
        assert!(may_read(&here, &grant.scope).await, "{}", database.backend);
        assert!(!may_read(&here, "riv:clinicalprocess:b").await);
        let seen = until(&elsewhere, &grant.scope, true).await;
        assert!(seen <= DEFAULT_REFRESH * 2, "{seen:?}");

        // A revocation likewise: at once here, within seconds elsewhere.
        here.store().delete(&grant).await.unwrap();
        assert!(!may_read(&here, &grant.scope).await, "{}", database.backend);
        until(&elsewhere, &grant.scope, false).await;

        // The configuration's grants (declared at start) are changes through this process too.
        elsewhere
            .store()
            .declare(std::slice::from_ref(&grant), Utc::now())
            .await
            .unwrap();
        assert!(may_read(&elsewhere, &grant.scope).await);
        until(&here, &grant.scope, true).await;
        database.cleanup().await;
    }
}
