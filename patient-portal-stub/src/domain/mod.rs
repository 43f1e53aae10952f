//! The rules of this service and its operations ([`Portal`]), free of HTTP and SQL.

pub use form_render::answer;
pub mod citizen;
pub mod message;
pub mod notification;
mod portal;
pub mod session;

pub use portal::{Delivery, Portal, PortalError};

/// Drops the sub-microsecond part of a time: PostgreSQL keeps microseconds, so a time read
/// back equals the time written on both backends.
pub fn truncate_to_micros(time: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound as _;
    time.trunc_subsecs(6)
}
