//! The SQLite store: the embedded default.

mod follow_up;
mod forms;

use common::delivery::SqliteDeliveryStore;

form_store!(
    SqliteStore,
    sqlx::Sqlite,
    SqliteDeliveryStore,
    sqlite,
    common::delivery::enqueue_sqlite,
);
