//! The stylesheet and the autosave script, served by the engine itself (no CDN: the designer
//! works offline).

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

pub const STYLESHEET_PATH: &str = "/designer/static/designer.css";
pub const SCRIPT_PATH: &str = "/designer/static/designer.js";

pub const STYLESHEET: &str = include_str!("../../assets/designer.css");
pub const SCRIPT: &str = include_str!("../../assets/designer.js");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}

pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
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
        for (foreground, background) in [
            ("color-text", "color-background"),
            ("color-text", "color-surface"),
            ("color-text", "color-error-background"),
            ("color-text", "color-warning-background"),
            ("color-muted", "color-background"),
            ("color-muted", "color-surface"),
            ("color-link", "color-background"),
            ("color-link", "color-surface"),
            ("color-on-primary", "color-primary"),
            ("color-on-primary", "color-primary-hover"),
            ("color-on-banner", "color-banner"),
            ("color-error", "color-background"),
        ] {
            let ratio = contrast(foreground, background);
            assert!(
                ratio >= 4.5,
                "--{foreground} on --{background}: {ratio:.2}:1"
            );
        }
    }

    #[test]
    fn focus_borders_and_markers_are_visible() {
        // Focus indicators, control borders and the findings' markers: 3:1 (1.4.11).
        for (part, background) in [
            ("color-focus", "color-background"),
            ("color-focus", "color-surface"),
            ("color-focus", "color-focus-halo"),
            ("color-focus-halo", "color-primary"),
            ("color-border", "color-background"),
            ("color-border", "color-surface"),
            ("color-error", "color-error-background"),
            ("color-warning", "color-warning-background"),
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
