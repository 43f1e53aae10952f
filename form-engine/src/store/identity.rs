//! Identity links in the engine's database: the link table (common::identity_link) and the
//! move of every form of the old number, with the audit rows, in one transaction.

use std::future::Future;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::audit::{AuditBackend, AuditEvent};
use common::identity::PersonalIdentityNumber;
use common::identity_link::{self, IdentityLink, IdentityLinkSearchAnswer, LinkedBy, StoredLink};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Row as _, Type};

use super::StoreError;
use super::sql::FormBackend;
use crate::domain::identity::{LinkError, LinkOutcome, MovedForm, audit_rows};

#[async_trait]
pub trait FormIdentityLinks: Send + Sync + 'static {
    /// Decides the link against those recorded (a cycle or a link elsewhere is refused),
    /// records it when new, and moves every form of `link.from` to where it resolves (each
    /// one's revision counts the change, so a concurrent write of the form is refused and
    /// retried); the audit rows built from `audit` are written in the same transaction.
    async fn link(
        &self,
        link: &IdentityLink,
        by: &LinkedBy,
        audit: &AuditEvent,
    ) -> Result<LinkOutcome, LinkError>;

    /// Where `number` resolves; `None` when it is not linked to another number.
    async fn resolve(
        &self,
        number: &PersonalIdentityNumber,
    ) -> Result<Option<PersonalIdentityNumber>, StoreError>;

    /// The links `number` takes part in, and where it resolves.
    async fn search(
        &self,
        number: &PersonalIdentityNumber,
    ) -> Result<IdentityLinkSearchAnswer, StoreError>;
}

/// The link table's statements on a backend (`common::identity_link`); `form_store!` hands
/// them to the backend's module.
pub(crate) trait LinkTable: FormBackend + AuditBackend
where
    for<'c> &'c mut Self::Connection: Executor<'c, Database = Self>,
{
    fn resolve<'a>(
        connection: &'a mut Self::Connection,
        number: &'a PersonalIdentityNumber,
    ) -> impl Future<Output = Result<Option<PersonalIdentityNumber>, sqlx::Error>> + Send + 'a;

    fn record<'a>(
        connection: &'a mut Self::Connection,
        link: &'a IdentityLink,
        by: &'a LinkedBy,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send + 'a;

    fn links_of<'a>(
        connection: &'a mut Self::Connection,
        number: &'a PersonalIdentityNumber,
    ) -> impl Future<Output = Result<Vec<StoredLink>, sqlx::Error>> + Send + 'a;
}

/// The identity links on either backend: the link is decided in a writing transaction that
/// holds the links' lock ([`FormBackend::lock_links`]); the forms move in one UPDATE, which
/// waits for any write of them in flight.
pub struct SqlIdentityLinks<DB: sqlx::Database> {
    pool: Pool<DB>,
}

impl<DB: sqlx::Database> SqlIdentityLinks<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl<DB: LinkTable> FormIdentityLinks for SqlIdentityLinks<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    String: for<'r> Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn link(
        &self,
        link: &IdentityLink,
        by: &LinkedBy,
        audit: &AuditEvent,
    ) -> Result<LinkOutcome, LinkError> {
        let mut tx = DB::begin_write(&self.pool)
            .await
            .map_err(StoreError::from)?;
        DB::lock_links(&mut tx).await.map_err(StoreError::from)?;
        let from_resolved = DB::resolve(&mut tx, &link.from)
            .await
            .map_err(StoreError::from)?;
        let to_resolved = DB::resolve(&mut tx, &link.to)
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
                id: DB::read_id(row.try_get(0).map_err(StoreError::from)?)
                    .map_err(StoreError::from)?,
                care_unit: row.try_get(1).map_err(StoreError::from)?,
            });
        }
        moved.sort_by_key(|form| form.id);
        let now = Utc::now();
        if plan.is_new() {
            DB::record(&mut tx, link, by, now)
                .await
                .map_err(StoreError::from)?;
        }
        let events = audit_rows(audit, &link.from, &target, &moved);
        DB::insert_all(&mut tx, &events, now)
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
        Ok(DB::resolve(&mut connection, number).await?)
    }

    async fn search(
        &self,
        number: &PersonalIdentityNumber,
    ) -> Result<IdentityLinkSearchAnswer, StoreError> {
        let mut connection = self.pool.acquire().await?;
        let links = DB::links_of(&mut connection, number).await?;
        let resolved_to = DB::resolve(&mut connection, number).await?;
        Ok(IdentityLinkSearchAnswer { links, resolved_to })
    }
}
