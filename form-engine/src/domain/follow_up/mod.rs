//! Following a form up after it was requested (docs/follow-up.md): reminders to the citizen
//! before expireDate, and alarms to the care unit when a form expires unanswered or the
//! citizen asks for a sent form to be revoked.

pub mod alarms;
pub mod clock;
pub mod policy;
pub mod portal;
pub mod reminders;
