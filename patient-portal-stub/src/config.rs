//! The patient portal stub's configuration (`PATIENT_PORTAL_STUB__...` environment variables).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use common::auth::AuthConfig;
use common::config::{ConfigError, DatabaseConfig, HttpConfig, LogConfig};
use common::http_client::ClientAuthConfig;
use common::identity::{HsaId, PersonalIdentityNumber};
use common::installation::InstallationConfig;
use common::retention::RetentionConfig;
use serde::{Deserialize, Serialize};

use crate::domain::citizen::{CitizenProfile, default_test_citizens};

pub const ENV_PREFIX: &str = "PATIENT_PORTAL_STUB";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    /// The portal's HSA-id, sent as the calling system on its calls to the form engine.
    pub hsa_id: HsaId,
    /// Base URL of the form engine whose citizen contracts (GetForm, GetFormQuestionPage,
    /// SaveFormPage, SaveForm, CancelForm) the form pages call.
    pub form_engine_url: String,
    /// The test citizens, applied at every start: each is created, or reset to these values
    /// when it exists. A list given in a file or variable replaces the built-in one.
    pub citizens: Vec<TestCitizen>,
    pub web: WebConfig,
    /// `[auth]`: who may call the contracts and the admin endpoints (docs/security.md). The
    /// default is open mode, for a developer machine only: a WARNING is logged at start. The
    /// citizen's pages are not behind it (citizens sign in on the pages).
    pub auth: AuthConfig,
    /// `[form_engine_client]`: the portal's own credentials on its calls to the form engine
    /// (a client certificate for mutual TLS, or a bearer token file), when the engine
    /// authenticates its callers.
    pub form_engine_client: ClientAuthConfig,
    /// `[installation]`: the mode a new installation starts in (staging, to migrate data in
    /// first) and its migration keys (docs/migration.md).
    pub installation: InstallationConfig,
    /// `[retention]`: on PostgreSQL, the audit log's monthly partitions (created ahead; a month
    /// older than `audit_max_age_days` exported into `audit_export_dir` and dropped).
    pub retention: RetentionConfig,
}

/// One test citizen as configured (`[[citizens]]` in TOML).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCitizen {
    pub personal_identity_number: PersonalIdentityNumber,
    pub name: String,
    /// Uses the portal (can receive messages).
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub notification_sms: bool,
    #[serde(default)]
    pub notification_email: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

fn yes() -> bool {
    true
}

impl From<CitizenProfile> for TestCitizen {
    fn from(profile: CitizenProfile) -> Self {
        Self {
            personal_identity_number: profile.personal_identity_number,
            name: profile.name,
            active: profile.active,
            notification_sms: profile.notification_sms,
            notification_email: profile.notification_email,
            phone: profile.phone,
            email: profile.email,
        }
    }
}

impl From<TestCitizen> for CitizenProfile {
    fn from(citizen: TestCitizen) -> Self {
        Self {
            personal_identity_number: citizen.personal_identity_number,
            name: citizen.name,
            active: citizen.active,
            notification_sms: citizen.notification_sms,
            notification_email: citizen.notification_email,
            phone: citizen.phone,
            email: citizen.email,
        }
    }
}

/// The citizen's web pages.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// A session unused this long ends; each page opened starts the period again.
    pub session_idle_minutes: u32,
    /// Marks cookies `Secure`: turn on when the portal is served over HTTPS.
    pub secure_cookies: bool,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            session_idle_minutes: 30,
            secure_cookies: false,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpConfig::with_port(8083),
            database: DatabaseConfig::default(),
            log: LogConfig::default(),
            hsa_id: HsaId::parse("SE0000000001-PP01").expect("a valid HSA-id"),
            form_engine_url: String::from("http://127.0.0.1:8081"),
            citizens: default_test_citizens()
                .into_iter()
                .map(TestCitizen::from)
                .collect(),
            web: WebConfig::default(),
            auth: AuthConfig::default(),
            form_engine_client: ClientAuthConfig::default(),
            installation: InstallationConfig::default(),
            retention: RetentionConfig::default(),
        }
    }
}

impl Config {
    /// Defaults, then `file`, then `PATIENT_PORTAL_STUB__*`; `data_dir` from the command line wins.
    pub fn load(file: Option<&Path>, data_dir: Option<PathBuf>) -> Result<Self, ConfigError> {
        let mut config: Self = common::config::load(&Self::default(), ENV_PREFIX, file)?;
        if let Some(dir) = data_dir {
            config.database.data_dir = dir;
        }
        config.validate()?;
        Ok(config)
    }

    /// The rules serde cannot express: sane test citizens, no number twice, a usable engine URL.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.auth.validate()?;
        self.form_engine_client.validate("form_engine_client")?;
        self.retention.validate("retention")?;
        self.test_citizens().map(|_| ())?;
        let url = self.form_engine_url.to_ascii_lowercase();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError(format!(
                "key `form_engine_url`: `{}` is not an http:// or https:// URL",
                self.form_engine_url
            )));
        }
        if self.web.session_idle_minutes == 0 {
            return Err(ConfigError(
                "key `web.session_idle_minutes`: must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The configured test citizens, checked.
    pub fn test_citizens(&self) -> Result<Vec<CitizenProfile>, ConfigError> {
        let mut seen = HashSet::new();
        self.citizens
            .iter()
            .enumerate()
            .map(|(index, citizen)| {
                if !seen.insert(citizen.personal_identity_number.as_str()) {
                    return Err(ConfigError(format!(
                        "key `citizens[{index}].personal_identity_number`: {} is configured twice",
                        citizen.personal_identity_number
                    )));
                }
                CitizenProfile::from(citizen.clone())
                    .validated()
                    .map_err(|error| {
                        ConfigError(format!(
                            "key `citizens[{index}].{}`: {error}",
                            error.field()
                        ))
                    })
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's test jail returns its own large error type
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        let config = Config::default();
        config.validate().unwrap();
        assert_eq!(config.test_citizens().unwrap().len(), 5);
    }

    #[test]
    fn a_file_replaces_the_test_citizens() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "portal.toml",
                "form_engine_url = \"http://engine:8081\"\n\
                 [[citizens]]\n\
                 personal_identity_number = \"191212121212\"\n\
                 name = \"Tolvan\"\n\
                 notification_sms = true\n\
                 phone = \"0701740605\"\n",
            )?;
            let config = Config::load(Some(Path::new("portal.toml")), None).expect("loads");
            assert_eq!(config.form_engine_url, "http://engine:8081");
            let citizens = config.test_citizens().unwrap();
            assert_eq!(citizens.len(), 1);
            assert!(citizens[0].active, "active defaults to true");
            assert!(citizens[0].notification_sms);
            assert!(!citizens[0].notification_email);
            Ok(())
        });
    }

    #[test]
    fn an_environment_variable_can_carry_the_test_citizens() {
        figment::Jail::expect_with(|jail| {
            jail.set_env(
                "PATIENT_PORTAL_STUB__CITIZENS",
                "[{personal_identity_number=\"199001012385\", name=\"Lena\", active=false}]",
            );
            jail.set_env("PATIENT_PORTAL_STUB__WEB__SECURE_COOKIES", "true");
            let config = Config::load(None, None).expect("loads");
            let citizens = config.test_citizens().unwrap();
            assert_eq!(citizens.len(), 1);
            assert!(!citizens[0].active);
            assert!(config.web.secure_cookies);
            Ok(())
        });
    }

    #[test]
    fn a_bad_test_citizen_is_named() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "portal.toml",
                "[[citizens]]\n\
                 personal_identity_number = \"191212121212\"\n\
                 name = \"Tolvan\"\n\
                 [[citizens]]\n\
                 personal_identity_number = \"199001012385\"\n\
                 name = \"Lena\"\n\
                 notification_email = true\n",
            )?;
            let error = Config::load(Some(Path::new("portal.toml")), None)
                .unwrap_err()
                .to_string();
            assert!(error.contains("citizens[1].email"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn a_number_configured_twice_or_malformed_is_refused() {
        let mut config = Config::default();
        config.citizens.push(config.citizens[0].clone());
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("citizens[5]"), "{error}");
        assert!(!error.contains("191212121212"), "masked: {error}");
        figment::Jail::expect_with(|jail| {
            jail.set_env(
                "PATIENT_PORTAL_STUB__CITIZENS",
                "[{personal_identity_number=\"1912\", name=\"X\"}]",
            );
            let error = Config::load(None, None).unwrap_err().to_string();
            assert!(error.contains("personal_identity_number"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn the_engine_url_must_be_http() {
        let config = Config {
            form_engine_url: "engine:8081".into(),
            ..Config::default()
        };
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("form_engine_url"), "{error}");
    }
}
