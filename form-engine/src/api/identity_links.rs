//! Identity links (issue 15), for operators: every form of a number moves to another number of
//! the same person (a reserve or coordination number that became a personnummer), so the
//! citizen signing in with the new number finds them. Role `admin` (else 403
//! `FORBIDDEN_ADMIN`).

use axum::extract::State;
use common::audit::{AuditEvent, AuditOutcome};
use common::auth::Caller;
use common::identity_link::{
    IdentityLink, IdentityLinkAnswer, IdentityLinkRequest, IdentityLinkSearch,
    IdentityLinkSearchAnswer, LinkedBy,
};
use common::permissions::Role;
use common::problem::{ApiJson, Problem};

use super::AppState;
use super::error::ApiError;
use crate::domain::identity::{AUDIT_LINK, IdentityLinks, LinkError};

fn links(state: &AppState) -> IdentityLinks {
    IdentityLinks::new(state.store.identity_links())
}

/// Links two numbers of one person: every form of `from` moves to `to`.
///
/// `from` and `to` are personal identity numbers (personnummer, samordningsnummer or reserve
/// number, 12 characters, as subjectOfCare); `reason` is kept in the link's history. In one
/// transaction: the link is recorded (who, when, why), every form of `from` becomes a form of
/// `to` (whatever its status; its revision counts the change), and every moved form is
/// audited under both numbers (action `IdentityLinkMove`, resource the formId).
///
/// Linking again changes nothing (`created: false`; a form filed under `from` since is
/// moved). A chain resolves: when `to` was linked to a third number before, the forms go
/// there (`linkedTo`). A link that would make a cycle answers 409 `IDENTITY_LINK_CYCLE`; a
/// number already linked elsewhere 409 `IDENTITY_ALREADY_LINKED`. Afterwards GetForms for
/// `from` answers no forms, with `identityLinked: true` and the header
/// `Nordform-Identity-Linked: true`. The engine's posts in the engagement index move with the
/// index's own link (`POST /admin/identity-links` there).
#[utoipa::path(
    post,
    path = "/admin/identity-links",
    tag = "admin",
    operation_id = "LinkIdentities",
    request_body = IdentityLinkRequest,
    responses(
        (status = 200, description = "Linked (or linked already); how many forms moved", body = IdentityLinkAnswer),
        (status = 400, description = "INVALID_REQUEST naming the field: from or to not a personal \
            identity number, reason missing or too long; MALFORMED_JSON",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "IDENTITY_LINK_CYCLE or IDENTITY_ALREADY_LINKED; nothing changed",
            body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn link_identities(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<IdentityLinkRequest>,
) -> Result<ApiJson<IdentityLinkAnswer>, ApiError> {
    state.permissions.require_admin(&caller).await?;
    let link = request.validate()?;
    let base = AuditEvent::new(&caller, AUDIT_LINK, AuditOutcome::Success).role(Role::Admin);
    let by = LinkedBy {
        caller: caller.name().to_owned(),
        correlation_id: base.correlation_id.clone(),
    };
    match links(&state).link(&link, &by, &base).await {
        Ok(outcome) => {
            tracing::info!(
                from = %link.from,
                created = outcome.plan.is_new(),
                moved = outcome.moved,
                "identity link"
            );
            Ok(ApiJson(IdentityLinkAnswer {
                linked_to: outcome.plan.target().clone(),
                created: outcome.plan.is_new(),
                moved: u64::try_from(outcome.moved).unwrap_or(u64::MAX),
                from: link.from,
                to: link.to,
            }))
        }
        Err(LinkError::Refused(refusal)) => {
            state
                .audit
                .record_all(&refused_events(&base, &link))
                .await?;
            Err(Problem::from(refusal).into())
        }
        Err(LinkError::Store(error)) => Err(ApiError::internal(error)),
    }
}

/// A refused link is audited under both numbers too.
fn refused_events(base: &AuditEvent, link: &IdentityLink) -> Vec<AuditEvent> {
    [&link.from, &link.to]
        .into_iter()
        .map(|number| {
            base.clone()
                .outcome(AuditOutcome::Failed)
                .patient(number)
                .resource("identity-link")
        })
        .collect()
}

/// The links a number takes part in (who linked it, when, why) and where its forms are.
/// POST because the body carries a personal identity number. Role `admin`; audited.
#[utoipa::path(
    post,
    path = "/admin/identity-links/search",
    tag = "admin",
    operation_id = "SearchIdentityLinks",
    request_body = IdentityLinkSearch,
    responses(
        (status = 200, description = "The links, oldest first", body = IdentityLinkSearchAnswer),
        (status = 400, description = "INVALID_REQUEST: number missing or not a personal identity number",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn search_identity_links(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<IdentityLinkSearch>,
) -> Result<ApiJson<IdentityLinkSearchAnswer>, ApiError> {
    state.permissions.require_admin(&caller).await?;
    let number = request.validate()?;
    let answer = links(&state)
        .search(&number)
        .await
        .map_err(ApiError::internal)?;
    let event = AuditEvent::new(&caller, "SearchIdentityLinks", AuditOutcome::Success)
        .role(Role::Admin)
        .patient(&number)
        .resource("identity-link");
    state.audit.record(event).await?;
    Ok(ApiJson(answer))
}

/// Whether GetForms for `subject` should say the number was linked: only an empty answer
/// can be about a linked number (its forms moved).
pub(super) async fn linked(
    state: &AppState,
    subject: Option<&common::identity::PersonalIdentityNumber>,
    empty: bool,
) -> Result<bool, ApiError> {
    match subject {
        Some(subject) if empty => links(state)
            .is_linked(subject)
            .await
            .map_err(ApiError::internal),
        _ => Ok(false),
    }
}

/// `response`, with the header `Nordform-Identity-Linked: true` when `linked`.
pub(super) fn linked_header(
    linked: bool,
    response: impl axum::response::IntoResponse,
) -> axum::response::Response {
    let mut response = response.into_response();
    if linked {
        response.headers_mut().insert(
            common::identity_link::LINKED_HEADER,
            http::HeaderValue::from_static("true"),
        );
    }
    response
}
