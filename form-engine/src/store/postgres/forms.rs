//! How the form store's queries read on PostgreSQL: lists are arrays, a shared template is
//! found by JSONB containment, the initial load locks the rows it reads, and the retention
//! job keeps the monthly partitions.

use std::future::Future;
use std::sync::Arc;

use common::partitions::MonthlyPartitions;
use common::retention::Sweep;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::store::sql::FormBackend;

impl FormBackend for Postgres {
    /// 24 parameters a row stay under PostgreSQL's 65535.
    const ROWS_PER_INSERT: usize = 1000;

    type TextList = Vec<String>;

    fn text_list<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        items.into_iter().map(str::to_owned).collect()
    }

    fn any_of(column: &str, list: &str) -> String {
        format!("{column} = ANY({list})")
    }

    const SHARED_TEMPLATE: &'static str =
        "document @> '{\"templatePropagate\": [{\"propagate\": true}]}'::jsonb";

    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const BYTE_ORDER: &'static str = "COLLATE \"C\"";

    fn delete_alarms(batch: &str) -> String {
        // SKIP LOCKED: processes cleaning at once take disjoint batches; `= ANY(ARRAY(...))`
        // finds them by primary key (an `IN (subquery)` would scan the table).
        format!(
            "DELETE FROM alarms WHERE serial_number = ANY(ARRAY({batch} FOR UPDATE SKIP LOCKED))"
        )
    }

    /// The audit log, the delivery queue and the forms are partitioned by month
    /// (`common::partitions`): months made ahead, whole old months dropped (a month of forms
    /// once the keepUntil sweep has deleted its last form).
    fn partitions(pool: &PgPool) -> Vec<Arc<dyn Sweep>> {
        vec![
            Arc::new(MonthlyPartitions::audit(pool.clone())),
            Arc::new(MonthlyPartitions::delivery(pool.clone())),
            Arc::new(MonthlyPartitions::emptied_by_sweeper(
                pool.clone(),
                "form",
                "form_id",
            )),
        ]
    }

    /// A transaction-scoped advisory lock (`common::identity_link`), across every process.
    fn lock_links(
        connection: &mut PgConnection,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send + '_ {
        common::identity_link::postgres::lock(connection)
    }

    /// Rows are locked as they are read (`FOR UPDATE`), so a plain transaction.
    fn begin_write(
        pool: &PgPool,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, sqlx::Error>> + Send {
        pool.begin()
    }
}
