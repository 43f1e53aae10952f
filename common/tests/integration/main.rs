//! All integration tests in one binary: one link instead of one per file.

mod support;

mod audit_batch;
mod auth_jwt;
mod auth_mtls;
mod client_auth;
mod database_pool;
mod database_tls;
mod delivery;
mod delivery_logs;
mod hardening;
mod idle_connections;
mod installation;
mod nats_tls;
mod no_personal_data_in_logs;
mod partitions;
mod permissions_audit;
mod permissions_cache;
mod retention;
mod shared_migrations;
mod skeleton;
