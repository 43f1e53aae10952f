//! A signed-in citizen's session on the pages.

use chrono::{DateTime, Utc};

use super::citizen::CitizenId;

/// A session as kept: the hash of the cookie value, never the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSession {
    pub session_hash: String,
    pub citizen_id: CitizenId,
    /// The synchroniser token every form of this session carries.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}
