//! The PostgreSQL store: for production.

mod follow_up;
mod forms;

use common::delivery::PgDeliveryStore;

form_store!(
    PgStore,
    sqlx::Postgres,
    PgDeliveryStore,
    postgres,
    common::delivery::enqueue_postgres,
);
