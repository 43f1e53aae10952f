//! Alarms and reminders in PostgreSQL (`SqlFollowUpStore`): the counter row's lock, held
//! until commit, serialises alarms, so serial numbers follow commit order.

use sqlx::Postgres;
use uuid::Uuid;

use crate::store::follow_up::sql::FollowUpBackend;

impl FollowUpBackend for Postgres {
    const REMINDERS_OF: &'static str = "SELECT form_id, due_date, at, outcome \
        FROM form_reminder_attempt WHERE form_id = ANY($1) ORDER BY at, attempt";

    type IdList = Vec<Uuid>;

    fn id_list(ids: &[Uuid]) -> Vec<Uuid> {
        ids.to_vec()
    }
}
