//! What every page needs to know of its request: the language and where the language switch
//! leads.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header;
use http::request::Parts;

use super::cookies;
use super::texts::{Lang, Texts};
use crate::api::AppState;

/// Remember a language for a year once chosen.
const LANGUAGE_COOKIE_SECS: u64 = 365 * 24 * 60 * 60;

#[derive(Clone, Debug)]
pub struct PageContext {
    pub lang: Lang,
    path: String,
    query: Vec<(String, String)>,
}

impl PageContext {
    /// The language is `?lang=` when given (the switch's link), else the remembered choice,
    /// else Swedish.
    pub fn from_parts(parts: &Parts) -> Self {
        let query = query_pairs(parts.uri.query());
        let lang = chosen_language(&query)
            .or_else(|| cookies::get(&parts.headers, cookies::LANGUAGE).and_then(Lang::from_code))
            .unwrap_or_default();
        Self {
            lang,
            path: parts.uri.path().to_owned(),
            query,
        }
    }

    /// The request's path, without the query.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn texts(&self) -> &'static Texts {
        self.lang.texts()
    }

    /// This page in the other language: the same path and query with `lang` replaced.
    pub fn language_switch_href(&self) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .query
            .iter()
            .filter(|(key, _)| key != "lang")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        pairs.push(("lang", self.lang.other().code()));
        format!("{}?{}", self.path, encode_query(&pairs))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .unwrap_or_default()
}

fn chosen_language(query: &[(String, String)]) -> Option<Lang> {
    query
        .iter()
        .find(|(key, _)| key == "lang")
        .and_then(|(_, value)| Lang::from_code(value))
}

/// `application/x-www-form-urlencoded`, for links the pages build.
pub fn encode_query(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// Middleware: a page opened with `?lang=` remembers the choice in a cookie, so the next page
/// (and a form's answer) keeps the language without carrying it in every link.
pub async fn remember_language(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let chosen = chosen_language(&query_pairs(request.uri().query()));
    let mut response = next.run(request).await;
    if let Some(lang) = chosen {
        response.headers_mut().append(
            header::SET_COOKIE,
            cookies::set(
                cookies::LANGUAGE,
                lang.code(),
                Some(LANGUAGE_COOKIE_SECS),
                state.config.web.secure_cookies,
            ),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(uri: &str, cookie: Option<&str>) -> PageContext {
        let mut request = http::Request::builder().uri(uri);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let (parts, ()) = request.body(()).unwrap().into_parts();
        PageContext::from_parts(&parts)
    }

    #[test]
    fn the_query_wins_then_the_cookie_then_swedish() {
        assert_eq!(context("/inbox", None).lang, Lang::Sv);
        assert_eq!(context("/inbox", Some("portal_lang=en")).lang, Lang::En);
        assert_eq!(
            context("/inbox?lang=sv", Some("portal_lang=en")).lang,
            Lang::Sv
        );
        assert_eq!(context("/inbox?lang=xx", None).lang, Lang::Sv);
    }

    #[test]
    fn the_switch_keeps_the_rest_of_the_query() {
        let switch = context("/sign-in?next=%2Finbox%2F1&lang=sv", None).language_switch_href();
        assert_eq!(switch, "/sign-in?next=%2Finbox%2F1&lang=en");
        assert_eq!(
            context("/inbox", Some("portal_lang=en")).language_switch_href(),
            "/inbox?lang=sv"
        );
    }
}
