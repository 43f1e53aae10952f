//! The portal's operations over its store: what the contracts, the admin endpoints and the
//! citizen's pages do. Handlers call these, never the store; a failure is a [`PortalError`],
//! which each edge turns into its answer (a problem document, or a page).

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use common::audit::AuditEvent;
use common::identity::PersonalIdentityNumber;

use super::citizen::{Citizen, CitizenId, CitizenProfile};
use super::message::{self, InboxMessage, MessageId, NewMessage, Refusal};
use super::notification::{self, Notification};
use super::session::WebSession;
use crate::store::{PortalStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("no test citizen has this id")]
    CitizenNotFound,
    #[error("a test citizen has this personal identity number")]
    CitizenExists,
    /// A citizen's personal identity number never changes (delete and create instead).
    #[error("a test citizen's personal identity number cannot change")]
    PersonalIdentityNumberFixed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What became of a message for a citizen's inbox.
pub enum Delivery {
    /// Kept, with the notifications it caused.
    Delivered {
        message_id: MessageId,
        notifications: usize,
    },
    /// Not delivered, and why (the contract answers `ERROR` with it).
    Refused(Refusal),
}

#[derive(Clone)]
pub struct Portal {
    store: Arc<dyn PortalStore>,
}

/// The operations that only read or write what the store keeps say so in the store's words
/// ([`PortalStore`]); the others say what they decide.
impl Portal {
    pub fn new(store: Arc<dyn PortalStore>) -> Self {
        Self { store }
    }

    pub async fn citizens(&self) -> Result<Vec<Citizen>, PortalError> {
        Ok(self.store.citizens().await?)
    }

    pub async fn citizen(&self, id: CitizenId) -> Result<Citizen, PortalError> {
        self.store
            .citizen(id)
            .await?
            .ok_or(PortalError::CitizenNotFound)
    }

    /// The citizen with this number, if the portal knows one.
    pub async fn find_citizen(
        &self,
        number: &PersonalIdentityNumber,
    ) -> Result<Option<Citizen>, PortalError> {
        Ok(self
            .store
            .citizen_by_personal_identity_number(number)
            .await?)
    }

    /// A new test citizen; [`PortalError::CitizenExists`] when the number is taken.
    pub async fn create_citizen(
        &self,
        profile: CitizenProfile,
        now: DateTime<Utc>,
    ) -> Result<Citizen, PortalError> {
        let citizen = Citizen {
            id: CitizenId::new(),
            profile,
        };
        match self.store.create_citizen(&citizen, now).await {
            Ok(()) => Ok(citizen),
            Err(StoreError::Conflict) => Err(PortalError::CitizenExists),
            Err(error) => Err(error.into()),
        }
    }

    /// The citizen `id` is, when a change names a number (`given`), checked to be the one it
    /// has: a number never changes.
    pub async fn citizen_to_change(
        &self,
        id: CitizenId,
        given: Option<&PersonalIdentityNumber>,
    ) -> Result<Citizen, PortalError> {
        let stored = self.citizen(id).await?;
        if given.is_some_and(|given| *given != stored.profile.personal_identity_number) {
            return Err(PortalError::PersonalIdentityNumberFixed);
        }
        Ok(stored)
    }

    /// Replaces the citizen's details (not the id or the number).
    pub async fn change_citizen(
        &self,
        citizen: &Citizen,
        now: DateTime<Utc>,
    ) -> Result<(), PortalError> {
        if self.store.update_citizen(citizen, now).await? {
            Ok(())
        } else {
            Err(PortalError::CitizenNotFound)
        }
    }

    /// Deletes the citizen with their messages, notifications and sessions; the citizen as
    /// they were.
    pub async fn delete_citizen(&self, id: CitizenId) -> Result<Citizen, PortalError> {
        let citizen = self.citizen(id).await?;
        if self.store.delete_citizen(id).await? {
            Ok(citizen)
        } else {
            Err(PortalError::CitizenNotFound)
        }
    }

    /// Delivers a message to its citizen's inbox with the notifications it causes, and the
    /// request's audit row (naming the message) in the same transaction; or says why not.
    pub async fn deliver(
        &self,
        message: NewMessage,
        audit: &AuditEvent,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Delivery, PortalError> {
        let found = self.find_citizen(&message.subject_of_care).await?;
        let citizen = match message::may_deliver(found.as_ref(), message.expire_date, today) {
            Ok(citizen) => citizen,
            Err(refusal) => return Ok(Delivery::Refused(refusal)),
        };
        let message = message.into_inbox(citizen.id, now);
        let notifications = notification::for_new_message(citizen, message.id, now);
        let audit = audit.clone().resource(message.id.to_string());
        self.store
            .add_message_audited(&message, &notifications, &[audit])
            .await?;
        Ok(Delivery::Delivered {
            message_id: message.id,
            notifications: notifications.len(),
        })
    }

    pub async fn inbox(
        &self,
        citizen: CitizenId,
        today: NaiveDate,
    ) -> Result<Vec<InboxMessage>, PortalError> {
        Ok(self.store.inbox(citizen, today).await?)
    }

    pub async fn open_message(
        &self,
        citizen: CitizenId,
        message: MessageId,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Option<InboxMessage>, PortalError> {
        Ok(self
            .store
            .open_message(citizen, message, today, now)
            .await?)
    }

    pub async fn notifications(
        &self,
        citizen: Option<CitizenId>,
        limit: u32,
    ) -> Result<Vec<Notification>, PortalError> {
        Ok(self.store.notifications(citizen, limit).await?)
    }

    /// The live session kept under `session_hash` and its citizen, kept alive for another
    /// `idle` period.
    pub async fn resume_session(
        &self,
        session_hash: &str,
        now: DateTime<Utc>,
        idle: Duration,
    ) -> Result<Option<(Citizen, WebSession)>, PortalError> {
        let Some(mut session) = self.store.session(session_hash, now).await? else {
            return Ok(None);
        };
        let Some(citizen) = self.store.citizen(session.citizen_id).await? else {
            return Ok(None);
        };
        session.expires_at = now + idle;
        self.store
            .extend_session(session_hash, session.expires_at)
            .await?;
        Ok(Some((citizen, session)))
    }

    /// Keeps a new session, ending `previous` (the browser's earlier one) and every session
    /// expired at `session.created_at`.
    pub async fn start_session(
        &self,
        session: &WebSession,
        previous: Option<&str>,
    ) -> Result<(), PortalError> {
        self.store
            .delete_expired_sessions(session.created_at)
            .await?;
        if let Some(previous) = previous {
            self.store.delete_session(previous).await?;
        }
        Ok(self.store.create_session(session).await?)
    }

    pub async fn end_session(&self, session_hash: &str) -> Result<(), PortalError> {
        Ok(self.store.delete_session(session_hash).await?)
    }
}
