//! The initial load's writes and the export's reads of engagements: a batch is written
//! set-based in one transaction (PostgreSQL: binary `COPY` into a temporary table and one
//! upsert; SQLite: one transaction of prepared statements), never through the change rules of
//! Update, so nothing is notified; the export reads in pages of key order.

mod postgres;
mod sqlite;

use async_trait::async_trait;

pub use postgres::PgMigration;
pub use sqlite::SqliteMigration;

use super::StoreError;
use crate::domain::{Engagement, EngagementKey};

#[async_trait]
pub trait EngagementMigrationStore: Send + Sync + 'static {
    /// Upserts `engagements` (distinct keys) by key in one transaction, keeping owner,
    /// creationTime and updateTime as given; returns how many were written (new, or different
    /// from the stored post); the others were held as they are already. A post's `changed_at`
    /// (what GetUpdates selects on) becomes its updateTime, else its creationTime: when its
    /// source index last changed it.
    async fn upsert(&self, engagements: &[Engagement]) -> Result<u64, StoreError>;

    /// Up to `limit` posts after `after` (none: from the first) in key order: the nine key
    /// columns' bytes in the primary key's order (resident, domain, categorization, logical
    /// address, business object, clinical process, source system, data controller, owner).
    async fn page(
        &self,
        after: Option<&EngagementKey>,
        limit: u32,
    ) -> Result<Vec<Engagement>, StoreError>;
}
