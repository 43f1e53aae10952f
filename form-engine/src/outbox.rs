//! Where the engine's outbox rows go: the engagement index's Update endpoint.

use async_trait::async_trait;
use common::delivery::{DestinationResolver, Route};
use http::{HeaderMap, HeaderValue};

use crate::config::Config;
use crate::domain::form::engagement::ENGAGEMENT_INDEX;

pub struct EngagementIndexRoute {
    url: String,
    headers: HeaderMap,
}

impl EngagementIndexRoute {
    pub fn new(config: &Config) -> Self {
        let mut headers = HeaderMap::new();
        // The calling system, for the index's authorisation and audit.
        if let Ok(value) = HeaderValue::from_str(config.hsa_id.as_str()) {
            headers.insert("x-rivta-original-serviceconsumer-hsaid", value);
        }
        if let Some(index) = &config.engagement_index_hsa_id
            && let Ok(value) = HeaderValue::from_str(index.as_str())
        {
            headers.insert("x-rivta-logical-address", value);
        }
        Self {
            url: config.engagement_index_update_url(),
            headers,
        }
    }
}

#[async_trait]
impl DestinationResolver for EngagementIndexRoute {
    async fn route(&self, destination: &str) -> Option<Route> {
        (destination == ENGAGEMENT_INDEX).then(|| Route::Push {
            url: self.url.clone(),
            headers: self.headers.clone(),
        })
    }
}
