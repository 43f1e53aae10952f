//! What every designer page needs of its request: the language (Swedish, or English when
//! chosen) and where the language switch leads.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header;
use http::request::Parts;

use super::DesignerState;
use super::cookies;

/// Remember a language for a year once chosen.
const LANGUAGE_COOKIE_SECS: u64 = 365 * 24 * 60 * 60;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Sv,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Self::Sv => "sv",
            Self::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "sv" => Some(Self::Sv),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Sv => Self::En,
            Self::En => Self::Sv,
        }
    }

    /// The text in this language: every text is written in both, side by side.
    pub fn pick(self, sv: &'static str, en: &'static str) -> &'static str {
        match self {
            Self::Sv => sv,
            Self::En => en,
        }
    }
}

#[derive(Clone, Debug)]
pub struct PageContext {
    pub lang: Lang,
    path: String,
    query: Vec<(String, String)>,
}

impl PageContext {
    /// `?lang=` when given (the switch's link), else the remembered choice, else Swedish.
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

    pub fn path(&self) -> &str {
        &self.path
    }

    /// A query parameter of the request.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
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

/// Middleware: a page opened with `?lang=` remembers the choice in a cookie.
pub async fn remember_language(
    State(state): State<DesignerState>,
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
                state.secure_cookies,
            ),
        );
    }
    response
}
