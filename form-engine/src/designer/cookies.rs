//! The designer's cookies: HttpOnly (no script needs one), SameSite=Strict (staff never arrive
//! at the designer by another site's link with a change to make) and limited to `/designer`.

use http::{HeaderMap, HeaderValue, header};

pub const SESSION: &str = "designer_session";
pub const SIGN_IN_CSRF: &str = "designer_sign_in_csrf";
pub const LANGUAGE: &str = "designer_lang";

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

/// A `Set-Cookie` value; without `max_age_secs` it lasts until the browser closes, 0 removes it.
pub fn set(name: &str, value: &str, max_age_secs: Option<u64>, secure: bool) -> HeaderValue {
    let max_age = max_age_secs
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    let secure = if secure { "; Secure" } else { "" };
    let cookie =
        format!("{name}={value}; Path=/designer{max_age}; HttpOnly; SameSite=Strict{secure}");
    // Names are constants and values hex or language codes: always valid header text.
    HeaderValue::from_str(&cookie).expect("cookie names and values are header-safe")
}

pub fn remove(name: &str, secure: bool) -> HeaderValue {
    set(name, "", Some(0), secure)
}
