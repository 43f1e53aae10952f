//! Subscriber registry and delivery administration (api.md §2.1), for operators: every route
//! needs the role `admin` (else 403 `FORBIDDEN_ADMIN`).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use common::audit::{AuditLog, AuditOutcome};
use common::auth::Caller;
use common::delivery::{Delivery, DeliveryState, DestinationStats};
use common::hygiene::{self, TextKind};
use common::permissions::{Permissions, Role};
use common::problem::{ApiJson, ApiPath, ApiQuery, Problem, UncheckedJson};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, PartialSchema as _, ToSchema};

use super::AppState;
use super::access::{of_payloads, patient_events, require_admin};
use super::queues::queue_problem;
use crate::domain::subscriber::{DeliveryMode, Subscriber, SubscriberFilter};

/// A subscriber as an operator declares it. Its published schema (which says when a url is
/// required) is written out in `wire`.
#[derive(Debug, Deserialize)]
pub struct SubscriberRequest {
    /// Where ProcessNotification is POSTed; required for push.
    pub url: Option<String>,
    /// `push` (default) or `pull`.
    pub delivery: Option<DeliveryMode>,
    /// Empty or absent: every change. Otherwise a change is sent when some filter's
    /// serviceDomain matches and its categorization list is empty or holds the change's.
    #[serde(default)]
    pub filter: Vec<SubscriberFilter>,
}

impl utoipa::PartialSchema for SubscriberRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        crate::api::wire::subscriber_request_schema()
    }
}

impl ToSchema for SubscriberRequest {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("SubscriberRequest")
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        schemas.push(("DeliveryMode".to_owned(), DeliveryMode::schema()));
        schemas.push(("SubscriberFilter".to_owned(), SubscriberFilter::schema()));
    }
}

impl SubscriberRequest {
    /// No string the registry keeps carries a control character (api.md §5). Unknown members
    /// are not read, so they are not checked: they are ignored as in the contracts.
    fn check_hygiene(&self) -> Result<(), hygiene::ControlCharacter> {
        hygiene::check_opt("url", self.url.as_deref(), TextKind::Identifier)?;
        for (i, filter) in self.filter.iter().enumerate() {
            hygiene::check(
                &format!("filter[{i}].serviceDomain"),
                &filter.service_domain,
                TextKind::Identifier,
            )?;
            for (j, category) in filter.categorization.iter().enumerate() {
                hygiene::check(
                    &format!("filter[{i}].categorization[{j}]"),
                    category,
                    TextKind::Identifier,
                )?;
            }
        }
        Ok(())
    }
}

/// A subscriber with its queue figures.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriberView {
    pub logical_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub delivery: DeliveryMode,
    pub filter: Vec<SubscriberFilter>,
    /// Notifications waiting (push: not yet delivered; pull: not yet acknowledged).
    pub pending: i64,
    /// Notifications given up on, waiting for a redrive.
    pub dead: i64,
    /// When the oldest waiting notification was queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_pending: Option<chrono::DateTime<Utc>>,
}

impl SubscriberView {
    fn new(subscriber: Subscriber, stats: Option<&DestinationStats>) -> Self {
        Self {
            logical_address: subscriber.logical_address,
            url: subscriber.url,
            delivery: subscriber.delivery,
            filter: subscriber.filter,
            pending: stats.map_or(0, |s| s.pending),
            dead: stats.map_or(0, |s| s.dead),
            oldest_pending: stats.and_then(|s| s.oldest_pending),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriberList {
    pub subscribers: Vec<SubscriberView>,
}

/// Which notifications of a subscriber to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStateName {
    /// Waiting to be delivered (or, for pull, acknowledged).
    Pending,
    /// Given up on, waiting for a redrive.
    Dead,
    /// Delivered (push) or acknowledged (pull), kept until the retention age.
    Delivered,
}

/// Most notifications one listing returns.
const MAX_LISTED: i64 = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilter {
    /// `pending` (default), `dead` or `delivered` (kept for the retention age).
    #[param(inline)]
    pub state: Option<DeliveryStateName>,
    /// At most this many, oldest first (default 100; 1 to 1000, else 400).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<Delivery>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Redriven {
    /// How many dead notifications went back to the queue.
    pub redriven: u64,
}

fn internal(error: &(impl std::error::Error + 'static)) -> Problem {
    tracing::error!(%error, "subscriber administration failed");
    Problem::fault(error)
}

fn not_found(logical_address: &str) -> Problem {
    Problem::not_found(
        "SUBSCRIBER_NOT_FOUND",
        format!("No subscriber with logical address {logical_address}."),
    )
}

async fn stats_of(
    state: &AppState,
    logical_address: &str,
) -> Result<Option<DestinationStats>, Problem> {
    let stats = queue_figures(state).await?;
    Ok(stats.into_iter().find(|s| s.destination == logical_address))
}

async fn queue_figures(state: &AppState) -> Result<Vec<DestinationStats>, Problem> {
    state
        .deliveries
        .stats()
        .await
        .map_err(|e| queue_problem(&e, "queue figures"))
}

/// Creates or replaces a subscriber.
///
/// A push subscriber needs a url starting with `http://` or `https://` (spaces around it are
/// dropped); a pull subscriber's url is optional. Every filter names a serviceDomain that is
/// not blank. No string carries a control character. Unknown members are ignored.
#[utoipa::path(put, path = "/admin/subscribers/{logicalAddress}", tag = "subscribers", operation_id = "PutSubscriber",
    params(("logicalAddress" = String, Path, pattern = "^[!-~]{1,64}$",
        description = "The subscriber's HSA-id: the logical address notifications are sent to \
            (1 to 64 printable ASCII characters, no space)")),
    request_body = SubscriberRequest,
    responses(
        (status = 201, description = "Created", body = SubscriberView),
        (status = 200, description = "Replaced", body = SubscriberView),
        (status = 400, description = "INVALID_SUBSCRIBER (logical address, url or filter against \
            the rules above), INVALID_REQUEST (a control character, naming the member; a body or \
            path that cannot be read), MALFORMED_JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn put_subscriber(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    caller: Caller,
    ApiPath(logical_address): ApiPath<String>,
    UncheckedJson(request): UncheckedJson<SubscriberRequest>,
) -> Result<(StatusCode, ApiJson<SubscriberView>), Problem> {
    require_admin(&permissions, &caller).await?;
    let subscriber = checked_subscriber(&logical_address, request)?;
    let created = state
        .subscribers
        .put(&subscriber)
        .await
        .map_err(|e| internal(&e))?;
    tracing::info!(
        logical_address,
        delivery = subscriber.delivery.as_str(),
        created,
        "subscriber saved"
    );
    let stats = stats_of(&state, &logical_address).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        ApiJson(SubscriberView::new(subscriber, stats.as_ref())),
    ))
}

/// The subscriber a request declares, checked (`INVALID_REQUEST` for a control character,
/// `INVALID_SUBSCRIBER` against the registry's rules); a migrated subscriber is checked so too.
pub(super) fn checked_subscriber(
    logical_address: &str,
    request: SubscriberRequest,
) -> Result<Subscriber, Problem> {
    request.check_hygiene().map_err(|error| {
        Problem::bad_request(
            "INVALID_REQUEST",
            format!("The body does not match the contract: {error}"),
        )
    })?;
    Subscriber::new(
        logical_address,
        request.url,
        request.delivery.unwrap_or(DeliveryMode::Push),
        request.filter,
    )
    .map_err(|e| Problem::bad_request("INVALID_SUBSCRIBER", e.to_string()))
}

/// Lists the subscribers with their queue figures.
#[utoipa::path(get, path = "/admin/subscribers", tag = "subscribers", operation_id = "ListSubscribers",
    responses(
        (status = 200, description = "The subscribers", body = SubscriberList),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn list_subscribers(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    caller: Caller,
) -> Result<ApiJson<SubscriberList>, Problem> {
    require_admin(&permissions, &caller).await?;
    let subscribers = state.subscribers.list().await.map_err(|e| internal(&e))?;
    let stats = queue_figures(&state).await?;
    let subscribers = subscribers
        .into_iter()
        .map(|s| {
            let figures = stats.iter().find(|f| f.destination == s.logical_address);
            SubscriberView::new(s, figures)
        })
        .collect();
    Ok(ApiJson(SubscriberList { subscribers }))
}

/// Reads one subscriber.
#[utoipa::path(get, path = "/admin/subscribers/{logicalAddress}", tag = "subscribers", operation_id = "GetSubscriber",
    params(("logicalAddress" = String, Path, description = "The subscriber's logical address")),
    responses(
        (status = 200, description = "The subscriber", body = SubscriberView),
        (status = 404, description = "No such subscriber", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn get_subscriber(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    caller: Caller,
    ApiPath(logical_address): ApiPath<String>,
) -> Result<ApiJson<SubscriberView>, Problem> {
    require_admin(&permissions, &caller).await?;
    let subscriber = state
        .subscribers
        .get(&logical_address)
        .await
        .map_err(|e| internal(&e))?
        .ok_or_else(|| not_found(&logical_address))?;
    let stats = stats_of(&state, &logical_address).await?;
    Ok(ApiJson(SubscriberView::new(subscriber, stats.as_ref())))
}

/// Removes a subscriber and the notifications queued for it.
#[utoipa::path(delete, path = "/admin/subscribers/{logicalAddress}", tag = "subscribers", operation_id = "DeleteSubscriber",
    params(("logicalAddress" = String, Path, description = "The subscriber's logical address")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such subscriber (what a stream may still hold under the address is removed all the same)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_subscriber(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    caller: Caller,
    ApiPath(logical_address): ApiPath<String>,
) -> Result<StatusCode, Problem> {
    require_admin(&permissions, &caller).await?;
    let removed = state
        .subscribers
        .delete(&logical_address)
        .await
        .map_err(|e| internal(&e))?;
    // The database's queue went with the subscriber; a stream (the NATS backbone) keeps its
    // own. Cleared for an unknown address too, so that a removal whose second half failed is
    // finished by asking again.
    state
        .deliveries
        .remove_destination(&logical_address)
        .await
        .map_err(|e| queue_problem(&e, "removing the queue"))?;
    if removed {
        tracing::info!(logical_address, "subscriber removed");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&logical_address))
    }
}

/// Lists a subscriber's queued (`pending`), dead-lettered (`dead`) or delivered and still kept
/// (`delivered`) notifications, oldest first, with attempts and the last error.
#[utoipa::path(get, path = "/admin/subscribers/{logicalAddress}/deliveries", tag = "subscribers", operation_id = "ListDeliveries",
    params(("logicalAddress" = String, Path, description = "The subscriber's logical address"), DeliveryFilter),
    responses(
        (status = 200, description = "The notifications", body = DeliveryList),
        (status = 400, description = "INVALID_REQUEST: state other than pending, dead or \
            delivered, limit outside 1 to 1000", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscriber", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    State(audit): State<AuditLog>,
    caller: Caller,
    ApiPath(logical_address): ApiPath<String>,
    ApiQuery(filter): ApiQuery<DeliveryFilter>,
) -> Result<ApiJson<DeliveryList>, Problem> {
    require_admin(&permissions, &caller).await?;
    let wanted = match filter.state {
        None | Some(DeliveryStateName::Pending) => DeliveryState::Pending,
        Some(DeliveryStateName::Dead) => DeliveryState::Dead,
        Some(DeliveryStateName::Delivered) => DeliveryState::Delivered,
    };
    let limit = filter.limit.unwrap_or(100);
    if !(1..=MAX_LISTED).contains(&limit) {
        return Err(Problem::bad_request(
            "INVALID_REQUEST",
            format!("The query string is not valid: limit must be 1 to {MAX_LISTED}, not {limit}"),
        ));
    }
    ensure_exists(&state, &logical_address).await?;
    let deliveries = state
        .deliveries
        .list(&logical_address, wanted, limit)
        .await
        .map_err(|e| queue_problem(&e, "listing deliveries"))?;
    // The queued notifications name patients: each one is audited, the subscriber as resource.
    let touched = of_payloads(deliveries.iter().map(|d| &*d.payload));
    audit
        .record_all(&patient_events(
            &caller,
            "ListDeliveries",
            Some(Role::Admin),
            AuditOutcome::Success,
            touched
                .iter()
                .map(|(patient, _)| (patient, logical_address.as_str())),
        ))
        .await?;
    Ok(ApiJson(DeliveryList { deliveries }))
}

/// Moves a subscriber's dead-lettered notifications back to the queue, to be delivered next.
#[utoipa::path(post, path = "/admin/subscribers/{logicalAddress}/redrive", tag = "subscribers", operation_id = "RedriveDeliveries",
    params(("logicalAddress" = String, Path, description = "The subscriber's logical address")),
    responses(
        (status = 200, description = "How many were redriven", body = Redriven),
        (status = 404, description = "No such subscriber", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn redrive(
    State(state): State<AppState>,
    State(permissions): State<Permissions>,
    caller: Caller,
    ApiPath(logical_address): ApiPath<String>,
) -> Result<ApiJson<Redriven>, Problem> {
    require_admin(&permissions, &caller).await?;
    ensure_exists(&state, &logical_address).await?;
    let redriven = state
        .deliveries
        .redrive(&logical_address, Utc::now())
        .await
        .map_err(|e| queue_problem(&e, "redrive"))?;
    tracing::info!(logical_address, redriven, "dead notifications redriven");
    state.delivery_waker.notify_one();
    Ok(ApiJson(Redriven { redriven }))
}

pub(super) async fn ensure_exists(
    state: &AppState,
    logical_address: &str,
) -> Result<Subscriber, Problem> {
    state
        .subscribers
        .get(logical_address)
        .await
        .map_err(|e| internal(&e))?
        .ok_or_else(|| not_found(logical_address))
}
