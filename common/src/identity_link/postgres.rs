//! The link table on PostgreSQL, inside the caller's transaction. [`lock`] first: links are
//! decided one at a time across every process, so two concurrent requests cannot make a
//! cycle between them.

use sqlx::PgConnection;

/// The advisory lock key of identity links (any constant unique to this purpose).
const LOCK_KEY: i64 = 0x6e66_6964_6c6e_6b31;

/// Takes the transaction-scoped lock of identity links.
pub async fn lock(connection: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

super::table::statements_on!(sqlx::Postgres, sqlx::PgConnection);
