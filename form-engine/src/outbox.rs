//! Where the engine's outbox rows go: the engagement index's Update endpoint.

use async_trait::async_trait;
use common::delivery::{DestinationResolver, Route};
use common::http_client::BearerToken;
use http::{HeaderMap, HeaderValue, header};

use crate::config::Config;
use crate::domain::form::engagement::ENGAGEMENT_INDEX;

pub struct EngagementIndexRoute {
    url: String,
    headers: HeaderMap,
    /// The engine's token, sent as `Authorization: Bearer` (`[engagement_index_client]`).
    bearer: Option<BearerToken>,
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
            bearer: None,
        }
    }

    /// Posts carry `Authorization: Bearer` with the engine's token.
    #[must_use]
    pub fn with_bearer(mut self, bearer: Option<BearerToken>) -> Self {
        self.bearer = bearer;
        self
    }
}

#[async_trait]
impl DestinationResolver for EngagementIndexRoute {
    async fn route(&self, destination: &str) -> Option<Route> {
        if destination != ENGAGEMENT_INDEX {
            return None;
        }
        let mut headers = self.headers.clone();
        if let Some(bearer) = &self.bearer {
            match bearer.get() {
                Ok(token) => {
                    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
                    value.set_sensitive(true);
                    headers.insert(header::AUTHORIZATION, value);
                }
                // Sent without: the index refuses it and the post is retried.
                Err(error) => tracing::error!(%error, "cannot read the engine's bearer token"),
            }
        }
        Some(Route::Push {
            url: self.url.clone(),
            headers,
        })
    }
}
