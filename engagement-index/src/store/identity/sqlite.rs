//! Identity links on SQLite: one write transaction (BEGIN IMMEDIATE) decides the link and
//! moves the engagements, so nothing changes between reading and writing.

use async_trait::async_trait;
use chrono::Utc;
use common::audit::AuditEvent;
use common::identity::PersonalIdentityNumber;
use common::identity_link::{self, IdentityLink, IdentityLinkSearchAnswer, LinkedBy};
use sqlx::SqlitePool;

use super::IdentityLinkStore;
use crate::domain::identity::{LinkError, LinkOutcome, audit_rows, moved_key, plan_move};
use crate::domain::{Engagement, EngagementKey};
use crate::store::outbox::outbox_rows;
use crate::store::sqlite::{COLUMNS, KEY_ORDER, engagement, read, text, write};
use crate::store::{OutboxContext, StoreError};

pub struct SqliteIdentityLinks {
    pool: SqlitePool,
}

impl SqliteIdentityLinks {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl IdentityLinkStore for SqliteIdentityLinks {
    async fn link(
        &self,
        link: &IdentityLink,
        by: &LinkedBy,
        audit: &AuditEvent,
        context: &OutboxContext,
    ) -> Result<LinkOutcome, LinkError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::from)?;
        let from_resolved = identity_link::sqlite::resolve(&mut tx, &link.from)
            .await
            .map_err(StoreError::from)?;
        let to_resolved = identity_link::sqlite::resolve(&mut tx, &link.to)
            .await
            .map_err(StoreError::from)?
            .unwrap_or_else(|| link.to.clone());
        let plan = identity_link::plan(link, from_resolved, to_resolved)?;
        let target = plan.target().clone();
        let sql = format!(
            "SELECT {COLUMNS} FROM engagement WHERE registered_resident_identification = ?1 \
             ORDER BY {KEY_ORDER}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(link.from.as_str())
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        let posts: Vec<Engagement> = rows.iter().map(engagement).collect::<Result<_, _>>()?;
        let keys: Vec<EngagementKey> = posts.iter().map(|p| moved_key(&p.key, &target)).collect();
        let stored = read(&mut tx, &keys).await?;
        let now = Utc::now();
        let change = plan_move(&posts, &stored, &target, now);
        if plan.is_new() {
            identity_link::sqlite::record(&mut tx, link, by, now)
                .await
                .map_err(StoreError::from)?;
        }
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
        let events = audit_rows(audit, &link.from, &target, &posts);
        common::audit::append_all_sqlite(&mut tx, &events, now)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(LinkOutcome {
            plan,
            moved: change.deletions.len(),
            notified: change.notifications.len(),
        })
    }

    async fn resolve(
        &self,
        number: &PersonalIdentityNumber,
    ) -> Result<Option<PersonalIdentityNumber>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        Ok(identity_link::sqlite::resolve(&mut connection, number).await?)
    }

    async fn search(
        &self,
        number: &PersonalIdentityNumber,
    ) -> Result<IdentityLinkSearchAnswer, StoreError> {
        let mut connection = self.pool.acquire().await?;
        let links = identity_link::sqlite::links_of(&mut connection, number).await?;
        let resolved_to = identity_link::sqlite::resolve(&mut connection, number).await?;
        Ok(IdentityLinkSearchAnswer { links, resolved_to })
    }
}
