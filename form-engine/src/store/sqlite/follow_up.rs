//! Alarms and reminders in SQLite (`SqlFollowUpStore`; one writer: the counter update
//! serialises alarms).

use sqlx::{Sqlite, SqliteConnection};
use uuid::Uuid;

use crate::store::StoreError;
use crate::store::follow_up::sql::FollowUpBackend;

impl FollowUpBackend for Sqlite {
    const REMINDERS_OF: &'static str = "SELECT form_id, due_date, at, outcome \
        FROM form_reminder_attempt WHERE form_id IN (SELECT value FROM json_each($1)) \
        ORDER BY at, attempt";

    /// The ids as a JSON array of UUID text.
    type IdList = String;

    fn id_list(ids: &[Uuid]) -> String {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        serde_json::to_string(&ids).unwrap_or_default()
    }
}

/// Stores reminderDaysBefore of new forms, in the caller's transaction.
pub(super) async fn insert_reminder_days(
    connection: &mut SqliteConnection,
    days: &[(Uuid, Vec<u32>)],
) -> Result<(), StoreError> {
    crate::store::follow_up::sql::insert_reminder_days::<Sqlite>(connection, days).await
}
