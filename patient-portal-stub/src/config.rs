//! The patient portal stub's configuration (`PATIENT_PORTAL_STUB__...` environment variables).

use std::path::{Path, PathBuf};

use common::config::{ConfigError, DatabaseConfig, HttpConfig, LogConfig};
use common::identity::HsaId;
use serde::{Deserialize, Serialize};

pub const ENV_PREFIX: &str = "PATIENT_PORTAL_STUB";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    /// The portal's HSA-id, sent as the calling system on its calls to the form engine.
    pub hsa_id: HsaId,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpConfig::with_port(8083),
            database: DatabaseConfig::default(),
            log: LogConfig::default(),
            hsa_id: HsaId::parse("SE0000000001-PP01").expect("a valid HSA-id"),
        }
    }
}

impl Config {
    /// Defaults, then `file`, then `PATIENT_PORTAL_STUB__*`; `data_dir` from the command line wins.
    pub fn load(file: Option<&Path>, data_dir: Option<PathBuf>) -> Result<Self, ConfigError> {
        let mut config = common::config::load(&Self::default(), ENV_PREFIX, file)?;
        if let Some(dir) = data_dir {
            config.database.data_dir = dir;
        }
        Ok(config)
    }
}
