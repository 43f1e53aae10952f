//! `/admin/audit`: the audit log by patient (identity number in a POST body, never in a URL)
//! and by caller, with a time range and paging, for callers holding `admin`. A query by
//! patient is itself recorded.

use axum::extract::{FromRef, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AuditEvent, AuditLog, AuditOutcome, AuditQuery, AuditRecord, AuditSubject, MAX_PAGE};
use crate::auth::Caller;
use crate::identity::{HsaId, PersonalIdentityNumber};
use crate::permissions::{Permissions, Role};
use crate::problem::{ApiJson, ApiPath, ApiQuery, Problem};

const DEFAULT_PAGE: i64 = 100;

/// The admin routes of the audit log, for a service whose state holds its [`AuditLog`] and
/// [`Permissions`] (`FromRef`). Wrap them with [`crate::auth::Authenticator::protect`].
pub fn admin_routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    AuditLog: FromRef<S>,
    Permissions: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(audit_by_patient))
        .routes(routes!(audit_by_caller))
}

/// `POST /admin/audit/by-patient`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"patient": "191212121212", "from": "2026-01-01T00:00:00Z", "limit": 100}))]
pub struct ByPatientQuery {
    /// The patient's personal identity number.
    #[schema(value_type = String, pattern = "^[0-9]{8}[0-9A-Zptf]{4}$")]
    pub patient: PersonalIdentityNumber,
    /// Events at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Events before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// The previous page's `nextAfter`.
    #[serde(default, deserialize_with = "crate::problem::integral")]
    pub after: Option<i64>,
    /// At most this many events (default 100).
    #[schema(minimum = 1, maximum = 1000)]
    #[serde(default, deserialize_with = "crate::problem::integral")]
    pub limit: Option<i64>,
}

/// Query parameters of `GET /admin/audit/by-caller/{hsaId}`.
// `parameter_in` said outright: utoipa infers it only from axum's own `Query`, and without it
// the document would call these required path parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ByCallerParams {
    /// Events at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Events before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// The previous page's `nextAfter`.
    pub after: Option<i64>,
    /// At most this many events (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// A page of events, oldest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub events: Vec<AuditRecord>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<i64>,
}

async fn page(
    audit: &AuditLog,
    subject: AuditSubject,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    after: Option<i64>,
    limit: Option<i64>,
) -> Result<AuditPage, Problem> {
    let limit = match limit {
        None => DEFAULT_PAGE,
        Some(limit) if (1..=MAX_PAGE).contains(&limit) => limit,
        Some(_) => {
            return Err(Problem::bad_request(
                "INVALID_REQUEST",
                format!("limit: between 1 and {MAX_PAGE}"),
            ));
        }
    };
    // One more than asked tells whether another page follows.
    let mut events = audit
        .query(&AuditQuery {
            subject,
            from,
            to,
            after,
            limit: limit + 1,
        })
        .await
        .map_err(|error| {
            tracing::error!(%error, "the audit query failed");
            Problem::fault(&error)
        })?;
    let more = events.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    events.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_after = if more {
        events.last().map(|e| e.id)
    } else {
        None
    };
    Ok(AuditPage { events, next_after })
}

/// Every recorded access to one patient's data.
#[utoipa::path(post, path = "/admin/audit/by-patient", tag = "security",
    request_body = ByPatientQuery,
    responses(
        (status = 200, description = "The patient's events, oldest first", body = AuditPage),
        (status = 400, description = "INVALID_REQUEST: an invalid or unknown member (this body refuses \
            members it does not know, so a typing error never widens the query)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn audit_by_patient(
    State(audit): State<AuditLog>,
    State(permissions): State<Permissions>,
    caller: Caller,
    ApiJson(query): ApiJson<ByPatientQuery>,
) -> Result<ApiJson<AuditPage>, Problem> {
    if let Err(refused) = permissions.require_admin(&caller).await {
        audit
            .record(
                AuditEvent::new(&caller, "AuditQueryByPatient", AuditOutcome::Refused)
                    .role(Role::Admin)
                    .patient(&query.patient),
            )
            .await?;
        return Err(refused.into());
    }
    let result = page(
        &audit,
        AuditSubject::Patient(query.patient.clone()),
        query.from,
        query.to,
        query.after,
        query.limit,
    )
    .await?;
    audit
        .record(
            AuditEvent::new(&caller, "AuditQueryByPatient", AuditOutcome::Success)
                .role(Role::Admin)
                .patient(&query.patient),
        )
        .await?;
    Ok(ApiJson(result))
}

/// Every recorded access made by one caller (the effective caller; `anonymous` for open-mode
/// calls without an HSA-id).
#[utoipa::path(get, path = "/admin/audit/by-caller/{hsaId}", tag = "security",
    params(("hsaId" = String, Path, pattern = "^[!-~]{1,64}$",
        description = "The caller's HSA-id, or `anonymous`"), ByCallerParams),
    responses(
        (status = 200, description = "The caller's events, oldest first", body = AuditPage),
        (status = 400, description = "INVALID_REQUEST: an invalid HSA-id, time or limit", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn audit_by_caller(
    State(audit): State<AuditLog>,
    State(permissions): State<Permissions>,
    caller: Caller,
    ApiPath(hsa_id): ApiPath<String>,
    params: Result<ApiQuery<ByCallerParams>, Problem>,
) -> Result<ApiJson<AuditPage>, Problem> {
    permissions.require_admin(&caller).await?;
    let ApiQuery(params) = params?;
    if hsa_id != "anonymous" {
        HsaId::parse(&hsa_id)
            .map_err(|e| Problem::bad_request("INVALID_REQUEST", format!("hsaId: {e}")))?;
    }
    let result = page(
        &audit,
        AuditSubject::Caller(hsa_id),
        params.from,
        params.to,
        params.after,
        params.limit,
    )
    .await?;
    Ok(ApiJson(result))
}
