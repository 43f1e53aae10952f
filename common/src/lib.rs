//! What the three services truly share: configuration loading, telemetry, the problem-JSON
//! error type, the correlation id, identity-number and HSA-id types, RIV timestamps, storage
//! plumbing, the HTTP server skeleton (operational endpoints, middleware, graceful shutdown,
//! TLS), and security: caller authentication, permissions, the audit log, rate limiting and
//! security headers (`docs/security.md`).

pub mod allocator;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod correlation;
pub mod db;
pub mod delivery;
pub mod http_client;
pub mod hygiene;
pub mod identity;
pub mod identity_link;
pub mod installation;
pub mod metrics;
pub mod migration;
pub mod open_files;
pub mod openapi;
pub mod partitions;
pub mod permissions;
pub mod problem;
pub mod rate_limit;
pub mod retention;
pub mod riv_time;
pub mod schema;
pub mod server;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;
