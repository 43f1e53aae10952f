//! What the engine decides about forms where the contracts leave it open (the configuration's
//! `[forms]` gives the values).

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct FormRules {
    /// expireDate of a form a citizen starts (CreateForm), in days from the start; none =
    /// never expires.
    pub citizen_expire_days: Option<u32>,
    /// keepUntil of a form a citizen starts, in days from the start; none = kept until the
    /// care unit deletes it.
    pub citizen_keep_days: Option<u32>,
    /// How often the background job expires and purges forms.
    pub sweep_interval: Duration,
    /// How long the answer to a request with an Idempotency-Key is kept for retries.
    pub idempotency_retention: chrono::Duration,
}
