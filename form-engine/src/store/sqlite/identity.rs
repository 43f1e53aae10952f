//! Identity links on SQLite: one write transaction (BEGIN IMMEDIATE) decides the link and
//! moves the forms.

use async_trait::async_trait;
use chrono::Utc;
use common::audit::AuditEvent;
use common::identity::PersonalIdentityNumber;
use common::identity_link::{self, IdentityLink, IdentityLinkSearchAnswer, LinkedBy};
use sqlx::{Row as _, SqlitePool};
use uuid::Uuid;

use crate::domain::identity::{LinkError, LinkOutcome, MovedForm, audit_rows};
use crate::store::StoreError;
use crate::store::identity::FormIdentityLinks;

pub struct SqliteIdentityLinks {
    pool: SqlitePool,
}

impl SqliteIdentityLinks {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl FormIdentityLinks for SqliteIdentityLinks {
    async fn link(
        &self,
        link: &IdentityLink,
        by: &LinkedBy,
        audit: &AuditEvent,
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
        let rows = sqlx::query(
            "UPDATE form SET subject_of_care = ?1, revision = revision + 1 \
             WHERE subject_of_care = ?2 RETURNING form_id, care_unit",
        )
        .bind(target.as_str())
        .bind(link.from.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let mut moved = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get(0).map_err(StoreError::from)?;
            moved.push(MovedForm {
                id: Uuid::parse_str(&id)
                    .map_err(|_| StoreError::Corrupt(format!("stored form id `{id}`")))?,
                care_unit: row.try_get(1).map_err(StoreError::from)?,
            });
        }
        moved.sort_by_key(|form| form.id);
        let now = Utc::now();
        if plan.is_new() {
            identity_link::sqlite::record(&mut tx, link, by, now)
                .await
                .map_err(StoreError::from)?;
        }
        let events = audit_rows(audit, &link.from, &target, &moved);
        common::audit::append_all_sqlite(&mut tx, &events, now)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(LinkOutcome {
            plan,
            moved: moved.len(),
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
