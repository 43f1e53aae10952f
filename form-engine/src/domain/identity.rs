//! An identity link in the form engine (issue 15): every form of the old number becomes a
//! form of the new one, so the citizen signing in with the new number finds them (GetForms,
//! GetForm and the pages check the form's subjectOfCare). The engine's posts in the
//! engagement index are moved by the index's own link, which the source of truth makes there
//! too (docs/follow-up.md).

use std::sync::Arc;

use common::audit::AuditEvent;
use common::identity::PersonalIdentityNumber;
use common::identity_link::{
    IdentityLink, IdentityLinkSearchAnswer, LinkPlan, LinkRefusal, LinkedBy,
};
use uuid::Uuid;

use crate::store::StoreError;
use crate::store::identity::FormIdentityLinks;

/// The audit action of a link request, one row for each of the two numbers.
pub const AUDIT_LINK: &str = "IdentityLink";
/// The audit action of a moved form, one row for each of the two numbers.
pub const AUDIT_MOVE: &str = "IdentityLinkMove";

/// A form that moved: its id and care unit, for the audit rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MovedForm {
    pub id: Uuid,
    pub care_unit: String,
}

/// The audit rows of a link: the request, then every moved form, each as two rows with the
/// same action and resource (the formId), one naming the old number and one the new, so the
/// history of either number shows the move.
pub fn audit_rows(
    base: &AuditEvent,
    from: &PersonalIdentityNumber,
    to: &PersonalIdentityNumber,
    moved: &[MovedForm],
) -> Vec<AuditEvent> {
    let pair = |action: &str, resource: String, care_unit: Option<&str>| {
        let mut event = base.clone();
        action.clone_into(&mut event.action);
        event.care_unit = care_unit.map(str::to_owned);
        [
            event.clone().patient(from).resource(resource.clone()),
            event.patient(to).resource(resource),
        ]
    };
    let mut rows = pair(AUDIT_LINK, String::from("identity-link"), None).to_vec();
    for form in moved {
        rows.extend(pair(
            AUDIT_MOVE,
            form.id.to_string(),
            Some(form.care_unit.as_str()),
        ));
    }
    rows
}

/// What a link did in the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkOutcome {
    pub plan: LinkPlan,
    /// Forms moved off the old number.
    pub moved: usize,
}

/// Why a link was not made.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Refused(#[from] LinkRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Identity links over the store.
pub struct IdentityLinks {
    store: Arc<dyn FormIdentityLinks>,
}

impl IdentityLinks {
    pub fn new(store: Arc<dyn FormIdentityLinks>) -> Self {
        Self { store }
    }

    /// Records the link and moves every form of `link.from`, in one transaction with the
    /// audit rows (built from `audit`, the request's row).
    pub async fn link(
        &self,
        link: &IdentityLink,
        by: &LinkedBy,
        audit: &AuditEvent,
    ) -> Result<LinkOutcome, LinkError> {
        self.store.link(link, by, audit).await
    }

    /// Whether `number` was linked to another number.
    pub async fn is_linked(&self, number: &PersonalIdentityNumber) -> Result<bool, StoreError> {
        Ok(self.store.resolve(number).await?.is_some())
    }

    /// The links `number` takes part in and where it resolves.
    pub async fn search(
        &self,
        number: &PersonalIdentityNumber,
    ) -> Result<IdentityLinkSearchAnswer, StoreError> {
        self.store.search(number).await
    }
}
