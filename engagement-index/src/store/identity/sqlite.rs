//! Identity links on SQLite: one write transaction (BEGIN IMMEDIATE) decides the link and
//! moves the engagements, so nothing changes between reading and writing.

use async_trait::async_trait;
use chrono::Utc;
use common::audit::AuditEvent;
use common::identity_link::{IdentityLink, LinkedBy};
use sqlx::sqlite::SqliteRow;
use sqlx::{Sqlite, SqlitePool};

use super::{LinkBackend, decide, finish};
use crate::domain::Engagement;
use crate::domain::identity::{LinkError, LinkOutcome, plan_move};
use crate::store::outbox::outbox_rows;
use crate::store::reads::{COLUMNS, KEY_ORDER, engagement};
use crate::store::sqlite::{read, text, write};
use crate::store::{OutboxContext, StoreError};

#[async_trait]
impl LinkBackend for Sqlite {
    const ENGAGEMENT: fn(&SqliteRow) -> Result<Engagement, StoreError> = engagement::<sqlx::Sqlite>;

    fn posts_of() -> String {
        format!(
            "SELECT {COLUMNS} FROM engagement WHERE registered_resident_identification = $1 \
             ORDER BY {KEY_ORDER}"
        )
    }

    async fn link(
        pool: &SqlitePool,
        link: &IdentityLink,
        by: &LinkedBy,
        audit: &AuditEvent,
        context: &OutboxContext,
    ) -> Result<LinkOutcome, LinkError> {
        let mut tx = pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::from)?;
        let now = Utc::now();
        let decision = decide::<Sqlite>(&mut tx, link, by, now).await?;
        let stored = read(&mut tx, &decision.moved_keys).await?;
        let change = plan_move(&decision.posts, &stored, &decision.target, now);
        write(&mut tx, &change, now).await?;
        let notifications = vec![change.notifications.clone()];
        for row in outbox_rows(&notifications, &[context]) {
            sqlx::query(
                "INSERT INTO notification_outbox (transactions, correlation_id, traceparent, created_at) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .bind(row.transactions)
            .bind(row.correlation_id)
            .bind(row.traceparent)
            .bind(text(now))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        }
        finish(tx, decision, &change, link, audit, now).await
    }
}
