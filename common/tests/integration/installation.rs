//! The installation through HTTP, on SQLite and (with `TEST_DATABASE_URL`) PostgreSQL: a
//! sample service in the shared skeleton with the installation mounted, a clock the test moves,
//! and a sample migration endpoint that takes the reusable `MigrationClient` extractor.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::audit::{
    AuditLog, AuditQuery, AuditStore, AuditSubject, PgAuditStore, SqliteAuditStore,
};
use common::auth::Authenticator;
use common::config::HttpConfig;
use common::identity::HsaId;
use common::installation::{
    Clock, Installation, InstallationConfig, InstallationMode, InstallationStore, MigrationClient,
    PgInstallationStore, SqliteInstallationStore,
};
use common::permissions::{
    GrantSource, PermissionGrant, PermissionStore, Permissions, PgPermissionStore, Role,
    SqlitePermissionStore,
};
use common::problem::Problem;
use common::server::ServiceDescription;
use common::shutdown::Shutdown;
use common::testing::TestDatabase;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use sqlx::migrate::Migrator;

static SQLITE: Migrator = sqlx::migrate!("migrations/security/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/security/postgres");

const ADMIN: &str = "SE2321000016-ADM1";
const OTHER: &str = "SE2321000016-CS01";
const CONSUMER: &str = "x-rivta-original-serviceconsumer-hsaid";

struct Stores {
    permissions: Arc<dyn PermissionStore>,
    audit: Arc<dyn AuditStore>,
    installation: Arc<dyn InstallationStore>,
}

async fn open(database: &TestDatabase) -> Stores {
    if let Some(url) = &database.config.url {
        let pool = common::db::open_postgres(url, 5, &POSTGRES).await.unwrap();
        sqlx::raw_sql(include_str!(
            "../../migrations/installation/postgres/0001_installation.sql"
        ))
        .execute(&pool)
        .await
        .unwrap();
        return Stores {
            permissions: Arc::new(PgPermissionStore::new(pool.clone())),
            audit: Arc::new(PgAuditStore::new(pool.clone())),
            installation: Arc::new(PgInstallationStore::new(pool)),
        };
    }
    let path = database.config.data_dir.join("installation.sqlite");
    let pool = common::db::open_sqlite(&path, 5, &SQLITE).await.unwrap();
    sqlx::raw_sql(include_str!(
        "../../migrations/installation/sqlite/0001_installation.sql"
    ))
    .execute(&pool)
    .await
    .unwrap();
    Stores {
        permissions: Arc::new(SqlitePermissionStore::new(pool.clone())),
        audit: Arc::new(SqliteAuditStore::new(pool.clone())),
        installation: Arc::new(SqliteInstallationStore::new(pool)),
    }
}

/// A clock the test sets.
#[derive(Clone)]
struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(
            Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
        )))
    }

    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }

    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }

    fn clock(&self) -> Clock {
        let clock = self.clone();
        Arc::new(move || clock.now())
    }
}

fn staging() -> InstallationConfig {
    InstallationConfig {
        initial_mode: InstallationMode::Staging,
        retry_after_secs: 120,
        ..InstallationConfig::default()
    }
}

/// The sample migration endpoint: what `/migration/v1/...` endpoints of the services do with
/// the extractor (here: count what arrives).
async fn take_samples(
    client: MigrationClient,
    axum::Json(samples): axum::Json<Vec<Value>>,
) -> Result<axum::Json<Value>, Problem> {
    let accepted = i64::try_from(samples.len()).unwrap();
    client.record_progress("samples", accepted, 1).await?;
    Ok(axum::Json(
        json!({"accepted": accepted, "keyId": client.key_id}),
    ))
}

struct Sample {
    base: String,
    installation: Installation,
    stores: Stores,
    _shutdown: ShutdownOnDrop,
}

struct ShutdownOnDrop(Shutdown);

impl Drop for ShutdownOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// The sample service: one contract (`POST /sample/v1/Do`), admin grants enforced (ADMIN holds
/// `admin`), callers named by the consumer header (open authentication).
async fn start(database: &TestDatabase, config: &InstallationConfig, clock: &TestClock) -> Sample {
    let stores = open(database).await;
    stores
        .permissions
        .put(
            &PermissionGrant::new(HsaId::parse(ADMIN).unwrap(), Role::Admin, "*"),
            GrantSource::Config,
            Utc::now(),
        )
        .await
        .unwrap();
    let installation = Installation::start_with_clock(
        "sample",
        Arc::clone(&stores.installation),
        config,
        clock.clock(),
    )
    .await
    .unwrap();
    let api = Router::new()
        .route("/sample/v1/Do", post(|| async { "done" }))
        .route(
            "/migration/v1/samples",
            post(take_samples).with_state(installation.clone()),
        )
        .route("/other", get(|| async { "other" }));
    let permissions = Permissions::with_enforcement(Arc::clone(&stores.permissions), true);
    let api = installation.mount(
        api,
        &Authenticator::open(),
        permissions,
        AuditLog::new(Arc::clone(&stores.audit)),
    );
    let http = HttpConfig::with_port(0);
    let router = common::server::router(
        ServiceDescription {
            name: "sample",
            openapi: utoipa::openapi::OpenApi::default(),
            readiness: common::server::readiness(|| async { Ok(()) })
                .with_installation(&installation),
        },
        api,
        &http,
    );
    let listener = common::server::bind(&http).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = Shutdown::new();
    tokio::spawn(common::server::serve(listener, router, shutdown.clone()));
    Sample {
        base,
        installation,
        stores,
        _shutdown: ShutdownOnDrop(shutdown),
    }
}

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: Value,
}

impl Sample {
    async fn call(&self, method: &str, path: &str, caller: &str, key: Option<&str>) -> Answer {
        let client = common::testing::http();
        let url = format!("{}{path}", self.base);
        let mut request = match method {
            "GET" => client.get(url),
            // The sample's migration endpoint takes a batch; the admin POSTs take no body.
            _ if path.starts_with("/migration/") => {
                client.post(url).json(&json!([{"n": 1}, {"n": 2}]))
            }
            _ => client.post(url),
        }
        .header(CONSUMER, caller);
        if let Some(key) = key {
            request = request.header("authorization", key);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn admin(&self, method: &str, path: &str) -> Answer {
        self.call(method, path, ADMIN, None).await
    }

    async fn migrate(&self, key: &str) -> Answer {
        self.call(
            "POST",
            "/migration/v1/samples",
            OTHER,
            Some(&format!("Migration {key}")),
        )
        .await
    }

    async fn new_key(&self) -> (String, DateTime<Utc>) {
        let created = self
            .admin("POST", "/admin/installation/migration-keys")
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.headers["cache-control"], "no-store");
        let members: Vec<&String> = created.body.as_object().unwrap().keys().collect();
        assert_eq!(members, ["expiresAt", "key"]);
        let expires_at = created.body["expiresAt"].as_str().unwrap().parse().unwrap();
        (created.body["key"].as_str().unwrap().to_owned(), expires_at)
    }
}

fn assert_problem(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.body["code"], code, "{}", answer.body);
    assert_eq!(answer.headers["content-type"], "application/problem+json");
}

async fn for_each_backend<F, Fut>(scenario: F)
where
    F: Fn(TestDatabase) -> Fut,
    Fut: Future<Output = ()>,
{
    for database in TestDatabase::all().await {
        scenario(database).await;
    }
}

#[tokio::test]
async fn a_staging_installation_closes_its_contracts_and_opens_admin_and_migration() {
    for_each_backend(|database| async move {
        let clock = TestClock::new();
        let sample = start(&database, &staging(), &clock).await;

        for path in ["/sample/v1/Do", "/other"] {
            let method = if path == "/other" { "GET" } else { "POST" };
            let closed = sample.call(method, path, OTHER, None).await;
            assert_problem(&closed, 503, "INSTALLATION_IN_STAGING");
            assert_eq!(closed.headers["retry-after"], "120", "{path}");
        }
        let ready = sample.call("GET", "/health/ready", OTHER, None).await;
        assert_eq!(ready.status, 200);
        assert_eq!(
            ready.body,
            json!({"status": "STAGING", "installationMode": "staging"})
        );
        for open in ["/health/live", "/metrics", "/openapi.json"] {
            assert_eq!(
                sample.call("GET", open, OTHER, None).await.status,
                200,
                "{open}"
            );
        }

        let shown = sample.admin("GET", "/admin/installation").await;
        assert_eq!(shown.status, 200, "{}", shown.body);
        assert_eq!(shown.body["service"], "sample");
        assert_eq!(shown.body["installationId"], sample.installation.id());
        assert_eq!(shown.body["mode"], "staging");
        assert_eq!(shown.body["createdAt"], "2026-03-01T12:00:00Z");
        assert_eq!(shown.body["modeChangedAt"], "2026-03-01T12:00:00Z");
        assert!(
            shown.body["modeChangedBy"]
                .as_str()
                .unwrap()
                .starts_with("configuration"),
            "{}",
            shown.body
        );
        assert!(shown.body.get("migrationKey").is_none());
        assert_eq!(shown.body["migration"], json!({"entities": []}));

        // Admin only, and the refusals of the key and switch endpoints are audited.
        let refused = sample.call("GET", "/admin/installation", OTHER, None).await;
        assert_problem(&refused, 403, "FORBIDDEN_ADMIN");
        for path in [
            "/admin/installation/migration-keys",
            "/admin/installation/switch-to-operational",
        ] {
            let refused = sample.call("POST", path, OTHER, None).await;
            assert_problem(&refused, 403, "FORBIDDEN_ADMIN");
        }
        let refusals = sample
            .stores
            .audit
            .query(&AuditQuery {
                subject: AuditSubject::Caller(OTHER.to_owned()),
                from: None,
                to: None,
                after: None,
                limit: 100,
            })
            .await
            .unwrap();
        let actions: Vec<(&str, &str)> = refusals
            .iter()
            .map(|e| (e.action.as_str(), e.outcome.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                ("MigrationKeyCreate", "refused"),
                ("InstallationSwitchToOperational", "refused")
            ],
            "{}",
            database.backend
        );
    })
    .await;
}

#[tokio::test]
async fn a_migration_key_is_shown_once_kept_hashed_and_refused_when_wrong_replaced_or_expired() {
    for_each_backend(|database| async move {
        let clock = TestClock::new();
        let sample = start(&database, &staging(), &clock).await;
        let backend = database.backend;

        let missing = sample
            .call("POST", "/migration/v1/samples", OTHER, None)
            .await;
        assert_problem(&missing, 401, "MIGRATION_KEY_REFUSED");
        assert_eq!(missing.headers["www-authenticate"], "Migration");

        let (first, expires_at) = sample.new_key().await;
        assert_eq!(expires_at, clock.now() + Duration::days(7), "{backend}");
        let (id, secret) = first.split_once('.').unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(secret).unwrap().len(), 32);

        let accepted = sample.migrate(&first).await;
        assert_eq!(accepted.status, 200, "{backend}: {}", accepted.body);
        assert_eq!(accepted.body, json!({"accepted": 2, "keyId": id}));

        // Only the hash of the secret is kept, and the admin sees the key without it.
        let stored = sample.stores.installation.key(id).await.unwrap().unwrap();
        assert_eq!(
            stored.secret_sha256,
            Sha256::digest(URL_SAFE_NO_PAD.decode(secret).unwrap()).to_vec()
        );
        let shown = sample.admin("GET", "/admin/installation").await;
        assert!(!shown.body.to_string().contains(secret), "{backend}");
        assert_eq!(shown.body["migrationKey"]["id"], id);
        assert_eq!(shown.body["migrationKey"]["createdBy"], ADMIN);
        assert_eq!(shown.body["migrationKey"]["expired"], false);
        assert_eq!(
            shown.body["migration"]["entities"],
            json!([{"entity": "samples", "accepted": 2, "refused": 1, "updatedAt": "2026-03-01T12:00:00Z"}])
        );

        // Wrong keys: another secret under the right id, another id, not a key, another scheme.
        let other_secret = URL_SAFE_NO_PAD.encode([9_u8; 32]);
        for wrong in [
            format!("Migration {id}.{other_secret}"),
            format!("Migration 0123456789abcdef0123456789abcdef.{secret}"),
            String::from("Migration not-a-key"),
            format!("Bearer {first}"),
        ] {
            let refused = sample
                .call("POST", "/migration/v1/samples", OTHER, Some(&wrong))
                .await;
            assert_problem(&refused, 401, "MIGRATION_KEY_REFUSED");
        }

        // A second key revokes the first.
        let (second, _) = sample.new_key().await;
        let replaced = sample.migrate(&first).await;
        assert_problem(&replaced, 401, "MIGRATION_KEY_REFUSED");
        assert!(
            replaced.body["detail"]
                .as_str()
                .unwrap()
                .contains("replaced by a newer key"),
            "{}",
            replaced.body
        );
        assert_eq!(sample.migrate(&second).await.status, 200, "{backend}");

        // Expiry: a second before it the key works, at it the key is refused.
        clock.advance(Duration::days(7) - Duration::seconds(1));
        assert_eq!(sample.migrate(&second).await.status, 200, "{backend}");
        clock.advance(Duration::seconds(1));
        let expired = sample.migrate(&second).await;
        assert_problem(&expired, 401, "MIGRATION_KEY_REFUSED");
        assert!(
            expired.body["detail"].as_str().unwrap().contains("expired"),
            "{}",
            expired.body
        );
        let shown = sample.admin("GET", "/admin/installation").await;
        assert_eq!(shown.body["migrationKey"]["expired"], true);

        let checked = sample
            .call(
                "GET",
                "/migration/v1/installation",
                OTHER,
                Some(&format!("Migration {}", sample.new_key().await.0)),
            )
            .await;
        assert_eq!(checked.status, 200, "{}", checked.body);
        assert_eq!(checked.body["service"], "sample");
        assert_eq!(checked.body["mode"], "staging");
        assert_eq!(checked.body["installationId"], sample.installation.id());
    })
    .await;
}

#[tokio::test]
async fn switching_to_operational_is_audited_revokes_the_key_and_opens_the_contracts_for_good() {
    for_each_backend(|database| async move {
        let clock = TestClock::new();
        let sample = start(&database, &staging(), &clock).await;
        let backend = database.backend;
        let (key, _) = sample.new_key().await;
        // A second replica on the same database.
        let replica = Installation::start(
            "sample",
            Arc::clone(&sample.stores.installation),
            &staging(),
        )
        .await
        .unwrap();
        assert_eq!(replica.mode().await, InstallationMode::Staging);

        clock.advance(Duration::hours(2));
        let switched = sample
            .admin("POST", "/admin/installation/switch-to-operational")
            .await;
        assert_eq!(switched.status, 200, "{backend}: {}", switched.body);
        assert_eq!(switched.body["mode"], "operational");
        assert_eq!(switched.body["modeChangedBy"], ADMIN);
        assert_eq!(switched.body["modeChangedAt"], "2026-03-01T14:00:00Z");
        assert!(switched.body.get("migrationKey").is_none(), "revoked");
        assert_eq!(replica.mode().await, InstallationMode::Operational);

        assert_eq!(
            sample
                .call("POST", "/sample/v1/Do", OTHER, None)
                .await
                .status,
            200
        );
        let ready = sample.call("GET", "/health/ready", OTHER, None).await;
        assert_eq!(
            ready.body,
            json!({"status": "UP", "installationMode": "operational"})
        );
        let revoked = sample
            .stores
            .installation
            .key(key.split_once('.').unwrap().0)
            .await;
        assert_eq!(
            revoked.unwrap().unwrap().revoked_because.as_deref(),
            Some("the installation became operational")
        );

        // Operational: the migration endpoints, the key endpoint and the switch answer 409.
        assert_problem(&sample.migrate(&key).await, 409, "INSTALLATION_OPERATIONAL");
        for path in [
            "/admin/installation/migration-keys",
            "/admin/installation/switch-to-operational",
        ] {
            assert_problem(
                &sample.admin("POST", path).await,
                409,
                "INSTALLATION_OPERATIONAL",
            );
        }

        let audited = sample
            .stores
            .audit
            .query(&AuditQuery {
                subject: AuditSubject::Caller(ADMIN.to_owned()),
                from: None,
                to: None,
                after: None,
                limit: 100,
            })
            .await
            .unwrap();
        let actions: Vec<(&str, &str, Option<&str>)> = audited
            .iter()
            .map(|e| (e.action.as_str(), e.outcome.as_str(), e.resource.as_deref()))
            .collect();
        let key_resource = format!("migration key {}", key.split_once('.').unwrap().0);
        assert_eq!(
            actions,
            [
                ("MigrationKeyCreate", "success", Some(key_resource.as_str())),
                (
                    "InstallationSwitchToOperational",
                    "success",
                    Some(sample.installation.id())
                ),
            ],
            "{backend}"
        );
        assert_eq!(audited[1].at, clock.now());

        // A restart configured for staging stays operational: the record decides.
        let restarted = Installation::start(
            "sample",
            Arc::clone(&sample.stores.installation),
            &staging(),
        )
        .await
        .unwrap();
        assert_eq!(restarted.mode().await, InstallationMode::Operational);
        assert_eq!(restarted.id(), sample.installation.id());
    })
    .await;
}

#[tokio::test]
async fn an_installation_is_operational_unless_configured_otherwise() {
    for_each_backend(|database| async move {
        let clock = TestClock::new();
        let sample = start(&database, &InstallationConfig::default(), &clock).await;
        assert_eq!(
            sample
                .call("POST", "/sample/v1/Do", OTHER, None)
                .await
                .status,
            200
        );
        let shown = sample.admin("GET", "/admin/installation").await;
        assert_eq!(shown.body["mode"], "operational");
        assert_problem(
            &sample
                .admin("POST", "/admin/installation/migration-keys")
                .await,
            409,
            "INSTALLATION_OPERATIONAL",
        );
        assert_problem(
            &sample
                .call("GET", "/migration/v1/installation", OTHER, None)
                .await,
            409,
            "INSTALLATION_OPERATIONAL",
        );
    })
    .await;
}

#[tokio::test]
async fn keys_created_at_once_leave_exactly_one_active() {
    for_each_backend(|database| async move {
        let clock = TestClock::new();
        let sample = start(&database, &staging(), &clock).await;
        let created = futures::future::join_all(
            (0..8).map(|_| sample.admin("POST", "/admin/installation/migration-keys")),
        )
        .await;
        let keys: Vec<String> = created
            .iter()
            .map(|answer| {
                assert_eq!(answer.status, 201, "{}", answer.body);
                answer.body["key"].as_str().unwrap().to_owned()
            })
            .collect();
        let mut accepted = 0;
        for key in &keys {
            if sample.migrate(key).await.status == 200 {
                accepted += 1;
            }
        }
        assert_eq!(accepted, 1, "{}", database.backend);
        let active = sample
            .stores
            .installation
            .active_key()
            .await
            .unwrap()
            .unwrap();
        assert!(keys.iter().any(|k| k.starts_with(&active.id)));
    })
    .await;
}
