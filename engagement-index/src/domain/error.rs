//! The engagement index's validation errors, EI000–EI006, with skltp's wording (its typos
//! corrected: "error message", "too long", "Minimum").

/// A refused request. `Display` is the full message, `EI00x: ...`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("EI000: A technical error has occurred, error message: {0}")]
    Technical(String),
    #[error(
        "EI002: EngagementTransaction #{first} and #{second} have the same key. That is not allowed. See rule for Update-R1 in service contract"
    )]
    DuplicateKey { first: usize, second: usize },
    #[error(
        "EI003: Invalid routing. Logical address is {logical_address} but the owner is {owner}. They must be the same. See rule for Update-R7 in service contract"
    )]
    InvalidRouting {
        logical_address: String,
        owner: String,
    },
    #[error("EI004: The payload does not validate, error message: {0}")]
    Invalid(String),
    #[error(
        "EI005: The logicalAddress in EngagementTransaction #{index} is reserved and not allowed, hsa-id: {hsa_id}"
    )]
    ReservedLogicalAddress { index: usize, hsa_id: String },
    #[error(
        "EI006: The sourceSystem in EngagementTransaction #{index} is reserved and not allowed, hsa-id: {hsa_id}"
    )]
    ReservedSourceSystem { index: usize, hsa_id: String },
}

impl ValidationError {
    /// The stable machine code: the problem document's `code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Technical(_) => "EI000",
            Self::DuplicateKey { .. } => "EI002",
            Self::InvalidRouting { .. } => "EI003",
            Self::Invalid(_) => "EI004",
            Self::ReservedLogicalAddress { .. } => "EI005",
            Self::ReservedSourceSystem { .. } => "EI006",
        }
    }

    pub(crate) fn missing(field: &str) -> Self {
        Self::Invalid(format!("mandatory field \"{field}\" is missing"))
    }

    pub(crate) fn white_space(field: &str) -> Self {
        Self::Invalid(format!(
            "mandatory field \"{field}\" contains white space in beginning or end"
        ))
    }

    /// skltp has no such rule; worded as its white-space rule (api.md §5).
    pub(crate) fn control_character(field: &str) -> Self {
        Self::Invalid(format!("Field \"{field}\" contains a control character"))
    }

    pub(crate) fn too_long(field: &str) -> Self {
        Self::Invalid(format!("Field \"{field}\" is too long"))
    }

    pub(crate) fn not_a_resident(field: &str) -> Self {
        Self::Invalid(format!(
            "Field \"{field}\" is not a personal identity number (12 characters: 8 digits, then 4 digits or letters A-Z, p, t, f)"
        ))
    }

    pub(crate) fn bad_time(field: &str, error: &common::riv_time::TimeFormatError) -> Self {
        Self::Invalid(format!("Field \"{field}\": {error}"))
    }

    pub(crate) fn mandatory_but_missing(field: &str) -> Self {
        Self::Technical(format!("{field} is mandatory but missing"))
    }
}
