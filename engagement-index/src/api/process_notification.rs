//! `POST /engagementindex/v1/ProcessNotification`: a federated index tells of its changes.

use std::collections::BTreeSet;

use axum::extract::State;
use common::audit::{AuditLog, AuditOutcome};
use common::auth::Caller;
use common::permissions::{Permissions, Role};
use common::problem::{ApiJson, Problem, UncheckedJson};

use super::AppState;
use super::access::{of_transactions, patient_events, refused, require_every};
use super::error::ApiError;
use super::recording::{index_service, outbox_context};
use super::wire::{ProcessNotificationRequest, ResultResponse, submitted_transactions};
use crate::domain::NotificationRules;

/// ProcessNotification: stores the changes of a federated index and forwards them.
///
/// Validated as Update (without the logical-address header), in skltp's order, stopping at
/// the first failure and storing nothing: 1 to 1000 transactions (EI000), then per
/// transaction: no two with the same key (EI002; the owner is part of it), no control
/// character in any field (EI004), no space around a key field or the owner, this index's
/// reserved HSA-ids neither as logicalAddress (EI005) nor as sourceSystem (EI006), mandatory
/// fields (owner, creationTime and updateTime included), lengths, timestamps and the identity
/// number (EI004).
///
/// owner, creationTime and updateTime are mandatory and stored as received. Transactions
/// owned by this index are dropped (loop guard); this index's own post with the same key is
/// replaced by the received one (owner change). Only what changes something here is stored
/// and forwarded to this index's subscribers: a post identical to the stored one, or with an
/// older mostRecentContent, is neither (so mutually subscribed indexes do not ping-pong).
///
/// The caller (a federated index) needs the role `source_system` for the owner of every
/// transaction it delivers, i.e. the index that recorded the post (else 403
/// `FORBIDDEN_SOURCE_SYSTEM`, nothing stored): grant a peer index its own HSA-id, and the
/// HSA-ids of the indexes whose posts it relays (or `*` for a hub). Transactions dropped by
/// the loop guard need no grant. Each patient of the kept transactions is audited in the same
/// transaction.
#[utoipa::path(
    post,
    path = "/engagementindex/v1/ProcessNotification",
    tag = "engagementindex",
    operation_id = "ProcessNotification",
    request_body = ProcessNotificationRequest,
    responses(
        (status = 200, description = "Committed (or nothing left after the loop guard)", body = ResultResponse),
        (status = 400, description = "Refused, nothing stored: EI000 (count), EI002 (duplicate key), \
            EI004 (missing, control character, white space, too long, timestamp or identity \
            format), EI005/EI006 (reserved HSA-id), or MALFORMED_JSON / INVALID_REQUEST (a body \
            that is not the contract's JSON)",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)",
            body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_SOURCE_SYSTEM: the caller may not deliver posts of one of \
            the transactions' owners; nothing stored",
            body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "RATE_LIMITED: too many requests from this caller",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Concurrent requests kept changing the same posts; nothing stored, retry",
            body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn process_notification(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    State(audit): State<AuditLog>,
    caller: Caller,
    UncheckedJson(request): UncheckedJson<ProcessNotificationRequest>,
) -> Result<ApiJson<ResultResponse>, ApiError> {
    let transactions = submitted_transactions(request.engagement_transaction);
    let index = index_service(&state);
    let valid = index.validate_process_notification(&transactions)?;
    let received = valid.len();
    let own = index.hsa_id();
    // What the loop guard keeps (NotificationRules drops the rest): checked and audited.
    let kept: Vec<_> = valid.iter().filter(|t| t.key.owner != own).collect();
    let owners: BTreeSet<&str> = kept.iter().map(|t| t.key.owner.as_str()).collect();
    let events = patient_events(
        &caller,
        "ProcessNotification",
        Some(Role::SourceSystem),
        AuditOutcome::Success,
        of_transactions(kept.iter().copied()),
    );
    if let Err(refusal) = require_every(&permissions, &caller, Role::SourceSystem, &owners).await {
        return Err(refused(&audit, events, refusal).await.into());
    }
    let rules = NotificationRules::new(own, valid);
    if rules.is_empty() {
        tracing::info!(
            received,
            "ProcessNotification held only this index's own posts (R4)"
        );
        return Ok(ApiJson(ResultResponse::ok()));
    }
    let kept = rules.len();
    let applied = index.record(&rules, &outbox_context(events)).await?;
    tracing::info!(
        received,
        kept,
        changed = applied.changed_rows,
        notified = applied.notified,
        "ProcessNotification committed"
    );
    Ok(ApiJson(ResultResponse::ok()))
}
