//! What the contracts' requests and responses share.

use common::identity::{HsaId, PersonalIdentityNumber};
use common::problem::Problem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The outcome of a contract call (RIV-TA ResultCodeEnum).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ResultCode {
    /// Done.
    Ok,
    /// Done, with a `comment` to show.
    Info,
    /// Refused; `comment` says why.
    Error,
}

/// 400 naming the field at fault, as every validation answer of this service does.
pub fn invalid(field: &str, reason: impl std::fmt::Display) -> Problem {
    Problem::bad_request("INVALID_REQUEST", format!("{field}: {reason}"))
}

/// A mandatory field's value, or 400 naming it.
pub fn required<T>(value: Option<T>, field: &str) -> Result<T, Problem> {
    value.ok_or_else(|| invalid(field, "mandatory field is missing"))
}

pub fn personal_identity_number(
    value: Option<&str>,
    field: &str,
) -> Result<PersonalIdentityNumber, Problem> {
    PersonalIdentityNumber::parse(required(value, field)?).map_err(|error| invalid(field, error))
}

pub fn hsa_id(value: Option<&str>, field: &str) -> Result<HsaId, Problem> {
    HsaId::parse(required(value, field)?).map_err(|error| invalid(field, error))
}

/// An optional text where an empty string means absent (RIV-TA clients often send empty
/// elements for absent ones).
pub fn optional(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}
