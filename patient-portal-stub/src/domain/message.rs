//! Inbox messages: what a care system may put in a citizen's inbox, and whether it is delivered.

use chrono::{DateTime, NaiveDate, Utc};
use common::identity::{HsaId, PersonalIdentityNumber};
use uuid::Uuid;

use super::citizen::{Citizen, CitizenId};

/// The opaque identity of an inbox message (the contract's `messageId`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessageId(Uuid);

impl MessageId {
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    pub fn as_uuid(self) -> Uuid {
        self.0
    }

    pub fn parse(value: &str) -> Option<Self> {
        Uuid::parse_str(value).ok().map(Self)
    }
}

impl Default for MessageId {
    fn default() -> Self {
        Self::new()
    }
}

impl From<Uuid> for MessageId {
    fn from(value: Uuid) -> Self {
        Self(value)
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Limits of the free-text fields, in characters (the PostgreSQL columns' widths).
pub const CARE_UNIT_NAME_MAX_CHARS: usize = 255;
pub const SUBJECT_MAX_CHARS: usize = 255;
pub const BODY_MAX_CHARS: usize = 100_000;
pub const URL_MAX_CHARS: usize = 2048;

/// Why a text field of a message is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("at most {0} characters")]
    TooLong(usize),
    #[error(
        "must be an absolute http:// or https:// address without spaces, at most {URL_MAX_CHARS} characters"
    )]
    Url,
}

/// A mandatory free text: not blank, at most `max` characters. Kept as sent (line breaks in a
/// body matter), only checked.
pub fn required_text(value: &str, max: usize) -> Result<(), TextError> {
    if value.trim().is_empty() {
        Err(TextError::Empty)
    } else if value.chars().count() > max {
        Err(TextError::TooLong(max))
    } else {
        Ok(())
    }
}

/// The link a message may carry. Only http(s) is accepted because the pages render it as a
/// link: a `javascript:` or `data:` address would run in the citizen's session.
pub fn link(value: &str) -> Result<(), TextError> {
    let lower = value.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let host_present = rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'));
    let clean = value.chars().all(|c| c.is_ascii_graphic());
    if host_present && clean && value.len() <= URL_MAX_CHARS {
        Ok(())
    } else {
        Err(TextError::Url)
    }
}

/// A message accepted for a citizen's inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxMessage {
    pub id: MessageId,
    pub citizen_id: CitizenId,
    pub care_unit: HsaId,
    pub care_unit_name: String,
    pub subject: String,
    pub body: String,
    pub url: Option<String>,
    pub source_system: HsaId,
    /// After this date (Swedish calendar) the message is no longer shown.
    pub expire_date: Option<NaiveDate>,
    pub received_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl InboxMessage {
    pub fn is_unread(&self) -> bool {
        self.read_at.is_none()
    }
}

/// A message a care system sends, as checked at the edge.
pub struct NewMessage {
    pub subject_of_care: PersonalIdentityNumber,
    pub care_unit: HsaId,
    pub care_unit_name: String,
    pub subject: String,
    pub body: String,
    pub url: Option<String>,
    pub source_system: HsaId,
    pub expire_date: Option<NaiveDate>,
}

impl NewMessage {
    /// The message in `citizen`'s inbox, received `now` and unread.
    pub fn into_inbox(self, citizen: CitizenId, now: DateTime<Utc>) -> InboxMessage {
        InboxMessage {
            id: MessageId::new(),
            citizen_id: citizen,
            care_unit: self.care_unit,
            care_unit_name: self.care_unit_name,
            subject: self.subject,
            body: self.body,
            url: self.url,
            source_system: self.source_system,
            expire_date: self.expire_date,
            received_at: now,
            read_at: None,
        }
    }
}

/// Why a message is not delivered: the contract answers `resultCode: ERROR` with the comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "No patient portal user has this personal identity number; the message was not delivered."
    )]
    UnknownCitizen,
    #[error(
        "The citizen has not activated the patient portal inbox; the message was not delivered."
    )]
    InactiveCitizen,
    #[error("expireDate has already passed; the message was not delivered.")]
    AlreadyExpired,
}

/// Whether a message for `citizen` (if the portal knows one) that expires on `expire_date` is
/// delivered today (`today` in Sweden).
pub fn may_deliver(
    citizen: Option<&Citizen>,
    expire_date: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<&Citizen, Refusal> {
    let citizen = citizen.ok_or(Refusal::UnknownCitizen)?;
    if !citizen.profile.active {
        return Err(Refusal::InactiveCitizen);
    }
    if expire_date.is_some_and(|date| date < today) {
        return Err(Refusal::AlreadyExpired);
    }
    Ok(citizen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::citizen::default_test_citizens;

    fn citizen(active: bool) -> Citizen {
        let mut profile = default_test_citizens().remove(0);
        profile.active = active;
        Citizen {
            id: CitizenId::new(),
            profile,
        }
    }

    #[test]
    fn only_an_active_known_citizen_gets_messages() {
        let today = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        assert_eq!(
            may_deliver(None, None, today).unwrap_err(),
            Refusal::UnknownCitizen
        );
        assert_eq!(
            may_deliver(Some(&citizen(false)), None, today).unwrap_err(),
            Refusal::InactiveCitizen
        );
        assert!(may_deliver(Some(&citizen(true)), None, today).is_ok());
    }

    #[test]
    fn a_message_may_expire_today_but_not_yesterday() {
        let today = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        let active = citizen(true);
        assert!(may_deliver(Some(&active), Some(today), today).is_ok());
        assert_eq!(
            may_deliver(Some(&active), today.pred_opt(), today).unwrap_err(),
            Refusal::AlreadyExpired
        );
    }

    #[test]
    fn links_are_http_or_https_only() {
        for ok in [
            "https://portal.example/forms/1",
            "HTTP://127.0.0.1:8083/x?y=1",
        ] {
            assert!(link(ok).is_ok(), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "https://",
            "https:///path",
            "/forms/1",
            "https://a b",
            "ftp://example.com",
        ] {
            assert_eq!(link(bad), Err(TextError::Url), "{bad}");
        }
    }

    #[test]
    fn texts_must_have_content_within_their_limit() {
        assert_eq!(required_text(" \n", 10), Err(TextError::Empty));
        assert_eq!(required_text("åäö", 2), Err(TextError::TooLong(2)));
        assert!(required_text("åäö", 3).is_ok());
    }
}
