//! The engagement-index posts of a form (api.md §3): `FormCreated` when a form is created,
//! `FormComplete` when it is completed (the FormCreated post deleted in the same Update), and
//! deletes of whichever post exists when a form is cancelled, expires or is purged. An
//! anonymous form makes no post.

use chrono::{DateTime, Utc};
use common::delivery::NewDelivery;
use common::identity::HsaId;
use serde_json::{Value, json};

use super::model::{Form, FormStatus};

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

/// Who posts: the engine (logicalAddress and sourceSystem) and the service domain.
#[derive(Clone, Debug)]
pub struct Poster {
    pub engine: HsaId,
    pub service_domain: String,
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
        let content_time = match categorization {
            Categorization::FormCreated => form.created_at,
            Categorization::FormComplete => form.completed_at.unwrap_or(form.created_at),
        };
        Some(json!({
            "deleteFlag": delete,
            "engagement": {
                "registeredResidentIdentification": resident.as_str(),
                "serviceDomain": self.service_domain,
                "categorization": categorization.as_str(),
                "logicalAddress": self.engine.as_str(),
                "businessObjectInstanceIdentifier": form.id.to_string(),
                "clinicalProcessInterestId": form.clinical_process_interest_id.as_deref().unwrap_or("NA"),
                "mostRecentContent": format_time(content_time),
                "sourceSystem": self.engine.as_str(),
                "dataController": form.care_unit.as_str(),
            }
        }))
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
