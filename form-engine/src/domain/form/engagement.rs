//! The engagement-index posts of a form (api.md §3): `FormCreated` when a form is created,
//! `FormComplete` when it is completed (the FormCreated post deleted in the same Update), and
//! deletes of whichever post exists when a form is cancelled, expires or is purged. An
//! anonymous form makes no post.
//!
//! The posts follow the index's rules before they reach the outbox (api.md §5), since a post
//! the index refuses would be refused on every retry: every value trimmed and within the
//! index's field lengths (contracts.md §1.2), no control character, deletes without
//! mostRecentContent. What a caller gives for a post (clinicalProcessInterestId) is checked
//! with [`post_value`] at the edge, so a request the index would refuse is refused there.

use chrono::{DateTime, Utc};
use common::delivery::NewDelivery;
use common::hygiene::{TextKind, forbidden_character};
use common::identity::HsaId;
use serde_json::{Value, json};

use super::model::{Form, FormStatus};

/// The index's longest values, in characters (contracts.md §1.2; the index's validation
/// answers EI004 beyond them).
pub const MAX_SERVICE_DOMAIN: usize = 255;
pub const MAX_CATEGORIZATION: usize = 255;
pub const MAX_LOGICAL_ADDRESS: usize = 64;
pub const MAX_BUSINESS_OBJECT_INSTANCE_IDENTIFIER: usize = 128;
pub const MAX_CLINICAL_PROCESS_INTEREST_ID: usize = 128;
pub const MAX_SOURCE_SYSTEM: usize = 64;
pub const MAX_DATA_CONTROLLER: usize = 64;

/// Why a value given for a post would be refused by the engagement index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostValueError {
    #[error("begins or ends with white space, which the engagement index refuses")]
    WhiteSpace,
    #[error("is longer than the {0} characters the engagement index takes")]
    TooLong(usize),
    #[error("contains a control character (U+{0:04X}), which the engagement index refuses")]
    ControlCharacter(u32),
}

/// A value a caller gives for one of the form's posts (clinicalProcessInterestId), as the
/// index takes it: absent or blank is `None` (posted as `NA`); anything else must already be
/// what the index accepts, so that it is stored and shown exactly as it is posted.
pub fn post_value(value: Option<String>, max: usize) -> Result<Option<String>, PostValueError> {
    let Some(value) = value else {
        return Ok(None);
    };
    if let Some(c) = forbidden_character(&value, TextKind::Identifier) {
        // A blank value of TABs or line breaks is still a control character, not a blank.
        return Err(PostValueError::ControlCharacter(u32::from(c)));
    }
    if value.trim().is_empty() {
        return Ok(None);
    }
    if value.trim() != value {
        return Err(PostValueError::WhiteSpace);
    }
    if value.chars().count() > max {
        return Err(PostValueError::TooLong(max));
    }
    Ok(Some(value))
}

/// A value as the index takes it, whatever was stored before the edge checked it: control
/// characters dropped, trimmed, cut to `max` characters.
fn fit(value: &str, max: usize) -> String {
    let clean: String = value
        .chars()
        .filter(|c| forbidden_character(c.encode_utf8(&mut [0; 4]), TextKind::Identifier).is_none())
        .collect();
    let cut: String = clean.trim().chars().take(max).collect();
    cut.trim_end().to_owned()
}

/// The destination of the engine's outbox rows in the delivery queue.
pub const ENGAGEMENT_INDEX: &str = "engagement-index";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Categorization {
    FormCreated,
    FormComplete,
}

impl Categorization {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FormCreated => "FormCreated",
            Self::FormComplete => "FormComplete",
        }
    }
}

/// Who posts: the engine (logicalAddress and sourceSystem) and the service domain; and
/// where each form's posts go (the index, its care system, or both:
/// [`crate::domain::notification`]).
#[derive(Clone, Debug)]
pub struct Poster {
    pub engine: HsaId,
    pub service_domain: String,
    pub routes: std::sync::Arc<crate::domain::notification::NotificationRoutes>,
}

impl Poster {
    /// One engagement transaction about `form`; `None` for an anonymous form.
    pub fn transaction(
        &self,
        form: &Form,
        categorization: Categorization,
        delete: bool,
    ) -> Option<Value> {
        let resident = form.subject_of_care.as_ref()?;
        let engine = fit(
            self.engine.as_str(),
            MAX_LOGICAL_ADDRESS.min(MAX_SOURCE_SYSTEM),
        );
        let interest = form
            .clinical_process_interest_id
            .as_deref()
            .map(|id| fit(id, MAX_CLINICAL_PROCESS_INTEREST_ID))
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| String::from("NA"));
        let mut engagement = json!({
            "registeredResidentIdentification": resident.as_str(),
            "serviceDomain": fit(&self.service_domain, MAX_SERVICE_DOMAIN),
            "categorization": fit(categorization.as_str(), MAX_CATEGORIZATION),
            "logicalAddress": engine,
            "businessObjectInstanceIdentifier": fit(&form.id.to_string(), MAX_BUSINESS_OBJECT_INSTANCE_IDENTIFIER),
            "clinicalProcessInterestId": interest,
            "sourceSystem": engine,
            "dataController": fit(form.care_unit.as_str(), MAX_DATA_CONTROLLER),
        });
        // A delete always applies at the index; mostRecentContent only orders updates.
        if !delete {
            let content_time = match categorization {
                Categorization::FormCreated => form.created_at,
                Categorization::FormComplete => form.completed_at.unwrap_or(form.created_at),
            };
            engagement["mostRecentContent"] = Value::String(format_time(content_time));
        }
        Some(json!({"deleteFlag": delete, "engagement": engagement}))
    }

    /// The post of a newly created form.
    pub fn created(&self, form: &Form) -> Vec<Value> {
        self.transaction(form, Categorization::FormCreated, false)
            .into_iter()
            .collect()
    }

    /// A form was completed: its FormCreated post goes, its FormComplete post comes.
    pub fn completed(&self, form: &Form) -> Vec<Value> {
        [
            self.transaction(form, Categorization::FormCreated, true),
            self.transaction(form, Categorization::FormComplete, false),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// A form leaves (cancelled, expired or purged): delete the post it has now. A form
    /// that expired has none left; a completed one has its FormComplete post.
    pub fn removed(&self, form: &Form) -> Vec<Value> {
        let categorization = match form.status {
            FormStatus::Completed => Categorization::FormComplete,
            _ if form.expired_at.is_some() => return Vec::new(),
            _ => Categorization::FormCreated,
        };
        self.transaction(form, categorization, true)
            .into_iter()
            .collect()
    }
}

/// The outbox row of an Update carrying `transactions`, with the current request's
/// correlation id and trace context; `None` when there is nothing to post.
// Takes the list by value: callers build it for this call only.
#[allow(clippy::needless_pass_by_value)]
pub fn update(transactions: Vec<Value>) -> Option<NewDelivery> {
    if transactions.is_empty() {
        return None;
    }
    let count = transactions.len();
    Some(NewDelivery::in_current_context(
        ENGAGEMENT_INDEX,
        json!({ "engagementTransaction": transactions }),
        count,
    ))
}

fn format_time(time: DateTime<Utc>) -> String {
    common::riv_time::format_ei_timestamp(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_for_a_post_is_what_the_index_takes_or_refused() {
        assert_eq!(post_value(None, 128), Ok(None));
        assert_eq!(post_value(Some(String::from("  ")), 128), Ok(None));
        assert_eq!(
            post_value(Some(String::from("HA-1")), 128),
            Ok(Some(String::from("HA-1")))
        );
        assert_eq!(
            post_value(Some(String::from("HA-1 ")), 128),
            Err(PostValueError::WhiteSpace)
        );
        assert_eq!(
            post_value(Some(String::from(" HA-1")), 128),
            Err(PostValueError::WhiteSpace)
        );
        assert_eq!(
            post_value(Some("x".repeat(129)), 128),
            Err(PostValueError::TooLong(128))
        );
        assert_eq!(
            post_value(Some("å".repeat(128)), 128)
                .unwrap()
                .unwrap()
                .chars()
                .count(),
            128
        );
        assert_eq!(
            post_value(Some(String::from("HA\u{0}1")), 128),
            Err(PostValueError::ControlCharacter(0))
        );
        assert_eq!(
            post_value(Some(String::from("\t")), 128),
            Err(PostValueError::ControlCharacter(9))
        );
    }

    #[test]
    fn stored_values_are_fitted_to_the_index() {
        assert_eq!(fit(" a\u{0}b ", 64), "ab");
        assert_eq!(fit(&"x".repeat(300), 255).len(), 255);
        assert_eq!(fit("abc def", 4), "abc");
    }
}
