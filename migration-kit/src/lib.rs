//! `nordform migrate` and `nordform export` (docs/migration.md): moves a region's data into a
//! staging installation of nordform through the migration endpoints, verifies it (counts,
//! digests, records read back) and switches the installation to operational; and writes an
//! installation's data out in the export format that `migrate` reads.

pub mod cli;
pub mod client;
pub mod crypt;
pub mod digest;
pub mod entity;
pub mod export;
pub mod load;
pub mod manifest;
pub mod progress;
pub mod rejects;
pub mod report;
pub mod source;
pub mod state;
pub mod tsv;
pub mod verify;
pub use cli::{ExportArgs, MigrateArgs, export, migrate};
pub mod contracts;
