//! The engagement index's configuration (`ENGAGEMENT_INDEX__...` environment variables).

use std::path::{Path, PathBuf};

use common::config::{ConfigError, DatabaseConfig, HttpConfig, LogConfig};
use common::identity::HsaId;
use serde::{Deserialize, Serialize};

pub const ENV_PREFIX: &str = "ENGAGEMENT_INDEX";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    /// This index's HSA-id: the owner of everything posted with Update, and the logical
    /// address Update must be sent to.
    pub hsa_id: HsaId,
    /// A second logical address Update may be sent to (skltp's `ei.alternative.hsa.id`).
    pub alternative_hsa_id: Option<HsaId>,
    /// HSA-ids that may not be used as logicalAddress (EI005) or sourceSystem (EI006).
    /// Absent: this index's own HSA-id. An empty list turns the check off.
    pub reserved_hsa_ids: Option<Vec<String>>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpConfig::with_port(8082),
            database: DatabaseConfig::default(),
            log: LogConfig::default(),
            hsa_id: HsaId::parse("SE0000000001-EI01").expect("a valid HSA-id"),
            alternative_hsa_id: None,
            reserved_hsa_ids: None,
        }
    }
}

impl Config {
    /// Defaults, then `file`, then `ENGAGEMENT_INDEX__*`; `data_dir` from the command line wins.
    pub fn load(file: Option<&Path>, data_dir: Option<PathBuf>) -> Result<Self, ConfigError> {
        let mut config = common::config::load(&Self::default(), ENV_PREFIX, file)?;
        if let Some(dir) = data_dir {
            config.database.data_dir = dir;
        }
        Ok(config)
    }

    /// The reserved HSA-ids in force.
    pub fn reserved_hsa_ids(&self) -> Vec<String> {
        self.reserved_hsa_ids
            .clone()
            .unwrap_or_else(|| vec![self.hsa_id.to_string()])
    }
}
