//! `POST /engagementindex/v1/GetUpdates`: what changed in a domain since a time, per resident.

use axum::extract::State;
use common::audit::{AuditEvent, AuditLog, AuditOutcome};
use common::auth::Caller;
use common::permissions::{Permissions, Role};
use common::problem::{ApiJson, Problem, UncheckedJson};

use super::AppState;
use super::access::{of_engagements, patient_events, refused};
use super::error::ApiError;
use super::wire::{
    EngagementRecord, GetUpdatesRequest, GetUpdatesResponse, RegisteredResidentEngagement,
};
use crate::domain::{MAX_RESIDENTS_PER_PAGE, UpdatesQuery};

/// GetUpdates: the posts of a domain created or changed in this index at or after timeStamp.
///
/// serviceDomain and timeStamp are mandatory and not blank (EI000); no field carries a
/// control character, serviceDomain is at most 255 characters, timeStamp is a time and
/// registeredResidentLastFetched an identity number (EI004).
///
/// Grouped per resident in resident order, at most 500 residents a page. When
/// responseIsComplete is false, ask again with registeredResidentLastFetched set to the last
/// resident of the page. Deleted posts are not reported (they are gone).
///
/// The caller needs the role `reader` for the serviceDomain (else 403 `FORBIDDEN_READER`).
/// Every resident of the page is audited.
#[utoipa::path(
    post,
    path = "/engagementindex/v1/GetUpdates",
    tag = "engagementindex",
    operation_id = "GetUpdates",
    request_body = GetUpdatesRequest,
    responses(
        (status = 200, description = "One page of changed posts", body = GetUpdatesResponse),
        (status = 400, description = "EI000 (serviceDomain or timeStamp missing or blank), EI004 \
            (control character, too long, timestamp or identity format), or MALFORMED_JSON / \
            INVALID_REQUEST (a body that is not the contract's JSON)",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)",
            body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_READER: the caller may not read this serviceDomain",
            body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "RATE_LIMITED: too many requests from this caller",
            body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_updates(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    State(audit): State<AuditLog>,
    caller: Caller,
    UncheckedJson(request): UncheckedJson<GetUpdatesRequest>,
) -> Result<ApiJson<GetUpdatesResponse>, ApiError> {
    let query = UpdatesQuery::from_submitted(&request.into())?;
    if let Err(refusal) = permissions
        .require(&caller, Role::Reader, &query.service_domain)
        .await
    {
        // No patient is named: the refusal is recorded without one.
        let event = AuditEvent::new(&caller, "GetUpdates", AuditOutcome::Refused)
            .role(Role::Reader)
            .resource(query.service_domain.as_str());
        return Err(refused(&audit, vec![event], refusal).await.into());
    }
    let page = state
        .store
        .get_updates(&query, MAX_RESIDENTS_PER_PAGE)
        .await?;
    // Recorded before the answer leaves: no patient data is handed out unrecorded.
    audit
        .record_all(&patient_events(
            &caller,
            "GetUpdates",
            Some(Role::Reader),
            AuditOutcome::Success,
            of_engagements(page.residents.iter().flat_map(|r| &r.engagements)),
        ))
        .await?;
    Ok(ApiJson(GetUpdatesResponse {
        response_is_complete: page.complete,
        registered_resident_engagement: page
            .residents
            .iter()
            .map(|resident| RegisteredResidentEngagement {
                registered_resident_identification: resident
                    .registered_resident_identification
                    .as_str()
                    .to_owned(),
                engagement: resident
                    .engagements
                    .iter()
                    .map(EngagementRecord::from)
                    .collect(),
            })
            .collect(),
    }))
}
