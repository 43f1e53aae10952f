//! A stand-in for the national patient portal: the citizen's inbox (AddMessageToPatientPortalInbox),
//! IsActiveUser, test citizens, and the web pages where a citizen reads messages and answers forms.

pub mod api;
mod app;
pub mod config;
pub mod domain;
pub mod engine;
pub mod store;
pub mod web;

pub use app::Application;
pub use config::Config;

pub const SERVICE_NAME: &str = "patient-portal-stub";
