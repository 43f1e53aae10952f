//! What the three services truly share: configuration loading, telemetry, the problem-JSON
//! error type, the correlation id, identity-number and HSA-id types, RIV timestamps, storage
//! plumbing and the HTTP server skeleton (operational endpoints, middleware, graceful shutdown).

pub mod cli;
pub mod config;
pub mod correlation;
pub mod db;
pub mod delivery;
pub mod http_client;
pub mod identity;
pub mod metrics;
pub mod problem;
pub mod riv_time;
pub mod server;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
