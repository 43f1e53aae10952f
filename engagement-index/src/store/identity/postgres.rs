//! Identity links on PostgreSQL: the links are decided under one advisory lock; the old
//! number's engagements and their counterparts under the new number are locked before the
//! move is planned, and a concurrent insert under the new number plans it again.

use async_trait::async_trait;
use chrono::Utc;
use common::audit::{AuditError, AuditEvent};
use common::identity::PersonalIdentityNumber;
use common::identity_link::{self, IdentityLink, IdentityLinkSearchAnswer, LinkedBy};
use sqlx::PgPool;

use super::IdentityLinkStore;
use crate::domain::identity::{LinkError, LinkOutcome, audit_rows, moved_key, plan_move};
use crate::domain::{Engagement, EngagementKey};
use crate::store::outbox::{MAX_ATTEMPTS, outbox_rows};
use crate::store::postgres::{
    COLUMNS, KEY_ORDER, engagement, is_contention, read_for_update, write,
};
use crate::store::{OutboxContext, StoreError};

pub struct PgIdentityLinks {
    pool: PgPool,
}

impl PgIdentityLinks {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// One attempt; `Ok(None)` when a concurrent request inserted a post this move meant to
    /// insert (plan again).
    async fn attempt(
        &self,
        link: &IdentityLink,
        by: &LinkedBy,
        audit: &AuditEvent,
        context: &OutboxContext,
    ) -> Result<Option<LinkOutcome>, LinkError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
        identity_link::postgres::lock(&mut tx)
            .await
            .map_err(StoreError::from)?;
        let from_resolved = identity_link::postgres::resolve(&mut tx, &link.from)
            .await
            .map_err(StoreError::from)?;
        let to_resolved = identity_link::postgres::resolve(&mut tx, &link.to)
            .await
            .map_err(StoreError::from)?
            .unwrap_or_else(|| link.to.clone());
        let plan = identity_link::plan(link, from_resolved, to_resolved)?;
        let target = plan.target().clone();
        let sql = format!(
            "SELECT {COLUMNS} FROM engagement WHERE registered_resident_identification = $1 \
             ORDER BY {KEY_ORDER} FOR UPDATE"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(link.from.as_str())
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        let posts: Vec<Engagement> = rows.iter().map(engagement).collect::<Result<_, _>>()?;
        let keys: Vec<EngagementKey> = posts.iter().map(|p| moved_key(&p.key, &target)).collect();
        let stored = read_for_update(&mut tx, &keys)
            .await
            .map_err(StoreError::from)?;
        let now = Utc::now();
        let change = plan_move(&posts, &stored, &target, now);
        if plan.is_new() {
            identity_link::postgres::record(&mut tx, link, by, now)
                .await
                .map_err(StoreError::from)?;
        }
        let notifications = vec![change.notifications.clone()];
        let outbox = outbox_rows(&notifications, &[context]);
        if !change.is_empty() || !outbox.is_empty() {
            let inserted = write(&mut tx, &change, &outbox, now)
                .await
                .map_err(StoreError::from)?;
            if inserted < change.insertions.len() {
                tx.rollback().await.map_err(StoreError::from)?;
                return Ok(None);
            }
        }
        let events = audit_rows(audit, &link.from, &target, &posts);
        common::audit::append_all_postgres(&mut tx, &events, now)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Some(LinkOutcome {
            plan,
            moved: change.deletions.len(),
            notified: change.notifications.len(),
        }))
    }
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
impl IdentityLinkStore for PgIdentityLinks {
    async fn link(
        &self,
        link: &IdentityLink,
        by: &LinkedBy,
        audit: &AuditEvent,
        context: &OutboxContext,
    ) -> Result<LinkOutcome, LinkError> {
        for _ in 0..MAX_ATTEMPTS {
            match self.attempt(link, by, audit, context).await {
                Ok(Some(outcome)) => return Ok(outcome),
                Ok(None) => {}
                Err(error) if is_retryable(&error) => {}
                Err(error) => return Err(error),
            }
            tracing::debug!("a concurrent request changed the linked engagements; planning again");
        }
        Err(StoreError::Contention(MAX_ATTEMPTS).into())
    }

    async fn resolve(
        &self,
        number: &PersonalIdentityNumber,
    ) -> Result<Option<PersonalIdentityNumber>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        Ok(identity_link::postgres::resolve(&mut connection, number).await?)
    }

    async fn search(
        &self,
        number: &PersonalIdentityNumber,
    ) -> Result<IdentityLinkSearchAnswer, StoreError> {
        let mut connection = self.pool.acquire().await?;
        let links = identity_link::postgres::links_of(&mut connection, number).await?;
        let resolved_to = identity_link::postgres::resolve(&mut connection, number).await?;
        Ok(IdentityLinkSearchAnswer { links, resolved_to })
    }
}
