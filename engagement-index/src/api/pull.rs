//! The pull point: a subscriber behind a firewall fetches its notifications and acknowledges
//! them by asking again after the last offset it has processed. Acknowledged notifications are
//! kept for the retention age, so the subscriber may fetch its last acknowledged batch again
//! (NAS2's re-fetch of the previous batch).

use axum::extract::State;
use common::audit::{AuditLog, AuditOutcome};
use common::auth::Caller;
use common::permissions::Permissions;
use common::problem::{ApiJson, ApiPath, Problem, UncheckedJson};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::AppState;
use super::access::{of_payloads, patient_events, require_subscriber_or_admin};
use super::queues::queue_problem;
use super::subscribers::ensure_exists;
use crate::domain::subscriber::DeliveryMode;

/// Most notifications one fetch returns.
const MAX_ITEMS: i64 = 1000;

/// The highest offset a request may name: JSON numbers beyond 2^53 are not exact everywhere.
const MAX_OFFSET: i64 = 9_007_199_254_740_991;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"afterOffset": 0, "maxItems": 100}))]
pub struct PullRequest {
    /// The last offset processed: everything up to it is acknowledged and will not be
    /// returned again. 0 (the default) the first time. With `refetch`, only the notifications
    /// of the last acknowledged batch after this offset are returned (paging through it), and
    /// nothing is acknowledged.
    #[serde(default, deserialize_with = "common::problem::integral")]
    #[schema(minimum = 0, maximum = 9_007_199_254_740_991_f64)]
    pub after_offset: Option<i64>,
    /// At most this many notifications (default 100; 1 to 1000).
    #[serde(default, deserialize_with = "common::problem::integral")]
    #[schema(minimum = 1, maximum = 1000)]
    pub max_items: Option<i64>,
    /// `true`: answer the last acknowledged batch again instead (the notifications after the
    /// offset acknowledged before the last acknowledgement, up to the last acknowledged offset),
    /// as far as they are still kept (the retention age); acknowledges nothing. Default false.
    #[serde(default)]
    pub refetch: Option<bool>,
}

impl PullRequest {
    fn after_offset(&self) -> i64 {
        self.after_offset.unwrap_or(0)
    }

    /// The bounds the document states.
    fn check(&self) -> Result<(), Problem> {
        let invalid = |detail: String| {
            Problem::bad_request(
                "INVALID_REQUEST",
                format!("The body does not match the contract: {detail}"),
            )
        };
        if !(0..=MAX_OFFSET).contains(&self.after_offset()) {
            return Err(invalid(format!(
                "afterOffset must be 0 to {MAX_OFFSET}, not {}",
                self.after_offset()
            )));
        }
        if let Some(max_items) = self.max_items
            && !(1..=MAX_ITEMS).contains(&max_items)
        {
            return Err(invalid(format!(
                "maxItems must be 1 to {MAX_ITEMS}, not {max_items}"
            )));
        }
        Ok(())
    }
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
    /// The highest offset acknowledged so far (0 before the first acknowledgement). Offsets
    /// only grow, also across the cleanup of old notifications.
    pub acknowledged_offset: i64,
}

/// Fetches a pull subscriber's notifications after an offset, acknowledging those up to it.
///
/// Acknowledged notifications are kept for the retention age (`retention.max_age_secs`, 7 days
/// by default) and then deleted; offsets are never reused, so asking after an offset whose
/// notification is gone returns the next ones. `refetch: true` answers the last acknowledged
/// batch again while it is kept, acknowledging nothing. Only the subscriber itself (the caller's HSA-id is the logical address) or an admin may
/// (else 403 `FORBIDDEN_SUBSCRIBER`). Every patient of the fetched notifications is audited.
/// Unknown members of the body are ignored.
#[utoipa::path(post, path = "/engagementindex/v1/subscribers/{logicalAddress}/notifications", tag = "subscribers", operation_id = "PullNotifications",
    params(("logicalAddress" = String, Path, description = "The pull subscriber's logical address")),
    request_body = PullRequest,
    responses(
        (status = 200, description = "Notifications after the offset, in order", body = PullResponse),
        (status = 400, description = "INVALID_REQUEST: afterOffset or maxItems out of range, a body \
            or path that cannot be read; MALFORMED_JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The caller is not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_SUBSCRIBER: neither the subscriber itself nor an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscriber", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The subscriber gets its notifications pushed", body = Problem, content_type = "application/problem+json")))]
pub async fn pull_notifications(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    State(audit): State<AuditLog>,
    caller: Caller,
    ApiPath(logical_address): ApiPath<String>,
    UncheckedJson(request): UncheckedJson<PullRequest>,
) -> Result<ApiJson<PullResponse>, Problem> {
    request.check()?;
    let role = require_subscriber_or_admin(&permissions, &caller, &logical_address).await?;
    let subscriber = ensure_exists(&state, &logical_address).await?;
    if subscriber.delivery != DeliveryMode::Pull {
        return Err(Problem::conflict(
            "NOT_A_PULL_SUBSCRIBER",
            format!(
                "{logical_address} gets its notifications pushed to its url; it has no pull point."
            ),
        ));
    }
    let max_items = request.max_items.unwrap_or(100);
    let failed = |error: common::delivery::DeliveryError| queue_problem(&error, "pull");
    let deliveries = if request.refetch.unwrap_or(false) {
        state
            .deliveries
            .refetch(&logical_address, request.after_offset(), max_items)
            .await
    } else {
        state
            .deliveries
            .pull(
                &logical_address,
                request.after_offset(),
                max_items,
                chrono::Utc::now(),
            )
            .await
    }
    .map_err(failed)?;
    let acknowledged_offset = state
        .deliveries
        .pull_point(&logical_address)
        .await
        .map_err(failed)?
        .acknowledged_offset;
    let last_offset = deliveries.last().map_or(request.after_offset(), |d| d.id);
    // Recorded before the answer leaves: no patient data is handed out unrecorded.
    let touched = of_payloads(deliveries.iter().map(|d| &*d.payload));
    // One row per patient; the resource is the subscriber whose queue was read.
    let events = patient_events(
        &caller,
        "PullNotifications",
        role,
        AuditOutcome::Success,
        touched
            .iter()
            .map(|(patient, _)| (patient, logical_address.as_str())),
    );
    audit.record_all(&events).await?;
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
        acknowledged_offset,
    }))
}
