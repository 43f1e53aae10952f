//! Operators' view of the engine's outbox: the engagement-index posts waiting or given up on,
//! and putting given-up posts back in line once the cause is fixed. Every route needs the role
//! `admin` (else 403 `FORBIDDEN_ADMIN`); listing posts is audited per patient they name.

use axum::extract::State;
use chrono::Utc;
use common::audit::{AuditEvent, AuditOutcome};
use common::auth::Caller;
use common::delivery::{Delivery, DeliveryState, DestinationStats};
use common::identity::PersonalIdentityNumber;
use common::permissions::Role;
use common::problem::{ApiJson, ApiQuery, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::ApiError;
use crate::domain::form::engagement::ENGAGEMENT_INDEX;

/// Most posts listed at once.
const MAX_LIMIT: i64 = 1000;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutboxOverview {
    /// Where the posts go.
    pub update_url: String,
    /// Posts waiting (and when the oldest was written) and posts given up on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<DestinationStats>,
}

/// The outbox at a glance.
#[utoipa::path(get, path = "/admin/engagement-index", tag = "admin", operation_id = "GetEngagementIndexOutbox",
    responses(
        (status = 200, description = "The outbox of engagement-index posts", body = OutboxOverview),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn overview(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<OutboxOverview>, ApiError> {
    state.permissions.require_admin(&caller).await?;
    let stats = state
        .store
        .deliveries()
        .stats()
        .await
        .map_err(ApiError::internal)?;
    Ok(ApiJson(OutboxOverview {
        update_url: state.config.engagement_index_update_url(),
        queue: stats
            .into_iter()
            .find(|s| s.destination == ENGAGEMENT_INDEX),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `pending` (default), `dead` or `delivered` (kept for the retention age).
    #[param(pattern = "^(pending|dead|delivered)$")]
    pub state: Option<String>,
    /// At most this many, default 100.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostList {
    pub deliveries: Vec<Delivery>,
}

/// Posts waiting for the engagement index, or given up on (with attempts and last error).
#[utoipa::path(get, path = "/admin/engagement-index/deliveries", tag = "admin", operation_id = "ListEngagementIndexDeliveries",
    params(ListParams),
    responses(
        (status = 200, description = "The posts, oldest first", body = PostList),
        (status = 400, description = "Unknown state or limit out of range", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<ApiJson<PostList>, ApiError> {
    list_queue(&state, &caller, ENGAGEMENT_INDEX, &params).await
}

/// One queue of the delivery worker (the index's, or a care system's), each patient named
/// audited.
pub(super) async fn list_queue(
    state: &AppState,
    caller: &Caller,
    destination: &str,
    params: &ListParams,
) -> Result<ApiJson<PostList>, ApiError> {
    state.permissions.require_admin(caller).await?;
    let which = match params.state.as_deref().unwrap_or("pending") {
        "pending" => DeliveryState::Pending,
        "dead" => DeliveryState::Dead,
        "delivered" => DeliveryState::Delivered,
        other => {
            return Err(ApiError::invalid(format!(
                "state: `{other}` is not a state; use pending, dead or delivered."
            )));
        }
    };
    let limit = params.limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(format!("limit: give 1 to {MAX_LIMIT}.")));
    }
    let deliveries = state
        .store
        .deliveries()
        .list(destination, which, limit)
        .await
        .map_err(ApiError::internal)?;
    // The posts name patients: each one is audited.
    let mut patients: Vec<PersonalIdentityNumber> = deliveries
        .iter()
        .filter_map(|d| d.payload.get("engagementTransaction")?.as_array())
        .flatten()
        .filter_map(|t| {
            let number = t["engagement"]["registeredResidentIdentification"].as_str()?;
            PersonalIdentityNumber::parse(number).ok()
        })
        .collect();
    patients.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    patients.dedup();
    let events: Vec<AuditEvent> = patients
        .iter()
        .map(|patient| {
            AuditEvent::new(caller, "ListIndexPosts", AuditOutcome::Success)
                .role(Role::Admin)
                .patient(patient)
                .resource(destination)
        })
        .collect();
    state.audit.record_all(&events).await?;
    Ok(ApiJson(PostList { deliveries }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Redriven {
    pub redriven: u64,
}

/// Puts every given-up post back in line, due now.
#[utoipa::path(post, path = "/admin/engagement-index/redrive", tag = "admin", operation_id = "RedriveEngagementIndexDeliveries",
    responses(
        (status = 200, description = "How many posts were put back", body = Redriven),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn redrive(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<Redriven>, ApiError> {
    redrive_queue(&state, &caller, ENGAGEMENT_INDEX).await
}

/// Puts the given-up messages of one queue back in line, due now.
pub(super) async fn redrive_queue(
    state: &AppState,
    caller: &Caller,
    destination: &str,
) -> Result<ApiJson<Redriven>, ApiError> {
    state.permissions.require_admin(caller).await?;
    let redriven = state
        .store
        .deliveries()
        .redrive(destination, Utc::now())
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(redriven, destination, "dead deliveries redriven");
    state.outbox.notify_one();
    Ok(ApiJson(Redriven { redriven }))
}
