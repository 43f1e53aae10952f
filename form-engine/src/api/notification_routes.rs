//! Operators' view of where the engine's notifications go (`[notification]`): every care
//! unit or source system with a route of its own, and the queue of ProcessNotification to its
//! care system (waiting, given up on, put back in line). Every route needs the role `admin`.

use axum::extract::State;
use common::auth::Caller;
use common::delivery::DestinationStats;
use common::problem::{ApiJson, ApiPath, ApiQuery, Problem};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::admin::{self, ListParams, PostList, Redriven};
use super::error::ApiError;
use crate::domain::notification::{CareSystemRoute, Route, RouteScope};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRoutesView {
    /// The route of every care unit and source system not listed.
    pub default_route: Route,
    pub routes: Vec<NotificationRouteView>,
}

/// One configured route.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRouteView {
    /// What the route is set for: a care unit (the form's healthcare_facility_CareUnit) or a
    /// source system (its healthcare_systemID). A care unit's route wins.
    pub scope: RouteScope,
    #[schema(example = "SE2321000016-1HZ3")]
    pub hsa_id: String,
    pub route: Route,
    /// The care system's ProcessNotification endpoint (direct and both).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Sent as x-rivta-logical-address.
    pub logical_address: String,
    /// The delivery queue's name, as in the metrics' `destination` label.
    pub destination: String,
    /// Notifications waiting (and when the oldest was written) and given up on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<DestinationStats>,
}

/// Every configured notification route, with its care system's queue.
#[utoipa::path(get, path = "/admin/notification-routes", tag = "admin", operation_id = "ListNotificationRoutes",
    responses(
        (status = 200, description = "The routes, in configuration order", body = NotificationRoutesView),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<NotificationRoutesView>, ApiError> {
    state.permissions.require_admin(&caller).await?;
    let stats = state
        .store
        .deliveries()
        .stats()
        .await
        .map_err(ApiError::internal)?;
    let routes = state
        .forms
        .poster()
        .routes
        .all()
        .iter()
        .map(|route| {
            let destination = route.destination();
            NotificationRouteView {
                scope: route.scope,
                hsa_id: route.hsa_id.as_str().to_owned(),
                route: route.route,
                url: route.url.clone(),
                logical_address: route.logical_address.as_str().to_owned(),
                queue: stats.iter().find(|s| s.destination == destination).cloned(),
                destination,
            }
        })
        .collect();
    Ok(ApiJson(NotificationRoutesView {
        default_route: Route::Index,
        routes,
    }))
}

/// The configured route of `scope`/`hsa_id`: 400 for a scope that is none, 404
/// NOTIFICATION_ROUTE_NOT_FOUND for one without a route.
fn configured(state: &AppState, scope: &str, hsa_id: &str) -> Result<CareSystemRoute, ApiError> {
    let Some(parsed) = RouteScope::parse(scope) else {
        return Err(ApiError::invalid(format!(
            "scope: `{scope}` is not a scope; use care-unit or source-system."
        )));
    };
    state
        .forms
        .poster()
        .routes
        .get(parsed, hsa_id)
        .cloned()
        .ok_or_else(|| {
            ApiError::not_found(
                "NOTIFICATION_ROUTE_NOT_FOUND",
                format!("No notification route is configured for {scope} {hsa_id}."),
            )
        })
}

/// ProcessNotification waiting for a care system, or given up on (with attempts and last
/// error).
#[utoipa::path(get, path = "/admin/notification-routes/{scope}/{hsaId}/deliveries", tag = "admin",
    operation_id = "ListNotificationRouteDeliveries",
    params(
        ("scope" = String, Path, description = "care-unit or source-system", pattern = "^(care-unit|source-system)$"),
        ("hsaId" = String, Path, description = "The care unit's or source system's HSA-id"),
        ListParams),
    responses(
        (status = 200, description = "The notifications, oldest first", body = PostList),
        (status = 400, description = "INVALID_REQUEST: unknown scope or state, limit out of range, or a path segment with a control character", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "NOTIFICATION_ROUTE_NOT_FOUND: no route is configured for it", body = Problem, content_type = "application/problem+json")))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((scope, hsa_id)): ApiPath<(String, String)>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<ApiJson<PostList>, ApiError> {
    state.permissions.require_admin(&caller).await?;
    let route = configured(&state, &scope, &hsa_id)?;
    admin::list_queue(&state, &caller, &route.destination(), &params).await
}

/// Puts every given-up ProcessNotification of a care system back in line, due now.
#[utoipa::path(post, path = "/admin/notification-routes/{scope}/{hsaId}/redrive", tag = "admin",
    operation_id = "RedriveNotificationRouteDeliveries",
    params(
        ("scope" = String, Path, description = "care-unit or source-system", pattern = "^(care-unit|source-system)$"),
        ("hsaId" = String, Path, description = "The care unit's or source system's HSA-id")),
    responses(
        (status = 200, description = "How many notifications were put back", body = Redriven),
        (status = 400, description = "INVALID_REQUEST: unknown scope, or a path segment with a control character", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "NOTIFICATION_ROUTE_NOT_FOUND: no route is configured for it", body = Problem, content_type = "application/problem+json")))]
pub async fn redrive(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((scope, hsa_id)): ApiPath<(String, String)>,
) -> Result<ApiJson<Redriven>, ApiError> {
    state.permissions.require_admin(&caller).await?;
    let route = configured(&state, &scope, &hsa_id)?;
    admin::redrive_queue(&state, &caller, &route.destination()).await
}
