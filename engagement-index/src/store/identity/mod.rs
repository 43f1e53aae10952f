//! Identity links in the index's database: the link table (common::identity_link) and the
//! move of every engagement of the old number, with its outbox row and audit rows, in one
//! transaction.

mod postgres;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::audit::{AuditBackend, AuditEvent};
use common::db::Backend;
use common::identity::PersonalIdentityNumber;
use common::identity_link::{self, IdentityLink, IdentityLinkSearchAnswer, LinkPlan, LinkedBy};
use sqlx::{
    ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Postgres, Sqlite, Transaction, Type,
};

use super::{OutboxContext, StoreError};
use crate::domain::identity::{LinkError, LinkOutcome, audit_rows, moved_key};
use crate::domain::{ChangePlan, Engagement, EngagementKey};

#[async_trait]
pub trait IdentityLinkStore: Send + Sync + 'static {
    /// Decides the link against those recorded (a cycle or a link elsewhere is refused),
    /// records it when new, and moves every engagement of `link.from` to where it resolves;
    /// the outbox row (deletes of the old keys, the new posts) and the audit rows built from
    /// `audit` are written in the same transaction.
    async fn link(
        &self,
        link: &IdentityLink,
        by: &LinkedBy,
        audit: &AuditEvent,
        context: &OutboxContext,
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

/// Identity links on SQLite.
pub type SqliteIdentityLinks = SqlIdentityLinks<Sqlite>;
/// Identity links on PostgreSQL.
pub type PgIdentityLinks = SqlIdentityLinks<Postgres>;

/// Identity links on one database: reading the links is the same on both backends; deciding
/// a link and moving the engagements is each backend's own ([`LinkBackend`]).
pub struct SqlIdentityLinks<DB: Backend> {
    pool: Pool<DB>,
}

impl<DB: Backend> SqlIdentityLinks<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }
}

/// How a backend decides a link and moves the engagements ([`IdentityLinkStore::link`]).
#[async_trait]
pub trait LinkBackend: Backend {
    /// Reads a row of [`Self::posts_of`].
    const ENGAGEMENT: fn(&Self::Row) -> Result<Engagement, StoreError>;

    /// The engagements filed under `$1`, in key order (locked, where the backend locks rows).
    fn posts_of() -> String;

    async fn link(
        pool: &Pool<Self>,
        link: &IdentityLink,
        by: &LinkedBy,
        audit: &AuditEvent,
        context: &OutboxContext,
    ) -> Result<LinkOutcome, LinkError>;
}

#[async_trait]
impl<DB: LinkBackend> IdentityLinkStore for SqlIdentityLinks<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn link(
        &self,
        link: &IdentityLink,
        by: &LinkedBy,
        audit: &AuditEvent,
        context: &OutboxContext,
    ) -> Result<LinkOutcome, LinkError> {
        DB::link(&self.pool, link, by, audit, context).await
    }

    async fn resolve(
        &self,
        number: &PersonalIdentityNumber,
    ) -> Result<Option<PersonalIdentityNumber>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        Ok(identity_link::resolve::<DB>(&mut connection, number).await?)
    }

    async fn search(
        &self,
        number: &PersonalIdentityNumber,
    ) -> Result<IdentityLinkSearchAnswer, StoreError> {
        let mut connection = self.pool.acquire().await?;
        let links = identity_link::links_of::<DB>(&mut connection, number).await?;
        let resolved_to = identity_link::resolve::<DB>(&mut connection, number).await?;
        Ok(IdentityLinkSearchAnswer { links, resolved_to })
    }
}

/// A link decided against the links recorded (and recorded when new), and the engagements
/// it moves.
struct Decision {
    plan: LinkPlan,
    target: PersonalIdentityNumber,
    /// The engagements filed under the old number.
    posts: Vec<Engagement>,
    /// Their keys under the target.
    moved_keys: Vec<EngagementKey>,
}

/// Decides `link`, records it when new and reads what it moves, in the caller's transaction.
async fn decide<DB: LinkBackend>(
    connection: &mut DB::Connection,
    link: &IdentityLink,
    by: &LinkedBy,
    now: DateTime<Utc>,
) -> Result<Decision, LinkError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q String: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let from_resolved = identity_link::resolve::<DB>(connection, &link.from)
        .await
        .map_err(StoreError::from)?;
    let to_resolved = identity_link::resolve::<DB>(connection, &link.to)
        .await
        .map_err(StoreError::from)?
        .unwrap_or_else(|| link.to.clone());
    let plan = identity_link::plan(link, from_resolved, to_resolved)?;
    if plan.is_new() {
        identity_link::record::<DB>(connection, link, by, now)
            .await
            .map_err(StoreError::from)?;
    }
    let target = plan.target().clone();
    let rows = sqlx::query(sqlx::AssertSqlSafe(DB::posts_of()))
        .bind(link.from.as_str())
        .fetch_all(&mut *connection)
        .await
        .map_err(StoreError::from)?;
    let posts: Vec<Engagement> = rows.iter().map(DB::ENGAGEMENT).collect::<Result<_, _>>()?;
    let moved_keys = posts.iter().map(|p| moved_key(&p.key, &target)).collect();
    Ok(Decision {
        plan,
        target,
        posts,
        moved_keys,
    })
}

/// Appends the audit rows of the move `change` and commits; what was done.
async fn finish<DB: LinkBackend + AuditBackend>(
    mut tx: Transaction<'_, DB>,
    decision: Decision,
    change: &ChangePlan,
    link: &IdentityLink,
    audit: &AuditEvent,
    now: DateTime<Utc>,
) -> Result<LinkOutcome, LinkError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let events = audit_rows(audit, &link.from, &decision.target, &decision.posts);
    DB::insert_all(&mut tx, &events, now)
        .await
        .map_err(StoreError::from)?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(LinkOutcome {
        plan: decision.plan,
        moved: change.deletions.len(),
        notified: change.notifications.len(),
    })
}
