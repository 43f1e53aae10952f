//! All integration tests in one binary: one link instead of one per file.

mod support;

mod architecture;
mod browser;
mod database_outage;
mod deployment_files;
mod designer;
mod direct;
mod flow;
mod foundation;
mod identity;
mod index_merged_posts;
mod index_posts;
mod installation;
mod migration_client;
mod migration_rehearsal;
mod migration_server;
mod reminders;
mod unknown_members;
