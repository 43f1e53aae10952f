//! Engagements and their nine-field unique key.

use chrono::{DateTime, Utc};
use common::identity::PersonalIdentityNumber;

/// What categorization, businessObjectInstanceIdentifier and clinicalProcessInterestId hold
/// when the source does not use them.
pub const NOT_APPLICABLE: &str = "NA";

/// The contract's unique key ("instansens unikhet"): an engagement with the same nine values
/// is the same post. The owner is part of it, so the same engagement may exist once per index
/// that first received it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EngagementKey {
    pub registered_resident_identification: PersonalIdentityNumber,
    pub service_domain: String,
    pub categorization: String,
    pub logical_address: String,
    pub business_object_instance_identifier: String,
    pub clinical_process_interest_id: String,
    pub source_system: String,
    pub data_controller: String,
    pub owner: String,
}

impl EngagementKey {
    /// The same key with another owner (rule R5 looks for this index's own copy).
    #[must_use]
    pub fn with_owner(&self, owner: &str) -> Self {
        Self {
            owner: owner.to_owned(),
            ..self.clone()
        }
    }
}

/// A stored engagement. Times are UTC; the wire carries them as Swedish local time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Engagement {
    pub key: EngagementKey,
    pub most_recent_content: Option<DateTime<Utc>>,
    pub creation_time: DateTime<Utc>,
    /// Absent until the post changes after it was created.
    pub update_time: Option<DateTime<Utc>>,
}

impl Engagement {
    /// Whether this received version of a post is older than the `stored` one: its
    /// mostRecentContent is older ([`is_older`]), or it is the same and the post changed
    /// earlier at its owner (updateTime).
    pub fn is_older_than(&self, stored: &Self) -> bool {
        is_older(self.most_recent_content, stored.most_recent_content)
            || (self.most_recent_content == stored.most_recent_content
                && self.update_time < stored.update_time)
    }
}

/// A change that subscribers must hear of: written to the outbox in the transaction that makes
/// it. The engagement always carries owner, creationTime and updateTime, as ProcessNotification
/// requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifiedTransaction {
    pub delete: bool,
    pub engagement: Engagement,
}

/// Whether `incoming` is older than `stored`: an older mostRecentContent is ignored (api.md
/// Decision). No value counts as older than any value, as in skltp's unreleased 2019 rule and
/// its collect buffer, so a client cannot erase a known time by leaving the field out.
pub fn is_older(incoming: Option<DateTime<Utc>>, stored: Option<DateTime<Utc>>) -> bool {
    match (incoming, stored) {
        (None, Some(_)) => true,
        (Some(incoming), Some(stored)) => incoming < stored,
        (_, None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_time_is_older_than_any_time_and_equal_is_not_older() {
        let t = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let later = t + chrono::Duration::seconds(1);
        assert!(is_older(None, Some(t)));
        assert!(is_older(Some(t), Some(later)));
        assert!(!is_older(Some(t), Some(t)));
        assert!(!is_older(Some(later), Some(t)));
        assert!(!is_older(None, None));
        assert!(!is_older(Some(t), None));
    }
}
