//! The index's change operations for one request: this index as the configuration names it,
//! and the outbox context carrying the request's correlation id and trace.

use std::sync::Arc;

use common::audit::AuditEvent;
use common::identity::HsaId;

use crate::domain::IndexService;
use crate::store::OutboxContext;

use super::AppState;

/// The domain's change operations over this state's store and fan-out.
pub(super) fn index_service(state: &AppState) -> IndexService {
    let config = &state.config;
    IndexService::new(
        Arc::clone(&state.store),
        Arc::clone(&state.changes_waker),
        config.hsa_id.to_string(),
        config.alternative_hsa_id.as_ref().map(HsaId::to_string),
        config.reserved_hsa_ids(),
    )
}

/// What the outbox row carries of this request: its correlation id and trace, and the audit
/// rows written with the change.
pub(super) fn outbox_context(audit: Vec<AuditEvent>) -> OutboxContext {
    let traceparent = common::http_client::propagation_headers()
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    OutboxContext {
        correlation_id: common::correlation::current().map(|id| id.as_str().to_owned()),
        traceparent,
        audit,
    }
}
