//! FindContent and GetUpdates: their mandatory fields and what they select.

use chrono::{DateTime, Utc};
use common::hygiene::{TextKind, forbidden_character};
use common::identity::PersonalIdentityNumber;

use super::engagement::Engagement;
use super::error::ValidationError;
use super::submitted::{SubmittedContentQuery, SubmittedUpdatesQuery};
use super::validation::parse_ei_time;

/// FindContent's selection: resident and domain, then exact filters, and mostRecentContent at
/// or after the given time. Results are ordered by creationTime, then key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentQuery {
    pub registered_resident_identification: PersonalIdentityNumber,
    pub service_domain: String,
    pub categorization: Option<String>,
    pub logical_address: Option<String>,
    pub business_object_instance_identifier: Option<String>,
    pub clinical_process_interest_id: Option<String>,
    pub most_recent_content: Option<DateTime<Utc>>,
    pub source_system: Option<String>,
    pub data_controller: Option<String>,
    pub owner: Option<String>,
}

impl ContentQuery {
    /// registeredResidentIdentification, then serviceDomain, must be given and not blank
    /// (EI000); then, as in Update (EI004): no field carries a control character, none is
    /// longer than its engagement field, and the resident's format and the time are valid.
    pub fn from_submitted(request: &SubmittedContentQuery) -> Result<Self, ValidationError> {
        let resident = mandatory(
            "registeredResidentIdentification",
            request.registered_resident_identification.as_deref(),
        )?;
        let service_domain = mandatory("serviceDomain", request.service_domain.as_deref())?;
        let fields = [
            ("registeredResidentIdentification", Some(resident), 32),
            ("serviceDomain", Some(service_domain), 255),
            ("categorization", request.categorization.as_deref(), 255),
            ("logicalAddress", request.logical_address.as_deref(), 64),
            (
                "businessObjectInstanceIdentifier",
                request.business_object_instance_identifier.as_deref(),
                128,
            ),
            (
                "clinicalProcessInterestId",
                request.clinical_process_interest_id.as_deref(),
                128,
            ),
            (
                "mostRecentContent",
                request.most_recent_content.as_deref(),
                TIMESTAMP_LENGTH,
            ),
            ("sourceSystem", request.source_system.as_deref(), 64),
            ("dataController", request.data_controller.as_deref(), 64),
            ("owner", request.owner.as_deref(), 64),
        ];
        check_fields(&fields)?;
        Ok(Self {
            registered_resident_identification: resident_number(
                "registeredResidentIdentification",
                resident,
            )?,
            service_domain: service_domain.to_owned(),
            categorization: request.categorization.clone(),
            logical_address: request.logical_address.clone(),
            business_object_instance_identifier: request
                .business_object_instance_identifier
                .clone(),
            clinical_process_interest_id: request.clinical_process_interest_id.clone(),
            most_recent_content: optional_time(
                "mostRecentContent",
                request.most_recent_content.as_deref(),
            )?,
            source_system: request.source_system.clone(),
            data_controller: request.data_controller.clone(),
            owner: request.owner.clone(),
        })
    }
}

/// At most this many residents in one GetUpdates answer.
pub const MAX_RESIDENTS_PER_PAGE: usize = 500;

/// GetUpdates' selection: the engagements of a domain created or changed here at or after
/// `changed_since`, for residents after `after_resident`, in resident order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdatesQuery {
    pub service_domain: String,
    pub changed_since: DateTime<Utc>,
    pub after_resident: Option<PersonalIdentityNumber>,
}

impl UpdatesQuery {
    /// serviceDomain, then timeStamp, must be given and not blank (EI000); then no field
    /// carries a control character, the domain is at most 255 characters, and the time and
    /// the resident's format are valid (EI004).
    pub fn from_submitted(request: &SubmittedUpdatesQuery) -> Result<Self, ValidationError> {
        let service_domain = mandatory("serviceDomain", request.service_domain.as_deref())?;
        let time_stamp = mandatory("timeStamp", request.time_stamp.as_deref())?;
        check_fields(&[
            ("serviceDomain", Some(service_domain), 255),
            ("timeStamp", Some(time_stamp), TIMESTAMP_LENGTH),
            (
                "registeredResidentLastFetched",
                request.registered_resident_last_fetched.as_deref(),
                32,
            ),
        ])?;
        let changed_since = parse_ei_time(time_stamp)
            .map_err(|error| ValidationError::bad_time("timeStamp", &error))?;
        let after_resident = match request.registered_resident_last_fetched.as_deref() {
            None | Some("") => None,
            Some(value) => Some(resident_number("registeredResidentLastFetched", value)?),
        };
        Ok(Self {
            service_domain: service_domain.to_owned(),
            changed_since,
            after_resident,
        })
    }
}

/// One resident's changed engagements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResidentEngagements {
    pub registered_resident_identification: PersonalIdentityNumber,
    pub engagements: Vec<Engagement>,
}

/// A GetUpdates answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdatesPage {
    pub residents: Vec<ResidentEngagements>,
    /// False when more residents remain after the last one of this page.
    pub complete: bool,
}

impl UpdatesPage {
    /// Groups `engagements`, ordered by resident, per resident.
    pub fn group(engagements: Vec<Engagement>, complete: bool) -> Self {
        let mut residents: Vec<ResidentEngagements> = Vec::new();
        for engagement in engagements {
            let resident = &engagement.key.registered_resident_identification;
            match residents.last_mut() {
                Some(last) if &last.registered_resident_identification == resident => {
                    last.engagements.push(engagement);
                }
                _ => residents.push(ResidentEngagements {
                    registered_resident_identification: resident.clone(),
                    engagements: vec![engagement],
                }),
            }
        }
        Self {
            residents,
            complete,
        }
    }
}

/// Given and not blank (empty or spaces only; a control character is not blank, it is
/// refused as such).
fn mandatory<'a>(field: &str, value: Option<&'a str>) -> Result<&'a str, ValidationError> {
    match value {
        Some(value) if !value.trim_matches(' ').is_empty() => Ok(value),
        _ => Err(ValidationError::mandatory_but_missing(field)),
    }
}

const TIMESTAMP_LENGTH: usize = 14;

/// Control characters in every field first, then lengths in characters, as Update checks
/// them.
fn check_fields(fields: &[(&str, Option<&str>, usize)]) -> Result<(), ValidationError> {
    for (name, value, _) in fields {
        if value.is_some_and(|v| forbidden_character(v, TextKind::Identifier).is_some()) {
            return Err(ValidationError::control_character(name));
        }
    }
    for (name, value, max) in fields {
        if value.is_some_and(|v| v.chars().count() > *max) {
            return Err(ValidationError::too_long(name));
        }
    }
    Ok(())
}

fn resident_number(field: &str, value: &str) -> Result<PersonalIdentityNumber, ValidationError> {
    PersonalIdentityNumber::parse(value).map_err(|_| ValidationError::not_a_resident(field))
}

fn optional_time(
    field: &str,
    value: Option<&str>,
) -> Result<Option<DateTime<Utc>>, ValidationError> {
    match value {
        None | Some("") => Ok(None),
        Some(value) => parse_ei_time(value)
            .map(Some)
            .map_err(|error| ValidationError::bad_time(field, &error)),
    }
}
