//! The alarm feed of a care unit: alarms in serial-number order; asking after a number
//! acknowledges every alarm up to it, and asking without one starts after the acknowledged.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::store::StoreError;
use crate::store::follow_up::{Alarm, FollowUpStore};

/// Most alarms one read hands out.
pub const MAX_ITEMS: u32 = 1000;
/// Alarms one read hands out when the caller does not say.
pub const DEFAULT_ITEMS: u32 = 100;

/// One read of a care unit's feed.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedPage {
    pub alarms: Vec<Alarm>,
    /// The number to ask after next: the last alarm's, or where the read started.
    pub last_serial_number: i64,
}

pub struct AlarmFeed {
    store: Arc<dyn FollowUpStore>,
}

impl AlarmFeed {
    pub fn new(store: Arc<dyn FollowUpStore>) -> Self {
        Self { store }
    }

    /// Up to `max_items` alarms of `care_unit` after `after` (else after the acknowledged
    /// number); a given `after` acknowledges the alarms up to it first.
    pub async fn read(
        &self,
        care_unit: &str,
        after: Option<i64>,
        max_items: u32,
        now: DateTime<Utc>,
    ) -> Result<FeedPage, StoreError> {
        let start = match after {
            Some(after) => {
                if after > 0 {
                    self.store.acknowledge(care_unit, after, now).await?;
                }
                after
            }
            None => self.store.acknowledged(care_unit).await?,
        };
        let alarms = self
            .store
            .care_unit_alarms_after(care_unit, start, max_items.clamp(1, MAX_ITEMS))
            .await?;
        let last_serial_number = alarms.last().map_or(start, |a| a.serial_number);
        Ok(FeedPage {
            alarms,
            last_serial_number,
        })
    }
}
