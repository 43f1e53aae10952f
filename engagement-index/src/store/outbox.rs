//! What a change records beside itself: the outbox row subscribers are notified from.

use crate::api::wire::TransactionsOut;
use crate::domain::NotifiedTransaction;

/// Who caused a change: carried into its outbox row so the notification continues the
/// request's trace and correlation id, and into the audit log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxContext {
    pub correlation_id: Option<String>,
    pub traceparent: Option<String>,
    /// The audit rows of the request (one per patient it touches), appended in the same
    /// transaction as the change: a change is never committed unrecorded.
    pub audit: Vec<common::audit::AuditEvent>,
}

/// What applying a request did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppliedChanges {
    /// Rows inserted, modified or deleted.
    pub changed_rows: usize,
    /// Transactions recorded in the outbox (0: no outbox row was written).
    pub notified: usize,
}

/// The outbox row's `transactions`: the engagementTransaction array of a ProcessNotification
/// request, as JSON text.
pub(super) fn transactions_json(notifications: &[NotifiedTransaction]) -> String {
    serde_json::to_string(&TransactionsOut(notifications)).expect("engagement records serialise")
}

/// One outbox row to write.
pub(super) struct OutboxRow<'a> {
    pub transactions: String,
    pub correlation_id: Option<&'a str>,
    pub traceparent: Option<&'a str>,
}

/// One row per request that notifies anything, in request order.
pub(super) fn outbox_rows<'a>(
    notifications: &[Vec<NotifiedTransaction>],
    contexts: &[&'a OutboxContext],
) -> Vec<OutboxRow<'a>> {
    notifications
        .iter()
        .zip(contexts)
        .filter(|(notifications, _)| !notifications.is_empty())
        .map(|(notifications, context)| OutboxRow {
            transactions: transactions_json(notifications),
            correlation_id: context.correlation_id.as_deref(),
            traceparent: context.traceparent.as_deref(),
        })
        .collect()
}

/// How often a request is planned again when a concurrent request changed the same posts
/// between reading and writing (or the database chose it as a deadlock victim).
pub(super) const MAX_ATTEMPTS: usize = 8;

/// What each request of a committed group did, in request order.
pub(super) fn applied(combined: &crate::domain::CombinedPlan) -> Vec<AppliedChanges> {
    combined
        .changed_rows
        .iter()
        .zip(&combined.notifications)
        .map(|(changed_rows, notifications)| AppliedChanges {
            changed_rows: *changed_rows,
            notified: notifications.len(),
        })
        .collect()
}

/// The audit rows of a group's requests, in request order.
pub(super) fn audit_rows(contexts: &[&OutboxContext]) -> Vec<common::audit::AuditEvent> {
    contexts
        .iter()
        .flat_map(|context| context.audit.iter().cloned())
        .collect()
}
