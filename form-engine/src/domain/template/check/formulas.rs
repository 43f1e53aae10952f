//! Checks of the calculation formulas: each must read, name only the template's questions
//! and calculations, use them as they fit, and not need its own outcome by a circle.

use super::{Findings, is_blank};
use crate::domain::template::finding::{FindingCode, Location};
use crate::domain::template::formula::{Calculations, FormulaProblem};
use crate::domain::template::model::FormTemplate;

pub(super) fn check(template: &FormTemplate, findings: &mut Findings) {
    if template.formula.is_empty() {
        return;
    }
    // An empty formula is already reported as BLANK_TEXT by the info checks.
    let blank: Vec<&str> = template
        .formula
        .iter()
        .filter(|f| is_blank(&f.formula))
        .map(|f| f.calculation_id.as_str())
        .collect();
    let at = Location::template();
    for (id, problem) in Calculations::new(template).problems() {
        let code = match problem {
            FormulaProblem::Syntax { .. } if blank.contains(&id.as_str()) => continue,
            FormulaProblem::Syntax { .. } => FindingCode::FormulaSyntax,
            FormulaProblem::UnknownName { .. } | FormulaProblem::AmbiguousName { .. } => {
                FindingCode::FormulaUnknownReference
            }
            FormulaProblem::Type { .. } => FindingCode::FormulaType,
            FormulaProblem::Cycle(_) => FindingCode::CalculationCycle,
            FormulaProblem::NotEvaluated(_) => {
                findings.warning(
                    FindingCode::FormulaNotEvaluated,
                    &at,
                    Some(&field(&id)),
                    &problem.to_string(),
                );
                continue;
            }
        };
        findings.error(code, &at, Some(&field(&id)), &problem.to_string());
    }
}

/// Names the calculation as the other formula findings do.
fn field(id: &str) -> String {
    format!("formula `{id}`")
}
