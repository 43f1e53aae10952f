//! Notifying subscribers: the fan-out of accepted changes into per-subscriber queues, and the
//! routes the shared delivery worker pushes them along.

mod fan_out;
mod routes;

pub use fan_out::{FanOut, Queue};
pub use routes::SubscriberRoutes;
