//! `POST /engagementindex/v1/GetUpdates`: what changed in a domain since a time, per resident.

use axum::extract::State;
use common::problem::{ApiJson, Problem};

use super::AppState;
use super::error::ApiError;
use crate::domain::{MAX_RESIDENTS_PER_PAGE, UpdatesQuery};
use crate::wire::{
    EngagementRecord, GetUpdatesRequest, GetUpdatesResponse, RegisteredResidentEngagement,
};

/// GetUpdates: the posts of a domain created or changed in this index at or after timeStamp.
///
/// Grouped per resident in resident order, at most 500 residents a page. When
/// responseIsComplete is false, ask again with registeredResidentLastFetched set to the last
/// resident of the page. Deleted posts are not reported (they are gone).
#[utoipa::path(
    post,
    path = "/engagementindex/v1/GetUpdates",
    tag = "engagementindex",
    operation_id = "GetUpdates",
    request_body = GetUpdatesRequest,
    responses(
        (status = 200, description = "One page of changed posts", body = GetUpdatesResponse),
        (status = 400, description = "EI000 (serviceDomain or timeStamp missing), EI004 (timestamp \
            or identity format), or MALFORMED_JSON / INVALID_REQUEST",
            body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_updates(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<GetUpdatesRequest>,
) -> Result<ApiJson<GetUpdatesResponse>, ApiError> {
    let query = UpdatesQuery::from_request(&request)?;
    let page = state
        .store
        .get_updates(&query, MAX_RESIDENTS_PER_PAGE)
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
