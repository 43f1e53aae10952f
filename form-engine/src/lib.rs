//! The form engine: form templates, form requests from care systems, and the citizen's form
//! lifecycle (RIV-TA forminteraction 2.x), with posts to the engagement index.

pub mod api;
mod app;
pub mod care_systems;
pub mod config;
pub mod demo;
pub mod designer;
pub mod domain;
pub mod instruments;
pub mod outbox;
pub mod portal;
pub mod store;

pub use app::Application;
pub use config::Config;

pub const SERVICE_NAME: &str = "form-engine";
