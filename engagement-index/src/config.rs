//! The engagement index's configuration (`ENGAGEMENT_INDEX__...` environment variables).

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::auth::AuthConfig;
use common::config::{ConfigError, DatabaseConfig, HttpConfig, LogConfig};
use common::delivery::{DeliveryPolicy, JetStreamConfig};
use common::http_client::ClientAuthConfig;
use common::identity::HsaId;
use common::installation::InstallationConfig;
use common::retention::RetentionConfig;
use serde::{Deserialize, Serialize};

use crate::domain::subscriber::{DeliveryMode, Subscriber, SubscriberError, SubscriberFilter};

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
    /// How accepted changes are batched into notifications.
    pub notification: NotificationConfig,
    /// How hard push deliveries are tried.
    pub delivery: DeliveryPolicy,
    /// Subscribers declared by the deployment, applied at every start (`[[subscribers]]`).
    pub subscribers: Vec<DeclaredSubscriber>,
    /// `[auth]`: who may call and what each caller may reach (docs/security.md). The default
    /// is open mode, for a developer machine only: a WARNING is logged at start.
    pub auth: AuthConfig,
    /// `[subscriber_client]`: this index's own credentials on its push deliveries (a client
    /// certificate, or a bearer token file), for subscribers that authenticate their callers.
    pub subscriber_client: ClientAuthConfig,
    /// `[installation]`: the mode a new installation starts in (staging, to migrate data in
    /// first) and its migration keys (docs/migration.md).
    pub installation: InstallationConfig,
    /// `[retention]`: how long delivered notifications and fanned-out outbox rows are kept
    /// before the cleanup job deletes them (docs/follow-up.md).
    pub retention: RetentionConfig,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationConfig {
    /// Most engagement transactions in one ProcessNotification.
    pub max_transactions: usize,
    /// The least time between two fan-out rounds: a change after a quiet spell goes at once,
    /// the changes that follow it within this time travel together in the next round. Unset:
    /// 15 ms on the database queue, 25 ms on NATS ([`Self::linger`]).
    #[serde(default)]
    pub linger_ms: Option<u64>,
    /// Where the subscribers' queues live: `postgres` (the index's database, the default) or
    /// `nats` (a NATS JetStream stream fed from the database, `[notification.nats]`).
    #[serde(default)]
    pub backbone: Backbone,
    /// The stream, when `backbone = "nats"`.
    #[serde(default)]
    pub nats: JetStreamConfig,
}

impl NotificationConfig {
    /// The fan-out's linger: `linger_ms`, or the backbone's own default. Every round costs each
    /// subscriber a message. The database queue sends those cheaply and gains latency from
    /// short rounds. On NATS each message is a publish, a fetch and an acknowledgement, so
    /// fewer, larger ones keep up: at 1000 changes a second to 50 subscribers, 15 ms rounds
    /// fell behind while 25 ms rounds kept the 99th percentile under 80 ms.
    pub fn linger(&self) -> Duration {
        let default = match self.backbone {
            Backbone::Postgres => 15,
            Backbone::Nats => 25,
        };
        Duration::from_millis(self.linger_ms.unwrap_or(default))
    }
}

/// The notification backbone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backbone {
    /// The delivery queue in the index's database (PostgreSQL or SQLite).
    #[default]
    Postgres,
    /// NATS JetStream: the database queue is the outbox a relay empties into the stream.
    Nats,
}

impl Default for NotificationConfig {
    fn default() -> Self {
        Self {
            max_transactions: 1000,
            linger_ms: None,
            backbone: Backbone::default(),
            nats: JetStreamConfig::default(),
        }
    }
}

/// A subscriber in the configuration file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredSubscriber {
    pub logical_address: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default = "push")]
    pub delivery: DeliveryMode,
    #[serde(default)]
    pub filter: Vec<SubscriberFilter>,
}

fn push() -> DeliveryMode {
    DeliveryMode::Push
}

impl DeclaredSubscriber {
    pub fn to_subscriber(&self) -> Result<Subscriber, SubscriberError> {
        Subscriber::new(
            &self.logical_address,
            self.url.clone(),
            self.delivery,
            self.filter.clone(),
        )
    }
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
            notification: NotificationConfig::default(),
            delivery: DeliveryPolicy::default(),
            subscribers: Vec::new(),
            auth: AuthConfig::default(),
            subscriber_client: ClientAuthConfig::default(),
            installation: InstallationConfig::default(),
            retention: RetentionConfig::default(),
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
        config.auth.validate()?;
        config.subscriber_client.validate("subscriber_client")?;
        config.retention.validate("retention")?;
        for (index, declared) in config.subscribers.iter().enumerate() {
            declared.to_subscriber().map_err(|error| {
                ConfigError(format!(
                    "key `subscribers[{index}]` ({}): {error}",
                    declared.logical_address
                ))
            })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(toml: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("engagement-index.toml");
        std::fs::write(&file, toml).unwrap();
        Config::load(Some(&file), Some(dir.path().to_path_buf())).unwrap()
    }

    #[test]
    fn the_linger_defaults_to_the_backbones_own_and_a_configured_one_wins() {
        let linger = |toml: &str| loaded(toml).notification.linger().as_millis();
        assert_eq!(linger(""), 15, "the database queue");
        assert_eq!(linger("[notification]\nbackbone = \"nats\"\n"), 25);
        assert_eq!(
            linger("[notification]\nbackbone = \"nats\"\nlinger_ms = 10\n"),
            10
        );
        assert_eq!(linger("[notification]\nlinger_ms = 25\n"), 25);
    }
}
