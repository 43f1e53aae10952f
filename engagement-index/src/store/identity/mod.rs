//! Identity links in the index's database: the link table (common::identity_link) and the
//! move of every engagement of the old number, with its outbox row and audit rows, in one
//! transaction.

mod postgres;
mod sqlite;

use async_trait::async_trait;
use common::audit::AuditEvent;
use common::identity::PersonalIdentityNumber;
use common::identity_link::{IdentityLink, IdentityLinkSearchAnswer, LinkedBy};

pub use postgres::PgIdentityLinks;
pub use sqlite::SqliteIdentityLinks;

use super::{OutboxContext, StoreError};
use crate::domain::identity::{LinkError, LinkOutcome};

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
