//! What a receiver's answer means for the message it was sent (api.md §5): delivered, refused
//! for good (dead-lettered at once, the answer kept), or worth another try later.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use http::{HeaderMap, StatusCode, header};
use serde_json::Value;

/// At most this much of an answer's body is read: enough for a problem document or a
/// `ResultCode` answer, and a receiver answering with megabytes cannot fill our memory.
pub(super) const BODY_LIMIT: usize = 64 * 1024;

/// At most this many characters of a refusal's body are kept with the dead letter.
const EXCERPT_CHARS: usize = 300;

#[derive(Debug, PartialEq)]
pub(super) enum Outcome {
    /// HTTP 2xx with `ResultCode`/`resultCode` OK or INFO.
    Delivered,
    /// Transport error, timeout, 408, 425, 429, 5xx (or an answer that is not a contract
    /// answer): the receiver may take it later.
    Transient {
        reason: String,
        /// The receiver's `Retry-After`: not before this long from now.
        retry_after: Option<Duration>,
    },
    /// 2xx with `ResultCode: ERROR`, or 4xx other than 408, 425 and 429: sending the same
    /// message again would be refused again.
    Permanent(Refusal),
}

/// A receiver's refusal of a message.
#[derive(Debug, PartialEq)]
pub(super) struct Refusal {
    /// What is kept with the dead letter for operators: the status and an excerpt of the body
    /// (or the `comment`). It may quote the message, so it is stored, never logged.
    pub answer: String,
    pub status: u16,
    /// The machine code of the refusal (a problem document's `code`, or `ERROR` for a result
    /// code): what the log says instead of the answer.
    pub code: Option<String>,
}

/// Classifies an HTTP answer; `body` is at most [`BODY_LIMIT`] bytes of it.
pub(super) fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Outcome {
    if status.is_success() {
        let answer: Value = serde_json::from_slice(body).unwrap_or_default();
        let result_code = answer
            .get("ResultCode")
            .or_else(|| answer.get("resultCode"))
            .and_then(Value::as_str);
        return match result_code {
            Some("OK" | "INFO") => Outcome::Delivered,
            Some("ERROR") => {
                let comment = answer
                    .get("comment")
                    .and_then(Value::as_str)
                    .map_or_else(|| String::from("no comment"), |c| excerpt(c.as_bytes()));
                Outcome::Permanent(Refusal {
                    answer: format!(
                        "refused by the receiver: HTTP {status}, ResultCode ERROR: {comment}"
                    ),
                    status: status.as_u16(),
                    code: Some(String::from("ERROR")),
                })
            }
            // Not a contract answer (a proxy's page, an empty 204): the receiver is not
            // (yet) the service we expect, which an operator can fix.
            _ => Outcome::Transient {
                reason: format!(
                    "the receiver answered HTTP {status} without ResultCode OK or INFO"
                ),
                retry_after: None,
            },
        };
    }
    if is_permanent(status) {
        return Outcome::Permanent(Refusal {
            answer: format!("refused by the receiver: HTTP {status}: {}", excerpt(body)),
            status: status.as_u16(),
            code: problem_code(body),
        });
    }
    // 408, 425, 429, 5xx, and the odd 1xx/3xx (a redirect we do not follow: configuration).
    let retry_after = retry_after(headers, now);
    let reason = match retry_after {
        Some(wait) => format!(
            "the receiver answered HTTP {status} (Retry-After {} s)",
            wait.as_secs()
        ),
        None => format!("the receiver answered HTTP {status}"),
    };
    Outcome::Transient {
        reason,
        retry_after,
    }
}

/// 4xx other than 408 Request Timeout, 425 Too Early and 429 Too Many Requests.
fn is_permanent(status: StatusCode) -> bool {
    status.is_client_error()
        && !matches!(
            status,
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_EARLY | StatusCode::TOO_MANY_REQUESTS
        )
}

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3, the three date forms
/// recipients must accept); a date in the past means now.
pub(super) fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds is still "a long time".
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            // RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994").
            ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
                .iter()
                .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
                .map(|t| t.and_utc())
        })?;
    Some((at - now).to_std().unwrap_or_default())
}

/// A problem document's `code`, when it looks like a machine code (nothing else of the body
/// goes to the log).
fn problem_code(body: &[u8]) -> Option<String> {
    let answer: Value = serde_json::from_slice(body).ok()?;
    let code = answer.get("code")?.as_str()?;
    let machine_like = (1..=40).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    machine_like.then(|| code.to_owned())
}

/// The start of a body on one line: control characters and runs of white space become one
/// space, at most [`EXCERPT_CHARS`] characters.
pub(super) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut line = String::new();
    let mut taken = 0;
    for word in text.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        if !line.is_empty() {
            line.push(' ');
            taken += 1;
        }
        for c in word.chars() {
            if taken == EXCERPT_CHARS {
                line.push('…');
                return line;
            }
            line.push(c);
            taken += 1;
        }
    }
    if line.is_empty() {
        String::from("(no body)")
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Outcome {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        classify(
            StatusCode::from_u16(status).unwrap(),
            &map,
            body.as_bytes(),
            now(),
        )
    }

    fn is_transient(outcome: &Outcome) -> bool {
        matches!(outcome, Outcome::Transient { .. })
    }

    #[test]
    fn ok_and_info_are_delivered_in_either_spelling() {
        assert_eq!(
            answer(200, &[], r#"{"ResultCode":"OK"}"#),
            Outcome::Delivered
        );
        assert_eq!(
            answer(201, &[], r#"{"resultCode":"INFO","comment":"x"}"#),
            Outcome::Delivered
        );
    }

    #[test]
    fn result_code_error_is_permanent_with_its_comment() {
        let Outcome::Permanent(refusal) = answer(
            200,
            &[],
            r#"{"ResultCode":"ERROR","comment":"patient\nunknown"}"#,
        ) else {
            panic!("permanent")
        };
        assert_eq!(
            refusal.answer,
            "refused by the receiver: HTTP 200 OK, ResultCode ERROR: patient unknown"
        );
        assert_eq!(refusal.code.as_deref(), Some("ERROR"));
    }

    #[test]
    fn a_2xx_without_a_result_code_is_transient() {
        assert!(is_transient(&answer(200, &[], "<html>proxy</html>")));
        assert!(is_transient(&answer(204, &[], "")));
    }

    #[test]
    fn client_errors_are_permanent_except_408_425_429() {
        for status in [400, 401, 403, 404, 409, 413, 415, 422] {
            assert!(
                matches!(answer(status, &[], ""), Outcome::Permanent(_)),
                "{status}"
            );
        }
        for status in [408, 425, 429, 500, 502, 503, 504, 301] {
            assert!(is_transient(&answer(status, &[], "")), "{status}");
        }
    }

    #[test]
    fn a_refusal_keeps_status_and_an_excerpt_and_logs_only_the_code() {
        let body = r#"{"type":"about:blank","title":"Bad Request","status":400,
            "detail":"EI004: clinicalProcessInterestId has leading or trailing whitespace","code":"EI004"}"#;
        let Outcome::Permanent(refusal) = answer(400, &[], body) else {
            panic!("permanent")
        };
        assert_eq!(refusal.status, 400);
        assert_eq!(refusal.code.as_deref(), Some("EI004"));
        assert!(
            refusal
                .answer
                .starts_with("refused by the receiver: HTTP 400 Bad Request: {"),
            "{}",
            refusal.answer
        );
        assert!(refusal.answer.contains("trailing whitespace"));
        assert!(!refusal.answer.contains('\n'));
        let Outcome::Permanent(refusal) = answer(403, &[], r#"{"code":"191212121212 is not you"}"#)
        else {
            panic!("permanent")
        };
        assert_eq!(refusal.code, None, "only machine codes reach the log");
    }

    #[test]
    fn excerpts_are_one_short_line() {
        assert_eq!(excerpt(b""), "(no body)");
        assert_eq!(excerpt(b"  a\r\n\tb\0c  "), "a b c");
        let long = "é".repeat(1000);
        let cut = excerpt(long.as_bytes());
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn retry_after_in_seconds_or_as_an_http_date() {
        let wait = |value: &str| match answer(503, &[("retry-after", value)], "") {
            Outcome::Transient { retry_after, .. } => retry_after,
            other => panic!("{other:?}"),
        };
        assert_eq!(wait("7"), Some(Duration::from_secs(7)));
        assert_eq!(wait(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            wait("Sun, 01 Mar 2026 12:00:30 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            wait("Sunday, 01-Mar-26 12:01:00 GMT"),
            Some(Duration::from_mins(1))
        );
        assert_eq!(
            wait("Sun Mar  1 12:00:05 2026"),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            wait("Sat, 28 Feb 2026 12:00:00 GMT"),
            Some(Duration::ZERO),
            "a date in the past: now"
        );
        assert_eq!(wait("soon"), None);
        assert_eq!(wait("-3"), None);
        let Outcome::Transient { reason, .. } = answer(429, &[("retry-after", "2")], "") else {
            panic!("transient")
        };
        assert_eq!(
            reason,
            "the receiver answered HTTP 429 Too Many Requests (Retry-After 2 s)"
        );
    }
}
