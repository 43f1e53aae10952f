//! The stylesheet, served by the service itself (no CDN: the portal works offline): the form
//! page's (shared with the form designer's preview) followed by the portal's own rules.

use std::sync::LazyLock;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

/// Versioned by the crate version so a new release is not hidden by a cached old sheet.
pub const STYLESHEET_PATH: &str = "/static/portal.css";
pub const STYLESHEET_HREF: &str = concat!("/static/portal.css?v=", env!("CARGO_PKG_VERSION"));

pub static STYLESHEET: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{}\n{}",
        form_render::STYLESHEET,
        include_str!("../../assets/portal.css")
    )
});

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
        STYLESHEET.as_str(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::STYLESHEET;

    /// The colour a custom property `--name` has in the stylesheet's `:root`.
    fn colour(name: &str) -> (f64, f64, f64) {
        let declaration = format!("--{name}: #");
        let start = STYLESHEET
            .find(&declaration)
            .unwrap_or_else(|| panic!("--{name} is not declared"))
            + declaration.len();
        let hex = &STYLESHEET[start..start + 6];
        let channel = |i: usize| f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
        (channel(0), channel(2), channel(4))
    }

    /// WCAG 2.1 relative luminance.
    fn luminance((r, g, b): (f64, f64, f64)) -> f64 {
        let linear = |c: f64| {
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    }

    fn contrast(foreground: &str, background: &str) -> f64 {
        let (a, b) = (luminance(colour(foreground)), luminance(colour(background)));
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    #[test]
    fn text_colours_meet_wcag_aa() {
        // Every text/background pair the stylesheet uses: 4.5:1 (WCAG 2.1 AA, 1.4.3).
        let text_pairs = [
            ("color-text", "color-background"),
            ("color-text", "color-surface"),
            ("color-text", "color-unread-background"),
            ("color-muted", "color-background"),
            ("color-muted", "color-surface"),
            ("color-muted", "color-unread-background"),
            ("color-link", "color-background"),
            ("color-link", "color-surface"),
            ("color-link", "color-unread-background"),
            ("color-primary", "color-background"),
            ("color-on-primary", "color-primary"),
            ("color-on-primary", "color-primary-hover"),
            ("color-on-badge", "color-badge"),
            ("color-on-banner", "color-banner"),
            ("color-error", "color-background"),
            // The cancel button's text.
            ("color-on-primary", "color-error"),
        ];
        for (foreground, background) in text_pairs {
            let ratio = contrast(foreground, background);
            assert!(
                ratio >= 4.5,
                "--{foreground} on --{background}: {ratio:.2}:1"
            );
        }
    }

    #[test]
    fn focus_and_borders_are_visible() {
        // Focus indicators and control borders: 3:1 against what surrounds them (1.4.11).
        for (part, background) in [
            ("color-focus", "color-background"),
            ("color-focus", "color-focus-halo"),
            ("color-focus-halo", "color-primary"),
            ("color-border", "color-background"),
            ("color-error", "color-background"),
            ("color-badge", "color-unread-background"),
            // Form controls are outlined in the text colour.
            ("color-text", "color-background"),
        ] {
            let ratio = contrast(part, background);
            assert!(
                ratio >= 3.0,
                "--{part} against --{background}: {ratio:.2}:1"
            );
        }
    }
}
