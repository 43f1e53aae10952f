//! The form engine's citizen contracts (api.md §3), the only way the form pages reach forms:
//! the portal never reads the engine's database.

mod client;
pub mod wire;

pub use client::{CONSUMER_HEADER, EngineError, FormEngine};
