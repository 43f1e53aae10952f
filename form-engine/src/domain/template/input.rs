//! KV Inmatningstyp: the input types of questions, what kind of answer each takes and the
//! text formats of the date-like answers (api.md §3.1).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The input type of a question (HTML5 input types, lower case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
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
    /// Date and time (the older HTML type); answered as `datetime-local`.
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
}

/// What an answer to a question is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerKind {
    /// One alternative number (radio, select).
    SingleChoice,
    /// An array of distinct alternative numbers (checkbox).
    MultipleChoice,
    /// Free text (text, textarea, url).
    Text,
    /// A number (number, range).
    Number,
    /// A string in a fixed format that sorts like the value it names.
    Temporal(TemporalFormat),
    /// No answer (image).
    None,
}

/// The text formats of date-like answers. Each is fixed-width with the most significant
/// field first, so comparing two valid values as strings compares the times they name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemporalFormat {
    /// `YYYYMMDD`
    Date,
    /// `hh:mm`
    Time,
    /// `YYYYMMDDThhmmss`
    DateTime,
    /// `YYYYMM`
    Month,
    /// `YYYY-Www`
    Week,
}

impl TemporalFormat {
    /// The JSON Schema `format` name this engine registers for the format.
    pub fn format_name(self) -> &'static str {
        match self {
            Self::Date => "riv-date",
            Self::Time => "riv-time",
            Self::DateTime => "riv-datetime",
            Self::Month => "riv-month",
            Self::Week => "riv-week",
        }
    }

    /// How the format is written, for messages.
    pub fn shape(self) -> &'static str {
        match self {
            Self::Date => "YYYYMMDD",
            Self::Time => "hh:mm",
            Self::DateTime => "YYYYMMDDThhmmss",
            Self::Month => "YYYYMM",
            Self::Week => "YYYY-Www",
        }
    }

    pub const ALL: [Self; 5] = [
        Self::Date,
        Self::Time,
        Self::DateTime,
        Self::Month,
        Self::Week,
    ];

    /// Whether `value` is a real value in this format (20230229 is not a date).
    pub fn is_valid(self, value: &str) -> bool {
        match self {
            Self::Date => common::riv_time::parse_date(value).is_ok(),
            Self::DateTime => common::riv_time::parse_form_timestamp(value).is_ok(),
            Self::Time => {
                let b = value.as_bytes();
                b.len() == 5
                    && b[2] == b':'
                    && digits(&b[..2]).is_some_and(|h| h < 24)
                    && digits(&b[3..]).is_some_and(|m| m < 60)
            }
            Self::Month => {
                let b = value.as_bytes();
                b.len() == 6
                    && digits(&b[..4]).is_some()
                    && digits(&b[4..]).is_some_and(|m| (1..=12).contains(&m))
            }
            Self::Week => {
                let b = value.as_bytes();
                b.len() == 8
                    && b[4] == b'-'
                    && b[5] == b'W'
                    && digits(&b[..4]).is_some_and(|year| {
                        digits(&b[6..]).is_some_and(|week| week >= 1 && week <= iso_weeks(year))
                    })
            }
        }
    }
}

fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// ISO weeks in `year`: 53 when 28 December falls in week 53.
fn iso_weeks(year: u32) -> u32 {
    use chrono::Datelike as _;
    i32::try_from(year)
        .ok()
        .and_then(|y| chrono::NaiveDate::from_ymd_opt(y, 12, 28))
        .map_or(52, |d| d.iso_week().week())
}

impl InputType {
    pub fn answer_kind(self) -> AnswerKind {
        match self {
            Self::Radio | Self::Select => AnswerKind::SingleChoice,
            Self::Checkbox => AnswerKind::MultipleChoice,
            Self::Text | Self::Textarea | Self::Url => AnswerKind::Text,
            Self::Number | Self::Range => AnswerKind::Number,
            Self::Date => AnswerKind::Temporal(TemporalFormat::Date),
            Self::Time => AnswerKind::Temporal(TemporalFormat::Time),
            Self::Datetime | Self::DatetimeLocal => AnswerKind::Temporal(TemporalFormat::DateTime),
            Self::Month => AnswerKind::Temporal(TemporalFormat::Month),
            Self::Week => AnswerKind::Temporal(TemporalFormat::Week),
            Self::Image => AnswerKind::None,
        }
    }

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
        }
    }

    pub fn is_choice(self) -> bool {
        matches!(
            self.answer_kind(),
            AnswerKind::SingleChoice | AnswerKind::MultipleChoice
        )
    }
}

impl std::fmt::Display for InputType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The check behind the `url` answer format: an absolute http(s) URL with a host and no spaces.
pub fn is_url(value: &str) -> bool {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !value.chars().any(char::is_whitespace)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporal_formats_accept_real_values_only() {
        use TemporalFormat::*;
        for (format, ok, bad) in [
            (Date, "20240229", "20230229"),
            (Time, "23:59", "24:00"),
            (DateTime, "20240101T120000", "20240101 120000"),
            (Month, "202412", "202413"),
            (Week, "2020-W53", "2021-W53"),
        ] {
            assert!(format.is_valid(ok), "{ok}");
            assert!(!format.is_valid(bad), "{bad}");
        }
        assert!(!Time.is_valid("7:30"));
        assert!(!Week.is_valid("2024-W00"));
    }

    #[test]
    fn urls_need_a_scheme_and_a_host() {
        assert!(is_url("https://www.1177.se/formular?id=1"));
        assert!(!is_url("www.1177.se"));
        assert!(!is_url("https://"));
        assert!(!is_url("https://a b"));
    }
}
