//! Reading and writing the pages' cookies. Every cookie is HttpOnly (no script needs one) and
//! SameSite=Lax (sent when a citizen follows a link to the portal, not on another site's POST).

use http::{HeaderMap, HeaderValue, header};

pub const SESSION: &str = "portal_session";
pub const SIGN_IN_CSRF: &str = "portal_sign_in_csrf";
pub const LANGUAGE: &str = "portal_lang";

/// The value of cookie `name` in the request, if sent.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

/// A `Set-Cookie` value. Without `max_age_secs` the cookie lasts until the browser closes
/// (the session cookie: the server decides when a session ends); 0 removes it.
pub fn set(name: &str, value: &str, max_age_secs: Option<u64>, secure: bool) -> HeaderValue {
    let max_age = max_age_secs
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{name}={value}; Path=/{max_age}; HttpOnly; SameSite=Lax{secure}");
    // Names are constants and values are hex or language codes: always valid header text.
    HeaderValue::from_str(&cookie).expect("cookie names and values are header-safe")
}

pub fn remove(name: &str, secure: bool) -> HeaderValue {
    set(name, "", Some(0), secure)
}

#[cfg(test)]
mod tests {
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
