//! Checks of the template's own fields: id, names, language, calculation formulas.

use std::collections::BTreeSet;

use super::{Findings, is_blank};
use crate::domain::template::finding::{FindingCode, Location};
use crate::domain::template::model::{Code, FormTemplate};

/// Longest template id: ids travel in engagement-index posts and URLs of e-services.
pub const MAX_TEMPLATE_ID_LEN: usize = 64;

pub(super) fn check(template: &FormTemplate, findings: &mut Findings) {
    let at = Location::template();
    let id = &template.template_id;
    if id.is_empty() || id.len() > MAX_TEMPLATE_ID_LEN || !id.bytes().all(|b| b.is_ascii_graphic())
    {
        findings.error(
            FindingCode::InvalidTemplateId,
            &at,
            Some("templateId"),
            &format!(
                "`{id}` is not a template id: use 1 to {MAX_TEMPLATE_ID_LEN} printable ASCII characters without spaces"
            ),
        );
    }
    if is_blank(&template.form_name) {
        findings.error(
            FindingCode::BlankText,
            &at,
            Some("formName"),
            "the form needs a name",
        );
    }
    let language = &template.language;
    if language.len() != 3 || !language.bytes().all(|b| b.is_ascii_lowercase()) {
        findings.error(
            FindingCode::InvalidLanguage,
            &at,
            Some("language"),
            &format!(
                "`{language}` is not an ISO 639-2 language code: use three lower-case letters such as `swe` or `eng`"
            ),
        );
    }
    if let Some(code) = &template.code {
        check_code(code, &at, "code", findings);
    }
    let mut calculation_ids = BTreeSet::new();
    for formula in &template.formula {
        let field = format!("formula `{}`", formula.calculation_id);
        if is_blank(&formula.calculation_id) {
            findings.error(
                FindingCode::BlankText,
                &at,
                Some("formula.calculationId"),
                "every calculation formula needs a calculationId",
            );
        } else if !calculation_ids.insert(formula.calculation_id.as_str()) {
            findings.error(
                FindingCode::DuplicateCalculationId,
                &at,
                Some(&field),
                "another formula has the same calculationId",
            );
        }
        if is_blank(&formula.subject) {
            findings.error(
                FindingCode::BlankText,
                &at,
                Some(&field),
                "the formula needs a subject",
            );
        }
        if is_blank(&formula.formula) {
            findings.error(
                FindingCode::BlankText,
                &at,
                Some(&field),
                "the formula text is empty",
            );
        }
    }
}

pub(super) fn check_code(code: &Code, at: &Location, field: &str, findings: &mut Findings) {
    if is_blank(&code.code_value) || is_blank(&code.code_system) {
        findings.error(
            FindingCode::BlankText,
            at,
            Some(field),
            "a code needs both codeValue and codeSystem",
        );
    }
}
