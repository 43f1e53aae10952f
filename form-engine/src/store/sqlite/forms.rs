//! How the form store's queries read on SQLite: lists travel as JSON arrays, a shared
//! template is found with the JSON functions, and a writing transaction takes the lock first.

use std::future::Future;
use std::sync::Arc;

use common::retention::Sweep;
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::store::sql::FormBackend;

impl FormBackend for Sqlite {
    /// Keeps the bound parameters well under SQLite's limit.
    const ROWS_PER_INSERT: usize = 500;

    /// The items as one JSON array of strings.
    type TextList = String;

    fn text_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
        serde_json::Value::Array(items.into_iter().map(Into::into).collect()).to_string()
    }

    fn any_of(column: &str, list: &str) -> String {
        format!("{column} IN (SELECT value FROM json_each({list}))")
    }

    const SHARED_TEMPLATE: &'static str = "EXISTS (SELECT 1 FROM json_each(document, '$.templatePropagate') \
        WHERE json_extract(value, '$.propagate') = 1)";

    const FOR_UPDATE: &'static str = "";
    const BYTE_ORDER: &'static str = "COLLATE BINARY";

    /// One writer: a batch is chosen and deleted under its lock.
    fn delete_alarms(batch: &str) -> String {
        format!("DELETE FROM alarms WHERE serial_number IN ({batch})")
    }

    /// No partitions.
    fn partitions(_: &SqlitePool) -> Vec<Arc<dyn Sweep>> {
        Vec::new()
    }

    /// The writing transaction holds the only write lock already.
    fn lock_links(
        _: &mut SqliteConnection,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send + '_ {
        std::future::ready(Ok(()))
    }

    fn begin_write(
        pool: &SqlitePool,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, sqlx::Error>> + Send {
        pool.begin_with("BEGIN IMMEDIATE")
    }
}
