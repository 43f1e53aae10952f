//! Appending many audit events at once (one row per patient of a request), on SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL: every event is stored, in order, with all its fields, and
//! inside a transaction they go or stay with it.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use common::audit::{
    AuditEvent, AuditLog, AuditOutcome, AuditQuery, AuditStore, AuditSubject, PgAuditStore,
    SqliteAuditStore,
};
use common::auth::{AuthMethod, Caller};
use common::db::ResponseTimeout;
use common::identity::{HsaId, PersonalIdentityNumber};
use common::permissions::Role;
use common::testing::TestDatabase;
use sqlx::migrate::Migrator;

static SQLITE: Migrator = sqlx::migrate!("migrations/security/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/security/postgres");

const PATIENTS: [&str; 3] = ["191212121212", "197010632391", "195012252010"];

fn by_caller(caller: &str) -> AuditQuery {
    AuditQuery {
        subject: AuditSubject::Caller(caller.to_owned()),
        from: None,
        to: None,
        after: None,
        limit: 100,
    }
}

fn events() -> Vec<AuditEvent> {
    let relayed = Caller {
        hsa_id: Some(HsaId::parse("SE1-SRC").unwrap()),
        method: AuthMethod::BearerToken,
        gateway: Some(HsaId::parse("SE1-GW").unwrap()),
    };
    PATIENTS
        .iter()
        .enumerate()
        .map(|(n, patient)| {
            let event = AuditEvent::new(&relayed, "Update", AuditOutcome::Success)
                .role(Role::SourceSystem)
                .patient(&PersonalIdentityNumber::parse(patient).unwrap())
                .resource(format!("domain-{n}"));
            if n == 1 {
                event.care_unit(&HsaId::parse("SE1-CU1").unwrap())
            } else {
                event
            }
        })
        .collect()
}

#[tokio::test]
async fn many_events_are_appended_in_order_with_every_field() {
    for database in TestDatabase::all().await {
        let store: Arc<dyn AuditStore> = if let Some(url) = &database.config.url {
            let pool = common::db::open_postgres(url, 5, &POSTGRES).await.unwrap();
            let mut tx = pool.begin().await.unwrap();
            common::audit::append_all_postgres(&mut tx, &events(), Utc::now())
                .await
                .unwrap();
            tx.rollback().await.unwrap();
            Arc::new(PgAuditStore::new(pool))
        } else {
            let path = database.config.data_dir.join("audit.sqlite");
            let pool = common::db::open_sqlite(&path, 5, &SQLITE).await.unwrap();
            let mut tx = pool.begin().await.unwrap();
            common::audit::append_all_sqlite(&mut tx, &events(), Utc::now())
                .await
                .unwrap();
            tx.rollback().await.unwrap();
            Arc::new(SqliteAuditStore::new(pool))
        };
        assert!(
            store.query(&by_caller("SE1-SRC")).await.unwrap().is_empty(),
            "{}: rolled back with the transaction",
            database.backend
        );

        let at = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
        store.append_all(&events(), at).await.unwrap();
        store.append_all(&[], at).await.unwrap();
        let log = AuditLog::new(Arc::clone(&store));
        log.record_all(&events()[..1]).await.unwrap();

        let rows = store.query(&by_caller("SE1-SRC")).await.unwrap();
        assert_eq!(rows.len(), 4, "{}", database.backend);
        assert!(rows.windows(2).all(|w| w[0].id < w[1].id));
        for (n, row) in rows[..3].iter().enumerate() {
            assert_eq!(row.at, at);
            assert_eq!(row.patient.as_ref().unwrap().as_str(), PATIENTS[n]);
            assert_eq!(
                row.resource.as_deref(),
                Some(format!("domain-{n}").as_str())
            );
            assert_eq!(row.gateway.as_deref(), Some("SE1-GW"));
            assert_eq!(row.auth_method, AuthMethod::BearerToken);
            assert_eq!(row.role, Some(Role::SourceSystem));
            assert_eq!(row.action, "Update");
            assert_eq!(row.outcome, AuditOutcome::Success);
            assert_eq!(row.correlation_id, None);
        }
        assert_eq!(rows[0].care_unit, None);
        assert_eq!(rows[1].care_unit.as_deref(), Some("SE1-CU1"));
        assert_eq!(rows[3].patient.as_ref().unwrap().as_str(), PATIENTS[0]);
        database.cleanup().await;
    }
}

/// The grouped audit log (rows of concurrent requests share a commit) stores every request's
/// rows exactly once, with the time each request was made, on both backends.
#[tokio::test]
async fn a_grouped_log_stores_every_concurrent_request_once() {
    for database in TestDatabase::all().await {
        let store: Arc<dyn AuditStore> = if let Some(url) = &database.config.url {
            let pool = common::db::open_postgres(url, 5, &POSTGRES).await.unwrap();
            Arc::new(PgAuditStore::new(pool))
        } else {
            let path = database.config.data_dir.join("audit.sqlite");
            let pool = common::db::open_sqlite(&path, 5, &SQLITE).await.unwrap();
            Arc::new(SqliteAuditStore::new(pool))
        };
        let log = AuditLog::grouped(Arc::clone(&store), ResponseTimeout::DEFAULT);
        let started = Utc::now();
        let requests: Vec<_> = (0..200)
            .map(|n| {
                let log = log.clone();
                tokio::spawn(async move {
                    let caller = Caller {
                        hsa_id: Some(HsaId::parse("SE1-READER").unwrap()),
                        method: AuthMethod::BearerToken,
                        gateway: None,
                    };
                    let event = AuditEvent::new(&caller, "FindContent", AuditOutcome::Success)
                        .patient(&PersonalIdentityNumber::parse(PATIENTS[n % 3]).unwrap())
                        .resource(format!("request-{n}"));
                    if n % 2 == 0 {
                        log.record(event).await
                    } else {
                        log.record_all(&[event.clone(), event.resource(format!("request-{n}b"))])
                            .await
                    }
                })
            })
            .collect();
        for request in requests {
            request.await.unwrap().unwrap();
        }
        let mut rows = Vec::new();
        let mut query = by_caller("SE1-READER");
        query.limit = 1000;
        rows.extend(store.query(&query).await.unwrap());
        let mut resources: Vec<String> = rows.iter().filter_map(|r| r.resource.clone()).collect();
        resources.sort();
        let mut expected: Vec<String> = (0..200)
            .flat_map(|n| {
                let one = format!("request-{n}");
                if n % 2 == 0 {
                    vec![one]
                } else {
                    vec![one, format!("request-{n}b")]
                }
            })
            .collect();
        expected.sort();
        assert_eq!(resources, expected, "{}", database.backend);
        assert!(
            rows.iter()
                .all(|r| r.at >= started - chrono::Duration::seconds(1) && r.at <= Utc::now()),
            "{}",
            database.backend
        );
        database.cleanup().await;
    }
}
