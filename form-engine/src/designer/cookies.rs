//! The designer's cookies: HttpOnly (no script needs one), SameSite=Strict (staff never arrive
//! at the designer by another site's link with a change to make) and limited to `/designer`.

use common::server::pages::CookieScope;
use http::HeaderValue;

pub const SESSION: &str = "designer_session";
pub const SIGN_IN_CSRF: &str = "designer_sign_in_csrf";
pub const LANGUAGE: &str = "designer_lang";

/// Only the designer's paths; never sent when staff arrive by another site's link.
const SCOPE: CookieScope = CookieScope {
    path: "/designer",
    same_site: "Strict",
};

pub use common::server::pages::cookie as get;

pub fn set(name: &str, value: &str, max_age_secs: Option<u64>, secure: bool) -> HeaderValue {
    SCOPE.set(name, value, max_age_secs, secure)
}

pub fn remove(name: &str, secure: bool) -> HeaderValue {
    SCOPE.remove(name, secure)
}
