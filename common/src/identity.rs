//! Validated identifiers: personal identity numbers (never shown whole in logs) and HSA-ids.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "a personal identity number is 12 characters: 8 digits, then 4 digits or letters (A-Z, p, t, f)"
    )]
    PersonalIdentityNumber,
    #[error("an HSA-id is 1 to 64 printable characters without spaces")]
    HsaId,
}

/// A Swedish personal identity number as RIV-TA carries it: personnummer `YYYYMMDDNNNC`,
/// samordningsnummer (day + 60) or national reserve number, `^[0-9]{8}[0-9A-Zptf]{4}$`.
///
/// `Debug` and `Display` show it masked (`19121212****`); use [`Self::as_str`] where the whole
/// number must go (a database column, an outgoing contract field), never into a log.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonalIdentityNumber(String);

impl PersonalIdentityNumber {
    pub fn parse(value: &str) -> Result<Self, IdentityError> {
        if is_personal_identity_number(value) {
            Ok(Self(value.to_owned()))
        } else {
            Err(IdentityError::PersonalIdentityNumber)
        }
    }

    /// The whole number. Do not log it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// True when `value` has the format api.md §1 requires.
pub fn is_personal_identity_number(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 12
        && bytes[..8].iter().all(u8::is_ascii_digit)
        && bytes[8..].iter().all(|b| {
            b.is_ascii_digit() || b.is_ascii_uppercase() || matches!(b, b'p' | b't' | b'f')
        })
}

/// Masks anything that may be an identity number: keeps the first 8 characters (the birth
/// date), replaces the rest with `*`. Short values are masked whole.
pub fn mask(value: &str) -> String {
    let kept: String = value.chars().take(8).collect();
    if value.chars().count() <= 8 {
        return "*".repeat(value.chars().count());
    }
    format!("{kept}****")
}

impl std::fmt::Debug for PersonalIdentityNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PersonalIdentityNumber({})", self.masked())
    }
}

impl std::fmt::Display for PersonalIdentityNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

impl TryFrom<String> for PersonalIdentityNumber {
    type Error = IdentityError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if is_personal_identity_number(&value) {
            Ok(Self(value))
        } else {
            Err(IdentityError::PersonalIdentityNumber)
        }
    }
}

impl From<PersonalIdentityNumber> for String {
    fn from(value: PersonalIdentityNumber) -> Self {
        value.0
    }
}

/// An HSA-id (`SE2321000016-1HZ3`): the identity of a care unit, a system or a person in the
/// Swedish HSA catalogue. Test set-ups use free-form ids (`ei-hsa-id`), so only the shape is
/// checked: 1 to 64 printable ASCII characters, no spaces.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HsaId(String);

impl HsaId {
    pub fn parse(value: &str) -> Result<Self, IdentityError> {
        Self::try_from(value.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for HsaId {
    type Error = IdentityError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let ok = (1..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(value))
        } else {
            Err(IdentityError::HsaId)
        }
    }
}

impl From<HsaId> for String {
    fn from(value: HsaId) -> Self {
        value.0
    }
}

impl std::fmt::Display for HsaId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for HsaId {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_three_national_formats() {
        for ok in [
            "191212121212",
            "197010632391",
            "22501207TF34",
            "20121212121p",
        ] {
            assert!(PersonalIdentityNumber::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_wrong_shapes() {
        for bad in [
            "19121212121",
            "1912121212123",
            "19121212-1212",
            "1912121a1212",
            "19121212121x",
            "",
        ] {
            assert!(PersonalIdentityNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_and_display_mask_the_number() {
        let pin = PersonalIdentityNumber::parse("191212121212").unwrap();
        assert_eq!(pin.to_string(), "19121212****");
        assert_eq!(format!("{pin:?}"), "PersonalIdentityNumber(19121212****)");
        assert_eq!(pin.as_str(), "191212121212");
    }

    #[test]
    fn serde_round_trips_and_validates() {
        let pin: PersonalIdentityNumber = serde_json::from_str("\"191212121212\"").unwrap();
        assert_eq!(serde_json::to_string(&pin).unwrap(), "\"191212121212\"");
        assert!(serde_json::from_str::<PersonalIdentityNumber>("\"1912\"").is_err());
    }

    #[test]
    fn hsa_ids_are_printable_and_bounded() {
        assert!(HsaId::parse("SE2321000016-1HZ3").is_ok());
        assert!(HsaId::parse("").is_err());
        assert!(HsaId::parse("SE 1").is_err());
        assert!(HsaId::parse(&"x".repeat(65)).is_err());
    }
}
