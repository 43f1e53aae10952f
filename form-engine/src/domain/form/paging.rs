//! GetForms' page tokens: opaque to callers, they say where the last page ended (the creation
//! time and id of its last form), so paging is stable while forms are added.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// An opaque cursor: where the last page of GetForms ended.
pub fn encode_token(created_at: DateTime<Utc>, id: Uuid) -> String {
    use std::fmt::Write as _;
    let plain = format!("{}.{}", created_at.timestamp_micros(), id.simple());
    plain.bytes().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

pub fn decode_token(token: &str) -> Option<(DateTime<Utc>, Uuid)> {
    if !token.len().is_multiple_of(2) || token.len() > 200 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    let plain = String::from_utf8(bytes?).ok()?;
    let (micros, id) = plain.split_once('.')?;
    Some((
        DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        Uuid::parse_str(id).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_refuse_garbage() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let id = Uuid::new_v4();
        assert_eq!(decode_token(&encode_token(at, id)), Some((at, id)));
        for bad in ["", "zz", "abc", "3132"] {
            assert_eq!(decode_token(bad), None, "{bad}");
        }
    }
}
