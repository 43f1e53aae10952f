//! Who is signed in: a random opaque session id in an HttpOnly cookie; the session (the staff
//! member and the CSRF token of their forms) kept in this process's memory and ended after
//! the configured idle time or at sign-out. A restart signs everybody out, which the stand-in
//! accepts (docs/designer.md).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Redirect, Response};
use http::Method;
use http::request::Parts;
use rand::RngCore as _;

use super::DesignerState;
use super::context::encode_query;
use super::cookies;
use crate::domain::designer::staff::StaffMember;

/// 256 random bits as 64 hex digits.
pub fn random_token() -> String {
    use std::fmt::Write as _;
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Compares in time independent of where the first difference is.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

struct Session {
    member: StaffMember,
    csrf_token: String,
    last_seen: Instant,
}

/// The live sessions.
#[derive(Clone)]
pub struct Sessions {
    live: Arc<Mutex<HashMap<String, Session>>>,
    idle: Duration,
}

impl Sessions {
    pub fn new(idle: Duration) -> Self {
        Self {
            live: Arc::default(),
            idle,
        }
    }

    /// Starts a session for `member`; answers its cookie value. The session `previous` (this
    /// browser's) ends, and a new id is made at every sign-in.
    pub fn start(&self, member: StaffMember, previous: Option<&str>) -> String {
        let token = random_token();
        let mut live = self
            .live
            .lock()
            .expect("the session table is never poisoned");
        if let Some(previous) = previous {
            live.remove(previous);
        }
        let idle = self.idle;
        live.retain(|_, s| s.last_seen.elapsed() < idle);
        live.insert(
            token.clone(),
            Session {
                member,
                csrf_token: random_token(),
                last_seen: Instant::now(),
            },
        );
        token
    }

    pub fn end(&self, token: &str) {
        self.live
            .lock()
            .expect("the session table is never poisoned")
            .remove(token);
    }

    /// The session of `token`, kept alive for another idle period.
    fn resume(&self, token: &str) -> Option<SignedIn> {
        let mut live = self
            .live
            .lock()
            .expect("the session table is never poisoned");
        let session = live.get_mut(token)?;
        if session.last_seen.elapsed() >= self.idle {
            live.remove(token);
            return None;
        }
        session.last_seen = Instant::now();
        Some(SignedIn {
            member: session.member.clone(),
            csrf_token: session.csrf_token.clone(),
            token: token.to_owned(),
        })
    }
}

/// A signed-in staff member: handlers that take it are only reached with a live session.
#[derive(Clone)]
pub struct SignedIn {
    pub member: StaffMember,
    pub csrf_token: String,
    /// The session's cookie value (to end it).
    pub token: String,
}

impl SignedIn {
    /// Whether a form's CSRF token is this session's.
    pub fn accepts(&self, csrf_token: Option<&str>) -> bool {
        csrf_token.is_some_and(|token| same(token, &self.csrf_token))
    }
}

/// The signed-in member, if any.
pub struct MaybeSignedIn(pub Option<SignedIn>);

fn current(parts: &Parts, state: &DesignerState) -> Option<SignedIn> {
    let token = cookies::get(&parts.headers, cookies::SESSION).filter(|t| well_formed(t))?;
    state.sessions.resume(token)
}

/// To the sign-in page, coming back here afterwards.
fn sign_in_first(parts: &Parts) -> Response {
    let back = (parts.method == Method::GET)
        .then(|| parts.uri.path_and_query().map(ToString::to_string))
        .flatten();
    match back {
        Some(back) => Redirect::to(&format!(
            "/designer/sign-in?{}",
            encode_query(&[("next", &back)])
        )),
        None => Redirect::to("/designer/sign-in"),
    }
    .into_response()
}

impl FromRequestParts<DesignerState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &DesignerState,
    ) -> Result<Self, Response> {
        current(parts, state).ok_or_else(|| sign_in_first(parts))
    }
}

impl FromRequestParts<DesignerState> for MaybeSignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &DesignerState,
    ) -> Result<Self, Response> {
        Ok(Self(current(parts, state)))
    }
}

/// Where a sign-in may send the member back to: a designer path only (never `//host` or a
/// full URL, which would make the sign-in page an open redirect).
pub fn safe_return_path(value: &str) -> Option<&str> {
    let ok = value.starts_with("/designer/")
        && !value.contains("//")
        && !value.contains('\\')
        && value.len() <= 512
        && value.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_designer_paths_are_return_paths() {
        assert!(safe_return_path("/designer/units/X/templates").is_some());
        for bad in [
            "//evil.example",
            "/designer//evil",
            "https://evil.example",
            "/inbox",
        ] {
            assert_eq!(safe_return_path(bad), None, "{bad}");
        }
    }

    fn member() -> StaffMember {
        use crate::domain::designer::staff::StaffRole;
        use common::identity::HsaId;
        StaffMember {
            hsa_id: HsaId::parse("SE0000000001-ST01").unwrap(),
            name: "Doris Designer".into(),
            care_units: vec![HsaId::parse("SE0000000001-CU01").unwrap()],
            role: StaffRole::Designer,
        }
    }

    #[test]
    fn a_session_ends_at_sign_out_after_idling_and_at_a_new_sign_in() {
        let sessions = Sessions::new(Duration::from_mins(1));
        let token = sessions.start(member(), None);
        let signed_in = sessions.resume(&token).expect("live");
        assert!(signed_in.accepts(Some(&signed_in.csrf_token)));
        assert!(!signed_in.accepts(None));
        // A new sign-in in the same browser ends the earlier session.
        let again = sessions.start(member(), Some(&token));
        assert!(sessions.resume(&token).is_none());
        sessions.end(&again);
        assert!(sessions.resume(&again).is_none());
        // Idle longer than the limit: gone.
        let brief = Sessions::new(Duration::ZERO);
        let token = brief.start(member(), None);
        assert!(brief.resume(&token).is_none());
    }

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert!(well_formed(&a));
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &b));
        assert!(!same("abc", "abcd"));
    }
}
