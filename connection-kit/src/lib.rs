//! The integrator's connection kit: `nordform verify deployment` walks the eight steps of
//! connecting a care system to the form service (SaveFormTemplate to GetForm of the answers)
//! against a deployment, and `nordform verify subscriber` plays the engagement index towards a
//! care system's ProcessNotification endpoint. Each writes the approval report: `report.html`
//! for the person who signs off a go-live, `junit.xml` for CI and `report.json`.

pub mod auth;
pub mod check;
pub mod cli;
pub mod deployment;
pub mod exchange;
pub mod progress;
pub mod receiver;
pub mod report;
pub mod subscriber;

pub use cli::{VerifyArgs, run};
