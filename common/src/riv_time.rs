//! RIV-TA time formats. On the wire all times are Swedish local time without an offset:
//! the engagement index uses `YYYYMMDDhhmmss`, forms `YYYYMMDDThhmmss`, dates `YYYYMMDD`.
//! Inside, times are kept in UTC.

use chrono::{
    DateTime, Datelike as _, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Timelike as _, Utc,
};
use chrono_tz::Europe::Stockholm;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Input date is not according to expected format \"{format}\": {value}")]
pub struct TimeFormatError {
    pub format: &'static str,
    pub value: String,
}

pub const EI_TIMESTAMP: &str = "YYYYMMDDhhmmss";
pub const FORM_TIMESTAMP: &str = "YYYYMMDDThhmmss";
pub const DATE: &str = "YYYYMMDD";

fn strict(value: &str, format: &'static str) -> Result<(), TimeFormatError> {
    // chrono accepts signs and short fields; RIV does not, so the shape is checked first.
    let shape_ok = value.len() == format.len()
        && value.bytes().zip(format.bytes()).all(|(v, f)| {
            if f == b'T' {
                v == b'T'
            } else {
                v.is_ascii_digit()
            }
        });
    if shape_ok {
        Ok(())
    } else {
        Err(TimeFormatError {
            format,
            value: value.to_owned(),
        })
    }
}

/// The number the ASCII digits of `value[range]` stand for (the shape is checked already).
fn digits(value: &str, range: std::ops::Range<usize>) -> u32 {
    value.as_bytes()[range]
        .iter()
        .fold(0, |number, digit| number * 10 + u32::from(digit - b'0'))
}

/// The date and time of a value of the shape `YYYYMMDD?hhmmss` (the shape checked), `time_at`
/// where hh starts; `None` when it names no real time. Read digit by digit rather than with
/// a strftime pattern: every engagement of an Update, a FindContent answer and a migration
/// batch goes through here, and a pattern is interpreted anew on every call. Second 60 is a
/// leap second, as chrono's `%S` reads it.
fn date_time(value: &str, time_at: usize) -> Option<NaiveDateTime> {
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(digits(value, 0..4)).ok()?,
        digits(value, 4..6),
        digits(value, 6..8),
    )?;
    let (hour, minute, second) = (
        digits(value, time_at..time_at + 2),
        digits(value, time_at + 2..time_at + 4),
        digits(value, time_at + 4..time_at + 6),
    );
    let time = if second == 60 {
        chrono::NaiveTime::from_hms_nano_opt(hour, minute, 59, 1_000_000_000)?
    } else {
        chrono::NaiveTime::from_hms_opt(hour, minute, second)?
    };
    Some(date.and_time(time))
}

/// Parses an engagement-index timestamp strictly: exactly 14 digits naming a real time, the
/// year starting with 1-9 as the XSD's `TS` pattern demands.
pub fn parse_ei_timestamp(value: &str) -> Result<NaiveDateTime, TimeFormatError> {
    strict(value, EI_TIMESTAMP)?;
    if value.starts_with('0') {
        return Err(TimeFormatError {
            format: EI_TIMESTAMP,
            value: value.to_owned(),
        });
    }
    date_time(value, 8).ok_or_else(|| TimeFormatError {
        format: EI_TIMESTAMP,
        value: value.to_owned(),
    })
}

/// Parses a forms timestamp `YYYYMMDDThhmmss` strictly.
pub fn parse_form_timestamp(value: &str) -> Result<NaiveDateTime, TimeFormatError> {
    strict(value, FORM_TIMESTAMP)?;
    date_time(value, 9).ok_or_else(|| TimeFormatError {
        format: FORM_TIMESTAMP,
        value: value.to_owned(),
    })
}

/// Parses a date `YYYYMMDD` strictly.
pub fn parse_date(value: &str) -> Result<NaiveDate, TimeFormatError> {
    strict(value, DATE)?;
    NaiveDate::parse_from_str(value, "%Y%m%d").map_err(|_| TimeFormatError {
        format: DATE,
        value: value.to_owned(),
    })
}

/// Swedish local time to UTC. In the autumn hour that occurs twice the earlier instant is
/// taken; a time in the spring gap (02:00–03:00 does not exist) is read as summer time.
pub fn stockholm_to_utc(local: NaiveDateTime) -> DateTime<Utc> {
    match Stockholm.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => {
            let shifted = local + chrono::Duration::hours(1);
            Stockholm
                .from_local_datetime(&shifted)
                .earliest()
                .map_or_else(|| Utc.from_utc_datetime(&local), |t| t.with_timezone(&Utc))
        }
    }
}

pub fn utc_to_stockholm(instant: DateTime<Utc>) -> NaiveDateTime {
    instant.with_timezone(&Stockholm).naive_local()
}

/// `instant` in Swedish local time as `YYYYMMDD{between}hhmmss`; the second as `%S` writes
/// it (60 in a leap second).
fn format_local(instant: DateTime<Utc>, between: &str) -> String {
    let local = utc_to_stockholm(instant);
    let second = local.second() + u32::from(local.nanosecond() >= 1_000_000_000);
    let Ok(year) = u32::try_from(local.year()) else {
        // Before year 0: never written by the services, but written as `format!` would.
        return format!(
            "{:04}{:02}{:02}{between}{:02}{:02}{second:02}",
            local.year(),
            local.month(),
            local.day(),
            local.hour(),
            local.minute(),
        );
    };
    // Digit by digit rather than through `format!`: every answer and notification writes two
    // or three of these per engagement, and the formatting machinery was a visible share of
    // FindContent's CPU.
    let mut text = String::with_capacity(14 + between.len());
    for (value, width) in [(year, 4), (local.month(), 2), (local.day(), 2)] {
        push_digits(&mut text, value, width);
    }
    text.push_str(between);
    for (value, width) in [(local.hour(), 2), (local.minute(), 2), (second, 2)] {
        push_digits(&mut text, value, width);
    }
    text
}

/// `value` in at least `width` decimal digits, zero-padded (as `{:0width$}` writes it).
fn push_digits(text: &mut String, value: u32, width: u32) {
    let digits = value.checked_ilog10().unwrap_or(0) + 1;
    for place in (0..digits.max(width)).rev() {
        let digit = value / 10u32.pow(place) % 10;
        text.push(char::from_digit(digit, 10).unwrap_or('0'));
    }
}

pub fn format_ei_timestamp(instant: DateTime<Utc>) -> String {
    format_local(instant, "")
}

pub fn format_form_timestamp(instant: DateTime<Utc>) -> String {
    format_local(instant, "T")
}

pub fn format_date(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

/// An engagement-index timestamp on the wire, as UTC.
pub fn ei_timestamp_to_utc(value: &str) -> Result<DateTime<Utc>, TimeFormatError> {
    parse_ei_timestamp(value).map(stockholm_to_utc)
}

/// A forms timestamp on the wire, as UTC.
pub fn form_timestamp_to_utc(value: &str) -> Result<DateTime<Utc>, TimeFormatError> {
    parse_form_timestamp(value).map(stockholm_to_utc)
}

/// Today's date in Sweden.
pub fn today_in_sweden() -> NaiveDate {
    utc_to_stockholm(Utc::now()).date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ei_timestamps_are_strict() {
        assert!(parse_ei_timestamp("20130528150601").is_ok());
        for bad in [
            "2013052815060",
            "201305281506011",
            "20130528150601Z",
            "20131328150601",
            "20130230150601",
            "20130528246001",
            "2013-05-28 15:06:01",
            " 2013052815060",
            "",
            "+2013052815060",
            "09990101000000",
        ] {
            let error = parse_ei_timestamp(bad).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("Input date is not according to expected format \"YYYYMMDDhhmmss\": {bad}")
            );
        }
    }

    #[test]
    fn read_digit_by_digit_as_chrono_reads_the_pattern() {
        let mut values: Vec<String> = [
            "20240229235959",
            "20230229120000",
            "20241231235960",
            "20240101000000",
            "19000101000000",
            "99991231235959",
            "20240431120000",
            "20240100120000",
            "20241301120000",
            "20240101240000",
            "20240101126000",
            "20240101125961",
        ]
        .map(String::from)
        .to_vec();
        // Every month and day number around the real ones, at varied times.
        for month in 0..=13 {
            for day in [0, 1, 28, 29, 30, 31, 32] {
                values.push(format!(
                    "2023{month:02}{day:02}{:02}3045",
                    (month * 7 + day) % 26
                ));
            }
        }
        for value in &values {
            let chrono = NaiveDateTime::parse_from_str(value, "%Y%m%d%H%M%S").ok();
            assert_eq!(parse_ei_timestamp(value).ok(), chrono, "{value}");
            let form = format!("{}T{}", &value[..8], &value[8..]);
            assert_eq!(parse_form_timestamp(&form).ok(), chrono, "{form}");
            // (Not the last day of year 9999: in Stockholm that is year 10000 already.)
            if let Some(time) = chrono
                && time.year() < 9999
            {
                let utc = Utc.from_utc_datetime(&time);
                let local = utc_to_stockholm(utc);
                assert_eq!(
                    format_ei_timestamp(utc),
                    local.format("%Y%m%d%H%M%S").to_string()
                );
                assert_eq!(
                    format_form_timestamp(utc),
                    local.format("%Y%m%dT%H%M%S").to_string()
                );
            }
        }
    }

    #[test]
    fn digits_are_written_as_format_pads_them() {
        for (value, width) in [
            (0, 2),
            (7, 2),
            (59, 2),
            (60, 2),
            (1, 4),
            (999, 4),
            (2024, 4),
        ] {
            let mut text = String::new();
            push_digits(&mut text, value, width);
            assert_eq!(text, format!("{value:0w$}", w = width as usize));
        }
        let mut text = String::new();
        push_digits(&mut text, 12_345, 4);
        assert_eq!(text, "12345");
        let far = Utc.with_ymd_and_hms(12_345, 6, 1, 8, 5, 9).unwrap();
        let local = utc_to_stockholm(far);
        // (chrono's `%Y` writes a sign before a fifth digit; the wire never had one.)
        assert_eq!(
            format_ei_timestamp(far),
            format!("12345{}", local.format("%m%d%H%M%S"))
        );
    }

    #[test]
    fn form_timestamps_and_dates_are_strict() {
        assert!(parse_form_timestamp("20240101T120000").is_ok());
        assert!(parse_form_timestamp("20240101120000").is_err());
        assert!(parse_date("20240229").is_ok());
        assert!(parse_date("20230229").is_err());
        assert!(parse_date("2024-01-01").is_err());
    }

    #[test]
    fn swedish_local_time_round_trips_through_utc() {
        let winter = ei_timestamp_to_utc("20240115120000").unwrap();
        assert_eq!(winter.to_rfc3339(), "2024-01-15T11:00:00+00:00");
        assert_eq!(format_ei_timestamp(winter), "20240115120000");
        let summer = form_timestamp_to_utc("20240715T120000").unwrap();
        assert_eq!(summer.to_rfc3339(), "2024-07-15T10:00:00+00:00");
        assert_eq!(format_form_timestamp(summer), "20240715T120000");
    }

    #[test]
    fn dst_edges_do_not_fail() {
        // 02:30 on 31 March 2024 does not exist in Stockholm; 02:30 on 27 October 2024 occurs twice.
        let gap = ei_timestamp_to_utc("20240331023000").unwrap();
        assert_eq!(gap.to_rfc3339(), "2024-03-31T01:30:00+00:00");
        let twice = ei_timestamp_to_utc("20241027023000").unwrap();
        assert_eq!(twice.to_rfc3339(), "2024-10-27T00:30:00+00:00");
    }
}
