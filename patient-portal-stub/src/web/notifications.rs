//! The signed-in citizen's simulated SMS and e-mail: what the real portal would have sent them.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use http::StatusCode;

use super::context::PageContext;
use super::inbox::Shown;
use super::layout::{Layout, Section};
use super::page;
use super::session::SignedIn;
use super::texts::Texts;
use crate::api::AppState;
use crate::domain::notification::{Channel, Notification};

/// The page shows the newest notifications only; the admin endpoint has them all.
const SHOWN: u32 = 200;

struct NotificationRow {
    sent: Shown,
    channel: &'static str,
    recipient: String,
    text: String,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    layout: Layout,
    t: &'static Texts,
    notifications: Vec<NotificationRow>,
}

fn row(notification: Notification, t: &Texts) -> NotificationRow {
    NotificationRow {
        sent: Shown::time(notification.sent_at),
        channel: match notification.channel {
            Channel::Sms => t.channel_sms,
            Channel::Email => t.channel_email,
        },
        recipient: notification.recipient,
        text: notification.text,
    }
}

/// `GET /notifications`.
pub async fn list(
    State(state): State<AppState>,
    context: PageContext,
    signed_in: SignedIn,
) -> Response {
    let notifications = match state
        .portal
        .notifications(Some(signed_in.citizen.id), SHOWN)
        .await
    {
        Ok(notifications) => notifications,
        Err(error) => return page::fault(&context, &error),
    };
    let t = context.texts();
    page::render(
        StatusCode::OK,
        &NotificationsPage {
            layout: Layout::new(
                &context,
                t.notifications_title,
                Some(&signed_in),
                Section::Notifications,
            ),
            t,
            notifications: notifications.into_iter().map(|n| row(n, t)).collect(),
        },
    )
}
