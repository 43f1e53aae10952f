//! `POST /engagementindex/v1/Update`: a source system tells where a resident has information.

use std::collections::BTreeSet;

use axum::extract::State;
use common::audit::{AuditLog, AuditOutcome};
use common::auth::Caller;
use common::permissions::{Permissions, Role};
use common::problem::{ApiJson, Problem, UncheckedJson};
use http::HeaderMap;

use super::AppState;
use super::access::{of_transactions, patient_events, refused, require_every};
use super::error::ApiError;
use super::recording::{index_service, outbox_context};
use super::wire::{ResultResponse, UpdateRequest, submitted_transactions};
use crate::domain::UpdateRules;

/// RIV-TA's LogicalAddress SOAP header.
pub const LOGICAL_ADDRESS_HEADER: &str = "x-rivta-logical-address";

/// Update: creates, changes or deletes engagements owned by this index.
///
/// Validation, in skltp's order, stops at the first failure and stores nothing: the
/// `x-rivta-logical-address` header, when present, names this index's HSA-id or its
/// alternative id (EI003; the ids are this deployment's, so the document cannot list them);
/// 1 to 1000 transactions (EI000); then per transaction: no two with the same key (EI002;
/// the key is the nine key fields, an empty categorization, businessObjectInstanceIdentifier
/// or clinicalProcessInterestId counting as `NA`, so transactions differing only in
/// deleteFlag, mostRecentContent or the ignored fields are duplicates), no control character
/// in any field (EI004 `Field "..." contains a control character`), no space around a key
/// field, this index's reserved HSA-ids neither as logicalAddress (EI005) nor as sourceSystem
/// (EI006), mandatory fields, lengths, timestamps and the identity number (EI004).
///
/// The owner becomes this index; creationTime and updateTime sent by the client are ignored.
/// A post changes only when its mostRecentContent is newer than the stored one; an identical
/// or older one changes nothing and notifies nobody. A delete always applies. `ResultCode: OK`
/// means committed, with the notifications to subscribers recorded in the same transaction.
///
/// The caller needs the role `source_system` for every sourceSystem of the request (else 403
/// `FORBIDDEN_SOURCE_SYSTEM`, nothing stored). Each patient of the request is audited in the
/// same transaction.
#[utoipa::path(
    post,
    path = "/engagementindex/v1/Update",
    tag = "engagementindex",
    operation_id = "Update",
    params(
        ("x-rivta-logical-address" = Option<String>, Header,
            description = "When present, this index's HSA-id or its alternative id (else EI003)."),
    ),
    request_body = UpdateRequest,
    responses(
        (status = 200, description = "Committed", body = ResultResponse),
        (status = 400, description = "Refused, nothing stored: EI000 (count), EI002 (duplicate key), \
            EI003 (logical address), EI004 (missing, control character, white space, too long, \
            timestamp or identity format), EI005/EI006 (reserved HSA-id), or MALFORMED_JSON / \
            INVALID_REQUEST (a body that is not the contract's JSON)",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)",
            body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_SOURCE_SYSTEM: the caller may not post as one of the \
            request's sourceSystems; nothing stored",
            body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "RATE_LIMITED: too many requests from this caller",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Concurrent requests kept changing the same posts; nothing stored, retry",
            body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    State(audit): State<AuditLog>,
    caller: Caller,
    headers: HeaderMap,
    UncheckedJson(request): UncheckedJson<UpdateRequest>,
) -> Result<ApiJson<ResultResponse>, ApiError> {
    let logical_address = headers
        .get(LOGICAL_ADDRESS_HEADER)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let transactions = submitted_transactions(request.engagement_transaction);
    let index = index_service(&state);
    let valid = index.validate_update(logical_address.as_deref(), &transactions)?;
    let received = valid.len();
    let events = patient_events(
        &caller,
        "Update",
        Some(Role::SourceSystem),
        AuditOutcome::Success,
        of_transactions(&valid),
    );
    let source_systems: BTreeSet<&str> =
        valid.iter().map(|t| t.key.source_system.as_str()).collect();
    if let Err(refusal) =
        require_every(&permissions, &caller, Role::SourceSystem, &source_systems).await
    {
        return Err(refused(&audit, events, refusal).await.into());
    }
    let applied = index
        .record(&UpdateRules::new(valid), &outbox_context(events))
        .await?;
    tracing::info!(
        received,
        changed = applied.changed_rows,
        notified = applied.notified,
        "Update committed"
    );
    Ok(ApiJson(ResultResponse::ok()))
}
