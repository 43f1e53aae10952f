//! Test citizens: who can sign in, whether they use the portal, and how they want to be told
//! about new messages.

use common::identity::PersonalIdentityNumber;
use uuid::Uuid;

/// The opaque identity of a test citizen: what admin URLs and sign-in forms carry instead of
/// the personal identity number (api.md §1: identity numbers never go into URLs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CitizenId(Uuid);

impl CitizenId {
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    pub fn as_uuid(self) -> Uuid {
        self.0
    }

    /// `None` for anything that is not a UUID (callers treat it as an unknown citizen).
    pub fn parse(value: &str) -> Option<Self> {
        Uuid::parse_str(value).ok().map(Self)
    }
}

impl Default for CitizenId {
    fn default() -> Self {
        Self::new()
    }
}

impl From<Uuid> for CitizenId {
    fn from(value: Uuid) -> Self {
        Self(value)
    }
}

impl std::fmt::Display for CitizenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Longest name kept (the PostgreSQL column's width).
pub const NAME_MAX_CHARS: usize = 200;
/// Longest phone number, separators included (the PostgreSQL column's width).
pub const PHONE_MAX_CHARS: usize = 32;
/// Longest e-mail address (RFC 5321's path limit).
pub const EMAIL_MAX_CHARS: usize = 254;

/// Why a citizen's details cannot be kept. Each names the detail at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CitizenError {
    #[error("name: must not be empty")]
    EmptyName,
    #[error("name: at most {NAME_MAX_CHARS} characters")]
    NameTooLong,
    #[error(
        "phone: a phone number is 5 to 20 digits, optionally starting with + and grouped by spaces or hyphens"
    )]
    Phone,
    #[error(
        "email: an e-mail address is local@domain without spaces, at most {EMAIL_MAX_CHARS} characters"
    )]
    Email,
    #[error("phone: SMS notification is on, so a phone number is needed")]
    SmsWithoutPhone,
    #[error("email: e-mail notification is on, so an e-mail address is needed")]
    EmailWithoutAddress,
}

impl CitizenError {
    /// The detail at fault, as the admin contract and the configuration name it.
    pub fn field(&self) -> &'static str {
        match self {
            Self::EmptyName | Self::NameTooLong => "name",
            Self::Phone | Self::SmsWithoutPhone => "phone",
            Self::Email | Self::EmailWithoutAddress => "email",
        }
    }
}

/// Everything about a test citizen except the opaque id: what the configuration and the admin
/// endpoints set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CitizenProfile {
    pub personal_identity_number: PersonalIdentityNumber,
    pub name: String,
    /// Uses the portal: can receive inbox messages.
    pub active: bool,
    pub notification_sms: bool,
    pub notification_email: bool,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl CitizenProfile {
    /// Checks the details and trims the name; an empty phone or e-mail means none. The
    /// lengths are of what was given, before trimming, as the contract's schema says.
    pub fn validated(mut self) -> Result<Self, CitizenError> {
        if self.name.chars().count() > NAME_MAX_CHARS {
            return Err(CitizenError::NameTooLong);
        }
        self.name = self.name.trim().to_owned();
        if self.name.is_empty() {
            return Err(CitizenError::EmptyName);
        }
        self.phone = self.phone.filter(|v| !v.is_empty());
        self.email = self.email.filter(|v| !v.is_empty());
        if let Some(phone) = &self.phone
            && !is_phone_number(phone)
        {
            return Err(CitizenError::Phone);
        }
        if let Some(email) = &self.email
            && !is_email_address(email)
        {
            return Err(CitizenError::Email);
        }
        if self.notification_sms && self.phone.is_none() {
            return Err(CitizenError::SmsWithoutPhone);
        }
        if self.notification_email && self.email.is_none() {
            return Err(CitizenError::EmailWithoutAddress);
        }
        Ok(self)
    }
}

/// 5 to 20 digits, optionally starting with +, digits grouped by single spaces or hyphens:
/// `^\+?[0-9](?:[ -]?[0-9]){4,19}$`, at most [`PHONE_MAX_CHARS`] characters in all.
fn is_phone_number(value: &str) -> bool {
    let body = value.strip_prefix('+').unwrap_or(value);
    let bytes = body.as_bytes();
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
    (5..=20).contains(&digits)
        && value.len() <= PHONE_MAX_CHARS
        && bytes.first().is_some_and(u8::is_ascii_digit)
        && bytes.last().is_some_and(u8::is_ascii_digit)
        && bytes
            .iter()
            .all(|b| b.is_ascii_digit() || *b == b' ' || *b == b'-')
        && !bytes
            .windows(2)
            .any(|pair| !pair[0].is_ascii_digit() && !pair[1].is_ascii_digit())
}

/// `local@domain`: no space, control character or second `@`; the domain has at least two
/// labels, none empty.
fn is_email_address(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let allowed = |c: char| c > ' ' && c != '\u{7F}' && c != '@';
    value.chars().count() <= EMAIL_MAX_CHARS
        && !local.is_empty()
        && local.chars().all(allowed)
        && domain.contains('.')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && label.chars().all(allowed))
}

/// A test citizen as kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Citizen {
    pub id: CitizenId,
    pub profile: CitizenProfile,
}

impl Citizen {
    /// Whether AddMessageToPatientPortalInbox should send an SMS: only a citizen who uses the
    /// portal is notified, whatever the switch says.
    pub fn notified_by_sms(&self) -> bool {
        self.profile.active && self.profile.notification_sms
    }

    pub fn notified_by_email(&self) -> bool {
        self.profile.active && self.profile.notification_email
    }
}

/// The test citizens a fresh portal knows: Skatteverket-style test personal identity numbers
/// with valid check digits, covering each combination the contracts answer differently.
pub fn default_test_citizens() -> Vec<CitizenProfile> {
    let citizen =
        |pin: &str, name: &str, active: bool, phone: Option<&str>, email: Option<&str>| {
            CitizenProfile {
                personal_identity_number: PersonalIdentityNumber::parse(pin)
                    .expect("the default test citizens have valid numbers"),
                name: name.to_owned(),
                active,
                notification_sms: phone.is_some(),
                notification_email: email.is_some(),
                phone: phone.map(str::to_owned),
                email: email.map(str::to_owned),
            }
        };
    // Phone numbers are from the series PTS reserves for fiction; e-mail domains are RFC 2606's.
    vec![
        citizen(
            "191212121212",
            "Tolvan Tolvansson",
            true,
            Some("+46701740605"),
            Some("tolvan.tolvansson@example.com"),
        ),
        citizen(
            "201212121212",
            "Tolva Tolvansson",
            true,
            None,
            Some("tolva.tolvansson@example.com"),
        ),
        citizen(
            "199001012385",
            "Lena Andersson",
            true,
            Some("+46701740606"),
            None,
        ),
        citizen("198507099805", "Sara Lind", true, None, None),
        citizen("197001012389", "Karin Berg", false, None, None),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> CitizenProfile {
        CitizenProfile {
            personal_identity_number: PersonalIdentityNumber::parse("191212121212").unwrap(),
            name: "  Tolvan Tolvansson ".into(),
            active: true,
            notification_sms: false,
            notification_email: false,
            phone: Some(String::new()),
            email: None,
        }
    }

    #[test]
    fn trims_names_and_drops_empty_contact_details() {
        let valid = profile().validated().unwrap();
        assert_eq!(valid.name, "Tolvan Tolvansson");
        assert_eq!(valid.phone, None);
    }

    #[test]
    fn a_notification_needs_somewhere_to_go() {
        let sms = CitizenProfile {
            notification_sms: true,
            ..profile()
        };
        assert_eq!(sms.validated(), Err(CitizenError::SmsWithoutPhone));
        let email = CitizenProfile {
            notification_email: true,
            ..profile()
        };
        assert_eq!(email.validated(), Err(CitizenError::EmailWithoutAddress));
    }

    #[test]
    fn checks_the_shape_of_contact_details() {
        for (phone, ok) in [
            ("+46 70-174 06 05", true),
            ("0701740605", true),
            ("12", false),
            ("070 abc", false),
            ("++46701740605", false),
            ("070--1740605", false),
            ("-0701740605", false),
            (" 0701740605", false),
        ] {
            let result = CitizenProfile {
                phone: Some(phone.into()),
                ..profile()
            }
            .validated();
            assert_eq!(result.is_ok(), ok, "{phone}");
        }
        for (email, ok) in [
            ("a@example.com", true),
            ("a@example", false),
            ("@example.com", false),
            ("a b@example.com", false),
            ("a@.com", false),
            ("a@b@example.com", false),
            ("a@example..com", false),
            ("åsa@exempel.se", true),
        ] {
            let result = CitizenProfile {
                email: Some(email.into()),
                ..profile()
            }
            .validated();
            assert_eq!(result.is_ok(), ok, "{email}");
        }
    }

    #[test]
    fn an_empty_name_is_refused() {
        let result = CitizenProfile {
            name: "   ".into(),
            ..profile()
        }
        .validated();
        assert_eq!(result.unwrap_err().field(), "name");
    }

    #[test]
    fn the_defaults_are_valid_and_cover_every_case() {
        let defaults = default_test_citizens();
        assert!(defaults.iter().all(|c| c.clone().validated().is_ok()));
        assert!(
            defaults
                .iter()
                .any(|c| c.active && c.notification_sms && c.notification_email)
        );
        assert!(
            defaults
                .iter()
                .any(|c| c.active && !c.notification_sms && !c.notification_email)
        );
        assert!(defaults.iter().any(|c| !c.active));
    }

    #[test]
    fn an_inactive_citizen_is_never_notified() {
        let citizen = Citizen {
            id: CitizenId::new(),
            profile: CitizenProfile {
                active: false,
                notification_sms: true,
                phone: Some("0701740605".into()),
                ..profile()
            },
        };
        assert!(!citizen.notified_by_sms());
        assert!(!citizen.notified_by_email());
    }
}
