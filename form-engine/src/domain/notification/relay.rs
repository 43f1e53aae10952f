//! The alarm relay: pushes the alarm feed (FormExpired, RevocationRequested) to the care
//! systems notified directly, as ProcessNotification with categorization `FormExpired` or
//! `FormRevocationRequested`.
//!
//! It reads the feed after its cursor and, in one transaction, moves the cursor only from
//! where it read it and queues the notifications: each alarm is relayed exactly once, also
//! with several engine processes (the one that moves the cursor first queues them; the others
//! find it moved and read again). Alarms of care units that go `index` only move the cursor.

use std::sync::Arc;
use std::time::Duration;

use common::db::ResponseTimeout;
use common::delivery::NewDelivery;
use common::shutdown::Shutdown;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::domain::form::engagement::{
    MAX_BUSINESS_OBJECT_INSTANCE_IDENTIFIER, MAX_CLINICAL_PROCESS_INTEREST_ID, Poster,
};
use crate::store::follow_up::{Alarm, AlarmKind};
use crate::store::{FormStore, StoreError};

/// Alarms read per round.
const BATCH: u32 = 200;

/// The categorization of an alarm's notification.
pub fn categorization(kind: AlarmKind) -> &'static str {
    match kind {
        AlarmKind::FormExpired => "FormExpired",
        AlarmKind::RevocationRequested => "FormRevocationRequested",
    }
}

pub struct AlarmRelay {
    store: Arc<dyn FormStore>,
    poster: Poster,
    interval: Duration,
    /// The delivery worker's waker: relayed notifications go out at once.
    outbox: Arc<Notify>,
    /// The bound on each statement: a silent database fails the relay, which tries again,
    /// instead of stopping it for good (`common::db::ResponseTimeout`).
    limit: ResponseTimeout,
}

impl AlarmRelay {
    pub fn new(
        store: Arc<dyn FormStore>,
        poster: Poster,
        interval: Duration,
        outbox: Arc<Notify>,
    ) -> Self {
        Self {
            store,
            poster,
            interval,
            outbox,
            limit: ResponseTimeout::DEFAULT,
        }
    }

    /// Bounds each statement by `limit` (`database.response_timeout_secs`).
    #[must_use]
    pub fn with_response_timeout(mut self, limit: ResponseTimeout) -> Self {
        self.limit = limit;
        self
    }

    /// Relays every `interval` until `shutdown`.
    pub async fn run(self, shutdown: Shutdown) {
        loop {
            match self.relay().await {
                Ok(0) => {}
                Ok(queued) => tracing::info!(queued, "alarms relayed to care systems"),
                Err(error) => tracing::error!(%error, "the alarm relay failed; it tries again"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.interval) => {}
            }
        }
    }

    /// Relays what the feed holds after the cursor; returns how many notifications it queued.
    pub async fn relay(&self) -> Result<usize, StoreError> {
        let cursor = self.store.alarm_relay();
        let feed = self.store.follow_up();
        let mut queued = 0;
        loop {
            let from = self.limit.bound(cursor.relayed()).await?;
            let alarms = self.limit.bound(feed.alarms_after(from, BATCH)).await?;
            let Some(to) = alarms.last().map(|a| a.serial_number) else {
                return Ok(queued);
            };
            let mut deliveries = Vec::new();
            for alarm in &alarms {
                deliveries.extend(self.limit.bound(self.notification(alarm)).await?);
            }
            if self
                .limit
                .bound(cursor.relay(from, to, &deliveries))
                .await?
            {
                queued += deliveries.len();
                if !deliveries.is_empty() {
                    self.outbox.notify_one();
                }
            }
        }
    }

    /// The ProcessNotification of `alarm` to its care system; `None` when the care unit's
    /// route does not notify it directly, or the form is anonymous (no post names nobody).
    async fn notification(&self, alarm: &Alarm) -> Result<Option<NewDelivery>, StoreError> {
        let about = &alarm.alarm;
        let Some(resident) = &about.subject_of_care else {
            return Ok(None);
        };
        // The form, while it is kept: who requested it (a source system's route) and its
        // clinicalProcessInterestId.
        let form = self.store.form(about.form_id).await?;
        let source_system = form
            .as_ref()
            .and_then(|f| f.system_id.as_ref())
            .map(|s| s.as_str().to_owned());
        let Some(route) = self
            .poster
            .routes
            .for_form(&about.care_unit, source_system.as_deref())
            .filter(|r| r.route.notifies_care_system())
        else {
            return Ok(None);
        };
        let interest = form
            .as_ref()
            .and_then(|f| f.clinical_process_interest_id.clone())
            .filter(|id| {
                !id.trim().is_empty() && id.chars().count() <= MAX_CLINICAL_PROCESS_INTEREST_ID
            })
            .unwrap_or_else(|| String::from("NA"));
        let at = common::riv_time::format_ei_timestamp(about.created_at);
        let engine = self.poster.engine.as_str();
        let mut form_id = about.form_id.to_string();
        form_id.truncate(MAX_BUSINESS_OBJECT_INSTANCE_IDENTIFIER);
        let transaction: Value = json!({"deleteFlag": false, "engagement": {
            "registeredResidentIdentification": resident,
            "serviceDomain": self.poster.service_domain,
            "categorization": categorization(about.kind),
            "logicalAddress": engine,
            "businessObjectInstanceIdentifier": form_id,
            "clinicalProcessInterestId": interest,
            "mostRecentContent": at,
            "sourceSystem": engine,
            "dataController": about.care_unit,
            "owner": engine,
            "creationTime": at,
            "updateTime": at,
        }});
        Ok(Some(NewDelivery::in_current_context(
            route.destination(),
            json!({ "engagementTransaction": [transaction] }),
            1,
        )))
    }
}
