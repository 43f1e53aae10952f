//! Typed configuration: defaults, then an optional TOML file, then environment variables
//! `<PREFIX>__<SECTION>__<KEY>`. A bad value stops the start with a message naming the key.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

/// Loads `T` from `defaults`, then `file` (when given), then environment variables whose names
/// start with `env_prefix` followed by `__` (`ENGAGEMENT_INDEX__HTTP__PORT=9000`).
pub fn load<T>(defaults: &T, env_prefix: &str, file: Option<&Path>) -> Result<T, ConfigError>
where
    T: Serialize + DeserializeOwned,
{
    let mut figment = Figment::from(Serialized::defaults(defaults));
    if let Some(file) = file {
        if !file.is_file() {
            return Err(ConfigError(format!(
                "the configuration file {} does not exist",
                file.display()
            )));
        }
        figment = figment.merge(Toml::file_exact(file));
    }
    figment = figment.merge(Env::prefixed(&format!("{env_prefix}__")).split("__"));
    figment.extract().map_err(|errors| {
        let messages: Vec<String> = errors
            .into_iter()
            .map(|e| describe(&e, env_prefix))
            .collect();
        ConfigError(messages.join("; "))
    })
}

/// One figment error as an operator needs it: the key, what is wrong, and where the value came from.
fn describe(error: &figment::Error, env_prefix: &str) -> String {
    let key = if error.path.is_empty() {
        String::from("(root)")
    } else {
        error.path.join(".")
    };
    let source = error
        .metadata
        .as_ref()
        .map(|m| match &m.source {
            Some(source) => format!(" (from {} {source})", m.name),
            // Environment values carry no source; name the variable the operator must fix.
            None if m.name.contains("environment") => format!(
                " (from environment variable {env_prefix}__{})",
                error.path.join("__").to_uppercase()
            ),
            None => format!(" (from {})", m.name),
        })
        .unwrap_or_default();
    format!("key `{key}`: {}{source}", error.kind)
}

/// Where a service listens and how it treats requests.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub host: IpAddr,
    pub port: u16,
    /// Largest accepted request body, in bytes (api.md §1: 10 MiB).
    pub body_limit_bytes: usize,
    /// A request taking longer than this is answered with 503 and abandoned.
    pub request_timeout_secs: u64,
    /// After SIGTERM or Ctrl-C, how long the service goes on serving before it stops accepting
    /// connections: readiness answers 503 and every answer closes its connection, so that load
    /// balancers, which take a few seconds to notice, move the callers to another instance.
    pub shutdown_grace_secs: u64,
    /// A connection that sends no complete request head for this long is closed: an idle
    /// keep-alive connection, or a client sending its headers too slowly. At least 1.
    pub idle_timeout_secs: u64,
}

impl HttpConfig {
    pub fn with_port(port: u16) -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port,
            body_limit_bytes: 10 * 1024 * 1024,
            request_timeout_secs: 30,
            shutdown_grace_secs: 0,
            idle_timeout_secs: 60,
        }
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }
}

/// Where a service keeps its data: a SQLite file under `data_dir` unless `url` names a database.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `postgres://...` for PostgreSQL, `sqlite://path` for a SQLite file elsewhere; empty for the default file.
    pub url: Option<String>,
    /// Directory holding the default SQLite file (created on first start).
    pub data_dir: PathBuf,
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before it is answered 503
    /// `DATABASE_UNAVAILABLE` (all connections busy, or the server not answering). At least 1.
    pub acquire_timeout_secs: u64,
    /// PostgreSQL: how long the service's workers (batched searches, group commits, the audit
    /// log's writers, the fan-out, deliveries, expiry, the alarm relay, reminders, retention's
    /// deletes) wait for the answer to one statement before they give it up, close its
    /// connection and answer 503 `DATABASE_UNAVAILABLE`, so that a server gone silent (frozen,
    /// or lost in a failover without closing its connections) stops nothing for good. At
    /// least 1.
    pub response_timeout_secs: u64,
    /// PostgreSQL, the engagement index: how often it vacuums its outbox and subscribers'
    /// queues itself (0: left to autovacuum). Their rows are deleted or updated as fast as they
    /// are written, and what stays behind slows every read of the queues until a vacuum
    /// ([`crate::db::QueueVacuum`]). The other services' queues are slow enough for autovacuum.
    pub queue_vacuum_secs: u64,
}

impl DatabaseConfig {
    /// `response_timeout_secs` (zero is refused when the database is opened).
    pub fn response_timeout(&self) -> crate::db::ResponseTimeout {
        crate::db::ResponseTimeout::new(Duration::from_secs(self.response_timeout_secs))
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            data_dir: PathBuf::from("data"),
            max_connections: 10,
            acquire_timeout_secs: 10,
            response_timeout_secs: 10,
            queue_vacuum_secs: 10,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object a line, for log collectors.
    Json,
    /// Human-readable, for a terminal.
    #[default]
    Pretty,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// An `EnvFilter` directive such as `info,sqlx=warn`; `RUST_LOG` wins when set.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            filter: String::from("info,sqlx=warn"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's test jail returns its own large error type
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        http: HttpConfig,
        name: String,
    }

    fn defaults() -> Sample {
        Sample {
            http: HttpConfig::with_port(8082),
            name: "index".into(),
        }
    }

    #[test]
    fn file_then_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("svc.toml", "name = \"from-file\"\n[http]\nport = 9000\n")?;
            jail.set_env("SAMPLE_SVC__HTTP__PORT", "9100");
            let loaded: Sample =
                load(&defaults(), "SAMPLE_SVC", Some(Path::new("svc.toml"))).expect("loads");
            assert_eq!(loaded.name, "from-file");
            assert_eq!(loaded.http.port, 9100);
            assert_eq!(loaded.http.body_limit_bytes, 10 * 1024 * 1024);
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_names_the_key_and_the_variable() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SAMPLE_SVC__HTTP__PORT", "eighty");
            let error = load(&defaults(), "SAMPLE_SVC", None)
                .unwrap_err()
                .to_string();
            assert!(error.contains("http.port"), "{error}");
            assert!(error.contains("SAMPLE_SVC__HTTP__PORT"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn an_unknown_key_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SAMPLE_SVC__HTTP__PROT", "9000");
            let error = load(&defaults(), "SAMPLE_SVC", None)
                .unwrap_err()
                .to_string();
            assert!(error.contains("prot"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn a_missing_file_is_refused() {
        let error = load(
            &defaults(),
            "SAMPLE_SVC",
            Some(Path::new("/nonexistent/x.toml")),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("does not exist"), "{error}");
    }
}
