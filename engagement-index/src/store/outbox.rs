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
fn transactions_json(notifications: &[&NotifiedTransaction]) -> String {
    serde_json::to_string(&TransactionsOut(notifications)).expect("engagement records serialise")
}

/// One outbox row to write.
pub(super) struct OutboxRow<'a> {
    pub transactions: String,
    pub correlation_id: Option<&'a str>,
    pub traceparent: Option<&'a str>,
}

/// The outbox row of a committed group: every transaction its requests notify, in request
/// order, under the correlation id and trace of the first request that notifies anything;
/// none when nothing is notified. One row for the group, not one per request: the fan-out
/// already sends the changes it takes together as one notification per subscriber, under the
/// first change's ids, so subscribers see the same, while the database writes (and the
/// fan-out marks) one row where a group of single-engagement Updates wrote one each.
pub(super) fn outbox_rows<'a>(
    notifications: &[Vec<NotifiedTransaction>],
    contexts: &[&'a OutboxContext],
) -> Vec<OutboxRow<'a>> {
    let Some(first) = notifications
        .iter()
        .zip(contexts)
        .find_map(|(notified, context)| (!notified.is_empty()).then_some(*context))
    else {
        return Vec::new();
    };
    let all: Vec<&NotifiedTransaction> = notifications.iter().flatten().collect();
    vec![OutboxRow {
        transactions: transactions_json(&all),
        correlation_id: first.correlation_id.as_deref(),
        traceparent: first.traceparent.as_deref(),
    }]
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

/// The audit rows of a group's requests, in request order, all at `at`: borrowed, not copied
/// (an Update of 1000 has 1000).
pub(super) fn audit_rows<'a>(
    contexts: &[&'a OutboxContext],
    at: chrono::DateTime<chrono::Utc>,
) -> Vec<(&'a common::audit::AuditEvent, chrono::DateTime<chrono::Utc>)> {
    contexts
        .iter()
        .flat_map(|context| context.audit.iter())
        .map(|event| (event, at))
        .collect()
}
