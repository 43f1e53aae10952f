//! How the kit proves who it is to the deployment: nothing (open mode), a client certificate
//! with the CA to trust (mutual TLS), or a bearer token read from a file (JWT). Built on
//! `common::http_client::ClientAuthConfig`, the same credentials the services use towards
//! each other.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use common::http_client::{BearerToken, ClientAuthConfig};

/// The credentials options every `verify` command takes.
#[derive(Clone, Debug, Default, Args)]
pub struct Credentials {
    /// Client certificate (PEM, leaf first) for mutual TLS; the HSA-id in its subject's
    /// serialNumber. Needs --client-key.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_certificate: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "client_certificate")]
    pub client_key: Option<PathBuf>,
    /// CA certificates (PEM) to trust for the deployment's servers besides the system's roots.
    #[arg(long, value_name = "FILE")]
    pub server_ca: Option<PathBuf>,
    /// A file holding a bearer token (JWT) sent as `Authorization: Bearer`; re-read when it
    /// changes.
    #[arg(long, value_name = "FILE", conflicts_with = "client_certificate")]
    pub bearer_token_file: Option<PathBuf>,
    /// The kit's own HSA-id, sent as x-rivta-original-serviceconsumer-hsaid (what open mode
    /// goes by; under mTLS or JWT the credential names the caller).
    #[arg(long, value_name = "HSA-ID", default_value = "SE0000000001-KIT1")]
    pub hsa_id: String,
}

/// The authentication mode the credentials amount to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    None,
    Mtls,
    Jwt,
}

impl AuthMode {
    pub fn describe(self) -> &'static str {
        match self {
            Self::None => "none (open mode)",
            Self::Mtls => "mutual TLS (client certificate)",
            Self::Jwt => "bearer token (JWT)",
        }
    }
}

/// Ready-to-use clients: one presenting the credentials, one presenting none (to check that
/// the deployment refuses it).
#[derive(Clone)]
pub struct Clients {
    pub authenticated: reqwest::Client,
    pub anonymous: reqwest::Client,
    pub token: Option<BearerToken>,
    pub mode: AuthMode,
    pub hsa_id: String,
}

impl Credentials {
    fn config(&self) -> ClientAuthConfig {
        ClientAuthConfig {
            certificate: self.client_certificate.clone(),
            private_key: self.client_key.clone(),
            server_ca: self.server_ca.clone(),
            bearer_token_file: self.bearer_token_file.clone(),
        }
    }

    pub fn mode(&self) -> AuthMode {
        if self.client_certificate.is_some() {
            AuthMode::Mtls
        } else if self.bearer_token_file.is_some() {
            AuthMode::Jwt
        } else {
            AuthMode::None
        }
    }

    /// Reads the files now: a missing or unreadable one stops the run before any check.
    pub fn clients(&self, timeout: Duration) -> anyhow::Result<Clients> {
        let config = self.config();
        config
            .validate("credentials")
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let authenticated = config.client(timeout).context("the credentials")?;
        let anonymous = ClientAuthConfig {
            server_ca: self.server_ca.clone(),
            ..ClientAuthConfig::default()
        }
        .client(timeout)
        .context("the server CA")?;
        let token = config.bearer_token().context("the bearer token")?;
        Ok(Clients {
            authenticated,
            anonymous,
            token,
            mode: self.mode(),
            hsa_id: self.hsa_id.clone(),
        })
    }
}
