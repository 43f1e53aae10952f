//! Reading and writing the pages' cookies. Every cookie is HttpOnly (no script needs one) and
//! SameSite=Lax (sent when a citizen follows a link to the portal, not on another site's POST).

use common::server::pages::CookieScope;
use http::HeaderValue;

pub const SESSION: &str = "portal_session";
pub const SIGN_IN_CSRF: &str = "portal_sign_in_csrf";
pub const LANGUAGE: &str = "portal_lang";

/// Sent on every path, and when a citizen follows a link to the portal (not on another
/// site's POST).
const SCOPE: CookieScope = CookieScope {
    path: "/",
    same_site: "Lax",
};

pub use common::server::pages::cookie as get;

pub fn set(name: &str, value: &str, max_age_secs: Option<u64>, secure: bool) -> HeaderValue {
    SCOPE.set(name, value, max_age_secs, secure)
}

pub fn remove(name: &str, secure: bool) -> HeaderValue {
    SCOPE.remove(name, secure)
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, header};

    use super::*;

    #[test]
    fn finds_a_cookie_among_several() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; portal_lang=en"),
        );
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("portal_session=abc"),
        );
        assert_eq!(get(&headers, LANGUAGE), Some("en"));
        assert_eq!(get(&headers, SESSION), Some("abc"));
        assert_eq!(get(&headers, "portal"), None);
    }

    #[test]
    fn cookies_are_http_only_and_same_site_lax() {
        let cookie = set(SESSION, "abc", None, false);
        let text = cookie.to_str().unwrap();
        assert!(text.contains("HttpOnly"), "{text}");
        assert!(text.contains("SameSite=Lax"), "{text}");
        assert!(!text.contains("Secure"), "{text}");
        assert!(!text.contains("Max-Age"), "{text}");
        assert!(
            set(LANGUAGE, "en", Some(60), true)
                .to_str()
                .unwrap()
                .ends_with("; Secure")
        );
        assert!(
            remove(SESSION, false)
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
    }
}
