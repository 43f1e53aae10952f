//! The reminder job: on the days before expireDate its policy names, a citizen who has not
//! sent a form gets a message in the patient portal's inbox with the form's link.
//!
//! Each reminder (a form and a day) is claimed in the database before it is sent, so it is
//! sent once whichever of several engine processes gets there first. The claim is a lease:
//! a process that dies before recording the outcome leaves the reminder to be tried again
//! when the lease runs out. Every attempt is recorded with its outcome (GetForm shows them);
//! an unreachable portal is tried again with a growing delay.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{Days, NaiveDate};
use common::db::ResponseTimeout;
use common::shutdown::Shutdown;
use uuid::Uuid;

use super::clock::{Clock, swedish_date};
use super::policy::{MAX_DAYS_BEFORE, due_reminder};
use super::portal::{Portal, PortalError, PortalUser, ReminderMessage};
use crate::domain::form::model::{Form, FormStatus};
use crate::domain::template::service::TemplateService;
use crate::store::follow_up::{FollowUpStore, PendingReminder};
use crate::store::{FormStore, StoreError, TemplateKey};

/// Forms read per batch.
const BATCH: u32 = 500;

/// What became of one attempt at a reminder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// In the inbox, and the citizen is notified by SMS or e-mail.
    Sent,
    /// In the inbox; the citizen has notifications off and sees it at the next sign-in.
    NotificationsOff,
    /// The portal does not know the citizen (or not as an active user): nothing sent.
    NotAPortalUser,
    /// The portal did not answer: tried again later.
    PortalUnreachable,
    /// The portal refused the call (e.g. no agreement for the care unit): not tried again.
    PortalRefused,
    /// The form was sent, expired or deleted before a retry: nothing sent.
    FormClosed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "Sent",
            Self::NotificationsOff => "NotificationsOff",
            Self::NotAPortalUser => "NotAPortalUser",
            Self::PortalUnreachable => "PortalUnreachable",
            Self::PortalRefused => "PortalRefused",
            Self::FormClosed => "FormClosed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Sent,
            Self::NotificationsOff,
            Self::NotAPortalUser,
            Self::PortalUnreachable,
            Self::PortalRefused,
            Self::FormClosed,
        ]
        .into_iter()
        .find(|outcome| outcome.as_str() == text)
    }
}

/// How the job runs and retries.
#[derive(Clone, Debug)]
pub struct ReminderRules {
    /// How often the job looks for reminders due.
    pub interval: Duration,
    /// The delay before the first retry; doubled after each, up to `max_retry_delay`.
    pub first_retry_delay: chrono::Duration,
    pub max_retry_delay: chrono::Duration,
    /// Attempts in all before an unreachable portal is given up on.
    pub max_attempts: i32,
    /// How long a claimed reminder is left to its process before another may try it.
    pub lease: chrono::Duration,
}

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reminded {
    /// Attempts made (first ones and retries).
    pub attempts: u64,
    /// Of them, messages put in an inbox.
    pub delivered: u64,
}

pub struct ReminderJob {
    forms: Arc<dyn FormStore>,
    store: Arc<dyn FollowUpStore>,
    templates: Arc<TemplateService>,
    portal: Arc<dyn Portal>,
    rules: ReminderRules,
    clock: Clock,
    /// The bound on each statement: a silent database fails the run, which runs again,
    /// instead of stopping reminders for good (`common::db::ResponseTimeout`).
    limit: ResponseTimeout,
}

impl ReminderJob {
    pub fn new(
        forms: Arc<dyn FormStore>,
        templates: Arc<TemplateService>,
        portal: Arc<dyn Portal>,
        rules: ReminderRules,
        clock: Clock,
    ) -> Self {
        Self {
            store: forms.follow_up(),
            forms,
            templates,
            portal,
            rules,
            clock,
            limit: ResponseTimeout::DEFAULT,
        }
    }

    /// Bounds each statement by `limit` (`database.response_timeout_secs`).
    #[must_use]
    pub fn with_response_timeout(mut self, limit: ResponseTimeout) -> Self {
        self.limit = limit;
        self
    }

    /// Runs every `interval` until `shutdown`.
    pub async fn run(self, shutdown: Shutdown) {
        loop {
            match self.run_once().await {
                Ok(done) if done != Reminded::default() => {
                    tracing::info!(
                        attempts = done.attempts,
                        delivered = done.delivered,
                        "reminders sent"
                    );
                }
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "the reminder job failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.rules.interval) => {}
            }
        }
    }

    /// One run as of the clock's now: first reminders due today, then retries due.
    pub async fn run_once(&self) -> Result<Reminded, StoreError> {
        let mut done = Reminded::default();
        self.first_attempts(&mut done).await?;
        self.retries(&mut done).await?;
        Ok(done)
    }

    async fn first_attempts(&self, done: &mut Reminded) -> Result<(), StoreError> {
        let now = (self.clock)();
        let today = swedish_date(now);
        let (Some(from), Some(to)) = (
            today.checked_add_days(Days::new(1)),
            today.checked_add_days(Days::new(u64::from(MAX_DAYS_BEFORE))),
        ) else {
            return Ok(());
        };
        let mut policies: HashMap<TemplateKey, Vec<u32>> = HashMap::new();
        let mut after = None;
        loop {
            let batch = self
                .limit
                .bound(self.store.reminder_candidates(from, to, after, BATCH))
                .await?;
            for candidate in &batch {
                let days = match &candidate.days_before {
                    Some(days) => days.clone(),
                    None => self.policy(&candidate.template, &mut policies).await,
                };
                let created_on = swedish_date(candidate.created_at);
                let Some(due) = due_reminder(&days, candidate.expire_date, created_on, today)
                else {
                    continue;
                };
                if candidate.last_claimed.is_some_and(|last| last >= due) {
                    continue;
                }
                let lease_until = now + self.rules.lease;
                if self
                    .limit
                    .bound(
                        self.store
                            .claim_reminder(candidate.form_id, due, now, lease_until),
                    )
                    .await?
                {
                    self.attempt(candidate.form_id, due, 1, done).await?;
                }
            }
            if batch.len() < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                return Ok(());
            }
            after = batch.last().map(|c| c.form_id);
        }
    }

    async fn retries(&self, done: &mut Reminded) -> Result<(), StoreError> {
        let now = (self.clock)();
        let due = self
            .limit
            .bound(self.store.reminders_to_retry(now, BATCH))
            .await?;
        for pending in due {
            if self
                .limit
                .bound(self.store.take_retry(&pending, now + self.rules.lease))
                .await?
            {
                let PendingReminder {
                    form_id,
                    due_date,
                    attempts,
                    ..
                } = pending;
                self.attempt(form_id, due_date, attempts + 1, done).await?;
            }
        }
        Ok(())
    }

    /// The template's reminder days (none when it cannot be read).
    async fn policy(
        &self,
        key: &TemplateKey,
        known: &mut HashMap<TemplateKey, Vec<u32>>,
    ) -> Vec<u32> {
        if let Some(days) = known.get(key) {
            return days.clone();
        }
        let read = tokio::time::timeout(self.limit.limit(), self.templates.compiled_for_form(key));
        let days = match read.await {
            Ok(Ok(template)) => template.template().reminder_days_before.clone(),
            Ok(Err(error)) => {
                tracing::warn!(%error, template_id = %key.template_id, "no reminder policy: the template does not read");
                Vec::new()
            }
            // Not kept: the next run reads it again.
            Err(_) => {
                tracing::warn!(error = %self.limit.silence(), template_id = %key.template_id, "no reminder policy this run: the template was not read in time");
                return Vec::new();
            }
        };
        known.insert(key.clone(), days.clone());
        days
    }

    /// Attempt number `attempt` at the reminder of `form_id` on `due`, and its record.
    async fn attempt(
        &self,
        form_id: Uuid,
        due: NaiveDate,
        attempt: i32,
        done: &mut Reminded,
    ) -> Result<(), StoreError> {
        let now = (self.clock)();
        let outcome = match self.limit.bound(self.forms.form(form_id)).await? {
            Some(form) if is_open(&form, swedish_date(now)) => self.send(&form).await,
            _ => Outcome::FormClosed,
        };
        let retry_at = (outcome == Outcome::PortalUnreachable && attempt < self.rules.max_attempts)
            .then(|| now + self.retry_delay(attempt));
        self.limit
            .bound(self.store.record_reminder(
                form_id,
                due,
                attempt,
                now,
                outcome.as_str(),
                retry_at,
            ))
            .await?;
        done.attempts += 1;
        if matches!(outcome, Outcome::Sent | Outcome::NotificationsOff) {
            done.delivered += 1;
        }
        tracing::info!(%form_id, %due, attempt, outcome = outcome.as_str(), "form reminder");
        Ok(())
    }

    async fn send(&self, form: &Form) -> Outcome {
        let Some(subject) = &form.subject_of_care else {
            return Outcome::FormClosed;
        };
        let user = match self.portal.is_active_user(subject.as_str()).await {
            Ok(user) => user,
            Err(error) => return failed(&error),
        };
        if user == PortalUser::NotAUser {
            return Outcome::NotAPortalUser;
        }
        match self
            .portal
            .add_message(&self.message(form, subject.as_str()))
            .await
        {
            Ok(()) if user == PortalUser::NotificationsOff => Outcome::NotificationsOff,
            Ok(()) => Outcome::Sent,
            Err(error) => failed(&error),
        }
    }

    fn message(&self, form: &Form, subject: &str) -> ReminderMessage {
        let care_unit_name = form
            .care_unit_name
            .clone()
            .unwrap_or_else(|| form.care_unit.to_string());
        let expire_date = form.expire_date.unwrap_or_default();
        ReminderMessage {
            subject_of_care: subject.to_owned(),
            care_unit: form.care_unit.to_string(),
            subject: format!("Påminnelse: {}", form.form_name),
            body: format!(
                "{care_unit_name} väntar fortfarande på dina svar i formuläret \"{}\". \
                 Sista dagen att svara är {}.",
                form.form_name,
                expire_date.format("%Y-%m-%d")
            ),
            care_unit_name,
            url: self.portal.form_link(&form.id.to_string()),
            expire_date,
        }
    }

    /// The delay after failed attempt number `attempt`: doubling from the first delay.
    fn retry_delay(&self, attempt: i32) -> chrono::Duration {
        let doublings = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        let delay = self
            .rules
            .first_retry_delay
            .checked_mul(2_i32.saturating_pow(doublings))
            .unwrap_or(self.rules.max_retry_delay);
        delay.min(self.rules.max_retry_delay)
    }
}

/// Still to be answered: not sent, not expired, its expireDate not passed.
fn is_open(form: &Form, today: NaiveDate) -> bool {
    form.status != FormStatus::Completed
        && form.expired_at.is_none()
        && form.expire_date.is_some_and(|d| d >= today)
}

fn failed(error: &PortalError) -> Outcome {
    tracing::warn!(%error, "a reminder did not reach the patient portal");
    match error {
        PortalError::Unreachable(_) => Outcome::PortalUnreachable,
        PortalError::Refused(_) => Outcome::PortalRefused,
    }
}
