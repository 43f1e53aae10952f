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

/// The demo's test staff for the designer's sign-in stand-in: a designer and a publisher of
/// the example template's care unit, and a designer of another care unit (who sees none of
/// its templates).
pub fn designer_staff() -> Vec<crate::config::StaffConfig> {
    use crate::config::StaffConfig;
    use crate::domain::designer::staff::StaffRole;
    use common::identity::HsaId;
    let unit = health_declaration().health_care_facility_unit;
    let id = |text: &str| HsaId::parse(text).expect("a valid demo HSA-id");
    vec![
        StaffConfig {
            hsa_id: id("SE0000000001-ST01"),
            name: String::from("Doris Designer"),
            care_units: vec![unit.clone()],
            role: StaffRole::Designer,
        },
        StaffConfig {
            hsa_id: id("SE0000000001-ST02"),
            name: String::from("Petra Publicerare"),
            care_units: vec![unit],
            role: StaffRole::Publisher,
        },
        StaffConfig {
            hsa_id: id("SE0000000001-ST03"),
            name: String::from("Anders Annan"),
            care_units: vec![id("SE0000000001-CU02")],
            role: StaffRole::Designer,
        },
    ]
}
