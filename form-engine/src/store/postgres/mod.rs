//! The PostgreSQL store: for production.

mod follow_up;
mod forms;
mod identity;
mod migration;
mod retention;
mod templates;

use common::delivery::PgDeliveryStore;

form_store!(
    PgStore,
    sqlx::Postgres,
    PgDeliveryStore,
    identity::PgIdentityLinks,
    migration::PgMigration,
    common::delivery::enqueue_postgres,
);
