//! The stylesheet, served by the service itself (no CDN: the portal works offline).

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

/// Versioned by the crate version so a new release is not hidden by a cached old sheet.
pub const STYLESHEET_PATH: &str = "/static/portal.css";
pub const STYLESHEET_HREF: &str = concat!("/static/portal.css?v=", env!("CARGO_PKG_VERSION"));

pub const STYLESHEET: &str = include_str!("../../assets/portal.css");

pub async fn stylesheet() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        STYLESHEET,
    )
        .into_response()
}
