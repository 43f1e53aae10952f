//! SQLite: a batch is one transaction of one prepared upsert per post (SQLite has one writer,
//! and a prepared statement run in a transaction is its fastest bulk path).

use async_trait::async_trait;
use sqlx::SqlitePool;

use super::EngagementMigrationStore;
use crate::domain::{Engagement, EngagementKey};
use crate::store::StoreError;
use crate::store::sqlite::{COLUMNS, KEY_ORDER, engagement, text};

pub struct SqliteMigration {
    pool: SqlitePool,
}

impl SqliteMigration {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

/// Inserts a post, or rewrites the stored one when a time differs (else changes nothing, so
/// the statement reports no row).
fn upsert_sql() -> String {
    format!(
        "INSERT INTO engagement ({COLUMNS}, changed_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, COALESCE(?12, ?11)) \
         ON CONFLICT ({KEY_ORDER}) DO UPDATE SET \
             most_recent_content = excluded.most_recent_content, \
             creation_time = excluded.creation_time, \
             update_time = excluded.update_time, \
             changed_at = excluded.changed_at \
         WHERE engagement.most_recent_content IS NOT excluded.most_recent_content \
             OR engagement.creation_time IS NOT excluded.creation_time \
             OR engagement.update_time IS NOT excluded.update_time"
    )
}

#[async_trait]
impl EngagementMigrationStore for SqliteMigration {
    async fn upsert(&self, engagements: &[Engagement]) -> Result<u64, StoreError> {
        let sql = upsert_sql();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut written = 0;
        for engagement in engagements {
            let key = &engagement.key;
            written += sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(key.registered_resident_identification.as_str())
                .bind(&key.service_domain)
                .bind(&key.categorization)
                .bind(&key.logical_address)
                .bind(&key.business_object_instance_identifier)
                .bind(&key.clinical_process_interest_id)
                .bind(&key.source_system)
                .bind(&key.data_controller)
                .bind(&key.owner)
                .bind(engagement.most_recent_content.map(text))
                .bind(text(engagement.creation_time))
                .bind(engagement.update_time.map(text))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(written)
    }

    async fn page(
        &self,
        after: Option<&EngagementKey>,
        limit: u32,
    ) -> Result<Vec<Engagement>, StoreError> {
        let rows = match after {
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM engagement ORDER BY {KEY_ORDER} LIMIT ?1"
                )))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
            Some(key) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM engagement \
                     WHERE ({KEY_ORDER}) > (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                     ORDER BY {KEY_ORDER} LIMIT ?10"
                )))
                .bind(key.registered_resident_identification.as_str())
                .bind(&key.service_domain)
                .bind(&key.categorization)
                .bind(&key.logical_address)
                .bind(&key.business_object_instance_identifier)
                .bind(&key.clinical_process_interest_id)
                .bind(&key.source_system)
                .bind(&key.data_controller)
                .bind(&key.owner)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(engagement).collect()
    }
}
