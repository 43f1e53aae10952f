//! `POST /engagementindex/v1/ProcessNotification`: a federated index tells of its changes.

use axum::extract::State;
use common::problem::{ApiJson, Problem};

use super::AppState;
use super::error::ApiError;
use super::recording::{index_identity, record};
use crate::domain::{NotificationRules, validate_process_notification};
use crate::wire::{ProcessNotificationRequest, ResultResponse};

/// ProcessNotification: stores the changes of a federated index and forwards them.
///
/// owner, creationTime and updateTime are mandatory and stored as received. Transactions
/// owned by this index are dropped (loop guard); this index's own post with the same key is
/// replaced by the received one (owner change). What changes something here is forwarded to
/// this index's subscribers.
#[utoipa::path(
    post,
    path = "/engagementindex/v1/ProcessNotification",
    tag = "engagementindex",
    operation_id = "ProcessNotification",
    request_body = ProcessNotificationRequest,
    responses(
        (status = 200, description = "Committed (or nothing left after the loop guard)", body = ResultResponse),
        (status = 400, description = "Refused, nothing stored: EI000, EI002, EI004, EI005, EI006, \
            or MALFORMED_JSON / INVALID_REQUEST",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Concurrent requests kept changing the same posts; nothing stored, retry",
            body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn process_notification(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ProcessNotificationRequest>,
) -> Result<ApiJson<ResultResponse>, ApiError> {
    let transactions = request.engagement_transaction.unwrap_or_default();
    let reserved = state.config.reserved_hsa_ids();
    let valid =
        validate_process_notification(&index_identity(&state.config, &reserved), &transactions)?;
    let received = valid.len();
    let rules = NotificationRules::new(state.config.hsa_id.as_str(), valid);
    if rules.is_empty() {
        tracing::info!(
            received,
            "ProcessNotification held only this index's own posts (R4)"
        );
        return Ok(ApiJson(ResultResponse::ok()));
    }
    let kept = rules.len();
    let applied = record(&state, &rules).await?;
    tracing::info!(
        received,
        kept,
        changed = applied.changed_rows,
        notified = applied.notified,
        "ProcessNotification committed"
    );
    Ok(ApiJson(ResultResponse::ok()))
}
