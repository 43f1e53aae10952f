//! The time the follow-up jobs go by: the system's, or one a test moves by days.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

/// What time it is (as `common::installation::Clock`).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system's clock.
pub fn system() -> Clock {
    Arc::new(Utc::now)
}

/// The Swedish calendar day of `now` (expireDate is a Swedish date).
pub fn swedish_date(now: DateTime<Utc>) -> NaiveDate {
    common::riv_time::utc_to_stockholm(now).date()
}
