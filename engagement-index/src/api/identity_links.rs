//! Identity links (issue 15): a reserve or coordination number that became a personnummer, or
//! two numbers of one person. Every engagement of `from` moves to `to` in one transaction,
//! with the notifications to subscribers (the delete of each old key, the post under the new
//! number) and the audit rows (each moved post under both numbers).
//!
//! Two doors to the same operation: `POST /admin/identity-links` for operators (role
//! `admin`), and `POST /engagementindex/v1/LinkRegisteredResidentIdentity` for the source of
//! truth of identities (a population register), which needs the role `source_system` for the
//! scope [`IDENTITY_LINK_SCOPE`].

use axum::extract::State;
use common::audit::{AuditEvent, AuditLog, AuditOutcome};
use common::auth::Caller;
use common::identity_link::{
    IdentityLink, IdentityLinkAnswer, IdentityLinkRequest, IdentityLinkSearch,
    IdentityLinkSearchAnswer, LinkedBy,
};
use common::permissions::{Permissions, Role};
use common::problem::{ApiJson, Problem};

use super::AppState;
use super::access::{refused, require_admin};
use super::error::ApiError;
use super::recording::outbox_context;
use super::wire::ResultResponse;
use crate::domain::identity::{IdentityLinks, LinkError, LinkOutcome};

/// The scope a source of truth of identities needs the role `source_system` for.
pub const IDENTITY_LINK_SCOPE: &str = "identity-links";

fn links(state: &AppState) -> IdentityLinks {
    IdentityLinks::new(
        state.store.identity_links(),
        std::sync::Arc::clone(&state.changes_waker),
    )
}

/// The request's audit rows before it is done: refused attempts are audited too.
fn request_events(caller: &Caller, role: Role, link: &IdentityLink) -> Vec<AuditEvent> {
    [&link.from, &link.to]
        .into_iter()
        .map(|number| {
            AuditEvent::new(
                caller,
                crate::domain::identity::AUDIT_LINK,
                AuditOutcome::Success,
            )
            .role(role)
            .patient(number)
            .resource("identity-link")
        })
        .collect()
}

async fn link(
    state: &AppState,
    audit: &AuditLog,
    caller: &Caller,
    role: Role,
    link: &IdentityLink,
) -> Result<LinkOutcome, ApiError> {
    let base = AuditEvent::new(
        caller,
        crate::domain::identity::AUDIT_LINK,
        AuditOutcome::Success,
    )
    .role(role);
    let by = LinkedBy {
        caller: caller.name().to_owned(),
        correlation_id: base.correlation_id.clone(),
    };
    match links(state)
        .link(link, &by, &base, &outbox_context(Vec::new()))
        .await
    {
        Ok(outcome) => {
            tracing::info!(
                from = %link.from,
                created = outcome.plan.is_new(),
                moved = outcome.moved,
                notified = outcome.notified,
                "identity link"
            );
            Ok(outcome)
        }
        Err(LinkError::Refused(refusal)) => {
            let events = request_events(caller, role, link);
            Err(refused(audit, events, Problem::from(refusal)).await.into())
        }
        Err(LinkError::Store(error)) => Err(error.into()),
    }
}

/// Links two numbers of one person: every engagement of `from` moves to `to`.
///
/// `from` and `to` are personal identity numbers (personnummer, samordningsnummer or reserve
/// number, 12 characters); `reason` is kept in the link's history. In one transaction: the
/// link is recorded (who, when, why), each engagement of `from` is deleted and posted under
/// `to` keeping its creationTime (a post `to` already has merges by the newer-wins rule), the
/// delete of each old key and each new post go to the subscribers through the outbox, and
/// every moved post is audited under both numbers.
///
/// Linking again changes nothing (`created: false`; anything filed under `from` since is
/// moved). A chain resolves: when `to` was linked to a third number before, the posts go
/// there (`linkedTo`). A link that would make a cycle answers 409 `IDENTITY_LINK_CYCLE`; a
/// number already linked elsewhere 409 `IDENTITY_ALREADY_LINKED`. Afterwards FindContent for
/// `from` answers no posts, with `identityLinked: true` and the header
/// `Nordform-Identity-Linked: true`. Role `admin`.
#[utoipa::path(
    post,
    path = "/admin/identity-links",
    tag = "identity",
    operation_id = "LinkIdentities",
    request_body = IdentityLinkRequest,
    responses(
        (status = 200, description = "Linked (or linked already); what was moved", body = IdentityLinkAnswer),
        (status = 400, description = "INVALID_REQUEST naming the field: from or to not a personal \
            identity number, reason missing or too long; MALFORMED_JSON",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "IDENTITY_LINK_CYCLE or IDENTITY_ALREADY_LINKED; nothing changed",
            body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "RATE_LIMITED: too many requests from this caller",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "CONTENTION: concurrent requests kept changing the same posts; nothing changed, retry",
            body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn link_identities(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    State(audit): State<AuditLog>,
    caller: Caller,
    ApiJson(request): ApiJson<IdentityLinkRequest>,
) -> Result<ApiJson<IdentityLinkAnswer>, ApiError> {
    require_admin(&permissions, &caller).await?;
    let request = request.validate()?;
    let outcome = link(&state, &audit, &caller, Role::Admin, &request).await?;
    Ok(ApiJson(IdentityLinkAnswer {
        from: request.from,
        to: request.to,
        linked_to: outcome.plan.target().clone(),
        created: outcome.plan.is_new(),
        moved: u64::try_from(outcome.moved).unwrap_or(u64::MAX),
    }))
}

/// The links a number takes part in (who linked it, when, why) and where its records are.
/// POST because the body carries a personal identity number. Role `admin`; audited.
#[utoipa::path(
    post,
    path = "/admin/identity-links/search",
    tag = "identity",
    operation_id = "SearchIdentityLinks",
    request_body = IdentityLinkSearch,
    responses(
        (status = 200, description = "The links, oldest first", body = IdentityLinkSearchAnswer),
        (status = 400, description = "INVALID_REQUEST: number missing or not a personal identity number",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "RATE_LIMITED: too many requests from this caller",
            body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn search_identity_links(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    State(audit): State<AuditLog>,
    caller: Caller,
    ApiJson(request): ApiJson<IdentityLinkSearch>,
) -> Result<ApiJson<IdentityLinkSearchAnswer>, ApiError> {
    require_admin(&permissions, &caller).await?;
    let number = request.validate()?;
    let answer = links(&state).search(&number).await?;
    let event = AuditEvent::new(&caller, "SearchIdentityLinks", AuditOutcome::Success)
        .role(Role::Admin)
        .patient(&number)
        .resource("identity-link");
    audit.record(event).await?;
    Ok(ApiJson(answer))
}

/// The source of truth of identities links two numbers of one person (as
/// `POST /admin/identity-links`, answered as the index's other contracts are).
///
/// Same body, rules and effects as `POST /admin/identity-links`: every engagement of `from`
/// moves to `to` (or where `to` resolves), subscribers are notified of each old key's delete
/// and each new post, every move is audited under both numbers; linking again changes
/// nothing; a cycle answers 409 `IDENTITY_LINK_CYCLE`, a number linked elsewhere 409
/// `IDENTITY_ALREADY_LINKED`. The caller needs the role `source_system` for the scope
/// `identity-links` (else 403 `FORBIDDEN_SOURCE_SYSTEM`). `ResultCode: OK` means committed;
/// `comment` says what was done.
#[utoipa::path(
    post,
    path = "/engagementindex/v1/LinkRegisteredResidentIdentity",
    tag = "engagementindex",
    operation_id = "LinkRegisteredResidentIdentity",
    request_body = IdentityLinkRequest,
    responses(
        (status = 200, description = "Committed (or linked already)", body = ResultResponse),
        (status = 400, description = "INVALID_REQUEST naming the field: from or to not a personal \
            identity number, reason missing or too long; MALFORMED_JSON",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated (UNAUTHORIZED)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_SOURCE_SYSTEM: the caller may not link identities \
            (role source_system for the scope identity-links)",
            body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "IDENTITY_LINK_CYCLE or IDENTITY_ALREADY_LINKED; nothing changed",
            body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "RATE_LIMITED: too many requests from this caller",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "CONTENTION: concurrent requests kept changing the same posts; nothing changed, retry",
            body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn link_registered_resident_identity(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    State(audit): State<AuditLog>,
    caller: Caller,
    ApiJson(request): ApiJson<IdentityLinkRequest>,
) -> Result<ApiJson<ResultResponse>, ApiError> {
    let request = request.validate()?;
    if let Err(refusal) = permissions
        .require(&caller, Role::SourceSystem, IDENTITY_LINK_SCOPE)
        .await
    {
        let events = request_events(&caller, Role::SourceSystem, &request);
        return Err(refused(&audit, events, refusal).await.into());
    }
    let outcome = link(&state, &audit, &caller, Role::SourceSystem, &request).await?;
    let comment = if outcome.plan.is_new() {
        format!("Linked; {} engagements moved.", outcome.moved)
    } else {
        format!("Linked already; {} engagements moved.", outcome.moved)
    };
    Ok(ApiJson(ResultResponse {
        comment: Some(comment),
        ..ResultResponse::ok()
    }))
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
