//! The example template of `docs/templates.md` (a health declaration before an operation),
//! shipped with the crate so the documentation, the demo data and the tests use the very same
//! template.

use crate::domain::template::FormTemplate;

/// The example template as JSON text.
pub const HEALTH_DECLARATION: &str = include_str!("../demo/health-declaration.json");

/// The example template, parsed.
pub fn health_declaration() -> FormTemplate {
    serde_json::from_str(HEALTH_DECLARATION).expect("the shipped example template is valid JSON")
}

/// The example template as a JSON value.
pub fn health_declaration_json() -> serde_json::Value {
    serde_json::from_str(HEALTH_DECLARATION).expect("the shipped example template is valid JSON")
}
