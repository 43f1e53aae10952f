//! The engagement index: where a patient has information (Update, FindContent), federation
//! between indexes (ProcessNotification, GetUpdates), and notification of subscribers.

pub mod api;
mod app;
pub mod config;
pub mod domain;
pub mod notification;
pub mod store;

pub use app::Application;
pub use config::Config;

pub const SERVICE_NAME: &str = "engagement-index";
