//! Identity links in the engine's database: the link table (common::identity_link) and the
//! move of every form of the old number, with the audit rows, in one transaction.

use async_trait::async_trait;
use common::audit::AuditEvent;
use common::identity::PersonalIdentityNumber;
use common::identity_link::{IdentityLink, IdentityLinkSearchAnswer, LinkedBy};

use super::StoreError;
use crate::domain::identity::{LinkError, LinkOutcome};

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
