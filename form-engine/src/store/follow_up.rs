//! Follow-up of forms in the database (docs/follow-up.md): the alarm feed per care unit
//! (FormExpired, RevocationRequested) and the reminders sent to the citizen before
//! expireDate.
//!
//! Alarms are written in the transaction of the form change that raises them, numbered from
//! a one-row counter updated in that transaction: serial numbers are gap-free and in commit
//! order per installation. A reminder is claimed (a row per form and day) before it is sent,
//! so it is sent once whichever engine process gets there first.

pub(super) mod sql;

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use common::audit::AuditEvent;
use common::delivery::NewDelivery;
use uuid::Uuid;

use super::{StoreError, TemplateKey};
use crate::domain::form::model::Form;

/// Why a care unit is alarmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlarmKind {
    /// A requested form was not COMPLETED by its expireDate.
    FormExpired,
    /// The citizen asked for a COMPLETED form to be revoked (CancelForm on a sent form).
    RevocationRequested,
}

impl AlarmKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FormExpired => "FormExpired",
            Self::RevocationRequested => "RevocationRequested",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "FormExpired" => Some(Self::FormExpired),
            "RevocationRequested" => Some(Self::RevocationRequested),
            _ => None,
        }
    }
}

/// An alarm to add; its serial number is given when it is stored.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAlarm {
    pub care_unit: String,
    pub kind: AlarmKind,
    pub form_id: Uuid,
    pub subject_of_care: Option<String>,
    pub template_id: String,
    pub expire_date: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
}

impl NewAlarm {
    /// The alarm `kind` about `form`, for the care unit that requested it.
    pub fn about(form: &Form, kind: AlarmKind, at: DateTime<Utc>) -> Self {
        Self {
            care_unit: form.care_unit.to_string(),
            kind,
            form_id: form.id,
            subject_of_care: form.subject_of_care.as_ref().map(|s| s.as_str().to_owned()),
            template_id: form.template.template_id.clone(),
            expire_date: form.expire_date,
            created_at: at,
        }
    }
}

/// A stored alarm.
#[derive(Clone, Debug, PartialEq)]
pub struct Alarm {
    pub serial_number: i64,
    pub alarm: NewAlarm,
}

/// What the reminder job needs to know of a form that may be due a reminder.
#[derive(Clone, Debug, PartialEq)]
pub struct ReminderCandidate {
    pub form_id: Uuid,
    pub subject_of_care: String,
    pub care_unit: String,
    pub template: TemplateKey,
    pub form_name: String,
    pub form_text: Option<String>,
    pub expire_date: NaiveDate,
    pub created_at: DateTime<Utc>,
    /// reminderDaysBefore of the request; None = the template's policy.
    pub days_before: Option<Vec<u32>>,
    /// The latest day a reminder of the form was claimed for: a day not after it needs no
    /// claim (saves a write per form and run).
    pub last_claimed: Option<NaiveDate>,
}

/// A reminder the portal did not answer, to be tried again.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingReminder {
    pub form_id: Uuid,
    pub due_date: NaiveDate,
    /// Attempts made so far.
    pub attempts: i32,
    /// When it was due to be tried again, as read (taking it is conditional on it).
    pub next_attempt_at: DateTime<Utc>,
}

/// One attempt at a reminder and how it went, as GetForm shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReminderAttempt {
    pub due_date: NaiveDate,
    pub at: DateTime<Utc>,
    pub outcome: String,
}

#[async_trait]
pub trait FollowUpStore: Send + Sync + 'static {
    /// Writes a changed form with its outbox rows (as `FormStore::update_form_notifying`: only
    /// if its stored revision is still `form.revision - 1`, else [`StoreError::Conflict`]) and
    /// adds `alarm` in the same transaction. An alarm of the same kind for the form already
    /// there is kept (no second one).
    async fn update_form_raising(
        &self,
        form: &Form,
        deliveries: &[NewDelivery],
        audit: &[AuditEvent],
        alarm: &NewAlarm,
    ) -> Result<(), StoreError>;

    /// Up to `limit` alarms of every care unit after serial number `after`, in order.
    async fn alarms_after(&self, after: i64, limit: u32) -> Result<Vec<Alarm>, StoreError>;

    /// Up to `limit` alarms of one care unit after serial number `after`, in order.
    async fn care_unit_alarms_after(
        &self,
        care_unit: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Alarm>, StoreError>;

    /// The serial number up to which a care unit has acknowledged its feed (0 = none).
    async fn acknowledged(&self, care_unit: &str) -> Result<i64, StoreError>;

    /// Acknowledges a care unit's alarms up to `serial`, or up to the last number given when
    /// `serial` is beyond it (so alarms raised later are not acknowledged in advance); never
    /// moves backwards.
    async fn acknowledge(
        &self,
        care_unit: &str,
        serial: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Forms that are not completed nor expired, have a citizen, and expire on a day in
    /// `from..=to`; after form `after` in form-id order, at most `limit`.
    async fn reminder_candidates(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<ReminderCandidate>, StoreError>;

    /// Claims the reminder of a form on a day, leased until `lease_until` (tried again from
    /// then unless its outcome is recorded first); false when it was claimed before (by this
    /// or another process).
    async fn claim_reminder(
        &self,
        form_id: Uuid,
        due_date: NaiveDate,
        at: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Reminders to be tried again at `now`, at most `limit`.
    async fn reminders_to_retry(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingReminder>, StoreError>;

    /// Takes a reminder to try again if nobody took it since it was read (its next attempt
    /// is still as read), leasing it until `lease_until`; false when another process took it.
    async fn take_retry(
        &self,
        pending: &PendingReminder,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Records attempt number `attempt` (1-based) of a reminder and its outcome; with
    /// `retry_at` the reminder is tried again from then, else it is done.
    async fn record_reminder(
        &self,
        form_id: Uuid,
        due_date: NaiveDate,
        attempt: i32,
        at: DateTime<Utc>,
        outcome: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;

    /// Every reminder attempt of these forms, oldest first.
    async fn reminders_of(
        &self,
        form_ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<ReminderAttempt>>, StoreError>;
}
