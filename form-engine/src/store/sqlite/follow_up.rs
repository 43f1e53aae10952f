//! Alarms and reminders in SQLite (`SqlFollowUpStore`; one writer: the counter update
//! serialises alarms).

use sqlx::Sqlite;
use uuid::Uuid;

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
