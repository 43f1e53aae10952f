//! The stored rows, read by column name, and turned back into domain types on both backends.
//! `Id` is the backend's id type ([`super::Backend::Id`]).

use chrono::{DateTime, NaiveDate, Utc};
use common::identity::{HsaId, PersonalIdentityNumber};

use super::{Backend, StoreError, WebSession};
use crate::domain::citizen::{Citizen, CitizenProfile};
use crate::domain::message::InboxMessage;
use crate::domain::notification::{Channel, Notification};

#[derive(sqlx::FromRow)]
pub(super) struct CitizenRow<Id> {
    citizen_id: Id,
    personal_identity_number: String,
    name: String,
    active: bool,
    notification_sms: bool,
    notification_email: bool,
    phone: Option<String>,
    email: Option<String>,
}

impl<Id> CitizenRow<Id> {
    pub(super) fn read<DB: Backend<Id = Id>>(self) -> Result<Citizen, StoreError> {
        Ok(Citizen {
            id: DB::uuid(self.citizen_id, "citizen.citizen_id")?.into(),
            profile: CitizenProfile {
                personal_identity_number: PersonalIdentityNumber::parse(
                    &self.personal_identity_number,
                )
                .map_err(|_| StoreError::Corrupt("citizen.personal_identity_number"))?,
                name: self.name,
                active: self.active,
                notification_sms: self.notification_sms,
                notification_email: self.notification_email,
                phone: self.phone,
                email: self.email,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct MessageRow<Id> {
    message_id: Id,
    citizen_id: Id,
    care_unit: String,
    care_unit_name: String,
    subject: String,
    body: String,
    url: Option<String>,
    source_system: String,
    expire_date: Option<NaiveDate>,
    received_at: DateTime<Utc>,
    read_at: Option<DateTime<Utc>>,
}

impl<Id> MessageRow<Id> {
    pub(super) fn read<DB: Backend<Id = Id>>(self) -> Result<InboxMessage, StoreError> {
        Ok(InboxMessage {
            id: DB::uuid(self.message_id, "inbox_message.message_id")?.into(),
            citizen_id: DB::uuid(self.citizen_id, "inbox_message.citizen_id")?.into(),
            care_unit: hsa_id(&self.care_unit, "inbox_message.care_unit")?,
            care_unit_name: self.care_unit_name,
            subject: self.subject,
            body: self.body,
            url: self.url,
            source_system: hsa_id(&self.source_system, "inbox_message.source_system")?,
            expire_date: self.expire_date,
            received_at: self.received_at,
            read_at: self.read_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct NotificationRow<Id> {
    notification_id: Id,
    citizen_id: Id,
    message_id: Id,
    channel: String,
    recipient: String,
    text: String,
    sent_at: DateTime<Utc>,
}

impl<Id> NotificationRow<Id> {
    pub(super) fn read<DB: Backend<Id = Id>>(self) -> Result<Notification, StoreError> {
        Ok(Notification {
            id: DB::uuid(self.notification_id, "notification.notification_id")?,
            citizen_id: DB::uuid(self.citizen_id, "notification.citizen_id")?.into(),
            message_id: DB::uuid(self.message_id, "notification.message_id")?.into(),
            channel: Channel::from_code(&self.channel)
                .ok_or(StoreError::Corrupt("notification.channel"))?,
            recipient: self.recipient,
            text: self.text,
            sent_at: self.sent_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SessionRow<Id> {
    session_hash: String,
    citizen_id: Id,
    csrf_token: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl<Id> SessionRow<Id> {
    pub(super) fn read<DB: Backend<Id = Id>>(self) -> Result<WebSession, StoreError> {
        Ok(WebSession {
            session_hash: self.session_hash,
            citizen_id: DB::uuid(self.citizen_id, "web_session.citizen_id")?.into(),
            csrf_token: self.csrf_token,
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

fn hsa_id(value: &str, column: &'static str) -> Result<HsaId, StoreError> {
    HsaId::parse(value).map_err(|_| StoreError::Corrupt(column))
}
