//! The link table on SQLite, inside the caller's transaction (which holds the write lock, so
//! links are decided one at a time).

super::table::statements_on!(sqlx::Sqlite, sqlx::SqliteConnection);
