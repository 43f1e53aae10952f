//! The notification route of a care unit or source system.

use common::identity::HsaId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where the notifications about a form go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = NotificationRoute)]
pub enum Route {
    /// Posts to the engagement index only; the index notifies its subscribers.
    #[default]
    Index,
    /// ProcessNotification straight to the care system only; nothing is posted to the index.
    Direct,
    /// Both: posts to the index and ProcessNotification to the care system.
    Both,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Index => "index",
            Self::Direct => "direct",
            Self::Both => "both",
        }
    }

    pub fn posts_to_index(self) -> bool {
        matches!(self, Self::Index | Self::Both)
    }

    pub fn notifies_care_system(self) -> bool {
        matches!(self, Self::Direct | Self::Both)
    }
}

/// What a route is set for: the form's care unit (`healthcare_facility_CareUnit`) or the
/// system that requested it (`healthcare_systemID`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
#[schema(as = NotificationRouteScope)]
pub enum RouteScope {
    CareUnit,
    SourceSystem,
}

impl RouteScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CareUnit => "care-unit",
            Self::SourceSystem => "source-system",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::CareUnit, Self::SourceSystem]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// The route of one care unit or source system, and where its care system takes
/// ProcessNotification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CareSystemRoute {
    pub scope: RouteScope,
    pub hsa_id: HsaId,
    pub route: Route,
    /// The care system's ProcessNotification endpoint; set when `route` notifies it.
    pub url: Option<String>,
    /// Sent as `x-rivta-logical-address`: the care system notified.
    pub logical_address: HsaId,
}

impl CareSystemRoute {
    /// Its queue in the delivery worker: one per route, so a slow care system delays nobody
    /// else, and the care system hears of its forms in the order they changed.
    pub fn destination(&self) -> String {
        format!("direct:{}:{}", self.scope.as_str(), self.hsa_id.as_str())
    }
}

/// Every configured route; care units and source systems not named go `index`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotificationRoutes {
    routes: Vec<CareSystemRoute>,
}

impl NotificationRoutes {
    pub fn new(routes: Vec<CareSystemRoute>) -> Self {
        Self { routes }
    }

    pub fn all(&self) -> &[CareSystemRoute] {
        &self.routes
    }

    fn find(&self, scope: RouteScope, hsa_id: &str) -> Option<&CareSystemRoute> {
        self.routes
            .iter()
            .find(|r| r.scope == scope && r.hsa_id.as_str() == hsa_id)
    }

    /// The route of a form of `care_unit` requested by `source_system`: the care unit's when
    /// it has one, else the source system's; `None` = `index`.
    pub fn for_form(
        &self,
        care_unit: &str,
        source_system: Option<&str>,
    ) -> Option<&CareSystemRoute> {
        self.find(RouteScope::CareUnit, care_unit).or_else(|| {
            source_system.and_then(|system| self.find(RouteScope::SourceSystem, system))
        })
    }

    /// Whether any route is set per source system (then the relay needs the form's).
    pub fn has_source_system_routes(&self) -> bool {
        self.routes
            .iter()
            .any(|r| r.scope == RouteScope::SourceSystem)
    }

    /// The route whose queue is `destination`.
    pub fn by_destination(&self, destination: &str) -> Option<&CareSystemRoute> {
        self.routes.iter().find(|r| r.destination() == destination)
    }

    /// The route of a care unit or source system, by scope and HSA-id.
    pub fn get(&self, scope: RouteScope, hsa_id: &str) -> Option<&CareSystemRoute> {
        self.find(scope, hsa_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(scope: RouteScope, id: &str, route: Route) -> CareSystemRoute {
        CareSystemRoute {
            scope,
            hsa_id: HsaId::parse(id).unwrap(),
            route,
            url: Some(String::from("http://care.example/notifications")),
            logical_address: HsaId::parse("SE1-CS").unwrap(),
        }
    }

    #[test]
    fn a_care_unit_route_wins_over_a_source_system_route() {
        let routes = NotificationRoutes::new(vec![
            route(RouteScope::SourceSystem, "SE1-CS", Route::Both),
            route(RouteScope::CareUnit, "SE1-CU", Route::Direct),
        ]);
        let found = |unit, system| routes.for_form(unit, system).map(|r| r.route);
        assert_eq!(found("SE1-CU", Some("SE1-CS")), Some(Route::Direct));
        assert_eq!(found("SE1-OTHER", Some("SE1-CS")), Some(Route::Both));
        assert_eq!(found("SE1-OTHER", None), None);
        assert_eq!(
            routes
                .by_destination("direct:care-unit:SE1-CU")
                .map(|r| r.route),
            Some(Route::Direct)
        );
    }
}
