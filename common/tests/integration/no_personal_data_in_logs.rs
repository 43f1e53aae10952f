//! Nothing the security code logs holds a token or a personal identity number, while its
//! refusals are logged. The capturing subscriber is this test's thread's default (a
//! current-thread runtime), so the log holds this test's events alone, whatever runs beside it.

use crate::support;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use common::audit::{AuditEvent, AuditLog, AuditOutcome, AuditStore, SqliteAuditStore};
use common::auth::{AuthConfig, AuthMethod, Authenticator, Caller};
use common::identity::{HsaId, PersonalIdentityNumber};
use common::permissions::{
    PermissionGrant, PermissionStore, Permissions, Role, SqlitePermissionStore,
};
use common::problem::Problem;
use common::rate_limit::RateLimitConfig;
use common::testing::{CapturedLogs, TestDatabase, capturing_subscriber};
use http::StatusCode;
use serde_json::json;
use sqlx::migrate::Migrator;
use support::*;
use tower::ServiceExt as _;

static SQLITE: Migrator = sqlx::migrate!("migrations/security/sqlite");

const PATIENT: &str = "191212121212";

#[tokio::test]
async fn refusals_are_logged_without_tokens_or_identity_numbers() {
    let logs = CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(capturing_subscriber(&logs));

    // Bearer tokens refused for every reason.
    let ec = SigningKey::ec("ec-1");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwks.json");
    std::fs::write(&file, jwks(&[&ec])).unwrap();
    let authenticator = authenticator(jwt_config(Some(file), None), &[]).await;
    let tokens = [
        ec.sign(&with(claims(), "exp", json!(now() - 600))),
        ec.sign(&with(claims(), "aud", json!("x"))),
        SigningKey::ec("unknown").sign(&claims()),
        unsigned(&claims()),
        ec.sign(&with(claims(), "hsa_id", json!(PATIENT))),
    ];
    for token in &tokens {
        let (status, _, _) = call(&authenticator, Some(token), None).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "a personal number is no caller either"
        );
    }

    // A permission refusal for a patient's care unit, and a scope that is a personal number.
    let database = TestDatabase::sqlite();
    let pool = common::db::open_sqlite(&database.config.data_dir.join("s.sqlite"), 2, &SQLITE)
        .await
        .unwrap();
    let store: Arc<dyn PermissionStore> = Arc::new(SqlitePermissionStore::new(pool.clone()));
    let permissions = Permissions::with_enforcement(store, true);
    permissions
        .declare(&[PermissionGrant::new(
            HsaId::parse("SE1-CS1").unwrap(),
            Role::CareSystem,
            "SE1-CU1",
        )])
        .await
        .unwrap();
    let caller = Caller::direct(HsaId::parse("SE1-CS1").unwrap(), AuthMethod::MutualTls);
    let refused = Problem::from(
        permissions
            .require(&caller, Role::CareSystem, PATIENT)
            .await
            .unwrap_err(),
    );
    assert!(!refused.detail.contains(PATIENT), "{}", refused.detail);

    // An audit row with the full number: stored, and its Debug form masked.
    let audit_store: Arc<dyn AuditStore> = Arc::new(SqliteAuditStore::new(pool));
    let audit = AuditLog::new(audit_store);
    let event = AuditEvent::new(&caller, "GetForm", AuditOutcome::Success)
        .patient(&PersonalIdentityNumber::parse(PATIENT).unwrap());
    tracing::info!(?event, "debug form of an audit event");
    audit.record(event).await.unwrap();

    // The rate limiter's refusal.
    let limited = Authenticator::from_config(&AuthConfig {
        rate_limit: RateLimitConfig {
            enabled: true,
            requests_per_second: 1,
            burst: 1,
        },
        ..AuthConfig::default()
    })
    .await
    .unwrap();
    let router = limited.protect(Router::new().route("/x", get(|| async { "x" })));
    for _ in 0..2 {
        let request = http::Request::get("/x")
            .header("x-rivta-original-serviceconsumer-hsaid", "SE1-CS1")
            .body(axum::body::Body::empty())
            .unwrap();
        router.clone().oneshot(request).await.unwrap();
    }

    let text = logs.text();
    for expected in [
        "bearer token refused",
        "access refused",
        "rate limited",
        "19121212****",
    ] {
        assert!(text.contains(expected), "`{expected}` is logged: {text}");
    }
    assert!(
        !text.contains(PATIENT),
        "an identity number reached the log: {text}"
    );
    for token in &tokens {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!text.contains(token.as_str()), "a token reached the log");
        assert!(
            signature.is_empty() || !text.contains(signature),
            "a token signature reached the log"
        );
    }
    database.cleanup().await;
}
