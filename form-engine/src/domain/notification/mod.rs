//! Where a form's notifications go (TKB 2.1.1 §2.6): to the engagement index (`index`, the
//! default), straight to the care system as ProcessNotification (`direct`), or both; and the
//! relay that pushes the alarm feed to care systems notified directly.

mod outbox;
pub mod relay;
pub mod route;

pub use route::{CareSystemRoute, NotificationRoutes, Route, RouteScope};
