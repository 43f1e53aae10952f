//! The entity digest of docs/migration.md: the client computes it on the source with the very
//! code each service runs on its tables, so the two sides cannot drift apart.

pub use common::migration::{EntityDigest, canonical, record_hash};
