//! Validation of Update and ProcessNotification requests, in skltp's order (skltp-ei §2.1):
//! routing header (Update only), count, then for each transaction in turn: unique key, control
//! characters (api.md §5), white space, reserved HSA-ids, mandatory fields, lengths,
//! timestamps, identity-number format.
//! The first failure wins; a request that fails stores nothing.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{DateTime, Utc};
use common::hygiene::{TextKind, forbidden_character};
use common::identity::PersonalIdentityNumber;
use common::riv_time::{self, TimeFormatError};

use super::engagement::{EngagementKey, NOT_APPLICABLE};
use super::error::ValidationError;
use super::submitted::{SubmittedEngagement, SubmittedTransaction};

/// At most this many transactions in one Update or ProcessNotification (national kR3).
pub const MAX_TRANSACTIONS: usize = 1000;

/// What validation needs to know of this index.
#[derive(Clone, Copy, Debug)]
pub struct IndexIdentity<'a> {
    /// The owner of everything posted with Update, and the logical address Update goes to.
    pub hsa_id: &'a str,
    /// A second logical address Update may be sent to.
    pub alternative_hsa_id: Option<&'a str>,
    /// Refused as logicalAddress (EI005) and sourceSystem (EI006); empty turns the check off.
    pub reserved_hsa_ids: &'a [String],
}

/// A transaction that passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidTransaction {
    pub delete: bool,
    /// For Update the owner is already this index (rule R6).
    pub key: EngagementKey,
    pub most_recent_content: Option<DateTime<Utc>>,
    /// Kept for ProcessNotification, where they are mandatory; always `None` for Update,
    /// whose client-sent times are ignored.
    pub creation_time: Option<DateTime<Utc>>,
    pub update_time: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Contract {
    Update,
    ProcessNotification,
}

/// Validates an Update. `logical_address` is the `x-rivta-logical-address` header: when
/// present it must name this index (rule R7), and it is checked before anything else.
pub fn validate_update(
    index: &IndexIdentity<'_>,
    logical_address: Option<&str>,
    transactions: &[Option<SubmittedTransaction>],
) -> Result<Vec<ValidTransaction>, ValidationError> {
    if let Some(address) = logical_address {
        let addressed_here = address == index.hsa_id || Some(address) == index.alternative_hsa_id;
        if !addressed_here {
            return Err(ValidationError::InvalidRouting {
                logical_address: if address.is_empty() {
                    String::from("missing")
                } else {
                    address.to_owned()
                },
                owner: index.hsa_id.to_owned(),
            });
        }
    }
    validate(index, Contract::Update, transactions)
}

/// Validates a ProcessNotification: as Update, without the routing rule, and with owner,
/// creationTime and updateTime mandatory.
pub fn validate_process_notification(
    index: &IndexIdentity<'_>,
    transactions: &[Option<SubmittedTransaction>],
) -> Result<Vec<ValidTransaction>, ValidationError> {
    validate(index, Contract::ProcessNotification, transactions)
}

fn validate(
    index: &IndexIdentity<'_>,
    contract: Contract,
    transactions: &[Option<SubmittedTransaction>],
) -> Result<Vec<ValidTransaction>, ValidationError> {
    if transactions.len() > MAX_TRANSACTIONS {
        return Err(ValidationError::Technical(format!(
            "The request contains more than {MAX_TRANSACTIONS} engagements. Maximum number of engagements per request is {MAX_TRANSACTIONS}."
        )));
    }
    if transactions.is_empty() {
        return Err(ValidationError::Technical(String::from(
            "The request contains less than 1 engagements. Minimum number of engagements per request is 1.",
        )));
    }
    let mut seen: HashMap<[String; 9], usize> = HashMap::with_capacity(transactions.len());
    let mut valid = Vec::with_capacity(transactions.len());
    for (position, transaction) in transactions.iter().enumerate() {
        let number = position + 1;
        // Without an engagement there is no key to compare; skltp failed with a
        // NullPointerException here.
        let Some((delete_flag, engagement)) = transaction
            .as_ref()
            .and_then(|t| t.engagement.as_ref().map(|e| (t.delete_flag, e)))
        else {
            return Err(ValidationError::missing("engagement"));
        };
        match seen.entry(comparison_key(engagement, contract, index.hsa_id)) {
            Entry::Occupied(first) => {
                return Err(ValidationError::DuplicateKey {
                    first: *first.get(),
                    second: number,
                });
            }
            Entry::Vacant(slot) => {
                slot.insert(number);
            }
        }
        valid.push(check_transaction(
            index,
            contract,
            number,
            delete_flag,
            engagement,
        )?);
    }
    Ok(valid)
}

/// The key as skltp compares it before anything else is checked: empty categorization,
/// businessObjectInstanceIdentifier and clinicalProcessInterestId count as `NA`. For Update
/// the owner is this index, since the client's owner is ignored (so two entries differing only
/// in a client-sent owner are duplicates, not two posts).
fn comparison_key(
    engagement: &SubmittedEngagement,
    contract: Contract,
    own_hsa_id: &str,
) -> [String; 9] {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let or_not_applicable = |value: &Option<String>| match value.as_deref() {
        None | Some("") => String::from(NOT_APPLICABLE),
        Some(v) => v.to_owned(),
    };
    let owner = match contract {
        Contract::Update => own_hsa_id.to_owned(),
        Contract::ProcessNotification => text(&engagement.owner),
    };
    [
        text(&engagement.registered_resident_identification),
        text(&engagement.service_domain),
        or_not_applicable(&engagement.categorization),
        text(&engagement.logical_address),
        or_not_applicable(&engagement.business_object_instance_identifier),
        or_not_applicable(&engagement.clinical_process_interest_id),
        text(&engagement.source_system),
        text(&engagement.data_controller),
        owner,
    ]
}

/// The eight key fields a client always sends, in skltp's checking order, with their maximum
/// lengths.
fn key_fields(engagement: &SubmittedEngagement) -> [(&'static str, Option<&str>, usize); 8] {
    [
        (
            "registeredResidentIdentification",
            engagement.registered_resident_identification.as_deref(),
            32,
        ),
        ("serviceDomain", engagement.service_domain.as_deref(), 255),
        ("categorization", engagement.categorization.as_deref(), 255),
        ("logicalAddress", engagement.logical_address.as_deref(), 64),
        (
            "businessObjectInstanceIdentifier",
            engagement.business_object_instance_identifier.as_deref(),
            128,
        ),
        (
            "clinicalProcessInterestId",
            engagement.clinical_process_interest_id.as_deref(),
            128,
        ),
        ("sourceSystem", engagement.source_system.as_deref(), 64),
        ("dataController", engagement.data_controller.as_deref(), 64),
    ]
}

fn time_fields(engagement: &SubmittedEngagement) -> [(&'static str, Option<&str>); 3] {
    [
        (
            "mostRecentContent",
            engagement.most_recent_content.as_deref(),
        ),
        ("creationTime", engagement.creation_time.as_deref()),
        ("updateTime", engagement.update_time.as_deref()),
    ]
}

const TIMESTAMP_LENGTH: usize = 14;
const OWNER_MAX_LENGTH: usize = 64;

fn check_transaction(
    index: &IndexIdentity<'_>,
    contract: Contract,
    number: usize,
    delete_flag: Option<bool>,
    engagement: &SubmittedEngagement,
) -> Result<ValidTransaction, ValidationError> {
    let fields = key_fields(engagement);
    let owner = ("owner", engagement.owner.as_deref());
    let notified = contract == Contract::ProcessNotification;

    // No field carries a control character (api.md §5), ignored ones included: nothing
    // PostgreSQL would refuse or SQLite would keep reaches either.
    let every_field = fields
        .iter()
        .map(|(name, value, _)| (*name, *value))
        .chain(std::iter::once(owner))
        .chain(time_fields(engagement));
    for (name, value) in every_field {
        if value.is_some_and(|v| forbidden_character(v, TextKind::Identifier).is_some()) {
            return Err(ValidationError::control_character(name));
        }
    }

    // b. Leading or trailing white space. A value of white space only passes, as in skltp.
    // White space is the space character: the others below it are control characters, refused
    // above, and Java's trim() (skltp) removes nothing else.
    let spaced = fields
        .iter()
        .map(|(name, value, _)| (*name, *value))
        .chain(notified.then_some(owner));
    for (name, value) in spaced {
        if value.is_some_and(has_surrounding_space) {
            return Err(ValidationError::white_space(name));
        }
    }

    // c. Reserved HSA-ids: loops through aggregating services are refused.
    if let Some(address) = engagement.logical_address.as_deref()
        && index.reserved_hsa_ids.iter().any(|id| id == address)
    {
        return Err(ValidationError::ReservedLogicalAddress {
            index: number,
            hsa_id: address.to_owned(),
        });
    }
    if let Some(system) = engagement.source_system.as_deref()
        && index.reserved_hsa_ids.iter().any(|id| id == system)
    {
        return Err(ValidationError::ReservedSourceSystem {
            index: number,
            hsa_id: system.to_owned(),
        });
    }

    // d. Mandatory fields: absent or empty.
    let mut mandatory: Vec<(&str, Option<&str>)> = fields
        .iter()
        .map(|(name, value, _)| (*name, *value))
        .collect();
    if notified {
        mandatory.push(owner);
        mandatory.push(("creationTime", engagement.creation_time.as_deref()));
        mandatory.push(("updateTime", engagement.update_time.as_deref()));
    }
    for (name, value) in mandatory {
        if value.is_none_or(str::is_empty) {
            return Err(ValidationError::missing(name));
        }
    }
    let Some(delete) = delete_flag else {
        return Err(ValidationError::missing("deleteFlag"));
    };

    // e. Lengths, in characters.
    let lengths = fields
        .iter()
        .copied()
        .chain(std::iter::once((owner.0, owner.1, OWNER_MAX_LENGTH)))
        .chain(
            time_fields(engagement)
                .into_iter()
                .map(|(name, value)| (name, value, TIMESTAMP_LENGTH)),
        );
    for (name, value, max) in lengths {
        if value.is_some_and(|v| v.chars().count() > max) {
            return Err(ValidationError::too_long(name));
        }
    }

    // f. Timestamps: strict YYYYMMDDhhmmss naming a real Swedish local time. An empty string
    // counts as absent (skltp SKLTP-1044).
    let [most_recent_content, creation_time, update_time] =
        time_fields(engagement).map(|(name, value)| parse_time(name, value));
    let (most_recent_content, creation_time, update_time) =
        (most_recent_content?, creation_time?, update_time?);

    // g. The resident's identity-number format (api.md §1).
    let resident = engagement
        .registered_resident_identification
        .as_deref()
        .unwrap_or_default();
    let registered_resident_identification = PersonalIdentityNumber::parse(resident)
        .map_err(|_| ValidationError::not_a_resident("registeredResidentIdentification"))?;

    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let key = EngagementKey {
        registered_resident_identification,
        service_domain: text(&engagement.service_domain),
        categorization: text(&engagement.categorization),
        logical_address: text(&engagement.logical_address),
        business_object_instance_identifier: text(&engagement.business_object_instance_identifier),
        clinical_process_interest_id: text(&engagement.clinical_process_interest_id),
        source_system: text(&engagement.source_system),
        data_controller: text(&engagement.data_controller),
        owner: match contract {
            Contract::Update => index.hsa_id.to_owned(),
            Contract::ProcessNotification => text(&engagement.owner),
        },
    };
    Ok(match contract {
        Contract::Update => ValidTransaction {
            delete,
            key,
            most_recent_content,
            creation_time: None,
            update_time: None,
        },
        Contract::ProcessNotification => ValidTransaction {
            delete,
            key,
            most_recent_content,
            creation_time,
            update_time,
        },
    })
}

/// Leading or trailing spaces around something else than spaces.
pub(crate) fn has_surrounding_space(value: &str) -> bool {
    let trimmed = value.trim_matches(' ');
    !trimmed.is_empty() && trimmed != value
}

fn parse_time(name: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, ValidationError> {
    match value {
        None | Some("") => Ok(None),
        Some(value) => parse_ei_time(value)
            .map(Some)
            .map_err(|error| ValidationError::bad_time(name, &error)),
    }
}

/// A wire timestamp as UTC (strict: common::riv_time checks the XSD's `TS` pattern). A
/// leap second (`60`), which the parser reads, is refused as the pattern does.
pub fn parse_ei_time(value: &str) -> Result<DateTime<Utc>, TimeFormatError> {
    if value.len() == 14 && value.ends_with("60") {
        return Err(TimeFormatError {
            format: riv_time::EI_TIMESTAMP,
            value: value.to_owned(),
        });
    }
    riv_time::ei_timestamp_to_utc(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> IndexIdentity<'static> {
        IndexIdentity {
            hsa_id: "ei-hsa-id",
            alternative_hsa_id: Some("ei-alternative"),
            reserved_hsa_ids: &[],
        }
    }

    fn engagement(n: u32) -> SubmittedEngagement {
        SubmittedEngagement {
            registered_resident_identification: Some(format!("19121212{n:04}")),
            service_domain: Some("TEST-DOMAIN".into()),
            categorization: Some("TEST-CATEGORY".into()),
            logical_address: Some(format!("LA-{n}")),
            business_object_instance_identifier: Some("BOII".into()),
            clinical_process_interest_id: Some("NA".into()),
            source_system: Some("SOURCE".into()),
            data_controller: Some("CONTROLLER".into()),
            ..SubmittedEngagement::default()
        }
    }

    fn transaction(engagement: SubmittedEngagement) -> SubmittedTransaction {
        SubmittedTransaction {
            delete_flag: Some(false),
            engagement: Some(engagement),
        }
    }

    #[test]
    fn the_routing_header_may_name_either_id_of_this_index() {
        let one = [Some(transaction(engagement(1)))];
        assert!(validate_update(&index(), Some("ei-hsa-id"), &one).is_ok());
        assert!(validate_update(&index(), Some("ei-alternative"), &one).is_ok());
        assert!(validate_update(&index(), None, &one).is_ok());
        assert_eq!(
            validate_update(&index(), Some(""), &one).unwrap_err(),
            ValidationError::InvalidRouting {
                logical_address: "missing".into(),
                owner: "ei-hsa-id".into()
            }
        );
    }

    #[test]
    fn update_owner_is_this_index_whatever_the_client_sent() {
        let mut sent = engagement(1);
        sent.owner = Some("someone-else".into());
        sent.creation_time = Some("20200101120000".into());
        let valid = validate_update(&index(), None, &[Some(transaction(sent))]).unwrap();
        assert_eq!(valid[0].key.owner, "ei-hsa-id");
        assert_eq!(valid[0].creation_time, None);
    }

    #[test]
    fn entries_differing_only_in_client_owner_are_duplicates_in_update() {
        let mut first = engagement(1);
        first.owner = Some("a".into());
        let mut second = engagement(1);
        second.owner = Some("b".into());
        let error = validate_update(
            &index(),
            None,
            &[Some(transaction(first)), Some(transaction(second))],
        )
        .unwrap_err();
        assert_eq!(error.code(), "EI002");
    }

    #[test]
    fn a_timestamp_year_may_not_start_with_zero() {
        assert!(parse_ei_time("00000101000000").is_err());
        assert!(parse_ei_time("20240101000000").is_ok());
    }

    #[test]
    fn a_leap_second_is_not_a_timestamp() {
        assert!(parse_ei_time("20161231235960").is_err());
        assert!(parse_ei_time("20161231235959").is_ok());
    }

    #[test]
    fn a_control_character_in_any_field_is_ei004_after_the_duplicate_check() {
        let mut bad = engagement(1);
        bad.owner = Some("owner\u{0}".into());
        let error = validate_update(&index(), None, &[Some(transaction(bad.clone()))]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "EI004: The payload does not validate, error message: Field \"owner\" contains a control character"
        );
        // The second repeats the first's key: EI002 comes before its own control character.
        let mut repeated = engagement(1);
        repeated.most_recent_content = Some("2024\u{0}".into());
        let twice = [
            Some(transaction(engagement(1))),
            Some(transaction(repeated)),
        ];
        assert_eq!(
            validate_update(&index(), None, &twice).unwrap_err().code(),
            "EI002"
        );
        let mut spaced = engagement(2);
        spaced.service_domain = Some(" x\t".into());
        assert_eq!(
            validate_update(&index(), None, &[Some(transaction(spaced))])
                .unwrap_err()
                .to_string(),
            "EI004: The payload does not validate, error message: Field \"serviceDomain\" contains a control character"
        );
    }

    #[test]
    fn only_the_space_character_counts_as_surrounding_white_space() {
        assert!(has_surrounding_space(" x"));
        assert!(has_surrounding_space("x "));
        assert!(!has_surrounding_space("   "));
        assert!(!has_surrounding_space("\u{a0}x"));
        assert!(!has_surrounding_space("x"));
    }
}
