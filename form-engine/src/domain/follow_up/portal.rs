//! What the reminder job needs of the patient portal (RIV-TA patientportal: IsActiveUser,
//! AddMessageToPatientPortalInbox); the HTTP client is `crate::portal`.

use async_trait::async_trait;
use chrono::NaiveDate;

/// The citizen as IsActiveUser answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortalUser {
    /// Not known to the portal, or not an active user: a message would reach no one.
    NotAUser,
    /// Active, with neither SMS nor e-mail notification on: a message waits in the inbox
    /// until the next sign-in.
    NotificationsOff,
    /// Active and notified of new messages.
    Notified,
}

/// A reminder in the citizen's inbox.
#[derive(Clone, Debug, PartialEq)]
pub struct ReminderMessage {
    pub subject_of_care: String,
    pub care_unit: String,
    pub care_unit_name: String,
    pub subject: String,
    pub body: String,
    /// The form in the portal.
    pub url: String,
    pub expire_date: NaiveDate,
}

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// No answer, a timeout, or a 5xx/429: tried again later.
    #[error("the patient portal did not answer: {0}")]
    Unreachable(String),
    /// The portal answered and refused (a 4xx, or ResultCode ERROR): not tried again.
    #[error("the patient portal refused: {0}")]
    Refused(String),
}

#[async_trait]
pub trait Portal: Send + Sync + 'static {
    async fn is_active_user(&self, subject_of_care: &str) -> Result<PortalUser, PortalError>;

    async fn add_message(&self, message: &ReminderMessage) -> Result<(), PortalError>;

    /// The link to a form in the citizen's portal.
    fn form_link(&self, form_id: &str) -> String;
}
