//! All integration tests in one binary: one link instead of one per file.

mod index_support;

mod allocator_settings;
mod backup_restore;
mod contract_concurrency;
mod contract_edge_cases;
mod contract_find_content;
mod contract_functional;
mod contract_get_updates;
mod contract_hygiene;
mod contract_model;
mod contract_storage;
mod contract_validation;
mod identity_links;
mod notifications;
mod open_files;
mod openapi;
mod queue_vacuum;
mod retention;
mod security;
mod stopping;
mod subscriber_refusals;
