//! The five kinds of record a migration moves, in the order they are written (grants first, so
//! the callers exist when the data they own arrives), which service takes each, and how a
//! record's natural key is read.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The two services a migration writes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Service {
    FormEngine,
    EngagementIndex,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Self::FormEngine => "form-engine",
            Self::EngagementIndex => "engagement-index",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "form-engine" => Some(Self::FormEngine),
            "engagement-index" => Some(Self::EngagementIndex),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Entity {
    Grants,
    Templates,
    Forms,
    Engagements,
    Subscribers,
}

/// The nine fields of skltp-ei's engagement key.
pub const ENGAGEMENT_KEY: [&str; 9] = [
    "registeredResidentIdentification",
    "serviceDomain",
    "categorization",
    "logicalAddress",
    "businessObjectInstanceIdentifier",
    "sourceSystem",
    "dataController",
    "clinicalProcessInterestId",
    "owner",
];

impl Entity {
    /// Seed 000's order: who may act first, then what they own.
    pub const ORDER: [Self; 5] = [
        Self::Grants,
        Self::Templates,
        Self::Forms,
        Self::Engagements,
        Self::Subscribers,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Grants => "grants",
            Self::Templates => "templates",
            Self::Forms => "forms",
            Self::Engagements => "engagements",
            Self::Subscribers => "subscribers",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ORDER.into_iter().find(|e| e.name() == name)
    }

    /// `templates.ndjson` and so on.
    pub fn file_name(self) -> String {
        format!("{}.ndjson", self.name())
    }

    /// The services that hold this entity (grants live in both).
    pub fn services(self) -> &'static [Service] {
        match self {
            Self::Grants => &[Service::FormEngine, Service::EngagementIndex],
            Self::Templates | Self::Forms => &[Service::FormEngine],
            Self::Engagements | Self::Subscribers => &[Service::EngagementIndex],
        }
    }

    /// The records of one batch: the endpoints take up to 1000 (engagements 10 000).
    pub fn batch_size(self) -> usize {
        match self {
            Self::Engagements => 10_000,
            _ => 1000,
        }
    }

    /// The fields that name a record of this entity.
    pub fn key_fields(self) -> &'static [&'static str] {
        match self {
            Self::Grants => &["service", "caller", "role", "scope"],
            Self::Templates => &["templateId", "version"],
            Self::Forms => &["formId"],
            Self::Engagements => &ENGAGEMENT_KEY,
            Self::Subscribers => &["logicalAddress"],
        }
    }

    /// The record's natural key as one string (`|`-separated), as a rejects line and the
    /// report name it.
    pub fn key_of(self, record: &Value) -> String {
        self.key_fields()
            .iter()
            .map(|field| match record.get(field) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("|")
    }

    /// The service a record goes to: grants say so in `service`.
    pub fn service_of(self, record: &Value) -> Result<Service, String> {
        match self.services() {
            [only] => Ok(*only),
            _ => record
                .get("service")
                .and_then(Value::as_str)
                .and_then(Service::parse)
                .ok_or_else(|| {
                    String::from(
                        "a grant names its service in \"service\": \"form-engine\" or \"engagement-index\"",
                    )
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn engagement_key_joins_the_nine_fields_in_skltp_order() {
        let record = json!({"registeredResidentIdentification": "191212121212",
            "serviceDomain": "d", "categorization": "c", "logicalAddress": "l",
            "businessObjectInstanceIdentifier": "b", "sourceSystem": "s",
            "dataController": "dc", "clinicalProcessInterestId": "NA", "owner": "o",
            "mostRecentContent": "20240101000000"});
        assert_eq!(
            Entity::Engagements.key_of(&record),
            "191212121212|d|c|l|b|s|dc|NA|o"
        );
    }

    #[test]
    fn a_grant_without_its_service_is_refused() {
        assert!(Entity::Grants.service_of(&json!({"caller": "x"})).is_err());
        assert_eq!(
            Entity::Grants.service_of(&json!({"service": "engagement-index"})),
            Ok(Service::EngagementIndex)
        );
        assert_eq!(
            Entity::Forms.service_of(&json!({})),
            Ok(Service::FormEngine)
        );
    }
}
