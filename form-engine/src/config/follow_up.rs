//! `[reminders]`: the reminder job (docs/follow-up.md). Reminders go to the patient portal at
//! `patient_portal_url` with the engine's credentials `[patient_portal_client]`.

use serde::{Deserialize, Serialize};

use crate::domain::follow_up::reminders::ReminderRules;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemindersConfig {
    /// How often the job looks for reminders due, in seconds.
    pub interval_secs: u64,
    /// The delay before retrying a reminder the portal did not answer, in seconds; doubled
    /// after each failed attempt up to `max_retry_delay_secs`.
    pub first_retry_delay_secs: u32,
    pub max_retry_delay_secs: u32,
    /// Attempts in all before an unreachable portal is given up on.
    pub max_attempts: u16,
    /// The link to a form in the citizen's portal; `{formId}` is replaced. Default
    /// `{patient_portal_url}/forms/{formId}`.
    pub form_link: Option<String>,
    /// Timeout of one call to the portal, in milliseconds.
    pub request_timeout_ms: u64,
}

impl Default for RemindersConfig {
    fn default() -> Self {
        Self {
            interval_secs: 300,
            first_retry_delay_secs: 300,
            max_retry_delay_secs: 6 * 3600,
            max_attempts: 10,
            form_link: None,
            request_timeout_ms: 10_000,
        }
    }
}

impl RemindersConfig {
    /// The rules the job applies.
    pub fn rules(&self) -> ReminderRules {
        ReminderRules {
            interval: std::time::Duration::from_secs(self.interval_secs.max(1)),
            first_retry_delay: chrono::Duration::seconds(i64::from(
                self.first_retry_delay_secs.max(1),
            )),
            max_retry_delay: chrono::Duration::seconds(i64::from(self.max_retry_delay_secs.max(1))),
            max_attempts: i32::from(self.max_attempts.max(1)),
            // Longer than a call can take (the request timeout), twice over.
            lease: chrono::Duration::milliseconds(
                i64::try_from(self.request_timeout_ms.saturating_mul(4)).unwrap_or(i64::MAX),
            )
            .max(chrono::Duration::seconds(60)),
        }
    }

    pub fn request_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.request_timeout_ms.max(1))
    }
}
