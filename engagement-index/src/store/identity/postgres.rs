//! Identity links on PostgreSQL: the links are decided under one advisory lock; the old
//! number's engagements and their counterparts under the new number are locked before the
//! move is planned, and a concurrent insert under the new number plans it again.

use async_trait::async_trait;
use chrono::Utc;
use common::audit::{AuditError, AuditEvent};
use common::identity_link::{self, IdentityLink, LinkedBy};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres};

use super::{LinkBackend, decide, finish};
use crate::domain::Engagement;
use crate::domain::identity::{LinkError, LinkOutcome, plan_move};
use crate::store::outbox::{MAX_ATTEMPTS, outbox_rows};
use crate::store::postgres::{Undo, is_contention, read_for_update, write};
use crate::store::reads::{COLUMNS, KEY_ORDER, engagement};
use crate::store::{OutboxContext, StoreError};

/// One attempt; `Ok(None)` when a concurrent request inserted a post this move meant to
/// insert (plan again).
async fn attempt(
    pool: &PgPool,
    link: &IdentityLink,
    by: &LinkedBy,
    audit: &AuditEvent,
    context: &OutboxContext,
) -> Result<Option<LinkOutcome>, LinkError> {
    let mut tx = pool.begin().await.map_err(StoreError::from)?;
    identity_link::postgres::lock(&mut tx)
        .await
        .map_err(StoreError::from)?;
    let now = Utc::now();
    let decision = decide::<Postgres>(&mut tx, link, by, now).await?;
    let stored = read_for_update(&mut tx, &decision.moved_keys)
        .await
        .map_err(StoreError::from)?;
    let change = plan_move(&decision.posts, &stored, &decision.target, now);
    let notifications = vec![change.notifications.clone()];
    let outbox = outbox_rows(&notifications, &[context]);
    if !change.is_empty() || !outbox.is_empty() {
        let inserted = write(&mut tx, &change, &outbox, &[], Undo::Never, now)
            .await
            .map_err(StoreError::from)?;
        if inserted < change.insertions.len() {
            tx.rollback().await.map_err(StoreError::from)?;
            return Ok(None);
        }
    }
    finish(tx, decision, &change, link, audit, now)
        .await
        .map(Some)
}

/// A database error the attempt may be retried after.
fn is_retryable(error: &LinkError) -> bool {
    match error {
        LinkError::Store(
            StoreError::Database(error) | StoreError::Audit(AuditError::Database(error)),
        ) => is_contention(error),
        _ => false,
    }
}

#[async_trait]
impl LinkBackend for Postgres {
    const ENGAGEMENT: fn(&PgRow) -> Result<Engagement, StoreError> = engagement::<sqlx::Postgres>;

    fn posts_of() -> String {
        format!(
            "SELECT {COLUMNS} FROM engagement WHERE registered_resident_identification = $1 \
             ORDER BY {KEY_ORDER} FOR UPDATE"
        )
    }

    async fn link(
        pool: &PgPool,
        link: &IdentityLink,
        by: &LinkedBy,
        audit: &AuditEvent,
        context: &OutboxContext,
    ) -> Result<LinkOutcome, LinkError> {
        for _ in 0..MAX_ATTEMPTS {
            match attempt(pool, link, by, audit, context).await {
                Ok(Some(outcome)) => return Ok(outcome),
                Ok(None) => {}
                Err(error) if is_retryable(&error) => {}
                Err(error) => return Err(error),
            }
            tracing::debug!("a concurrent request changed the linked engagements; planning again");
        }
        Err(StoreError::Contention(MAX_ATTEMPTS).into())
    }
}
