//! Where the delivery worker sends a subscriber's notifications.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use common::delivery::{DestinationResolver, Route};
use common::http_client::BearerToken;
use http::{HeaderMap, HeaderValue, header};

use crate::domain::subscriber::{DeliveryMode, Subscriber};
use crate::store::SubscriberStore;

/// Looks the subscriber up after every wake of its delivery task, so a changed url applies to
/// what is queued after the change.
pub struct SubscriberRoutes {
    store: Arc<dyn SubscriberStore>,
    bearer: Option<BearerToken>,
}

impl SubscriberRoutes {
    pub fn new(store: Arc<dyn SubscriberStore>) -> Self {
        Self {
            store,
            bearer: None,
        }
    }

    /// Pushes carry `Authorization: Bearer` with this index's token (`[subscriber_client]`).
    #[must_use]
    pub fn with_bearer(mut self, bearer: Option<BearerToken>) -> Self {
        self.bearer = bearer;
        self
    }
}

#[async_trait]
impl DestinationResolver for SubscriberRoutes {
    async fn route(&self, destination: &str) -> Option<Route> {
        let subscriber = match self.store.get(destination).await {
            Ok(subscriber) => subscriber?,
            Err(error) => {
                tracing::error!(%error, destination, "cannot look up the subscriber");
                return None;
            }
        };
        self.route_of(&subscriber)
    }

    /// Several at once are read in one statement, the whole registry: subscribers number in
    /// the tens or hundreds, and after a fan-out round most of them ask together.
    async fn routes(&self, destinations: &[String]) -> Vec<Option<Route>> {
        if let [destination] = destinations {
            return vec![self.route(destination).await];
        }
        let subscribers: HashMap<String, Subscriber> = match self.store.list().await {
            Ok(subscribers) => subscribers
                .into_iter()
                .map(|subscriber| (subscriber.logical_address.clone(), subscriber))
                .collect(),
            Err(error) => {
                tracing::error!(%error, "cannot look up the subscribers");
                return destinations.iter().map(|_| None).collect();
            }
        };
        destinations
            .iter()
            .map(|destination| {
                subscribers
                    .get(destination)
                    .and_then(|subscriber| self.route_of(subscriber))
            })
            .collect()
    }
}

impl SubscriberRoutes {
    fn route_of(&self, subscriber: &Subscriber) -> Option<Route> {
        let destination = subscriber.logical_address.as_str();
        match (subscriber.delivery, &subscriber.url) {
            (DeliveryMode::Pull, _) | (DeliveryMode::Push, None) => Some(Route::Pull),
            (DeliveryMode::Push, Some(url)) => {
                let mut headers = HeaderMap::new();
                // RIV-TA addresses a ProcessNotification to the system to be notified.
                headers.insert(
                    "x-rivta-logical-address",
                    HeaderValue::from_str(destination).ok()?,
                );
                if let Some(bearer) = &self.bearer {
                    match bearer.get() {
                        Ok(token) => {
                            let mut value =
                                HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
                            value.set_sensitive(true);
                            headers.insert(header::AUTHORIZATION, value);
                        }
                        // Sent without: the subscriber refuses it and the delivery is retried.
                        Err(error) => {
                            tracing::error!(%error, "cannot read this index's bearer token");
                        }
                    }
                }
                Some(Route::Push {
                    url: url.clone(),
                    headers,
                })
            }
        }
    }
}
