//! `POST /engagementindex/v1/FindContent`: where a resident has information in a domain.

use axum::extract::State;
use common::problem::{ApiJson, Problem};

use super::AppState;
use super::error::ApiError;
use crate::domain::ContentQuery;
use crate::wire::{EngagementRecord, FindContentRequest, FindContentResponse};

/// FindContent: the resident's posts in a domain.
///
/// registeredResidentIdentification and serviceDomain are mandatory (EI000). Every other
/// field is an exact-match filter, except mostRecentContent, which matches posts at or after
/// it (posts without one do not match). Ordered by creationTime, then key. POST because the
/// body carries a personal identity number, which must never appear in a URL.
#[utoipa::path(
    post,
    path = "/engagementindex/v1/FindContent",
    tag = "engagementindex",
    operation_id = "FindContent",
    request_body = FindContentRequest,
    responses(
        (status = 200, description = "The matching posts (possibly none)", body = FindContentResponse),
        (status = 400, description = "EI000 (resident or domain missing), EI004 (identity or \
            timestamp format), or MALFORMED_JSON / INVALID_REQUEST",
            body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn find_content(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<FindContentRequest>,
) -> Result<ApiJson<FindContentResponse>, ApiError> {
    let query = ContentQuery::from_request(&request)?;
    let found = state.store.find_content(&query).await?;
    tracing::debug!(
        resident = %query.registered_resident_identification,
        found = found.len(),
        "FindContent"
    );
    Ok(ApiJson(FindContentResponse {
        engagement: found.iter().map(EngagementRecord::from).collect(),
    }))
}
