//! What the contracts' requests and responses share: result codes, and the checks every
//! request field goes through, each with the OpenAPI pattern that states it (api.md §5).

use common::hygiene::{self, TextKind};
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

/// The patterns the OpenAPI document states for the checks below. The schema attributes
/// repeat them as literals (utoipa takes no constants there); the tests keep the attributes,
/// these and the checks the same.
#[cfg(test)]
pub mod patterns {
    /// api.md §1.
    pub const PERSONAL_IDENTITY_NUMBER: &str = "^[0-9]{8}[0-9A-Zptf]{4}$";
    /// 1 to 64 printable ASCII characters, no spaces ([`common::identity::HsaId`]).
    pub const HSA_ID: &str = "^[!-~]{1,64}$";
    /// A real calendar date `YYYYMMDD` (leap years included), or empty for none.
    pub const DATE_OR_EMPTY: &str = "^(?:[0-9]{4}(?:(?:0[13578]|1[02])(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)(?:0[1-9]|[12][0-9]|30)|02(?:0[1-9]|1[0-9]|2[0-8]))|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)0229)?$";
    /// An absolute http(s) address of printable ASCII with a host, or empty for none.
    pub const LINK_OR_EMPTY: &str = "^(?:[Hh][Tt][Tt][Pp][Ss]?://[!-.0-~][!-~]*)?$";
    /// A name of a thing: no control character, not blank (some character other than
    /// whitespace, as Rust's `char::is_whitespace` has it).
    pub const TEXT: &str = "^[\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*[^\\u0000-\\u0020\\u007F\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000-\\u001F\\u007F]*$";
    /// A test citizen's phone number, or empty for none.
    pub const PHONE_OR_EMPTY: &str = "^(?:\\+?[0-9](?:[ -]?[0-9]){4,19})?$";
    /// A test citizen's e-mail address, or empty for none.
    pub const EMAIL_OR_EMPTY: &str = "^(?:[^\\u0000-\\u0020\\u007F@]+@[^\\u0000-\\u0020\\u007F@.]+(?:\\.[^\\u0000-\\u0020\\u007F@.]+)+)?$";
    /// Free text (a message body): TAB, LF and CR allowed, no other control character, not
    /// blank.
    pub const FREE_TEXT: &str = "^[\\u0009\\u000A\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*[^\\u0000-\\u0020\\u007F\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F]*$";
}

/// 400 naming the field at fault, as every validation answer of this service does.
pub fn invalid(field: &str, reason: impl std::fmt::Display) -> Problem {
    Problem::bad_request("INVALID_REQUEST", format!("{field}: {reason}"))
}

/// A mandatory field's value, or 400 naming it.
pub fn required<T>(value: Option<T>, field: &str) -> Result<T, Problem> {
    value.ok_or_else(|| invalid(field, "mandatory field is missing"))
}

/// 400 when a field carries a control character its kind may not (api.md §5), worded as the
/// shared JSON extractor (`ApiJson`), which refuses such a body first, words it. Checked again
/// with each field's own kind before its other rules, so the rule holds whatever reads the
/// request, and nothing with one reaches a database.
pub fn clean(field: &str, value: Option<&str>, kind: TextKind) -> Result<(), Problem> {
    hygiene::check_opt(field, value, kind).map_err(|error| {
        Problem::bad_request(
            "INVALID_REQUEST",
            format!("The body does not match the contract: {error}"),
        )
    })
}

pub fn personal_identity_number(
    value: Option<&str>,
    field: &str,
) -> Result<PersonalIdentityNumber, Problem> {
    clean(field, value, TextKind::Identifier)?;
    PersonalIdentityNumber::parse(required(value, field)?).map_err(|error| invalid(field, error))
}

pub fn hsa_id(value: Option<&str>, field: &str) -> Result<HsaId, Problem> {
    clean(field, value, TextKind::Identifier)?;
    HsaId::parse(required(value, field)?).map_err(|error| invalid(field, error))
}

/// An optional text where an empty string means absent (RIV-TA clients often send empty
/// elements for absent ones).
pub fn optional(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::patterns;

    fn matches(pattern: &str, value: &str) -> bool {
        regex::Regex::new(pattern).unwrap().is_match(value)
    }

    #[test]
    fn the_date_pattern_is_the_calendar() {
        let mut day = NaiveDate::from_ymd_opt(1999, 1, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(2030, 12, 31).unwrap();
        while day <= end {
            let text = day.format("%Y%m%d").to_string();
            assert!(matches(patterns::DATE_OR_EMPTY, &text), "{text}");
            day = day.succ_opt().unwrap();
        }
        for year in [0, 4, 100, 400, 1900, 2000, 2023, 2024, 2100, 9996, 9999] {
            for (month, day) in [(2, 29), (2, 30), (4, 31), (13, 1), (0, 1), (1, 0), (1, 32)] {
                let text = format!("{year:04}{month:02}{day:02}");
                assert_eq!(
                    matches(patterns::DATE_OR_EMPTY, &text),
                    common::riv_time::parse_date(&text).is_ok(),
                    "{text}"
                );
            }
        }
        assert!(matches(patterns::DATE_OR_EMPTY, ""));
        assert!(!matches(patterns::DATE_OR_EMPTY, "2099-12-31"));
    }

    #[test]
    fn the_text_patterns_say_not_blank_and_clean() {
        for (value, text, free) in [
            ("Hej", true, true),
            ("  Hej  ", true, true),
            ("", false, false),
            (" \u{3000}\u{A0}", false, false),
            ("a\nb", false, true),
            ("\t\r\n", false, false),
            ("a\u{0}", false, false),
            ("a\u{7F}", false, false),
            ("\u{FEFF}", true, true),
            ("\u{85}x", true, true),
        ] {
            let blank = value.chars().all(char::is_whitespace);
            assert_eq!(matches(patterns::TEXT, value), text, "{value:?}");
            assert_eq!(matches(patterns::FREE_TEXT, value), free, "{value:?}");
            if text || free {
                assert!(!blank, "{value:?}");
            }
        }
    }

    #[test]
    fn the_link_pattern_is_the_link_rule() {
        for value in [
            "https://portal.example/forms/1",
            "HTTP://127.0.0.1:8083/x?y=1",
            "javascript:alert(1)",
            "https://",
            "https:///path",
            "https://a b",
            "ftp://example.com",
            "https://å.se",
        ] {
            assert_eq!(
                matches(patterns::LINK_OR_EMPTY, value),
                crate::domain::message::link(value).is_ok(),
                "{value}"
            );
        }
    }

    #[test]
    fn the_document_states_these_patterns() {
        let document = serde_json::to_value(crate::api::openapi()).unwrap();
        let pattern = |schema: &str, field: &str| {
            let schema_json = &document["components"]["schemas"][schema];
            // The citizens' schemas are an allOf: the object, then the address rules.
            let object = if schema_json.get("allOf").is_some() {
                &schema_json["allOf"][0]
            } else {
                schema_json
            };
            object["properties"][field]["pattern"]
                .as_str()
                .unwrap_or_else(|| panic!("{schema}.{field} has a pattern"))
                .to_owned()
        };
        let message = "AddMessageToPatientPortalInboxRequest";
        for (schema, field, expected) in [
            (message, "subjectOfCare", patterns::PERSONAL_IDENTITY_NUMBER),
            (message, "healthcare_facility_CareUnit", patterns::HSA_ID),
            (message, "sourceSystem", patterns::HSA_ID),
            (message, "careUnitName", patterns::TEXT),
            (message, "subject", patterns::TEXT),
            (message, "body", patterns::FREE_TEXT),
            (message, "url", patterns::LINK_OR_EMPTY),
            (message, "expireDate", patterns::DATE_OR_EMPTY),
            (
                "IsActiveUserRequest",
                "subjectOfCare",
                patterns::PERSONAL_IDENTITY_NUMBER,
            ),
            (
                "NewCitizen",
                "personalIdentityNumber",
                patterns::PERSONAL_IDENTITY_NUMBER,
            ),
            ("NewCitizen", "name", patterns::TEXT),
            ("NewCitizen", "phone", patterns::PHONE_OR_EMPTY),
            ("NewCitizen", "email", patterns::EMAIL_OR_EMPTY),
            ("CitizenChange", "name", patterns::TEXT),
            ("CitizenChange", "phone", patterns::PHONE_OR_EMPTY),
            ("CitizenChange", "email", patterns::EMAIL_OR_EMPTY),
        ] {
            assert_eq!(pattern(schema, field), expected, "{schema}.{field}");
        }
    }

    #[test]
    fn the_contact_patterns_are_the_citizen_rules() {
        use crate::domain::citizen::{CitizenProfile, default_test_citizens};
        let profile = |phone: &str, email: &str| CitizenProfile {
            phone: Some(phone.to_owned()),
            email: Some(email.to_owned()),
            ..default_test_citizens().remove(0)
        };
        for phone in [
            "+46 70-174 06 05",
            "0701740605",
            "12",
            "070 abc",
            "++46701740605",
            "070--1740605",
            "-0701740605",
            " 0701740605",
            "070174060 ",
            "123456789012345678901",
            "+4",
        ] {
            assert_eq!(
                matches(patterns::PHONE_OR_EMPTY, phone),
                profile(phone, "a@example.com").validated().is_ok(),
                "{phone}"
            );
        }
        // The schema's maxLength (the column's width) bounds what the pattern allows.
        for phone in [
            "+1-2-3-4-5-6-7-8-9-0-1-2-3-4-5-6",
            "+1-2-3-4-5-6-7-8-9-0-1-2-3-4-5-6-7",
        ] {
            assert!(matches(patterns::PHONE_OR_EMPTY, phone));
            assert_eq!(
                profile(phone, "a@example.com").validated().is_ok(),
                phone.len() <= 32,
                "{phone}"
            );
        }
        for email in [
            "a@example.com",
            "a@example",
            "@example.com",
            "a b@example.com",
            "a@.com",
            "a@b@example.com",
            "a@example..com",
            "åsa@exempel.se",
            "a@example.com.",
            "a\u{a0}@x.se",
        ] {
            assert_eq!(
                matches(patterns::EMAIL_OR_EMPTY, email),
                profile("0701740605", email).validated().is_ok(),
                "{email}"
            );
        }
    }

    #[test]
    fn the_identity_patterns_are_the_parsers() {
        for value in [
            "191212121212",
            "19121212121",
            "1912121212AB",
            "19121212tfpZ",
            "x",
        ] {
            assert_eq!(
                matches(patterns::PERSONAL_IDENTITY_NUMBER, value),
                common::identity::is_personal_identity_number(value),
                "{value}"
            );
        }
        for value in [
            "SE2321000016-1HZ3",
            "",
            "a b",
            "å",
            &"x".repeat(64),
            &"x".repeat(65),
        ] {
            assert_eq!(
                matches(patterns::HSA_ID, value),
                common::identity::HsaId::parse(value).is_ok(),
                "{value}"
            );
        }
    }
}
