//! Answers as a browser sends them and as the form engine takes them (api.md §3.1: values by
//! input type), both ways.
//!
//! The browser's formats are HTML's (`2024-05-03`, `2024-05-03T14:30`, `2024-05`); the
//! contract's are RIV-TA's (`20240503`, `20240503T143000`, `202405`). What the citizen typed
//! that fits neither is sent as typed: the engine's validation decides, and its message (the
//! template's own text) is what the citizen sees. The portal never refuses an answer itself.

use serde::Deserialize;
use serde_json::{Number, Value};

/// KV Inmatningstyp: the input types of questions (HTML5 input types, lower case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum InputType {
    #[serde(rename = "text")]
    Text,
    #[serde(rename = "textarea")]
    Textarea,
    #[serde(rename = "checkbox")]
    Checkbox,
    #[serde(rename = "radio")]
    Radio,
    #[serde(rename = "select")]
    Select,
    #[serde(rename = "number")]
    Number,
    #[serde(rename = "url")]
    Url,
    /// The older HTML date-and-time type, answered like `datetime-local`.
    #[serde(rename = "datetime")]
    Datetime,
    #[serde(rename = "date")]
    Date,
    #[serde(rename = "month")]
    Month,
    #[serde(rename = "week")]
    Week,
    #[serde(rename = "time")]
    Time,
    #[serde(rename = "datetime-local")]
    DatetimeLocal,
    #[serde(rename = "range")]
    Range,
    /// An image shown to the citizen; takes no answer.
    #[serde(rename = "image")]
    Image,
    /// A type this portal does not know (a newer code list): asked as free text, so the
    /// citizen can still answer and the engine still judges.
    #[serde(other)]
    Unknown,
}

impl InputType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Textarea => "textarea",
            Self::Checkbox => "checkbox",
            Self::Radio => "radio",
            Self::Select => "select",
            Self::Number => "number",
            Self::Url => "url",
            Self::Datetime => "datetime",
            Self::Date => "date",
            Self::Month => "month",
            Self::Week => "week",
            Self::Time => "time",
            Self::DatetimeLocal => "datetime-local",
            Self::Range => "range",
            Self::Image => "image",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(value: &str) -> Self {
        serde_json::from_value(Value::String(value.to_owned())).unwrap_or(Self::Unknown)
    }

    pub fn takes_answer(self) -> bool {
        self != Self::Image
    }

    /// Whether the answer is alternative numbers.
    pub fn is_choice(self) -> bool {
        matches!(self, Self::Radio | Self::Select | Self::Checkbox)
    }
}

/// The contract's value for what the browser sent for one question (every value of the
/// field, in order: a checkbox group sends one per ticked box). `None`: not answered.
pub fn encode(input: InputType, sent: &[&str]) -> Option<Value> {
    let first = sent.iter().map(|v| v.trim()).find(|v| !v.is_empty());
    match input {
        InputType::Image => None,
        InputType::Checkbox => {
            let mut numbers: Vec<Value> = Vec::new();
            for value in sent.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
                let value = value
                    .parse::<u32>()
                    .map_or_else(|_| Value::from(value), Value::from);
                if !numbers.contains(&value) {
                    numbers.push(value);
                }
            }
            (!numbers.is_empty()).then_some(Value::Array(numbers))
        }
        InputType::Radio | InputType::Select => first.map(|v| {
            v.parse::<u32>()
                .map_or_else(|_| Value::from(v), Value::from)
        }),
        // A textarea's line breaks arrive as CRLF; the text is kept as written otherwise.
        InputType::Textarea => sent
            .first()
            .map(|v| v.replace("\r\n", "\n"))
            .filter(|v| !v.trim().is_empty())
            .map(Value::from),
        InputType::Text | InputType::Url | InputType::Unknown => first.map(Value::from),
        InputType::Number | InputType::Range => {
            first.map(|v| number(v).unwrap_or_else(|| v.into()))
        }
        InputType::Date => first.map(|v| Value::from(date(v).unwrap_or_else(|| v.to_owned()))),
        InputType::Time => first.map(|v| Value::from(time(v).unwrap_or_else(|| v.to_owned()))),
        InputType::Datetime | InputType::DatetimeLocal => {
            first.map(|v| Value::from(date_time(v).unwrap_or_else(|| v.to_owned())))
        }
        InputType::Month => first.map(|v| Value::from(month(v).unwrap_or_else(|| v.to_owned()))),
        InputType::Week => first.map(|v| Value::from(week(v).unwrap_or_else(|| v.to_owned()))),
    }
}

/// A number as a Swede may write it (`72,5`, `1 200`), as JSON: an integer when it is one.
fn number(text: &str) -> Option<Value> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    let n: f64 = cleaned.parse().ok().filter(|n: &f64| n.is_finite())?;
    Some(json_number(n))
}

/// `n` as JSON, written as an integer when it is one (`12`, not `12.0`).
pub fn json_number(n: f64) -> Value {
    #[allow(clippy::cast_possible_truncation)] // checked: integral and within ±2^53
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        return Value::from(n as i64);
    }
    Number::from_f64(n).map_or(Value::Null, Value::Number)
}

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// `2024-05-03` (HTML) or `20240503` → `20240503`.
fn date(text: &str) -> Option<String> {
    let compact: String = text.split('-').collect();
    (compact.len() == 8 && all_digits(&compact) && (text.len() == 8 || text.len() == 10))
        .then_some(compact)
}

/// `7:30`, `07:30` or `07:30:00` → `07:30`.
fn time(text: &str) -> Option<String> {
    let mut parts = text.split(':');
    let (hours, minutes) = (parts.next()?, parts.next()?);
    let seconds_ok = parts.next().is_none_or(|s| s.len() == 2 && all_digits(s));
    let ok = (1..=2).contains(&hours.len())
        && all_digits(hours)
        && minutes.len() == 2
        && all_digits(minutes)
        && seconds_ok
        && parts.next().is_none();
    ok.then(|| format!("{hours:0>2}:{minutes}"))
}

/// `2024-05-03T14:30` or `2024-05-03T14:30:15` (HTML) → `20240503T143015`.
fn date_time(text: &str) -> Option<String> {
    if let Some((d, t)) = text.split_once('T').or_else(|| text.split_once(' ')) {
        let d = date(d)?;
        let t = time(t)?;
        let seconds = t_seconds(text);
        return Some(format!("{d}T{}{seconds}", t.replace(':', "")));
    }
    // Already in the contract's format.
    let b = text.as_bytes();
    (b.len() == 15 && b[8] == b'T' && all_digits(&text[..8]) && all_digits(&text[9..]))
        .then(|| text.to_owned())
}

fn t_seconds(text: &str) -> &str {
    let time = text.rsplit(['T', ' ']).next().unwrap_or_default();
    match time.split(':').nth(2) {
        Some(seconds) if seconds.len() == 2 => seconds,
        _ => "00",
    }
}

/// `2024-05` (HTML) or `202405` → `202405`.
fn month(text: &str) -> Option<String> {
    let compact: String = text.split('-').collect();
    (compact.len() == 6 && all_digits(&compact) && (text.len() == 6 || text.len() == 7))
        .then_some(compact)
}

/// `2024-W18` (HTML and contract alike); a lower-case `w` is accepted.
fn week(text: &str) -> Option<String> {
    let upper = text.to_ascii_uppercase();
    let (year, number) = upper.split_once("-W")?;
    (year.len() == 4 && all_digits(year) && number.len() == 2 && all_digits(number))
        .then_some(upper)
}

/// The value to put back into the question's control: the HTML format of a contract value,
/// or the value as it was when it is in neither format (so a refused answer is shown as
/// typed). Choice questions use [`chosen`].
pub fn control_value(input: InputType, value: &Value) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(n) => return n.to_string(),
        Value::Null => return String::new(),
        other => return other.to_string(),
    };
    let b = text.as_bytes();
    match input {
        InputType::Date if b.len() == 8 && all_digits(&text) => {
            format!("{}-{}-{}", &text[..4], &text[4..6], &text[6..])
        }
        InputType::Month if b.len() == 6 && all_digits(&text) => {
            format!("{}-{}", &text[..4], &text[4..])
        }
        InputType::Datetime | InputType::DatetimeLocal
            if b.len() == 15
                && b[8] == b'T'
                && all_digits(&text[..8])
                && all_digits(&text[9..]) =>
        {
            let seconds = &text[13..];
            let seconds = if seconds == "00" {
                String::new()
            } else {
                format!(":{seconds}")
            };
            format!(
                "{}-{}-{}T{}:{}{seconds}",
                &text[..4],
                &text[4..6],
                &text[6..8],
                &text[9..11],
                &text[11..13]
            )
        }
        _ => text,
    }
}

/// The alternative numbers a choice answer names.
pub fn chosen(value: &Value) -> Vec<u32> {
    let one = |v: &Value| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .and_then(|n| u32::try_from(n).ok())
    };
    match value {
        Value::Array(values) => values.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_input_type_is_encoded_as_the_contract_says() {
        use InputType::*;
        for (input, sent, expected) in [
            (Radio, vec!["2"], json!(2)),
            (Select, vec!["", "3"], json!(3)),
            (Checkbox, vec!["1", "4", "1"], json!([1, 4])),
            (Text, vec!["  Arabiska "], json!("Arabiska")),
            (Textarea, vec!["Rad 1\r\nRad 2"], json!("Rad 1\nRad 2")),
            (Url, vec!["https://example.se"], json!("https://example.se")),
            (Number, vec!["72,5"], json!(72.5)),
            (Number, vec!["1 200"], json!(1200)),
            (Range, vec!["7"], json!(7)),
            (Date, vec!["2024-05-03"], json!("20240503")),
            (Date, vec!["20240503"], json!("20240503")),
            (Time, vec!["7:30"], json!("07:30")),
            (Time, vec!["14:30:00"], json!("14:30")),
            (
                DatetimeLocal,
                vec!["2024-05-03T14:30"],
                json!("20240503T143000"),
            ),
            (
                Datetime,
                vec!["2024-05-03T14:30:15"],
                json!("20240503T143015"),
            ),
            (
                DatetimeLocal,
                vec!["20240503T143000"],
                json!("20240503T143000"),
            ),
            (Month, vec!["2024-05"], json!("202405")),
            (Week, vec!["2024-w18"], json!("2024-W18")),
            (Unknown, vec!["svar"], json!("svar")),
        ] {
            assert_eq!(encode(input, &sent), Some(expected), "{input:?} {sent:?}");
        }
    }

    #[test]
    fn what_fits_no_format_is_sent_as_typed_for_the_engine_to_judge() {
        use InputType::*;
        for (input, typed) in [
            (Number, "tolv"),
            (Date, "3 maj"),
            (Time, "halv åtta"),
            (DatetimeLocal, "i morgon"),
            (Month, "maj"),
            (Week, "v18"),
            (Radio, "Ja"),
        ] {
            assert_eq!(encode(input, &[typed]), Some(json!(typed)), "{input:?}");
        }
        assert_eq!(encode(Checkbox, &["1", "x"]), Some(json!([1, "x"])));
    }

    #[test]
    fn nothing_given_is_no_answer() {
        use InputType::*;
        for input in [Radio, Checkbox, Text, Textarea, Number, Date, Week] {
            assert_eq!(encode(input, &[]), None, "{input:?}");
            assert_eq!(encode(input, &["  "]), None, "{input:?}");
        }
        assert_eq!(encode(Image, &["1"]), None);
    }

    #[test]
    fn saved_values_go_back_into_the_controls_in_html_format() {
        use InputType::*;
        for (input, value, shown) in [
            (Date, json!("20240503"), "2024-05-03"),
            (Month, json!("202405"), "2024-05"),
            (DatetimeLocal, json!("20240503T143000"), "2024-05-03T14:30"),
            (Datetime, json!("20240503T143015"), "2024-05-03T14:30:15"),
            (Week, json!("2024-W18"), "2024-W18"),
            (Time, json!("07:30"), "07:30"),
            (Number, json!(72.5), "72.5"),
            (Number, json!(12), "12"),
            (Number, json!("tolv"), "tolv"),
            (Date, json!("3 maj"), "3 maj"),
        ] {
            assert_eq!(control_value(input, &value), shown, "{input:?}");
        }
        assert_eq!(chosen(&json!([1, 3])), [1, 3]);
        assert_eq!(chosen(&json!(2)), [2]);
        assert_eq!(chosen(&json!("2")), [2]);
        assert!(chosen(&json!("Ja")).is_empty());
    }

    #[test]
    fn unknown_input_types_are_read_not_refused() {
        assert_eq!(InputType::parse("datetime-local"), InputType::DatetimeLocal);
        assert_eq!(InputType::parse("matrix"), InputType::Unknown);
        for input in ["text", "week", "range", "image"] {
            assert_eq!(InputType::parse(input).as_str(), input);
        }
    }
}
