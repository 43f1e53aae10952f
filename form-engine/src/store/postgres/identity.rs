//! Identity links on PostgreSQL: the links are decided under one advisory lock (common::identity_link);
//! the forms move in one UPDATE, which waits for any write of them in flight.

use async_trait::async_trait;
use chrono::Utc;
use common::audit::AuditEvent;
use common::identity::PersonalIdentityNumber;
use common::identity_link::{self, IdentityLink, IdentityLinkSearchAnswer, LinkedBy};
use sqlx::{PgPool, Row as _};

use crate::domain::identity::{LinkError, LinkOutcome, MovedForm, audit_rows};
use crate::store::StoreError;
use crate::store::identity::FormIdentityLinks;

pub struct PgIdentityLinks {
    pool: PgPool,
}

impl PgIdentityLinks {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl FormIdentityLinks for PgIdentityLinks {
    async fn link(
        &self,
        link: &IdentityLink,
        by: &LinkedBy,
        audit: &AuditEvent,
    ) -> Result<LinkOutcome, LinkError> {
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
        let rows = sqlx::query(
            "UPDATE form SET subject_of_care = $1, revision = revision + 1 \
             WHERE subject_of_care = $2 RETURNING form_id, care_unit",
        )
        .bind(target.as_str())
        .bind(link.from.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let mut moved = Vec::with_capacity(rows.len());
        for row in &rows {
            moved.push(MovedForm {
                id: row.try_get(0).map_err(StoreError::from)?,
                care_unit: row.try_get(1).map_err(StoreError::from)?,
            });
        }
        moved.sort_by_key(|form| form.id);
        let now = Utc::now();
        if plan.is_new() {
            identity_link::postgres::record(&mut tx, link, by, now)
                .await
                .map_err(StoreError::from)?;
        }
        let events = audit_rows(audit, &link.from, &target, &moved);
        common::audit::append_all_postgres(&mut tx, &events, now)
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
