//! `POST /engagementindex/v1/FindContent`: where a resident has information in a domain.

use axum::extract::State;
use common::audit::{AuditEvent, AuditLog, AuditOutcome};
use common::auth::Caller;
use common::permissions::{Permissions, Role};
use common::problem::{Problem, UncheckedJson};
use http::header::CONTENT_TYPE;

use super::AppState;
use super::access::refused;
use super::error::ApiError;
use super::wire::{EngagementsOut, FindContentAnswer, FindContentRequest, FindContentResponse};
use crate::domain::ContentQuery;
use crate::store::StoreError;

/// About what one engagement record takes as JSON (typical HSA-ids and domains: 400-500
/// bytes), so that an answer's body is seldom grown while it is written.
const BYTES_PER_RECORD: usize = 512;

/// FindContent: the resident's posts in a domain.
///
/// registeredResidentIdentification and serviceDomain are mandatory and not blank (EI000);
/// no field carries a control character or is longer than the engagement field it filters
/// (EI004 `Field "..." contains a control character`, `... is too long`). Every other
/// field is an exact-match filter, except mostRecentContent, which matches posts at or after
/// it (posts without one do not match). Ordered by creationTime, then key. POST because the
/// body carries a personal identity number, which must never appear in a URL.
///
/// The caller needs the role `reader` for the serviceDomain (else 403 `FORBIDDEN_READER`).
/// Every search is audited with the patient, refused ones included.
#[utoipa::path(
    post,
    path = "/engagementindex/v1/FindContent",
    tag = "engagementindex",
    operation_id = "FindContent",
    request_body = FindContentRequest,
    responses(
        (status = 200, description = "The matching posts (possibly none). None, with \
            `identityLinked: true` and this header, when the resident's number was linked to \
            another number and its posts moved there (the other number is not disclosed)",
            body = FindContentResponse,
            headers(("Nordform-Identity-Linked" = String,
                description = "`true` when the number was linked to another number; absent otherwise"))),
        (status = 400, description = "EI000 (resident or domain missing or blank), EI004 (control \
            character, too long, identity or timestamp format), or MALFORMED_JSON / INVALID_REQUEST \
            (a body that is not the contract's JSON)",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)",
            body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_READER: the caller may not search this serviceDomain",
            body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "RATE_LIMITED: too many requests from this caller",
            body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn find_content(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    State(audit): State<AuditLog>,
    caller: Caller,
    UncheckedJson(request): UncheckedJson<FindContentRequest>,
) -> Result<axum::response::Response, ApiError> {
    let query = ContentQuery::from_submitted(&request.into())?;
    let event = AuditEvent::new(&caller, "FindContent", AuditOutcome::Success)
        .role(Role::Reader)
        .patient(&query.registered_resident_identification)
        .resource(query.service_domain.as_str());
    if let Err(refusal) = permissions
        .require(&caller, Role::Reader, &query.service_domain)
        .await
    {
        return Err(refused(&audit, vec![event], refusal).await.into());
    }
    // Recorded before the answer leaves: no patient data is handed out unrecorded.
    let found = match state
        .store
        .find_content(&query, event.clone(), &audit)
        .await
    {
        Ok(found) => found,
        // The search itself could not be recorded: nothing to add.
        Err(error @ StoreError::Audit(_)) => return Err(error.into()),
        // Nor can it be when the database cannot serve now; trying would wait out the pool a
        // second time. Nothing was handed out; the log has the failure.
        Err(error) if common::db::is_unavailable(&error) => return Err(error.into()),
        Err(error) => {
            audit.record(event.outcome(AuditOutcome::Failed)).await?;
            return Err(error.into());
        }
    };
    tracing::debug!(
        resident = %query.registered_resident_identification,
        found = found.len(),
        "FindContent"
    );
    // Only an empty answer can be about a linked number: its posts moved (identity_links.rs).
    let identity_linked = found.is_empty()
        && state
            .store
            .identity_links()
            .resolve(&query.registered_resident_identification)
            .await?
            .is_some();
    // Written straight from the found posts into a body sized for them (wire/written.rs).
    let answer = FindContentAnswer {
        engagement: EngagementsOut(&found),
        identity_linked,
    };
    let mut body = Vec::with_capacity(64 + found.len() * BYTES_PER_RECORD);
    serde_json::to_writer(&mut body, &answer).expect("engagement records serialise");
    let response = ([(CONTENT_TYPE, "application/json")], body);
    Ok(super::identity_links::linked_header(
        identity_linked,
        response,
    ))
}
