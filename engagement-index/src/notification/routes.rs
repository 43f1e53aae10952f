//! Where the delivery worker sends a subscriber's notifications.

use std::sync::Arc;

use async_trait::async_trait;
use common::delivery::{DestinationResolver, Route};
use http::{HeaderMap, HeaderValue};

use crate::domain::subscriber::DeliveryMode;
use crate::store::SubscriberStore;

/// Looks the subscriber up at every delivery, so a changed url applies to what is queued.
pub struct SubscriberRoutes {
    store: Arc<dyn SubscriberStore>,
}

impl SubscriberRoutes {
    pub fn new(store: Arc<dyn SubscriberStore>) -> Self {
        Self { store }
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
        match (subscriber.delivery, subscriber.url) {
            (DeliveryMode::Pull, _) | (DeliveryMode::Push, None) => Some(Route::Pull),
            (DeliveryMode::Push, Some(url)) => {
                let mut headers = HeaderMap::new();
                // RIV-TA addresses a ProcessNotification to the system to be notified.
                headers.insert(
                    "x-rivta-logical-address",
                    HeaderValue::from_str(destination).ok()?,
                );
                Some(Route::Push { url, headers })
            }
        }
    }
}
