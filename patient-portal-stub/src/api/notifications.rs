//! The simulated SMS/e-mail log, for operators and tests.

use axum::extract::State;
use common::auth::Caller;
use common::permissions::Permissions;
use common::problem::{ApiJson, ApiQuery, Problem};
use common::riv_time;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::contract::invalid;
use super::error::ApiError;
use crate::domain::citizen::CitizenId;
use crate::domain::notification::{Channel, Notification};

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct NotificationFilter {
    /// Only this citizen's notifications.
    citizen_id: Option<Uuid>,
    /// How many, newest first: default 100, at least 1, at most 1000.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum NotificationChannel {
    Sms,
    Email,
}

/// One simulated SMS or e-mail. It carries the fixed notice, never the message's content.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "notificationId": "6a1f0c2e-8b3d-4e5f-9a7b-0c1d2e3f4a5b",
    "citizenId": "5f0c7a8e-2a4b-4c1d-9e3f-1a2b3c4d5e6f",
    "messageId": "0b6f1d5e-3c1a-4e8e-9d0a-6a0c2b1f4e77",
    "channel": "SMS",
    "recipient": "+46701740605",
    "text": "Du har ett nytt meddelande i din inkorg.",
    "sentAt": "20261122T081500"
}))]
pub struct NotificationResource {
    notification_id: Uuid,
    citizen_id: Uuid,
    /// The inbox message it announced.
    message_id: Uuid,
    channel: NotificationChannel,
    /// The phone number or e-mail address it went to.
    recipient: String,
    text: String,
    /// `YYYYMMDDThhmmss`, Swedish local time.
    sent_at: String,
}

impl From<Notification> for NotificationResource {
    fn from(notification: Notification) -> Self {
        Self {
            notification_id: notification.id,
            citizen_id: notification.citizen_id.as_uuid(),
            message_id: notification.message_id.as_uuid(),
            channel: match notification.channel {
                Channel::Sms => NotificationChannel::Sms,
                Channel::Email => NotificationChannel::Email,
            },
            recipient: notification.recipient,
            text: notification.text,
            sent_at: riv_time::format_form_timestamp(notification.sent_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NotificationList {
    /// Newest first.
    notifications: Vec<NotificationResource>,
}

/// The simulated SMS and e-mail sent when messages arrived, newest first.
#[utoipa::path(get, path = "/admin/notifications", tag = "admin", params(NotificationFilter),
    responses(
        (status = 200, description = "The log, newest first", body = NotificationList),
        (status = 400, description = "INVALID_REQUEST: `citizenId` is not a UUID, `limit` not an integer from 1 to 1000, \
            or a value carries a control character", body = Problem,
            content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn list_notifications(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    caller: Caller,
    ApiQuery(filter): ApiQuery<NotificationFilter>,
) -> Result<ApiJson<NotificationList>, ApiError> {
    permissions.require_admin(&caller).await?;
    let citizen = filter.citizen_id.map(CitizenId::from);
    let limit = filter.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(invalid("limit", format!("between 1 and {MAX_LIMIT}")).into());
    }
    let notifications = state.portal.notifications(citizen, limit).await?;
    Ok(ApiJson(NotificationList {
        notifications: notifications
            .into_iter()
            .map(NotificationResource::from)
            .collect(),
    }))
}
