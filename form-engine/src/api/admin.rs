//! Operators' view of the engine's outbox: the engagement-index posts waiting or given up on,
//! and putting given-up posts back in line once the cause is fixed.

use axum::extract::{Query, State};
use chrono::Utc;
use common::delivery::{Delivery, DeliveryState, DestinationStats};
use common::problem::{ApiJson, Problem};
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
#[utoipa::path(get, path = "/admin/engagement-index", tag = "admin",
    responses((status = 200, description = "The outbox of engagement-index posts", body = OutboxOverview)))]
pub async fn overview(State(state): State<AppState>) -> Result<ApiJson<OutboxOverview>, ApiError> {
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
pub struct ListParams {
    /// `pending` (default) or `dead`.
    pub state: Option<String>,
    /// At most this many, default 100.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostList {
    pub deliveries: Vec<Delivery>,
}

/// Posts waiting for the engagement index, or given up on (with attempts and last error).
#[utoipa::path(get, path = "/admin/engagement-index/deliveries", tag = "admin",
    params(ListParams),
    responses(
        (status = 200, description = "The posts, oldest first", body = PostList),
        (status = 400, description = "Unknown state or limit out of range", body = Problem, content_type = "application/problem+json")))]
pub async fn deliveries(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<ApiJson<PostList>, ApiError> {
    let which = match params.state.as_deref().unwrap_or("pending") {
        "pending" => DeliveryState::Pending,
        "dead" => DeliveryState::Dead,
        other => {
            return Err(ApiError::invalid(format!(
                "state: `{other}` is not a state; use pending or dead."
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
        .list(ENGAGEMENT_INDEX, which, limit)
        .await
        .map_err(ApiError::internal)?;
    Ok(ApiJson(PostList { deliveries }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Redriven {
    pub redriven: u64,
}

/// Puts every given-up post back in line, due now.
#[utoipa::path(post, path = "/admin/engagement-index/redrive", tag = "admin",
    responses((status = 200, description = "How many posts were put back", body = Redriven)))]
pub async fn redrive(State(state): State<AppState>) -> Result<ApiJson<Redriven>, ApiError> {
    let redriven = state
        .store
        .deliveries()
        .redrive(ENGAGEMENT_INDEX, Utc::now())
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(redriven, "dead engagement-index posts redriven");
    state.outbox.notify_one();
    Ok(ApiJson(Redriven { redriven }))
}
