//! Turning stored values back into domain types, shared by both backends.

use common::identity::{HsaId, PersonalIdentityNumber};
use uuid::Uuid;

use super::StoreError;
use crate::domain::notification::Channel;

pub(super) fn uuid(value: &str, column: &'static str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(value).map_err(|_| StoreError::Corrupt(column))
}

pub(super) fn personal_identity_number(value: &str) -> Result<PersonalIdentityNumber, StoreError> {
    PersonalIdentityNumber::parse(value)
        .map_err(|_| StoreError::Corrupt("citizen.personal_identity_number"))
}

pub(super) fn hsa_id(value: &str, column: &'static str) -> Result<HsaId, StoreError> {
    HsaId::parse(value).map_err(|_| StoreError::Corrupt(column))
}

pub(super) fn channel(value: &str) -> Result<Channel, StoreError> {
    Channel::from_code(value).ok_or(StoreError::Corrupt("notification.channel"))
}

pub(super) const CITIZEN_COLUMNS: &str = "citizen_id, personal_identity_number, name, active, \
     notification_sms, notification_email, phone, email";

pub(super) const MESSAGE_COLUMNS: &str = "message_id, citizen_id, care_unit, care_unit_name, \
     subject, body, url, source_system, expire_date, received_at, read_at";

pub(super) const NOTIFICATION_COLUMNS: &str =
    "notification_id, citizen_id, message_id, channel, recipient, text, sent_at";

pub(super) const SESSION_COLUMNS: &str =
    "session_hash, citizen_id, csrf_token, created_at, expires_at";
