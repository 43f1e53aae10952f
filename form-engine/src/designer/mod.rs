//! The form designer's web pages at `/designer/` (docs/designer.md): server-rendered HTML in
//! Swedish with English, plain forms that work without script (a small local script adds
//! autosave), for staff of a care unit. Handlers call the domain's designer service
//! ([`crate::domain::designer`]), never the store.
//!
//! | Page | What |
//! |---|---|
//! | `GET /designer/` | to the first care unit's templates, or to the sign-in |
//! | `GET/POST /designer/sign-in` | choose a configured test staff member (the stand-in for SITHS) |
//! | `POST /designer/sign-out` | end the session |
//! | `GET /designer/units/{unit}/templates` | the list (`?q=` search, `?status=` filter) |
//! | `POST /designer/units/{unit}/templates` | create a template (`templateId`, `formName`) |
//! | `GET/POST /designer/units/{unit}/templates/{id}/versions/{v}` | the editor; a POST saves the fields and makes the edit its `action` names |
//! | `POST …/versions/{v}/lifecycle` | `action` = `submit`, `return`, `publish`, `archive`, `new-version`, `delete` |
//!
//! Every POST carries the session's `csrf_token` (the sign-in a double-submit token) and is
//! checked by [`post::CheckedPost`]; every response gets the security headers of [`headers`].
//!
//! # Page structure (stable ids and names, for tests)
//!
//! - Sign-in: form `#sign-in-form`, radio `name="staff"` with `value` = the staff HSA-id
//!   (id `staff-{hsaId}`), button `#sign-in`. Sign-out button `#sign-out`.
//! - List: table `#templates`, a row `#template-{id}-{version}` with a link to the editor;
//!   search form `#search-form` (`q`, `status`, button `#search`); create form `#create-form`
//!   (`templateId`, `formName`, button `#create`).
//! - Editor: form `#editor`. Findings: `#findings-summary`, `#findings-count`, each finding
//!   `li.finding.error|.warning` with `data-code` = the finding code (e.g.
//!   `SuperiorNotEarlier`), shown in the summary and inside the element it names. Elements:
//!   `#form-properties`, `#page-{n}`, `#page-{n}-block-{m}`, `#question-{questionNumber}`,
//!   `#page-{n}-routing`, `#page-{n}-route-{r}` (numbers from 1).
//! - Field names by position from 0 (ids are the same with `.` → `-`): the form's
//!   `formName`, `formTitle`, `description`, `descriptionInternal`, `category`,
//!   `formCompleteText`, `language`, `term`, `informationURL`, `reminderDaysBefore`,
//!   `mandatory`, `anonymousForm`, `propagate`, `countycodes`,
//!   `code.codeValue|codeSystem|displayName`; a page's `p{p}.subject|description|informationURL`; a
//!   block's `p{p}.b{b}.subject|…`; a question's `p{p}.b{b}.q{q}.subject|input|questionId|
//!   mandatory|description|informationURL|questionAlign|answerMin|answerMax|answerStep|
//!   inputUnit|answerMinLabel|answerMaxLabel|answerPlaceholder|answerMaxLength|answerPattern|
//!   minNumberOfChoices|maxNumberOfChoices|event.{validationEvent}|code.codeValue|…`; its condition
//!   `p{p}.b{b}.q{q}.superior` (a select of question numbers) and
//!   `p{p}.b{b}.q{q}.superiorAlternatives` (checkboxes, value = alternative number); an
//!   alternative's `p{p}.b{b}.q{q}.a{a}.value|help|score`; a route's `p{p}.r{r}.page` (a
//!   select of page numbers) and a rule's `p{p}.r{r}.u{u}.question|operator|value|alternatives`.
//!   The type of a question to add: `p{p}.b{b}.newInput`.
//! - Editor buttons are `button[name=action]` with `value` = `save`, `add-page`,
//!   `add-block:{p}`, `add-question:{p}:{b}`, `add-alternative:{p}:{b}:{q}`, `add-route:{p}`,
//!   `add-rule:{p}:{r}`, `move-{page|block|question|alternative|route}-{up|down}:…`,
//!   `duplicate-{page|block|question}:…`, `delete-{page|block|question|alternative|route|rule}:…`.
//!   `#save` and `#add-page` have ids.
//! - After a save the page shows `#notice`; the autosave status is `#autosave-status`; the
//!   hidden `revision` names the draft's last save (a save from an older one answers 409).
//! - Lifecycle: form `#lifecycle-form`, buttons `#lifecycle-submit`, `#lifecycle-return`,
//!   `#lifecycle-publish`, `#lifecycle-archive`, `#lifecycle-new-version`, `#lifecycle-delete`
//!   (only those the status and role allow); `#version-status` holds the status.
//! - Tools (preview, compare, import/export): `nav#tools`, filled by [`tools`].

mod assets;
mod compare;
mod context;
mod cookies;
mod editor;
mod fields;
mod finding_texts;
mod headers;
mod html;
mod lifecycle;
mod list;
mod post;
mod preview;
mod respond;
mod session;
mod sign_in;
pub mod tools;
mod transfer;

use std::sync::Arc;

use axum::response::Redirect;
use axum::routing::{get, post};
use axum::{Router, middleware};
use chrono::{DateTime, Utc};

use crate::api::AppState;
use crate::domain::designer::service::DesignerService;
use crate::domain::designer::staff::StaffMember;
use crate::domain::template::PublishStatus;
use context::Lang;
use session::Sessions;

/// What the designer's handlers reach.
#[derive(Clone)]
pub struct DesignerState {
    service: Arc<DesignerService>,
    sessions: Sessions,
    staff: Arc<[StaffMember]>,
    /// Whether the sign-in stand-in is offered (open auth mode, or switched on).
    stand_in: bool,
    secure_cookies: bool,
}

/// The designer's pages, or none when `[designer] enabled = false`.
pub fn router(state: &AppState, over_tls: bool) -> Router {
    let config = &state.config.designer;
    if !config.enabled {
        return Router::new();
    }
    let designer = DesignerState {
        service: Arc::new(DesignerService::new(
            Arc::clone(&state.templates),
            Arc::clone(&state.store),
            state.audit.clone(),
        )),
        sessions: Sessions::new(std::time::Duration::from_secs(
            u64::from(config.session_idle_minutes.max(1)) * 60,
        )),
        staff: config.members().into(),
        stand_in: config.stand_in_allowed(state.config.auth.mode),
        secure_cookies: config.secure_cookies || over_tls,
    };
    let version = "/designer/units/{unit}/templates/{template_id}/versions/{version}";
    Router::new()
        .route(
            "/designer",
            get(|| async { Redirect::permanent("/designer/") }),
        )
        .route("/designer/", get(list::home))
        .route(
            "/designer/sign-in",
            get(sign_in::show).post(sign_in::submit),
        )
        .route("/designer/sign-out", post(sign_in::sign_out))
        .route(
            "/designer/units/{unit}/templates",
            get(list::show).post(list::create),
        )
        .route(version, get(editor::show).post(editor::save))
        .route(&format!("{version}/lifecycle"), post(lifecycle::act))
        .route(
            &format!("{version}/preview"),
            get(preview::show).post(preview::act),
        )
        .route(&format!("{version}/compare"), get(compare::show))
        .route(&format!("{version}/export"), get(transfer::export))
        .route(
            "/designer/units/{unit}/import",
            get(transfer::show).post(transfer::import),
        )
        .route(preview::STYLESHEET_PATH, get(preview::stylesheet))
        .route(assets::STYLESHEET_PATH, get(assets::stylesheet))
        .route(assets::SCRIPT_PATH, get(assets::script))
        .layer(middleware::from_fn_with_state(
            designer.clone(),
            context::remember_language,
        ))
        .layer(middleware::from_fn_with_state(
            headers::page_headers(over_tls),
            common::server::pages::security_headers,
        ))
        .with_state(designer)
}

/// A publish status in the page's language.
fn status_name(lang: Lang, status: PublishStatus) -> &'static str {
    match status {
        PublishStatus::Unpublished => lang.pick("Utkast", "Draft"),
        PublishStatus::Pending => lang.pick("Granskas", "In review"),
        PublishStatus::Published => lang.pick("Publicerad", "Published"),
        PublishStatus::Archived => lang.pick("Arkiverad", "Archived"),
    }
}

/// A time as staff in Sweden read it.
fn swedish_time(at: DateTime<Utc>) -> String {
    common::riv_time::utc_to_stockholm(at)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}
