//! Input hygiene (api.md §5): no string a caller sends carries a C0 control character
//! (U+0000–U+001F) or U+007F, except TAB, LF and CR in free-text fields. Checked at the edge so
//! that nothing a database would refuse (PostgreSQL refuses NUL in text) or store differently
//! (SQLite keeps it) ever reaches one: both backends give the same answer.

use std::fmt::Write as _;

use serde_json::Value;

/// What a string field may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    /// Identifiers, codes, HSA-ids, names of things, engagement fields: no control character.
    Identifier,
    /// Prose a person writes (a message body, a comment, a description, a text answer): TAB,
    /// LF and CR allowed, no other control character.
    FreeText,
}

/// Body members that hold free text (api.md §5), by their JSON name in any contract.
pub const FREE_TEXT_FIELDS: &[&str] = &[
    "body",
    "comment",
    "formText",
    "description",
    "descriptionInternal",
    "formCompleteText",
    "term",
    "value",
];

/// Whether a body member of this name holds free text.
pub fn is_free_text(field: &str) -> bool {
    FREE_TEXT_FIELDS.contains(&field)
}

/// The regular expression (ECMA-262, as OpenAPI's `pattern`) a string of this kind matches.
pub fn pattern(kind: TextKind) -> &'static str {
    match kind {
        TextKind::Identifier => r"^[^\u0000-\u001F\u007F]*$",
        TextKind::FreeText => r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$",
    }
}

/// The first character of `value` that a field of `kind` may not carry.
pub fn forbidden_character(value: &str, kind: TextKind) -> Option<char> {
    value.chars().find(|&c| is_forbidden(c, kind))
}

fn is_forbidden(c: char, kind: TextKind) -> bool {
    match c {
        '\t' | '\n' | '\r' => kind == TextKind::Identifier,
        '\u{0}'..='\u{1F}' | '\u{7F}' => true,
        _ => false,
    }
}

/// A string field carries a control character it may not.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` contains a control character (U+{code:04X})")]
pub struct ControlCharacter {
    /// Where: a member name, or a path such as `formTemplate.pages[0].page.subject`.
    pub field: String,
    pub code: u32,
}

/// Checks one string field.
pub fn check(field: &str, value: &str, kind: TextKind) -> Result<(), ControlCharacter> {
    match forbidden_character(value, kind) {
        Some(c) => Err(ControlCharacter {
            field: field.to_owned(),
            code: u32::from(c),
        }),
        None => Ok(()),
    }
}

/// Checks an optional string field.
pub fn check_opt(field: &str, value: Option<&str>, kind: TextKind) -> Result<(), ControlCharacter> {
    value.map_or(Ok(()), |value| check(field, value, kind))
}

/// Whether a raw JSON body may hold a control character in some string: JSON cannot carry one
/// unescaped, so it is enough to look for the escapes. A false alarm (an escaped backslash
/// before `u0000`) only costs a closer look.
pub fn json_may_carry_control(body: &[u8]) -> bool {
    body.windows(2).enumerate().any(|(i, pair)| {
        pair[0] == b'\\'
            && match pair[1] {
                b'b' | b'f' | b't' | b'n' | b'r' => true,
                b'u' => body.get(i + 2..i + 6).is_some_and(|hex| {
                    let hex = std::str::from_utf8(hex).unwrap_or("");
                    u32::from_str_radix(hex, 16).is_ok_and(|code| code < 0x20 || code == 0x7F)
                }),
                _ => false,
            }
    })
}

/// Checks every string of a JSON document (member names included), each member's strings by
/// the kind `kind_of(member name)` says; strings of arrays take their member's kind.
pub fn check_json(
    value: &Value,
    kind_of: &dyn Fn(&str) -> TextKind,
) -> Result<(), ControlCharacter> {
    let mut path = String::new();
    walk(value, TextKind::Identifier, kind_of, &mut path)
}

fn walk(
    value: &Value,
    kind: TextKind,
    kind_of: &dyn Fn(&str) -> TextKind,
    path: &mut String,
) -> Result<(), ControlCharacter> {
    match value {
        Value::String(text) => check(display_path(path), text, kind),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let len = path.len();
                let _ = write!(path, "[{index}]");
                walk(item, kind, kind_of, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(members) => {
            for (name, member) in members {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
                check(display_path(path), name, TextKind::Identifier)?;
                walk(member, kind_of(name), kind_of, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

fn display_path(path: &str) -> &str {
    if path.is_empty() { "(body)" } else { path }
}

/// The kind of a body member by the shared list of free-text names.
pub fn default_kind(field: &str) -> TextKind {
    if is_free_text(field) {
        TextKind::FreeText
    } else {
        TextKind::Identifier
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identifiers_carry_no_control_character() {
        assert_eq!(forbidden_character("SE123", TextKind::Identifier), None);
        assert_eq!(
            forbidden_character("a\u{0}b", TextKind::Identifier),
            Some('\u{0}')
        );
        assert_eq!(
            forbidden_character("a\tb", TextKind::Identifier),
            Some('\t')
        );
        assert_eq!(
            forbidden_character("a\u{7F}", TextKind::Identifier),
            Some('\u{7F}')
        );
        assert_eq!(forbidden_character("å ä ö é", TextKind::Identifier), None);
    }

    #[test]
    fn free_text_keeps_tab_and_line_breaks() {
        assert_eq!(forbidden_character("a\tb\r\nc", TextKind::FreeText), None);
        assert_eq!(
            forbidden_character("a\u{1B}b", TextKind::FreeText),
            Some('\u{1B}')
        );
        assert_eq!(
            forbidden_character("\u{0}", TextKind::FreeText),
            Some('\u{0}')
        );
    }

    #[test]
    fn names_the_member_by_its_path() {
        let body = json!({"formTemplate": {"pages": [{"page": {"subject": "a\u{0}"}}]}});
        let error = check_json(&body, &default_kind).unwrap_err();
        assert_eq!(error.field, "formTemplate.pages[0].page.subject");
        assert_eq!(error.code, 0);
        assert_eq!(
            error.to_string(),
            "`formTemplate.pages[0].page.subject` contains a control character (U+0000)"
        );
    }

    #[test]
    fn free_text_members_and_their_arrays() {
        let ok = json!({"comment": "line\nline", "answers": [{"value": ["a\tb"]}]});
        assert!(check_json(&ok, &default_kind).is_ok());
        let bad = json!({"subject": "line\nline"});
        assert_eq!(
            check_json(&bad, &default_kind).unwrap_err().field,
            "subject"
        );
        let name = json!({"a\u{1}": 1});
        assert!(check_json(&name, &default_kind).is_err());
    }

    #[test]
    fn the_raw_scan_finds_every_escape() {
        assert!(json_may_carry_control(br#"{"a":"x\u0000"}"#));
        assert!(json_may_carry_control(br#"{"a":"x\u001f"}"#));
        assert!(json_may_carry_control(br#"{"a":"x\u007F"}"#));
        assert!(json_may_carry_control(br#"{"a":"x\n"}"#));
        assert!(!json_may_carry_control(br#"{"a":"x\u00e5\"\\/"}"#));
        assert!(!json_may_carry_control(br#"{"a":"plain"}"#));
    }

    #[test]
    fn the_openapi_patterns_say_what_the_check_does() {
        for kind in [TextKind::Identifier, TextKind::FreeText] {
            let pattern = regex::Regex::new(pattern(kind)).unwrap();
            for code in (0u32..0x100).chain([0x2028, 0xFFFD, 0x1F600]) {
                let text = char::from_u32(code).unwrap().to_string();
                assert_eq!(
                    pattern.is_match(&text),
                    forbidden_character(&text, kind).is_none(),
                    "{kind:?} U+{code:04X}"
                );
            }
        }
    }
}
