//! SQLite: a batch is one transaction of one prepared upsert per post (SQLite has one writer,
//! and a prepared statement run in a transaction is its fastest bulk path).

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Sqlite, SqlitePool};

use super::{KEY_COLUMNS, MigrationBackend, bind_key};
use crate::domain::Engagement;
use crate::store::StoreError;
use crate::store::reads::{COLUMNS, engagement};
use crate::store::sqlite::text;

/// Inserts a post, or rewrites the stored one when a time differs (else changes nothing, so
/// the statement reports no row).
fn upsert_sql() -> String {
    format!(
        "INSERT INTO engagement ({COLUMNS}, changed_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, COALESCE(?12, ?11)) \
         ON CONFLICT ({KEY_COLUMNS}) DO UPDATE SET \
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
impl MigrationBackend for Sqlite {
    const COLUMNS: &'static str = COLUMNS;

    const ENGAGEMENT: fn(&SqliteRow) -> Result<Engagement, StoreError> = engagement::<sqlx::Sqlite>;

    async fn upsert(pool: &SqlitePool, engagements: &[Engagement]) -> Result<u64, StoreError> {
        let sql = upsert_sql();
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut written = 0;
        for engagement in engagements {
            let key = &engagement.key;
            written += bind_key(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), key)
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
}
