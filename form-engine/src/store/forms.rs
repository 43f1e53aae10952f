//! What the store needs to know to keep forms: lookups, and the writes that go together in
//! one transaction (forms, their outbox row, the idempotent answer).

use chrono::{DateTime, NaiveDate, Utc};
use common::delivery::NewDelivery;
use serde_json::Value;
use uuid::Uuid;

use crate::domain::form::model::{Form, FormStatus};

/// GetForms' criteria; every given one must hold. Newest first.
#[derive(Clone, Debug, Default)]
pub struct FormQuery {
    pub subject_of_care: Option<String>,
    pub care_unit: Option<String>,
    /// Any of these care units; empty = any (the care units a caller may see).
    pub care_units: Vec<String>,
    /// Any of these; empty = any.
    pub clinical_process_interest_ids: Vec<String>,
    pub template_ids: Vec<String>,
    pub statuses: Vec<FormStatus>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_before: Option<DateTime<Utc>>,
    /// Expired forms (marked by the sweep) are left out unless asked for.
    pub include_expired: bool,
    /// When expired forms are left out: today in Sweden, so that an unanswered form whose
    /// expireDate has passed is left out before the sweep has marked it too.
    pub today: Option<NaiveDate>,
    /// Continue after this form (created_at, form_id) of an earlier page.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: u32,
}

/// The first answer given to a request with an Idempotency-Key.
#[derive(Clone, Debug, PartialEq)]
pub struct IdempotentAnswer {
    /// The contract and the caller: the same key from two callers are two keys.
    pub scope: String,
    pub key: String,
    pub request: Value,
    pub response: Value,
}

/// Forms created by one request, stored together with their outbox rows and the answer.
#[derive(Clone, Debug, Default)]
pub struct NewForms {
    pub forms: Vec<Form>,
    /// The Update to the engagement index and the ProcessNotification to care systems
    /// notified directly.
    pub deliveries: Vec<NewDelivery>,
    pub idempotency: Option<IdempotentAnswer>,
    /// reminderDaysBefore of the request, per form that has it (else the template's policy).
    pub reminder_days: Vec<(Uuid, Vec<u32>)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Created {
    Stored,
    /// The key was used before (perhaps a moment ago by a concurrent retry): nothing was
    /// stored, and this is the earlier request and answer.
    AlreadyAnswered {
        request: Value,
        response: Value,
    },
}

/// Which forms the background job handles next.
#[derive(Clone, Copy, Debug)]
pub enum Due {
    /// Not completed, not yet marked expired, and expireDate before this day.
    Expiry(NaiveDate),
    /// keepUntil before this day.
    Purge(NaiveDate),
}
