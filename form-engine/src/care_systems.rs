//! Where the engine's ProcessNotification to care systems notified directly go (the
//! `direct` and `both` routes of `[notification]`), and the engine's destinations together:
//! one delivery worker serves the engagement index and every care system.

use std::sync::Arc;

use async_trait::async_trait;
use common::delivery::{DestinationResolver, Route};
use http::{HeaderMap, HeaderValue};

use crate::domain::notification::NotificationRoutes;
use crate::outbox::EngagementIndexRoute;

/// A care system's queue goes to the url of its route, addressed as the index addresses a
/// subscriber (`x-rivta-logical-address`). A route taken out of the configuration leaves
/// its queue waiting, untouched, until it is configured again.
pub struct CareSystemRoutes {
    routes: Arc<NotificationRoutes>,
}

impl CareSystemRoutes {
    pub fn new(routes: Arc<NotificationRoutes>) -> Self {
        Self { routes }
    }
}

#[async_trait]
impl DestinationResolver for CareSystemRoutes {
    async fn route(&self, destination: &str) -> Option<Route> {
        let route = self.routes.by_destination(destination)?;
        let url = route.url.clone()?;
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-rivta-logical-address",
            HeaderValue::from_str(route.logical_address.as_str()).ok()?,
        );
        Some(Route::Push { url, headers })
    }

    /// Each notification alone: a care system de-duplicates on `x-notification-id`.
    fn merges(&self, _destination: &str) -> bool {
        false
    }
}

/// The engagement index and the care systems, for the one delivery worker.
pub struct EngineDestinations {
    index: EngagementIndexRoute,
    care_systems: CareSystemRoutes,
}

impl EngineDestinations {
    pub fn new(index: EngagementIndexRoute, care_systems: CareSystemRoutes) -> Self {
        Self {
            index,
            care_systems,
        }
    }
}

#[async_trait]
impl DestinationResolver for EngineDestinations {
    async fn route(&self, destination: &str) -> Option<Route> {
        match self.index.route(destination).await {
            Some(route) => Some(route),
            None => self.care_systems.route(destination).await,
        }
    }

    fn merges(&self, destination: &str) -> bool {
        self.care_systems
            .routes
            .by_destination(destination)
            .is_none()
    }
}
