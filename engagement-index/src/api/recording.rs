//! Applying a validated change request and waking the fan-out once it is committed.

use common::audit::AuditEvent;
use common::identity::HsaId;

use crate::config::Config;
use crate::domain::{ChangeRules, IndexIdentity};
use crate::store::{AppliedChanges, OutboxContext, StoreError};

use super::AppState;

/// This index as validation sees it; `reserved` is `Config::reserved_hsa_ids()`.
pub(super) fn index_identity<'a>(config: &'a Config, reserved: &'a [String]) -> IndexIdentity<'a> {
    IndexIdentity {
        hsa_id: config.hsa_id.as_str(),
        alternative_hsa_id: config.alternative_hsa_id.as_ref().map(HsaId::as_str),
        reserved_hsa_ids: reserved,
    }
}

/// Commits the change with its outbox row, carrying this request's correlation id and trace,
/// and its audit rows.
pub(super) async fn record(
    state: &AppState,
    rules: &dyn ChangeRules,
    audit: Vec<AuditEvent>,
) -> Result<AppliedChanges, StoreError> {
    let traceparent = common::http_client::propagation_headers()
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let context = OutboxContext {
        correlation_id: common::correlation::current().map(|id| id.as_str().to_owned()),
        traceparent,
        audit,
    };
    let applied = state.store.apply(rules, &context).await?;
    if applied.notified > 0 {
        state.changes_waker.notify_one();
    }
    Ok(applied)
}
