//! The form engine's configuration (`FORM_ENGINE__...` environment variables).

use std::path::{Path, PathBuf};

use common::auth::AuthConfig;
use common::config::{ConfigError, DatabaseConfig, HttpConfig, LogConfig};
use common::delivery::DeliveryPolicy;
use common::http_client::ClientAuthConfig;
use common::identity::HsaId;
use common::installation::InstallationConfig;
use common::retention::RetentionConfig;
use serde::{Deserialize, Serialize};

use crate::domain::form::rules::FormRules;

mod designer;
mod follow_up;
mod notification;
pub use designer::{DesignerConfig, StaffConfig};
pub use follow_up::RemindersConfig;
pub use notification::{NotificationConfig, RouteConfig};

pub const ENV_PREFIX: &str = "FORM_ENGINE";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    /// The engine's HSA-id: logicalAddress and sourceSystem of its engagement-index posts.
    pub hsa_id: HsaId,
    /// Base URL of the engagement index; posts go to `{url}/engagementindex/v1/Update`.
    pub engagement_index_url: String,
    /// Sent as `x-rivta-logical-address` on Update when set (the index's HSA-id).
    pub engagement_index_hsa_id: Option<HsaId>,
    /// serviceDomain of the engine's engagement-index posts.
    pub service_domain: String,
    /// How the engagement-index posts are delivered (retries, back-off, dead letters).
    pub delivery: DeliveryPolicy,
    pub forms: FormsConfig,
    /// `[instruments]`: the instrument library shipped with the engine (PHQ-9, GAD-7,
    /// AUDIT-C; docs/templates.md).
    pub instruments: InstrumentsConfig,
    /// `[auth]`: who may call and which care units each caller may reach
    /// (docs/security.md). The default is open mode, for a developer machine only: a WARNING
    /// is logged at start.
    pub auth: AuthConfig,
    /// `[engagement_index_client]`: the engine's own credentials on its posts to the
    /// engagement index (a client certificate, or a bearer token file).
    pub engagement_index_client: ClientAuthConfig,
    /// `[installation]`: the mode a new installation starts in (staging, to migrate data in
    /// first) and its migration keys (docs/migration.md).
    pub installation: InstallationConfig,
    /// `[notification]`: per care unit or source system, whether its forms' notifications go
    /// to the engagement index (the default), straight to its care system, or both
    /// (docs/follow-up.md).
    pub notification: NotificationConfig,
    /// Base URL of the patient portal the citizens' reminders go to (IsActiveUser,
    /// AddMessageToPatientPortalInbox); none = no reminders are sent (docs/follow-up.md).
    pub patient_portal_url: Option<String>,
    /// `[patient_portal_client]`: the engine's credentials on its calls to the portal.
    pub patient_portal_client: ClientAuthConfig,
    /// `[reminders]`: how often reminders are looked for and retried.
    pub reminders: RemindersConfig,
    /// `[designer]`: the form designer at `/designer/` and its test staff (docs/designer.md).
    pub designer: DesignerConfig,
    /// `[retention]`: how long delivered posts and notifications and alarm-feed entries are
    /// kept before the cleanup job deletes them (docs/follow-up.md).
    pub retention: RetentionConfig,
}

/// Rules for forms the contracts leave to the engine.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormsConfig {
    /// expireDate of a form a citizen starts (CreateForm), in days from the start; none =
    /// never expires.
    pub citizen_expire_days: Option<u32>,
    /// keepUntil of a form a citizen starts, in days from the start; none = kept until the
    /// care unit deletes it.
    pub citizen_keep_days: Option<u32>,
    /// How often the background job expires and purges forms.
    pub sweep_interval_secs: u64,
    /// How long the answer to a request with an Idempotency-Key is kept for retries.
    pub idempotency_hours: u32,
}

/// Loading the instrument library at start.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentsConfig {
    /// When set, every start stores the library's templates this care unit does not have
    /// yet, owned by it and Published; templates already there are left as they are. None
    /// (the default): the library is loaded only through `POST /admin/instruments`.
    pub care_unit: Option<HsaId>,
}

impl FormsConfig {
    /// The rules the domain applies.
    pub fn rules(&self) -> FormRules {
        FormRules {
            citizen_expire_days: self.citizen_expire_days,
            citizen_keep_days: self.citizen_keep_days,
            sweep_interval: std::time::Duration::from_secs(self.sweep_interval_secs.max(1)),
            idempotency_retention: chrono::Duration::hours(i64::from(self.idempotency_hours)),
        }
    }
}

impl Default for FormsConfig {
    fn default() -> Self {
        Self {
            citizen_expire_days: Some(30),
            citizen_keep_days: None,
            sweep_interval_secs: 60,
            idempotency_hours: 24,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpConfig::with_port(8081),
            database: DatabaseConfig::default(),
            log: LogConfig::default(),
            hsa_id: HsaId::parse("SE0000000001-FE01").expect("a valid HSA-id"),
            engagement_index_url: String::from("http://127.0.0.1:8082"),
            engagement_index_hsa_id: None,
            service_domain: String::from("riv:infrastructure:eservicesupply:forminteraction"),
            delivery: DeliveryPolicy::default(),
            forms: FormsConfig::default(),
            instruments: InstrumentsConfig::default(),
            auth: AuthConfig::default(),
            engagement_index_client: ClientAuthConfig::default(),
            installation: InstallationConfig::default(),
            notification: NotificationConfig::default(),
            patient_portal_url: None,
            patient_portal_client: ClientAuthConfig::default(),
            reminders: RemindersConfig::default(),
            designer: DesignerConfig::default(),
            retention: RetentionConfig::default(),
        }
    }
}

impl Config {
    /// Defaults, then `file`, then `FORM_ENGINE__*`; `data_dir` from the command line wins.
    pub fn load(file: Option<&Path>, data_dir: Option<PathBuf>) -> Result<Self, ConfigError> {
        let mut config = common::config::load(&Self::default(), ENV_PREFIX, file)?;
        if let Some(dir) = data_dir {
            config.database.data_dir = dir;
        }
        config.auth.validate()?;
        config
            .engagement_index_client
            .validate("engagement_index_client")?;
        config.notification.validate()?;
        config
            .patient_portal_client
            .validate("patient_portal_client")?;
        config.designer.validate()?;
        config.retention.validate("retention")?;
        Ok(config)
    }

    /// Where the engagement index's Update endpoint is.
    pub fn engagement_index_update_url(&self) -> String {
        format!(
            "{}/engagementindex/v1/Update",
            self.engagement_index_url.trim_end_matches('/')
        )
    }
}
