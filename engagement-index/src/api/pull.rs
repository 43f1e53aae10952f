//! The pull point: a subscriber behind a firewall fetches its notifications and acknowledges
//! them by asking again after the last offset it has processed.

use axum::extract::{Path, State};
use common::problem::{ApiJson, Problem};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::AppState;
use super::subscribers::ensure_exists;
use crate::domain::subscriber::DeliveryMode;

/// Most notifications one fetch returns.
const MAX_ITEMS: i64 = 1000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"afterOffset": 0, "maxItems": 100}))]
pub struct PullRequest {
    /// The last offset processed: everything up to it is acknowledged and will not be
    /// returned again. 0 the first time.
    #[serde(default)]
    pub after_offset: i64,
    /// At most this many notifications (default 100, at most 1000).
    pub max_items: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PulledNotification {
    /// Increases with every notification of this subscriber (not necessarily by one).
    pub offset: i64,
    /// As in a ProcessNotification request: each engagement with owner, creationTime, updateTime.
    #[serde(rename = "engagementTransaction")]
    #[schema(value_type = Vec<Object>)]
    pub engagement_transaction: Value,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullResponse {
    pub notification: Vec<PulledNotification>,
    /// The offset of the last notification returned (`afterOffset` when none): ask again
    /// with it as `afterOffset` to acknowledge these and get the next ones.
    pub last_offset: i64,
}

/// Fetches a pull subscriber's notifications after an offset, acknowledging those up to it.
#[utoipa::path(post, path = "/engagementindex/v1/subscribers/{logicalAddress}/notifications", tag = "subscribers",
    params(("logicalAddress" = String, Path, description = "The pull subscriber's logical address")),
    request_body = PullRequest,
    responses(
        (status = 200, description = "Notifications after the offset, in order", body = PullResponse),
        (status = 404, description = "No such subscriber", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The subscriber gets its notifications pushed", body = Problem, content_type = "application/problem+json")))]
pub async fn pull_notifications(
    State(state): State<AppState>,
    Path(logical_address): Path<String>,
    ApiJson(request): ApiJson<PullRequest>,
) -> Result<ApiJson<PullResponse>, Problem> {
    let subscriber = ensure_exists(&state, &logical_address).await?;
    if subscriber.delivery != DeliveryMode::Pull {
        return Err(Problem::conflict(
            "NOT_A_PULL_SUBSCRIBER",
            format!(
                "{logical_address} gets its notifications pushed to its url; it has no pull point."
            ),
        ));
    }
    let max_items = request.max_items.unwrap_or(100).clamp(1, MAX_ITEMS);
    let deliveries = state
        .deliveries
        .pull(&logical_address, request.after_offset, max_items)
        .await
        .map_err(|error| {
            tracing::error!(%error, "pull failed");
            Problem::internal()
        })?;
    let last_offset = deliveries.last().map_or(request.after_offset, |d| d.id);
    let notification = deliveries
        .into_iter()
        .map(|d| PulledNotification {
            offset: d.id,
            engagement_transaction: d
                .payload
                .get("engagementTransaction")
                .cloned()
                .unwrap_or(Value::Array(Vec::new())),
        })
        .collect();
    Ok(ApiJson(PullResponse {
        notification,
        last_offset,
    }))
}
