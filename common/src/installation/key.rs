//! One-time migration keys: `<id>.<secret>`, the id (32 hexadecimal digits) to find the key,
//! the secret (256 random bits, base64url) kept only as its SHA-256 and compared in constant
//! time. [`MigrationClient`] is the extractor of every migration endpoint.

use axum::extract::{FromRef, FromRequestParts};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::{Installation, InstallationMode, MigrationKeyRecord, OPERATIONAL};
use crate::problem::Problem;

/// The `Authorization` scheme a migration key travels in: `Authorization: Migration <key>`.
pub const MIGRATION_SCHEME: &str = "Migration";

/// What a refused key answers (401).
const KEY_REFUSED: &str = "MIGRATION_KEY_REFUSED";

/// A new key: the text handed out once, and the record kept.
pub(super) struct NewKey {
    pub text: String,
    pub record: MigrationKeyRecord,
}

pub(super) fn new_key(
    installation: &Installation,
    created_by: &str,
    lifetime: chrono::Duration,
) -> NewKey {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut secret = [0_u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let created_at = installation.now();
    NewKey {
        text: format!("{id}.{}", URL_SAFE_NO_PAD.encode(secret)),
        record: MigrationKeyRecord {
            id,
            installation_id: installation.id().to_owned(),
            secret_sha256: Sha256::digest(secret).to_vec(),
            created_at,
            created_by: created_by.to_owned(),
            expires_at: created_at + lifetime,
            revoked_at: None,
            revoked_because: None,
        },
    }
}

/// A presented key's id and secret, when it has the form of a key.
fn parse(text: &str) -> Option<(&str, [u8; 32])> {
    let (id, secret) = text.split_once('.')?;
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let secret: [u8; 32] = URL_SAFE_NO_PAD.decode(secret).ok()?.try_into().ok()?;
    Some((id, secret))
}

/// Why a request may not use the migration endpoints.
#[derive(Debug)]
pub enum MigrationRefusal {
    /// 409: the installation is operational; migrating into it is over.
    Operational,
    /// 401 with what is wrong with the key.
    Key(String),
    /// The store failed: its answer ([`Problem::fault`]: 503 when the database cannot serve
    /// now, else 500).
    Internal(Problem),
}

impl IntoResponse for MigrationRefusal {
    fn into_response(self) -> Response {
        match self {
            Self::Operational => Problem::conflict(
                OPERATIONAL,
                "This installation is operational: the migration endpoints and migration keys \
                 are closed.",
            )
            .into_response(),
            Self::Key(detail) => {
                let mut response =
                    Problem::new(StatusCode::UNAUTHORIZED, KEY_REFUSED, detail).into_response();
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(MIGRATION_SCHEME),
                );
                response
            }
            Self::Internal(problem) => problem.into_response(),
        }
    }
}

/// The holder of this installation's active migration key: the extractor of every
/// migration endpoint (`/migration/v1/...`). Refuses with 409 `INSTALLATION_OPERATIONAL` once
/// the installation is operational, else with 401 `MIGRATION_KEY_REFUSED` unless the request
/// carries `Authorization: Migration <key>` with the active, unexpired key of this installation.
#[derive(Clone)]
pub struct MigrationClient {
    /// The key's id (never its secret): for logs and audit rows.
    pub key_id: String,
    pub expires_at: DateTime<Utc>,
    pub installation: Installation,
}

/// How long a batch waits for its turn to write before it is answered `503 MIGRATION_BUSY`
/// (the client sends it again after a pause); well inside the request timeout.
const TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl MigrationClient {
    /// The batch's turn to write, held until the batch and its progress are written. As many
    /// batches write at once as the database takes (`InstallationStore::bulk_writers`): one on
    /// SQLite, whose single writer's busy handler is not fair (a hundred waiting batches starve
    /// some past the busy timeout); a few on PostgreSQL. The other workers meanwhile read, send
    /// and check their next batches. A batch that waits longer than `TURN_WAIT` is answered
    /// `503 MIGRATION_BUSY`.
    pub async fn write_turn(&self) -> Result<tokio::sync::SemaphorePermit<'_>, Problem> {
        match tokio::time::timeout(TURN_WAIT, self.installation.migration_writes().acquire()).await
        {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(Problem::internal()),
            Err(_elapsed) => Err(Problem::unavailable(
                "MIGRATION_BUSY",
                "Other batches are being written; send this one again in a moment.",
            )),
        }
    }

    /// Adds to an entity's migration progress (shown by `GET /admin/installation`).
    pub async fn record_progress(
        &self,
        entity: &str,
        accepted: i64,
        refused: i64,
    ) -> Result<(), Problem> {
        self.installation
            .store()
            .add_progress(entity, accepted, refused, self.installation.now())
            .await
            .map_err(|error| {
                tracing::error!(%error, entity, "cannot record the migration's progress");
                Problem::fault(&error)
            })
    }
}

impl<S> FromRequestParts<S> for MigrationClient
where
    S: Send + Sync,
    Installation: FromRef<S>,
{
    type Rejection = MigrationRefusal;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let installation = Installation::from_ref(state);
        // The mode first: once operational every key is revoked, and the caller should learn
        // that migrating is over rather than that its key is.
        if installation.mode().await == InstallationMode::Operational {
            return Err(MigrationRefusal::Operational);
        }
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case(MIGRATION_SCHEME))
            .map(|(_, key)| key.trim())
            .ok_or_else(|| {
                MigrationRefusal::Key(String::from(
                    "The migration endpoints need `Authorization: Migration <key>` with this \
                     installation's migration key.",
                ))
            })?;
        let unknown = || {
            MigrationRefusal::Key(String::from(
                "The migration key is not a key of this installation.",
            ))
        };
        let (id, secret) = parse(presented).ok_or_else(unknown)?;
        let stored = installation
            .store()
            .key(id)
            .await
            .map_err(|error| {
                tracing::error!(%error, "cannot read the migration keys");
                MigrationRefusal::Internal(Problem::fault(&error))
            })?
            .ok_or_else(unknown)?;
        let digest: [u8; 32] = Sha256::digest(secret).into();
        let matches: bool = digest
            .as_slice()
            .ct_eq(stored.secret_sha256.as_slice())
            .into();
        if !matches || stored.installation_id != installation.id() {
            tracing::warn!(key_id = %stored.id, "a migration key with a wrong secret was refused");
            return Err(unknown());
        }
        if let Some(revoked_at) = stored.revoked_at {
            return Err(MigrationRefusal::Key(format!(
                "The migration key was revoked at {} ({}).",
                revoked_at.to_rfc3339(),
                stored.revoked_because.as_deref().unwrap_or("revoked")
            )));
        }
        if stored.expires_at <= installation.now() {
            return Err(MigrationRefusal::Key(format!(
                "The migration key expired at {}; an admin creates a new one.",
                stored.expires_at.to_rfc3339()
            )));
        }
        Ok(Self {
            key_id: stored.id,
            expires_at: stored.expires_at,
            installation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_form_of_a_key_parses() {
        let secret = URL_SAFE_NO_PAD.encode([7_u8; 32]);
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(parse(&format!("{id}.{secret}")), Some((id, [7_u8; 32])));
        assert!(parse(&format!("{id}{secret}")).is_none());
        assert!(parse(&format!("{}.{secret}", &id[1..])).is_none());
        assert!(parse(&format!("{id}.{}", URL_SAFE_NO_PAD.encode([7_u8; 31]))).is_none());
        assert!(parse(&format!("{id}.not base64")).is_none());
    }
}
