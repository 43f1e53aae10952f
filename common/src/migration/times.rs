//! The form engine's and the grants' times in records: RFC 3339 in UTC with `Z`, the fraction
//! written only as far as needed in groups of three digits, microseconds at most (what both
//! backends keep). One text per instant, so a record reads back exactly as it was sent and the
//! digest of the source equals the target's.

use chrono::{DateTime, SecondsFormat, SubsecRound as _, Utc};

/// The canonical text of a time (truncated to the microsecond).
pub fn canonical_time(time: DateTime<Utc>) -> String {
    time.trunc_subsecs(6)
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A time of a record `field`, which must be in its canonical text.
pub fn parse_canonical_time(field: &str, text: &str) -> Result<DateTime<Utc>, String> {
    let time = DateTime::parse_from_rfc3339(text)
        .map_err(|e| format!("{field}: `{text}` is not an RFC 3339 time ({e})"))?
        .with_timezone(&Utc);
    let canonical = canonical_time(time);
    if canonical != text {
        return Err(format!(
            "{field}: `{text}` is not in the canonical form; write `{canonical}` (UTC with Z, \
             a fraction of 0, 3 or 6 digits, microseconds at most)"
        ));
    }
    Ok(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_canonical_text_of_a_time_is_taken() {
        for text in [
            "2026-12-04T08:00:00Z",
            "2026-12-04T08:00:00.250Z",
            "2026-12-04T08:00:00.123456Z",
        ] {
            let time = parse_canonical_time("createdAt", text).unwrap();
            assert_eq!(canonical_time(time), text);
        }
        for text in [
            "2026-12-04T09:00:00+01:00",
            "2026-12-04T08:00:00.25Z",
            "2026-12-04T08:00:00.123456789Z",
            "2026-12-04 08:00:00Z",
        ] {
            let error = parse_canonical_time("createdAt", text).unwrap_err();
            assert!(error.starts_with("createdAt: "), "{error}");
        }
    }
}
