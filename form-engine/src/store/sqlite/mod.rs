//! The SQLite store: the embedded default.

mod follow_up;
mod forms;
mod identity;
mod migration;
mod retention;
mod templates;

use chrono::{DateTime, SecondsFormat, Utc};
use common::delivery::SqliteDeliveryStore;

use super::StoreError;

form_store!(
    SqliteStore,
    sqlx::Sqlite,
    SqliteDeliveryStore,
    identity::SqliteIdentityLinks,
    migration::SqliteMigration,
    common::delivery::enqueue_sqlite,
);

/// Times are stored as RFC 3339 UTC text with a fixed width, so text order is time order.
pub(super) fn time_text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(super) fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("stored time `{text}`: {e}")))
}
