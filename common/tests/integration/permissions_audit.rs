//! The permission table and the audit log on SQLite and (with `TEST_DATABASE_URL`)
//! PostgreSQL: each caller reaches exactly its scopes, configuration and admin grants, the
//! admin routes, and the append-only audit log with its queries.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::FromRef;
use chrono::{Duration, TimeZone, Utc};
use common::audit::{
    AuditEvent, AuditLog, AuditOutcome, AuditQuery, AuditStore, AuditSubject, PgAuditStore,
    SqliteAuditStore,
};
use common::auth::{AuthMethod, Caller};
use common::identity::{HsaId, PersonalIdentityNumber};
use common::permissions::{
    AllowedScopes, GrantSource, PermissionGrant, PermissionStore, Permissions, PgPermissionStore,
    Removal, Role, SqlitePermissionStore,
};
use common::problem::Problem;
use common::testing::TestDatabase;
use http::{Request, StatusCode};
use serde_json::{Value, json};
use sqlx::migrate::Migrator;
use tower::ServiceExt as _;
use utoipa_axum::router::OpenApiRouter;

static SQLITE: Migrator = sqlx::migrate!("migrations/security/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/security/postgres");

const PATIENT: &str = "191212121212";
const OTHER_PATIENT: &str = "197010632391";

enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

struct Stores {
    pool: Pool,
    permissions: Arc<dyn PermissionStore>,
    audit: Arc<dyn AuditStore>,
}

async fn open(database: &TestDatabase) -> Stores {
    if let Some(url) = &database.config.url {
        let pool = common::db::open_postgres(url, 5, &POSTGRES).await.unwrap();
        return Stores {
            permissions: Arc::new(PgPermissionStore::new(pool.clone())),
            audit: Arc::new(PgAuditStore::new(pool.clone())),
            pool: Pool::Postgres(pool),
        };
    }
    let path = database.config.data_dir.join("security.sqlite");
    let pool = common::db::open_sqlite(&path, 5, &SQLITE).await.unwrap();
    Stores {
        permissions: Arc::new(SqlitePermissionStore::new(pool.clone())),
        audit: Arc::new(SqliteAuditStore::new(pool.clone())),
        pool: Pool::Sqlite(pool),
    }
}

fn hsa(value: &str) -> HsaId {
    HsaId::parse(value).unwrap()
}

fn pin(value: &str) -> PersonalIdentityNumber {
    PersonalIdentityNumber::parse(value).unwrap()
}

fn caller(value: &str) -> Caller {
    Caller::direct(hsa(value), AuthMethod::MutualTls)
}

fn grant(caller: &str, role: Role, scope: &str) -> PermissionGrant {
    PermissionGrant::new(hsa(caller), role, scope)
}

/// The deployment of the matrix: two care systems with their own care units, the
/// e-service, a source system, a reader and an admin.
fn declared() -> Vec<PermissionGrant> {
    vec![
        grant("SE1-CS1", Role::CareSystem, "SE1-CU1"),
        grant("SE1-CS1", Role::CareSystem, "SE1-CU2"),
        grant("SE1-CS2", Role::CareSystem, "SE1-CU3"),
        grant("SE1-ESERVICE", Role::Eservice, "*"),
        grant("SE1-SRC", Role::SourceSystem, "SE1-SRC"),
        grant("SE1-READER", Role::Reader, "*"),
        grant("SE1-ADMIN", Role::Admin, "*"),
    ]
}

#[tokio::test]
async fn each_caller_reaches_exactly_its_care_units_and_roles() {
    for database in TestDatabase::all().await {
        let stores = open(&database).await;
        let permissions = Permissions::with_enforcement(Arc::clone(&stores.permissions), true);
        permissions.declare(&declared()).await.unwrap();

        let callers = [
            "SE1-CS1",
            "SE1-CS2",
            "SE1-ESERVICE",
            "SE1-SRC",
            "SE1-READER",
            "SE1-ADMIN",
            "SE1-NOBODY",
        ];
        let units = ["SE1-CU1", "SE1-CU2", "SE1-CU3", "SE1-CU4"];
        for name in callers {
            for unit in units {
                let expected = matches!(
                    (name, unit),
                    ("SE1-CS1", "SE1-CU1" | "SE1-CU2") | ("SE1-CS2", "SE1-CU3")
                );
                let result = permissions
                    .require(&caller(name), Role::CareSystem, unit)
                    .await
                    .map_err(Problem::from);
                assert_eq!(
                    result.is_ok(),
                    expected,
                    "{} {name} {unit}",
                    database.backend
                );
                if let Err(problem) = result {
                    assert_eq!(problem.status, 403);
                    assert_eq!(problem.code, "FORBIDDEN_CARE_UNIT");
                    assert!(problem.detail.contains(name) && problem.detail.contains(unit));
                }
            }
            let roles = [
                (Role::Eservice, "SE1-CU1", name == "SE1-ESERVICE"),
                (Role::SourceSystem, "SE1-SRC", name == "SE1-SRC"),
                (Role::SourceSystem, "SE1-OTHER-SRC", false),
                (
                    Role::Reader,
                    "riv:itintegration:engagementindex",
                    name == "SE1-READER",
                ),
                (Role::Admin, "*", name == "SE1-ADMIN"),
            ];
            for (role, scope, expected) in roles {
                let result = permissions
                    .require(&caller(name), role, scope)
                    .await
                    .map_err(Problem::from);
                assert_eq!(
                    result.is_ok(),
                    expected,
                    "{} {name} {role} {scope}",
                    database.backend
                );
                if let Err(problem) = result {
                    assert_eq!(problem.code, role.refusal_code());
                }
            }
        }

        // Lists are filtered to the allowed scopes.
        assert_eq!(
            permissions
                .allowed_scopes(&caller("SE1-CS1"), Role::CareSystem)
                .await
                .unwrap(),
            AllowedScopes::Only(["SE1-CU1".to_owned(), "SE1-CU2".to_owned()].into())
        );
        assert_eq!(
            permissions
                .allowed_scopes(&caller("SE1-ESERVICE"), Role::Eservice)
                .await
                .unwrap(),
            AllowedScopes::All
        );
        assert_eq!(
            permissions
                .allowed_scopes(&caller("SE1-NOBODY"), Role::CareSystem)
                .await
                .unwrap(),
            AllowedScopes::Only(std::collections::BTreeSet::new())
        );

        // Through a gateway, the consumer's grants count, not the gateway's.
        let relayed = Caller {
            hsa_id: Some(hsa("SE1-CS2")),
            method: AuthMethod::MutualTls,
            gateway: Some(hsa("SE1-CS1")),
        };
        assert!(
            permissions
                .require(&relayed, Role::CareSystem, "SE1-CU3")
                .await
                .is_ok()
        );
        assert!(
            permissions
                .require(&relayed, Role::CareSystem, "SE1-CU1")
                .await
                .is_err()
        );

        // A check for the e-service or a reader may pass either role.
        assert_eq!(
            permissions
                .require_any(
                    &caller("SE1-ESERVICE"),
                    &[Role::CareSystem, Role::Eservice],
                    "SE1-CU1"
                )
                .await
                .unwrap(),
            Role::Eservice
        );

        // Anonymous callers cannot pass an enforced check; open mode lets everything pass.
        let anonymous = Problem::from(
            permissions
                .require(&Caller::anonymous(), Role::CareSystem, "SE1-CU1")
                .await
                .unwrap_err(),
        );
        assert_eq!(anonymous.status, 401);
        let open = Permissions::with_enforcement(Arc::clone(&stores.permissions), false);
        assert!(
            open.require(&Caller::anonymous(), Role::Admin, "*")
                .await
                .is_ok()
        );
        assert!(
            open.require(&caller("SE1-NOBODY"), Role::CareSystem, "SE1-CU4")
                .await
                .is_ok()
        );
        database.cleanup().await;
    }
}

#[tokio::test]
async fn configuration_grants_are_declared_and_admin_grants_are_kept() {
    for database in TestDatabase::all().await {
        let stores = open(&database).await;
        let store = &stores.permissions;
        let now = Utc::now();
        store.declare(&declared(), now).await.unwrap();
        assert!(
            store
                .put(
                    &grant("SE1-CS9", Role::CareSystem, "SE1-CU9"),
                    GrantSource::Admin,
                    now
                )
                .await
                .unwrap()
        );
        assert!(
            !store
                .put(
                    &grant("SE1-CS1", Role::CareSystem, "SE1-CU1"),
                    GrantSource::Admin,
                    now
                )
                .await
                .unwrap(),
            "an existing grant is not created again"
        );

        // A new configuration without CS2: its grant goes, the admin grant stays.
        let mut fewer = declared();
        fewer.retain(|g| g.caller.as_str() != "SE1-CS2");
        store.declare(&fewer, now).await.unwrap();
        store.declare(&fewer, now).await.unwrap(); // idempotent
        let all = store.list(None).await.unwrap();
        assert_eq!(all.len(), fewer.len() + 1, "{}: {all:?}", database.backend);
        assert!(all.iter().all(|p| p.caller != "SE1-CS2"));
        let admin_made = all.iter().find(|p| p.caller == "SE1-CS9").unwrap();
        assert_eq!(admin_made.source, GrantSource::Admin);
        assert_eq!(
            store.list(Some(&hsa("SE1-CS1"))).await.unwrap().len(),
            2,
            "the list can be narrowed to one caller"
        );

        assert_eq!(
            store
                .delete(&grant("SE1-CS1", Role::CareSystem, "SE1-CU1"))
                .await
                .unwrap(),
            Removal::FromConfig
        );
        assert_eq!(
            store
                .delete(&grant("SE1-CS9", Role::CareSystem, "SE1-CU9"))
                .await
                .unwrap(),
            Removal::Removed
        );
        assert_eq!(
            store
                .delete(&grant("SE1-CS9", Role::CareSystem, "SE1-CU9"))
                .await
                .unwrap(),
            Removal::NotFound
        );
        database.cleanup().await;
    }
}

#[derive(Clone, FromRef)]
struct AdminState {
    permissions: Permissions,
    audit: AuditLog,
}

fn admin_router(stores: &Stores) -> (Router, utoipa::openapi::OpenApi) {
    let state = AdminState {
        permissions: Permissions::with_enforcement(Arc::clone(&stores.permissions), true),
        audit: AuditLog::new(Arc::clone(&stores.audit)),
    };
    OpenApiRouter::new()
        .merge(common::permissions::admin_routes())
        .merge(common::audit::admin_routes())
        .with_state(state)
        .split_for_parts()
}

/// Sends a request as `caller` (the extension `Authenticator::protect` would set).
async fn send(
    router: &Router,
    caller: &str,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let mut request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    request.extensions_mut().insert(self::caller(caller));
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, body)
}

#[tokio::test]
async fn admin_routes_list_grant_and_revoke_for_admins_only() {
    for database in TestDatabase::all().await {
        let stores = open(&database).await;
        stores
            .permissions
            .declare(&declared(), Utc::now())
            .await
            .unwrap();
        let (router, openapi) = admin_router(&stores);
        let paths: Vec<&String> = openapi.paths.paths.keys().collect();
        for path in [
            "/admin/permissions",
            "/admin/permissions/{caller}/{role}/{scope}",
            "/admin/audit/by-patient",
            "/admin/audit/by-caller/{hsaId}",
        ] {
            assert!(
                openapi.paths.paths.contains_key(path),
                "{path} in {paths:?}"
            );
        }

        let (status, body) = send(&router, "SE1-CS1", "GET", "/admin/permissions", None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["code"], "FORBIDDEN_ADMIN");

        let (status, body) = send(&router, "SE1-ADMIN", "GET", "/admin/permissions", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body["permissions"].as_array().unwrap().len(),
            declared().len()
        );

        let uri = "/admin/permissions/SE1-CS2/care_system/SE1-CU9";
        let (status, body) = send(&router, "SE1-ADMIN", "PUT", uri, None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["source"], "admin");
        assert_eq!(body["scope"], "SE1-CU9");
        let (status, _) = send(&router, "SE1-ADMIN", "PUT", uri, None).await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = send(
            &router,
            "SE1-ADMIN",
            "GET",
            "/admin/permissions?caller=SE1-CS2",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["permissions"].as_array().unwrap().len(), 2);

        let (status, body) = send(
            &router,
            "SE1-ADMIN",
            "PUT",
            "/admin/permissions/SE1-CS2/owner/x",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "INVALID_PERMISSION");
        let (status, _) = send(
            &router,
            "SE1-ADMIN",
            "PUT",
            &format!("/admin/permissions/SE1-CS2/care_system/{PATIENT}"),
            None,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "an identity number is no scope"
        );
        let (status, _) = send(&router, "SE1-CS1", "PUT", uri, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        let (status, _) = send(&router, "SE1-ADMIN", "DELETE", uri, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) = send(&router, "SE1-ADMIN", "DELETE", uri, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["code"], "PERMISSION_NOT_FOUND");
        let (status, body) = send(
            &router,
            "SE1-ADMIN",
            "DELETE",
            "/admin/permissions/SE1-CS1/care_system/SE1-CU1",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["code"], "PERMISSION_FROM_CONFIG");
        database.cleanup().await;
    }
}

fn event(caller_name: &str, action: &str, patient: &str, unit: &str) -> AuditEvent {
    AuditEvent::new(&caller(caller_name), action, AuditOutcome::Success)
        .role(Role::CareSystem)
        .patient(&pin(patient))
        .care_unit(&hsa(unit))
        .resource("form-1")
}

#[tokio::test]
async fn the_audit_log_appends_and_answers_by_patient_and_by_caller() {
    for database in TestDatabase::all().await {
        let stores = open(&database).await;
        let audit = &stores.audit;
        let start = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
        for minute in 0..5 {
            audit
                .append(
                    &event("SE1-CS1", "GetForm", PATIENT, "SE1-CU1"),
                    start + Duration::minutes(minute),
                )
                .await
                .unwrap();
        }
        audit
            .append(
                &event("SE1-CS2", "GetForms", OTHER_PATIENT, "SE1-CU3")
                    .outcome(AuditOutcome::Refused),
                start,
            )
            .await
            .unwrap();
        let relayed = Caller {
            hsa_id: Some(hsa("SE1-CS2")),
            method: AuthMethod::BearerToken,
            gateway: Some(hsa("SE1-GW")),
        };
        let id = common::correlation::scope(
            common::correlation::CorrelationId::from_header(&http::HeaderValue::from_static(
                "corr-77",
            ))
            .unwrap(),
            async {
                audit
                    .append(
                        &AuditEvent::new(&relayed, "CancelForm", AuditOutcome::NotFound)
                            .patient(&pin(PATIENT)),
                        start + Duration::minutes(10),
                    )
                    .await
            },
        )
        .await
        .unwrap();

        let by_patient = |from, to, after, limit| AuditQuery {
            subject: AuditSubject::Patient(pin(PATIENT)),
            from,
            to,
            after,
            limit,
        };
        let all = audit
            .query(&by_patient(None, None, None, 100))
            .await
            .unwrap();
        assert_eq!(all.len(), 6, "{}", database.backend);
        assert!(all.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
        assert!(
            all.iter()
                .all(|e| e.patient.as_ref().unwrap().as_str() == PATIENT)
        );
        let last = all.last().unwrap();
        assert_eq!(last.id, id);
        assert_eq!(last.caller, "SE1-CS2");
        assert_eq!(last.gateway.as_deref(), Some("SE1-GW"));
        assert_eq!(last.auth_method, AuthMethod::BearerToken);
        assert_eq!(last.outcome, AuditOutcome::NotFound);
        assert_eq!(last.correlation_id.as_deref(), Some("corr-77"));
        assert_eq!(last.at, start + Duration::minutes(10));
        let first = &all[0];
        assert_eq!(first.action, "GetForm");
        assert_eq!(first.care_unit.as_deref(), Some("SE1-CU1"));
        assert_eq!(first.role, Some(Role::CareSystem));
        assert_eq!(first.resource.as_deref(), Some("form-1"));

        // Time range: [from, to).
        let window = audit
            .query(&by_patient(
                Some(start + Duration::minutes(1)),
                Some(start + Duration::minutes(3)),
                None,
                100,
            ))
            .await
            .unwrap();
        assert_eq!(window.len(), 2);
        // Paging with `after`.
        let page_one = audit.query(&by_patient(None, None, None, 4)).await.unwrap();
        let page_two = audit
            .query(&by_patient(None, None, Some(page_one[3].id), 4))
            .await
            .unwrap();
        assert_eq!(page_one.len() + page_two.len(), 6);
        assert!(page_two[0].id > page_one[3].id);

        let by_caller = audit
            .query(&AuditQuery {
                subject: AuditSubject::Caller("SE1-CS2".to_owned()),
                from: None,
                to: None,
                after: None,
                limit: 100,
            })
            .await
            .unwrap();
        assert_eq!(by_caller.len(), 2);
        assert_eq!(
            by_caller[0].patient.as_ref().unwrap().as_str(),
            OTHER_PATIENT
        );
        assert_eq!(by_caller[0].outcome, AuditOutcome::Refused);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn an_audit_row_written_in_a_transaction_goes_with_it() {
    for database in TestDatabase::all().await {
        let stores = open(&database).await;
        let at = Utc::now();
        let kept = event("SE1-CS1", "SaveFormPage", PATIENT, "SE1-CU1");
        let dropped = event("SE1-CS1", "CreateForm", PATIENT, "SE1-CU1");
        match &stores.pool {
            Pool::Sqlite(pool) => {
                let mut tx = pool.begin().await.unwrap();
                common::audit::append_sqlite(&mut tx, &dropped, at)
                    .await
                    .unwrap();
                tx.rollback().await.unwrap();
                let mut tx = pool.begin().await.unwrap();
                common::audit::append_sqlite(&mut tx, &kept, at)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await.unwrap();
                common::audit::append_postgres(&mut tx, &dropped, at)
                    .await
                    .unwrap();
                tx.rollback().await.unwrap();
                let mut tx = pool.begin().await.unwrap();
                common::audit::append_postgres(&mut tx, &kept, at)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        }
        let rows = stores
            .audit
            .query(&AuditQuery {
                subject: AuditSubject::Patient(pin(PATIENT)),
                from: None,
                to: None,
                after: None,
                limit: 10,
            })
            .await
            .unwrap();
        let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["SaveFormPage"], "{}", database.backend);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn the_audit_log_refuses_update_and_delete() {
    for database in TestDatabase::all().await {
        let stores = open(&database).await;
        stores
            .audit
            .append(&event("SE1-CS1", "GetForm", PATIENT, "SE1-CU1"), Utc::now())
            .await
            .unwrap();
        let attempts = [
            "UPDATE audit_event SET patient = '197010632391'",
            "UPDATE audit_event SET outcome = 'refused'",
            "DELETE FROM audit_event",
        ];
        for sql in attempts {
            let refused = match &stores.pool {
                Pool::Sqlite(pool) => sqlx::query(sql).execute(pool).await.err(),
                Pool::Postgres(pool) => sqlx::query(sql).execute(pool).await.err(),
            };
            let error =
                refused.unwrap_or_else(|| panic!("{}: `{sql}` must fail", database.backend));
            assert!(
                error.to_string().contains("append-only"),
                "{}: {error}",
                database.backend
            );
        }
        if let Pool::Postgres(pool) = &stores.pool {
            let error = sqlx::query("TRUNCATE audit_event")
                .execute(pool)
                .await
                .unwrap_err();
            assert!(error.to_string().contains("append-only"), "{error}");
        }
        let rows = stores
            .audit
            .query(&AuditQuery {
                subject: AuditSubject::Patient(pin(PATIENT)),
                from: None,
                to: None,
                after: None,
                limit: 10,
            })
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].outcome, AuditOutcome::Success);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn audit_admin_routes_answer_admins_and_record_queries_by_patient() {
    for database in TestDatabase::all().await {
        let stores = open(&database).await;
        stores
            .permissions
            .declare(&declared(), Utc::now())
            .await
            .unwrap();
        let start = Utc::now() - Duration::hours(1);
        for minute in 0..3 {
            stores
                .audit
                .append(
                    &event("SE1-CS1", "GetForm", PATIENT, "SE1-CU1"),
                    start + Duration::minutes(minute),
                )
                .await
                .unwrap();
        }
        let (router, _) = admin_router(&stores);

        let (status, body) = send(
            &router,
            "SE1-CS1",
            "POST",
            "/admin/audit/by-patient",
            Some(json!({"patient": PATIENT})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["code"], "FORBIDDEN_ADMIN");

        let (status, body) = send(
            &router,
            "SE1-ADMIN",
            "POST",
            "/admin/audit/by-patient",
            Some(json!({"patient": PATIENT, "limit": 2})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let events = body["events"].as_array().unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0]["patient"], PATIENT);
        assert_eq!(events[0]["action"], "GetForm");
        let next = body["nextAfter"].as_i64().expect("more pages");

        let (_, body) = send(
            &router,
            "SE1-ADMIN",
            "POST",
            "/admin/audit/by-patient",
            Some(json!({"patient": PATIENT, "after": next, "limit": 100})),
        )
        .await;
        let rest: Vec<&str> = body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        // The third read, then the refused and the first admin query: both recorded.
        assert_eq!(
            rest,
            ["GetForm", "AuditQueryByPatient", "AuditQueryByPatient"],
            "{}",
            database.backend
        );
        assert_eq!(body["events"][1]["outcome"], "refused");
        assert_eq!(body["events"][1]["caller"], "SE1-CS1");
        assert_eq!(body["events"][2]["outcome"], "success");
        assert!(body.get("nextAfter").is_none());

        let (status, body) = send(
            &router,
            "SE1-ADMIN",
            "POST",
            "/admin/audit/by-patient",
            Some(json!({"patient": "1912"})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

        let from =
            (start + Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let (status, body) = send(
            &router,
            "SE1-ADMIN",
            "GET",
            &format!("/admin/audit/by-caller/SE1-CS1?from={from}&limit=10"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let actions: Vec<&str> = body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["GetForm", "GetForm", "AuditQueryByPatient"]);

        let (status, body) = send(
            &router,
            "SE1-ADMIN",
            "GET",
            "/admin/audit/by-caller/SE1-CS1?from=yesterday",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "INVALID_REQUEST");
        let (status, _) = send(
            &router,
            "SE1-CS2",
            "GET",
            "/admin/audit/by-caller/SE1-CS1",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        database.cleanup().await;
    }
}
