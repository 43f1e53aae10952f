//! The installation: a service's database is either `staging` (data is being migrated in; only
//! `/admin`, the migration endpoints and the operational endpoints answer) or `operational`
//! (the contracts answer). The mode is kept in the database, starts as
//! `installation.initial_mode` says when the installation record is first written, and goes
//! from staging to operational once (`POST /admin/installation/switch-to-operational`), which
//! is audited and revokes the migration key.
//!
//! A staging installation hands out one-time migration keys (`POST
//! /admin/installation/migration-keys`): shown once, kept as the SHA-256 of their secret, bound
//! to this installation, expiring, at most one active. A migration endpoint takes
//! [`MigrationClient`] as an extractor: it answers 409 once the installation is operational and
//! 401 unless the request carries the active key as `Authorization: Migration <key>`.
//!
//! Adoption (docs/migration.md): name the `installation` migration in the service's migrator
//! ([`crate::schema`]), give the config an `installation`
//! section ([`InstallationConfig`]), [`Installation::start`] it on the service's database at
//! start, [`Installation::mount`] it on the API routes, and report it on readiness
//! ([`crate::server::ReadinessCheck::with_installation`]). [`crate::openapi::complete`]
//! documents its endpoints and the 503 of every contract.

mod admin;
mod key;
mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SubsecRound as _, Utc};
use http::{HeaderValue, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use admin::{
    InstallationStatus, MigrationKeyCreated, MigrationKeyStatus, MigrationProgress,
    MigrationSession, openapi,
};
pub use key::{MIGRATION_SCHEME, MigrationClient};
pub use store::{
    EntityProgress, InstallationRecord, InstallationStore, MigrationKeyRecord, PgInstallationStore,
    SqlInstallationStore, SqliteInstallationStore,
};

use crate::audit::AuditLog;
use crate::auth::Authenticator;
use crate::config::ConfigError;
use crate::permissions::Permissions;
use crate::problem::Problem;

/// What the contracts of a staging installation answer.
pub const IN_STAGING: &str = "INSTALLATION_IN_STAGING";
/// What the migration endpoints and the key and switch endpoints answer once operational.
pub const OPERATIONAL: &str = "INSTALLATION_OPERATIONAL";

/// Who wrote the installation record when it was first written.
const BY_CONFIGURATION: &str = "configuration (installation.initial_mode)";

/// The longest a migration key may live: a migration is rehearsed and run within weeks.
const MAX_KEY_LIFETIME_SECS: u64 = 90 * 24 * 3600;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InstallationMode {
    /// Data is being migrated in: the contracts answer 503 `INSTALLATION_IN_STAGING`.
    Staging,
    /// In use: the contracts answer; the migration endpoints answer 409.
    #[default]
    Operational,
}

impl InstallationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staging => "staging",
            Self::Operational => "operational",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "staging" => Some(Self::Staging),
            "operational" => Some(Self::Operational),
            _ => None,
        }
    }
}

/// `[installation]` of a service's configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallationConfig {
    /// The mode a new installation starts in (when its installation record is first written):
    /// `operational` (the default) or `staging`, to migrate data in before anyone uses it.
    pub initial_mode: InstallationMode,
    /// How long a migration key is valid (default 7 days, at most 90).
    pub migration_key_lifetime_secs: u64,
    /// The `Retry-After` of a contract's 503 while staging.
    pub retry_after_secs: u64,
}

impl Default for InstallationConfig {
    fn default() -> Self {
        Self {
            initial_mode: InstallationMode::Operational,
            migration_key_lifetime_secs: 7 * 24 * 3600,
            retry_after_secs: 300,
        }
    }
}

impl InstallationConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(60..=MAX_KEY_LIFETIME_SECS).contains(&self.migration_key_lifetime_secs) {
            return Err(ConfigError(format!(
                "key `installation.migration_key_lifetime_secs`: between 60 and {MAX_KEY_LIFETIME_SECS} seconds, not {}",
                self.migration_key_lifetime_secs
            )));
        }
        if !(1..=86_400).contains(&self.retry_after_secs) {
            return Err(ConfigError(format!(
                "key `installation.retry_after_secs`: between 1 and 86400 seconds, not {}",
                self.retry_after_secs
            )));
        }
        Ok(())
    }

    fn key_lifetime(&self) -> chrono::Duration {
        chrono::Duration::from_std(Duration::from_secs(self.migration_key_lifetime_secs))
            .unwrap_or(chrono::Duration::MAX)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InstallationError {
    #[error("installation database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("a stored installation row is invalid: {0}")]
    Corrupt(String),
    #[error("the installation record is missing (the service did not start it)")]
    Missing,
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
}

/// What time it is; the service's own clock unless a caller (a test) brings one.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

struct Inner {
    service: &'static str,
    store: Arc<dyn InstallationStore>,
    config: InstallationConfig,
    clock: Clock,
    installation_id: String,
    /// Once operational, always operational: the gate stops asking the database.
    operational: AtomicBool,
    /// Migration batches take turns to write (see `MigrationClient::write_turn`).
    migration_writes: tokio::sync::Semaphore,
}

/// A service's installation; cheap to clone.
#[derive(Clone)]
pub struct Installation {
    inner: Arc<Inner>,
}

impl Installation {
    pub(crate) fn migration_writes(&self) -> &tokio::sync::Semaphore {
        &self.inner.migration_writes
    }

    /// Writes the installation record when the database has none yet (in
    /// `config.initial_mode`, by the configuration) and reads it back; logs the mode.
    pub async fn start(
        service: &'static str,
        store: Arc<dyn InstallationStore>,
        config: &InstallationConfig,
    ) -> Result<Self, InstallationError> {
        Self::start_with_clock(service, store, config, Arc::new(Utc::now)).await
    }

    /// [`Self::start`] with the time taken from `clock`.
    pub async fn start_with_clock(
        service: &'static str,
        store: Arc<dyn InstallationStore>,
        config: &InstallationConfig,
        clock: Clock,
    ) -> Result<Self, InstallationError> {
        config.validate()?;
        let now = clock().trunc_subsecs(6);
        let record = store
            .open(&InstallationRecord {
                installation_id: uuid::Uuid::new_v4().to_string(),
                mode: config.initial_mode,
                created_at: now,
                changed_at: now,
                changed_by: BY_CONFIGURATION.to_owned(),
            })
            .await?;
        match record.mode {
            InstallationMode::Staging => tracing::warn!(
                service,
                installation_id = %record.installation_id,
                "the installation is in STAGING: the contracts answer 503 until an admin switches \
                 it to operational (POST /admin/installation/switch-to-operational)"
            ),
            InstallationMode::Operational => tracing::info!(
                service,
                installation_id = %record.installation_id,
                "the installation is operational"
            ),
        }
        let writers = store.bulk_writers().max(1);
        Ok(Self {
            inner: Arc::new(Inner {
                service,
                store,
                config: config.clone(),
                clock,
                operational: AtomicBool::new(record.mode == InstallationMode::Operational),
                installation_id: record.installation_id,
                migration_writes: tokio::sync::Semaphore::new(writers),
            }),
        })
    }

    pub fn service(&self) -> &'static str {
        self.inner.service
    }

    /// The id that binds this installation's migration keys to it.
    pub fn id(&self) -> &str {
        &self.inner.installation_id
    }

    pub fn store(&self) -> &Arc<dyn InstallationStore> {
        &self.inner.store
    }

    /// Now, to the microsecond (what both backends keep).
    pub fn now(&self) -> DateTime<Utc> {
        (self.inner.clock)().trunc_subsecs(6)
    }

    /// The current mode. While staging it is read from the database on every call, so a switch
    /// made through another replica is seen at once; once operational it never changes.
    pub async fn mode(&self) -> InstallationMode {
        if self.inner.operational.load(Ordering::Acquire) {
            return InstallationMode::Operational;
        }
        match self.inner.store.read().await {
            Ok(record) => {
                if record.mode == InstallationMode::Operational {
                    self.mark_operational();
                }
                record.mode
            }
            Err(error) => {
                // Keep refusing: a staging installation must not open on a database hiccup.
                tracing::error!(%error, "cannot read the installation's mode; still staging");
                InstallationMode::Staging
            }
        }
    }

    fn mark_operational(&self) {
        self.inner.operational.store(true, Ordering::Release);
    }

    /// Puts the installation on a service's API routes (before they go to the skeleton): the
    /// admin endpoints behind `authenticator` (role admin, mode changes and keys audited in
    /// `audit`), the migration endpoints (authenticated by the migration key alone), and the
    /// gate that answers 503 `INSTALLATION_IN_STAGING` on every other route while staging.
    pub fn mount(
        &self,
        api: Router,
        authenticator: &Authenticator,
        permissions: Permissions,
        audit: AuditLog,
    ) -> Router {
        let (admin, migration) = admin::routers(self.clone(), permissions, audit);
        api.merge(authenticator.protect(admin))
            .merge(migration)
            .layer(middleware::from_fn_with_state(self.clone(), gate))
    }

    fn retry_after(&self) -> HeaderValue {
        HeaderValue::from(self.inner.config.retry_after_secs)
    }
}

/// Whether a path is closed while staging: everything but `/admin`, the migration endpoints
/// and the operational endpoints (health, metrics, documentation).
pub fn is_gated(path: &str) -> bool {
    let open = path == "/admin"
        || path.starts_with("/admin/")
        || path.starts_with("/migration/")
        || path.starts_with("/health/")
        || path == "/metrics"
        || path == "/openapi.json"
        || path == "/docs"
        || path.starts_with("/docs/");
    !open
}

/// The answer of a gated route while staging.
pub fn in_staging_problem() -> Problem {
    Problem::unavailable(
        IN_STAGING,
        "This installation is in staging: its data is being migrated in, and the contracts \
         answer once an admin switches it to operational. Retry after Retry-After.",
    )
}

async fn gate(State(installation): State<Installation>, request: Request, next: Next) -> Response {
    if !is_gated(request.uri().path()) || installation.mode().await == InstallationMode::Operational
    {
        return next.run(request).await;
    }
    let mut response = in_staging_problem().into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, installation.retry_after());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_migration_and_operations_stay_open() {
        for open in [
            "/admin",
            "/admin/installation",
            "/migration/v1/installation",
            "/health/ready",
            "/metrics",
            "/openapi.json",
            "/docs/index.html",
        ] {
            assert!(!is_gated(open), "{open}");
        }
        for gated in [
            "/engagementindex/v1/Update",
            "/forminteraction/v2/GetForm",
            "/sign-in",
            "/",
            "/administration",
            "/migrationx",
        ] {
            assert!(is_gated(gated), "{gated}");
        }
    }

    /// The section as a service's configuration reads it: `<SERVICE>__INSTALLATION__...`.
    #[test]
    #[allow(clippy::result_large_err)] // figment's test jail returns its own large error type
    fn staging_is_chosen_by_environment_variable() {
        #[derive(Debug, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Service {
            installation: InstallationConfig,
        }
        let defaults = Service {
            installation: InstallationConfig::default(),
        };
        figment::Jail::expect_with(|jail| {
            let loaded = crate::config::load(&defaults, "ENGAGEMENT_INDEX", None).unwrap();
            assert_eq!(
                loaded.installation.initial_mode,
                InstallationMode::Operational
            );
            jail.set_env("ENGAGEMENT_INDEX__INSTALLATION__INITIAL_MODE", "staging");
            let loaded = crate::config::load(&defaults, "ENGAGEMENT_INDEX", None).unwrap();
            assert_eq!(loaded.installation.initial_mode, InstallationMode::Staging);
            jail.set_env(
                "ENGAGEMENT_INDEX__INSTALLATION__INITIAL_MODE",
                "maintenance",
            );
            let error = crate::config::load(&defaults, "ENGAGEMENT_INDEX", None)
                .unwrap_err()
                .to_string();
            assert!(error.contains("installation.initial_mode"), "{error}");
            assert!(
                error.contains("ENGAGEMENT_INDEX__INSTALLATION__INITIAL_MODE"),
                "{error}"
            );
            Ok(())
        });
    }

    #[test]
    fn the_configuration_is_checked() {
        assert!(InstallationConfig::default().validate().is_ok());
        let short = InstallationConfig {
            migration_key_lifetime_secs: 5,
            ..InstallationConfig::default()
        };
        let error = short.validate().unwrap_err().to_string();
        assert!(
            error.contains("installation.migration_key_lifetime_secs"),
            "{error}"
        );
        let modes: Vec<InstallationMode> = ["staging", "operational"]
            .into_iter()
            .filter_map(InstallationMode::parse)
            .collect();
        assert_eq!(
            modes,
            [InstallationMode::Staging, InstallationMode::Operational]
        );
    }
}
