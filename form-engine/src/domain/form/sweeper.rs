//! The background job: forms whose expireDate has passed leave the citizen's active list (and
//! their FormCreated post goes); forms whose keepUntil has passed are deleted (with their
//! post); idempotent answers older than their retention are forgotten.
//!
//! A form a care unit requested that expires unanswered raises a FormExpired alarm on the
//! care unit's feed, in the transaction that marks it expired (docs/follow-up.md).
//!
//! Safe with several engine processes on one database: each change is a conditional write
//! naming the revision it read, with its post in the same transaction, so a form is expired
//! or purged, and posted about, exactly once whoever gets there first.

use std::sync::Arc;

use chrono::NaiveDate;
use common::db::ResponseTimeout;
use common::shutdown::Shutdown;
use tokio::sync::Notify;

use super::engagement::Poster;
use super::model::Origin;
use super::rules::FormRules;
use crate::domain::follow_up::clock::{self, Clock};
use crate::store::follow_up::{AlarmKind, NewAlarm};
use crate::store::{Due, FormStore, StoreError};

/// Forms handled per read.
const BATCH: u32 = 200;

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub expired: u64,
    pub purged: u64,
    pub forgotten_answers: u64,
}

pub struct Sweeper {
    store: Arc<dyn FormStore>,
    poster: Poster,
    rules: FormRules,
    outbox: Arc<Notify>,
    /// The time of `expired_at` and of the alarms raised (the system's unless a test brings
    /// its own).
    clock: Clock,
    /// The bound on each statement: a silent database fails the sweep, which runs again,
    /// instead of stopping it for good (`common::db::ResponseTimeout`).
    limit: ResponseTimeout,
}

impl Sweeper {
    pub fn new(
        store: Arc<dyn FormStore>,
        poster: Poster,
        rules: FormRules,
        outbox: Arc<Notify>,
    ) -> Self {
        Self {
            store,
            poster,
            rules,
            outbox,
            clock: clock::system(),
            limit: ResponseTimeout::DEFAULT,
        }
    }

    /// Bounds each statement by `limit` (`database.response_timeout_secs`).
    #[must_use]
    pub fn with_response_timeout(mut self, limit: ResponseTimeout) -> Self {
        self.limit = limit;
        self
    }

    /// The sweeper going by `clock`: its runs sweep as of the clock's Swedish day.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Sweeps every `sweep_interval` until `shutdown`.
    pub async fn run(self, shutdown: Shutdown) {
        let interval = self.rules.sweep_interval;
        loop {
            match self.sweep(clock::swedish_date((self.clock)())).await {
                Ok(swept) if swept != Swept::default() => {
                    tracing::info!(
                        expired = swept.expired,
                        purged = swept.purged,
                        forgotten_answers = swept.forgotten_answers,
                        "forms swept"
                    );
                }
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "the form sweep failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// One sweep as of `today` (a Swedish date).
    pub async fn sweep(&self, today: NaiveDate) -> Result<Swept, StoreError> {
        let mut swept = Swept {
            expired: self.expire(today).await?,
            purged: self.purge(today).await?,
            ..Swept::default()
        };
        swept.forgotten_answers = self
            .limit
            .bound(
                self.store
                    .forget_idempotent_answers((self.clock)() - self.rules.idempotency_retention),
            )
            .await?;
        if swept.expired + swept.purged > 0 {
            self.outbox.notify_one();
        }
        Ok(swept)
    }

    async fn expire(&self, today: NaiveDate) -> Result<u64, StoreError> {
        let mut done = 0;
        loop {
            let due = self
                .limit
                .bound(self.store.due_forms(Due::Expiry(today), BATCH))
                .await?;
            let mut progressed = false;
            for form in &due {
                // The post to delete is the one the form has before it expires.
                let deliveries = self.poster.outbox_of(form, self.poster.removed(form));
                let now = (self.clock)();
                let mut expired = form.clone();
                expired.expired_at = Some(now);
                expired.revision += 1;
                let written = if form.origin == Origin::Request {
                    let alarm = NewAlarm::about(form, AlarmKind::FormExpired, now);
                    let follow_up = self.store.follow_up();
                    self.limit
                        .bound(follow_up.update_form_raising(&expired, &deliveries, &[], &alarm))
                        .await
                } else {
                    self.limit
                        .bound(self.store.update_form_notifying(&expired, &deliveries, &[]))
                        .await
                };
                match written {
                    Ok(()) => {
                        done += 1;
                        progressed = true;
                        tracing::info!(form_id = %form.id, "form expired");
                    }
                    // Another process (or the citizen) changed it first; the next sweep
                    // looks again.
                    Err(StoreError::Conflict) => {}
                    Err(other) => return Err(other),
                }
            }
            if !progressed || due.len() < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                return Ok(done);
            }
        }
    }

    async fn purge(&self, today: NaiveDate) -> Result<u64, StoreError> {
        let mut done = 0;
        loop {
            let due = self
                .limit
                .bound(self.store.due_forms(Due::Purge(today), BATCH))
                .await?;
            let mut progressed = false;
            for form in &due {
                let deliveries = self.poster.outbox_of(form, self.poster.removed(form));
                match self
                    .limit
                    .bound(self.store.delete_form_notifying(
                        form.id,
                        form.revision,
                        &deliveries,
                        &[],
                    ))
                    .await
                {
                    Ok(()) => {
                        done += 1;
                        progressed = true;
                        tracing::info!(form_id = %form.id, "form purged after keepUntil");
                    }
                    Err(StoreError::Conflict) => {}
                    Err(other) => return Err(other),
                }
            }
            if !progressed || due.len() < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                return Ok(done);
            }
        }
    }
}
