//! The index's change operations, between the API and the store: validating an Update or a
//! ProcessNotification against this index, and recording an accepted change (the store
//! commits it with its outbox and audit rows) before waking the fan-out.

use std::sync::Arc;

use tokio::sync::Notify;

use super::changes::ChangeRules;
use super::error::ValidationError;
use super::submitted::SubmittedTransaction;
use super::validation::{
    IndexIdentity, ValidTransaction, validate_process_notification, validate_update,
};
use crate::store::{AppliedChanges, EngagementStore, OutboxContext, StoreError};

pub struct IndexService {
    store: Arc<dyn EngagementStore>,
    changes_waker: Arc<Notify>,
    hsa_id: String,
    alternative_hsa_id: Option<String>,
    reserved_hsa_ids: Vec<String>,
}

impl IndexService {
    /// `changes_waker` wakes the fan-out; `reserved_hsa_ids` are refused as logicalAddress and
    /// sourceSystem (empty turns the check off).
    pub fn new(
        store: Arc<dyn EngagementStore>,
        changes_waker: Arc<Notify>,
        hsa_id: String,
        alternative_hsa_id: Option<String>,
        reserved_hsa_ids: Vec<String>,
    ) -> Self {
        Self {
            store,
            changes_waker,
            hsa_id,
            alternative_hsa_id,
            reserved_hsa_ids,
        }
    }

    /// This index's HSA-id: the owner of what Update posts.
    pub fn hsa_id(&self) -> &str {
        &self.hsa_id
    }

    fn identity(&self) -> IndexIdentity<'_> {
        IndexIdentity {
            hsa_id: &self.hsa_id,
            alternative_hsa_id: self.alternative_hsa_id.as_deref(),
            reserved_hsa_ids: &self.reserved_hsa_ids,
        }
    }

    /// An Update's transactions, valid or refused; `logical_address` is the routing header.
    pub fn validate_update(
        &self,
        logical_address: Option<&str>,
        transactions: &[Option<SubmittedTransaction>],
    ) -> Result<Vec<ValidTransaction>, ValidationError> {
        validate_update(&self.identity(), logical_address, transactions)
    }

    /// A ProcessNotification's transactions, valid or refused.
    pub fn validate_process_notification(
        &self,
        transactions: &[Option<SubmittedTransaction>],
    ) -> Result<Vec<ValidTransaction>, ValidationError> {
        validate_process_notification(&self.identity(), transactions)
    }

    /// Commits the change with its outbox row and audit rows, then wakes the fan-out when
    /// there is something to notify.
    pub async fn record(
        &self,
        rules: &dyn ChangeRules,
        context: &OutboxContext,
    ) -> Result<AppliedChanges, StoreError> {
        let applied = self.store.apply(rules, context).await?;
        if applied.notified > 0 {
            self.changes_waker.notify_one();
        }
        Ok(applied)
    }
}
