//! `[notification]`: where the notifications about each care unit's forms go (TKB 2.1.1
//! §2.6; docs/follow-up.md).

use common::config::ConfigError;
use common::identity::HsaId;
use serde::{Deserialize, Serialize};

use crate::domain::notification::{CareSystemRoute, NotificationRoutes, Route, RouteScope};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationConfig {
    /// `[[notification.routes]]`: a route per care unit or source system. Those not named
    /// go `index` (posts to the engagement index only).
    pub routes: Vec<RouteConfig>,
    /// How often the alarm feed is looked at for alarms to push to care systems notified
    /// directly.
    pub alarm_relay_interval_ms: u64,
}

impl Default for NotificationConfig {
    fn default() -> Self {
        Self {
            routes: Vec::new(),
            alarm_relay_interval_ms: 1000,
        }
    }
}

/// One care unit's or source system's route.
///
/// ```toml
/// [[notification.routes]]
/// care_unit = "SE2321000016-1HZ3"   # or source_system = "<the care system's HSA-id>"
/// route = "direct"                  # index | direct | both
/// url = "https://care.example/processnotification"
/// logical_address = "SE2321000016-CS01"  # x-rivta-logical-address; default the HSA-id above
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The form's `healthcare_facility_CareUnit`. A care unit's route wins over a source
    /// system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_unit: Option<HsaId>,
    /// The form's `healthcare_systemID`: the care system that requested it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_system: Option<HsaId>,
    pub route: Route,
    /// The care system's ProcessNotification endpoint (`direct` and `both`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Sent as `x-rivta-logical-address`; default the care unit's or source system's HSA-id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_address: Option<HsaId>,
}

impl NotificationConfig {
    /// Refuses a route that names neither or both of care_unit and source_system, a second
    /// route for the same one, and a direct route without an http(s) url; the message names
    /// the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = Vec::new();
        for (n, route) in self.routes.iter().enumerate() {
            let key = |field: &str| format!("notification.routes[{n}].{field}");
            let refuse =
                |field: &str, what: &str| Err(ConfigError(format!("key `{}`: {what}", key(field))));
            let scoped = match (&route.care_unit, &route.source_system) {
                (Some(unit), None) => (RouteScope::CareUnit, unit.as_str()),
                (None, Some(system)) => (RouteScope::SourceSystem, system.as_str()),
                (Some(_), Some(_)) => {
                    return refuse(
                        "care_unit",
                        "give care_unit or source_system, not both (one route each)",
                    );
                }
                (None, None) => {
                    return refuse("care_unit", "give the care_unit or source_system it is for");
                }
            };
            if seen.contains(&scoped) {
                let field = match scoped.0 {
                    RouteScope::CareUnit => "care_unit",
                    RouteScope::SourceSystem => "source_system",
                };
                return refuse(field, &format!("{} has a route already", scoped.1));
            }
            seen.push(scoped);
            match (route.route.notifies_care_system(), route.url.as_deref()) {
                (true, None) => {
                    return refuse(
                        "url",
                        &format!(
                            "route `{}` needs the care system's url for ProcessNotification",
                            route.route.as_str()
                        ),
                    );
                }
                (_, Some(url)) if !is_http_url(url) => {
                    return refuse("url", &format!("`{url}` is not an http(s) URL"));
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub fn alarm_relay_interval(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.alarm_relay_interval_ms.max(1))
    }

    /// The routes as the domain applies them (after [`Self::validate`]).
    pub fn routes(&self) -> NotificationRoutes {
        NotificationRoutes::new(
            self.routes
                .iter()
                .filter_map(|route| {
                    let (scope, hsa_id) = match (&route.care_unit, &route.source_system) {
                        (Some(unit), _) => (RouteScope::CareUnit, unit.clone()),
                        (None, Some(system)) => (RouteScope::SourceSystem, system.clone()),
                        (None, None) => return None,
                    };
                    Some(CareSystemRoute {
                        scope,
                        logical_address: route.logical_address.clone().unwrap_or(hsa_id.clone()),
                        hsa_id,
                        route: route.route,
                        url: route.url.clone(),
                    })
                })
                .collect(),
        )
    }
}

fn is_http_url(url: &str) -> bool {
    url.parse::<http::Uri>()
        .is_ok_and(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.authority().is_some())
}
