//! The inbox and a message. Opening a message marks it read.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use common::riv_time;
use http::StatusCode;

use super::context::PageContext;
use super::layout::{Layout, Section};
use super::page;
use super::session::{self, SignedIn};
use super::texts::Texts;
use crate::api::AppState;
use crate::domain::message::{InboxMessage, MessageId};

/// A time as the pages show it: Swedish local time, ISO style (the same in both languages),
/// with the instant for `<time datetime>`.
pub struct Shown {
    pub text: String,
    pub machine: String,
}

impl Shown {
    pub fn time(instant: DateTime<Utc>) -> Self {
        Self {
            text: riv_time::utc_to_stockholm(instant)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            machine: instant.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    }

    pub fn date(date: NaiveDate) -> Self {
        let text = date.format("%Y-%m-%d").to_string();
        Self {
            machine: text.clone(),
            text,
        }
    }
}

struct MessageRow {
    href: String,
    subject: String,
    care_unit_name: String,
    received: Shown,
    unread: bool,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    layout: Layout,
    t: &'static Texts,
    messages: Vec<MessageRow>,
    unread: usize,
    inactive: bool,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    layout: Layout,
    t: &'static Texts,
    subject: String,
    care_unit_name: String,
    received: Shown,
    shown_until: Option<Shown>,
    body: String,
    url: Option<String>,
}

fn row(message: InboxMessage) -> MessageRow {
    MessageRow {
        href: format!("/inbox/{}", message.id),
        unread: message.is_unread(),
        subject: message.subject,
        care_unit_name: message.care_unit_name,
        received: Shown::time(message.received_at),
    }
}

/// `GET /inbox`: the citizen's messages, newest first, unread ones marked.
pub async fn list(
    State(state): State<AppState>,
    context: PageContext,
    signed_in: SignedIn,
) -> Response {
    let messages = match state
        .portal
        .inbox(signed_in.citizen.id, riv_time::today_in_sweden())
        .await
    {
        Ok(messages) => messages,
        Err(error) => return page::fault(&context, &error),
    };
    let t = context.texts();
    let unread = messages.iter().filter(|m| m.is_unread()).count();
    page::render(
        StatusCode::OK,
        &InboxPage {
            layout: Layout::new(&context, t.inbox_title, Some(&signed_in), Section::Inbox),
            t,
            messages: messages.into_iter().map(row).collect(),
            unread,
            inactive: !signed_in.citizen.profile.active,
        },
    )
}

/// `GET /inbox/{messageId}`: one message, with its link; marks it read.
pub async fn show(
    State(state): State<AppState>,
    context: PageContext,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = MessageId::parse(&id) else {
        return page::not_found(&context, Some(&signed_in));
    };
    let opened = state
        .portal
        .open_message(
            signed_in.citizen.id,
            id,
            riv_time::today_in_sweden(),
            session::now(),
        )
        .await;
    let message = match opened {
        Ok(Some(message)) => message,
        Ok(None) => return page::not_found(&context, Some(&signed_in)),
        Err(error) => return page::fault(&context, &error),
    };
    let t = context.texts();
    page::render(
        StatusCode::OK,
        &MessagePage {
            layout: Layout::new(
                &context,
                message.subject.clone(),
                Some(&signed_in),
                Section::Inbox,
            ),
            t,
            subject: message.subject,
            care_unit_name: message.care_unit_name,
            received: Shown::time(message.received_at),
            shown_until: message.expire_date.map(Shown::date),
            body: message.body,
            url: message.url,
        },
    )
}
