//! Calculations of a template (CalculationFormulaType, contracts.md §2.4): the engine's own
//! small formula language, checked when a template is saved and evaluated on a form's
//! answers into a CalculationOutcome per calculation.
//!
//! The language has numbers, yes/no values, arithmetic, comparisons, `and`/`or`/`not`,
//! `if`, and a fixed set of functions over questions (`sum`, `min`, `max`, `count`, `score`,
//! `value`, `answered`, `round`, `floor`, `ceil`, `abs`). It has no loops, no variables, no
//! user functions and no access to anything but the answers, so evaluating it takes one step
//! per term. docs/templates.md describes it, and why it is not an external crate.

mod compile;
mod eval;
pub mod syntax;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use eval::round_to;
pub use syntax::SyntaxError;

use self::compile::{Names, Question, Term};
use self::eval::{Env, Val};
use super::compiled::Answers;
use super::model::{CalculationFormula, FormTemplate, number};

/// The `type` of formulas in this language. A formula without a type is in it too; one of
/// another type (`drools`, `json`...) is stored and returned but not evaluated.
pub const FORMULA_TYPE: &str = "nordform";

/// Whether the engine evaluates a formula of this `type`.
pub fn is_evaluated(formula: &CalculationFormula) -> bool {
    formula
        .formula_type
        .as_deref()
        .is_none_or(|t| t.trim().is_empty() || t.eq_ignore_ascii_case(FORMULA_TYPE))
}

/// Why a calculation's formula is not right, found when the template is checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormulaProblem {
    #[error("at character {position}: {message}")]
    Syntax { position: usize, message: String },
    #[error(
        "at character {position}: `{name}` is neither a question id nor a calculationId of the template"
    )]
    UnknownName { position: usize, name: String },
    #[error(
        "at character {position}: `{name}` is both a question id and a calculationId; rename the calculation"
    )]
    AmbiguousName { position: usize, name: String },
    #[error("at character {position}: {message}")]
    Type { position: usize, message: String },
    /// The calculations on the circle, starting and ending with this one.
    #[error("the calculations depend on each other in a circle: {}", quoted(.0))]
    Cycle(Vec<String>),
    #[error(
        "formulas of type `{0}` are stored but not evaluated; leave `type` out (or write `{FORMULA_TYPE}`) for the engine's formula language"
    )]
    NotEvaluated(String),
}

fn quoted(ids: &[String]) -> String {
    let ids: Vec<String> = ids.iter().map(|id| format!("`{id}`")).collect();
    ids.join(" → ")
}

impl From<SyntaxError> for FormulaProblem {
    fn from(e: SyntaxError) -> Self {
        Self::Syntax {
            position: e.position,
            message: e.message,
        }
    }
}

/// Why a calculation has no outcome for a form's answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("question `{0}` is not answered")]
    NotAnswered(String),
    #[error("the answer to question `{0}` is not one of its alternatives")]
    NotAnAlternative(String),
    #[error("the answer to question `{0}` is not a number")]
    NotANumber(String),
    #[error("division by zero")]
    DivisionByZero,
    #[error("the result is not a finite number")]
    NotFinite,
    #[error("it depends on calculation `{0}`, which has no outcome")]
    DependsOn(String),
    #[error("the calculations depend on each other in a circle")]
    Cycle,
    #[error("the formula is not valid: {0}")]
    Invalid(String),
    #[error("formulas of type `{0}` are not evaluated by this engine")]
    NotEvaluated(String),
}

impl EvalError {
    /// The error message of the outcome: in Swedish for Swedish templates, as the validation
    /// texts are.
    pub fn message(&self, swedish: bool) -> String {
        if !swedish {
            let mut text = self.to_string();
            if let Some(first) = text.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            return format!("{text}.");
        }
        match self {
            Self::NotAnswered(q) => format!("Frågan `{q}` är inte besvarad."),
            Self::NotAnAlternative(q) => {
                format!("Svaret på frågan `{q}` är inte ett av dess alternativ.")
            }
            Self::NotANumber(q) => format!("Svaret på frågan `{q}` är inte ett tal."),
            Self::DivisionByZero => "Division med noll.".into(),
            Self::NotFinite => "Resultatet är inte ett ändligt tal.".into(),
            Self::DependsOn(c) => format!("Beräkningen bygger på `{c}`, som saknar resultat."),
            Self::Cycle => "Beräkningarna bygger på varandra i en cirkel.".into(),
            Self::Invalid(reason) => format!("Formeln är inte giltig: {reason}."),
            Self::NotEvaluated(t) => {
                format!("Formler av typen `{t}` beräknas inte av formulärmotorn.")
            }
        }
    }
}

/// CalculationOutcomeType: a calculation's result on a form's answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CalculationOutcome {
    #[schema(example = "phq9-sum")]
    pub calculation_id: String,
    /// Rounded to the formula's outcomePresentationPrecision; absent when it cannot be
    /// computed.
    #[serde(
        default,
        serialize_with = "outcome_number",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(example = 14)]
    pub outcome: Option<f64>,
    /// Why there is no outcome, e.g. a question left unanswered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

// serde's `serialize_with` hands over `&Option<f64>`.
#[allow(clippy::ref_option)]
fn outcome_number<S: serde::Serializer>(
    value: &Option<f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    value.map(number).serialize(serializer)
}

/// A calculation as compiled from its formula.
#[derive(Debug, Clone)]
struct Calculation {
    id: String,
    precision: Option<i32>,
    program: Program,
    /// The calculations its formula names.
    references: BTreeSet<usize>,
}

#[derive(Debug, Clone)]
enum Program {
    Ready(Term),
    /// Of another formula type; kept, not evaluated.
    Foreign(String),
    /// The formula did not pass the checks.
    Invalid(Vec<FormulaProblem>),
}

/// A template's calculations, checked and ready to evaluate on answers.
#[derive(Debug, Clone)]
pub struct Calculations {
    questions: Vec<Question>,
    list: Vec<Calculation>,
    /// The calculations in an order where each comes after those it names; the ones on or
    /// behind a circle are left out.
    order: Vec<usize>,
    /// The calculations on a circle, with the circle from each.
    cycles: BTreeMap<usize, Vec<String>>,
    swedish: bool,
}

impl Calculations {
    /// Reads and checks every formula of a (normalized) template.
    pub fn new(template: &FormTemplate) -> Self {
        let questions: Vec<Question> = template
            .questions()
            .map(|(_, _, q)| Question::new(q))
            .collect();
        let mut question_ids = BTreeMap::new();
        for (index, question) in questions.iter().enumerate() {
            question_ids.entry(question.id.as_str()).or_insert(index);
        }
        let mut calculation_ids = BTreeMap::new();
        let mut foreign = BTreeMap::new();
        for (index, formula) in template.formula.iter().enumerate() {
            calculation_ids
                .entry(formula.calculation_id.as_str())
                .or_insert(index);
            if !is_evaluated(formula) {
                foreign.insert(index, formula.formula_type.as_deref().unwrap_or_default());
            }
        }
        let names = Names {
            questions: &questions,
            question_ids,
            calculation_ids,
            foreign,
        };
        let calculations: Vec<Calculation> = template
            .formula
            .iter()
            .map(|formula| compile_one(formula, &names))
            .collect();
        let (order, cycles) = order(&calculations);
        Self {
            questions,
            list: calculations,
            order,
            cycles,
            swedish: template.language == "swe",
        }
    }

    /// Every problem of every formula, by calculationId, in template order.
    pub fn problems(&self) -> Vec<(String, FormulaProblem)> {
        let mut problems = Vec::new();
        for (index, calculation) in self.list.iter().enumerate() {
            let id = || calculation.id.clone();
            match &calculation.program {
                Program::Invalid(found) => {
                    problems.extend(found.iter().map(|p| (id(), p.clone())));
                }
                Program::Foreign(formula_type) => {
                    problems.push((id(), FormulaProblem::NotEvaluated(formula_type.clone())));
                }
                Program::Ready(_) => {}
            }
            if let Some(circle) = self.cycles.get(&index) {
                problems.push((id(), FormulaProblem::Cycle(circle.clone())));
            }
        }
        problems
    }

    /// The outcome of every calculation on `answers` (by question id), in template order.
    pub fn outcomes(&self, answers: &Answers) -> Vec<CalculationOutcome> {
        let ids: Vec<String> = self.list.iter().map(|c| c.id.clone()).collect();
        let mut results: Vec<Option<Result<f64, EvalError>>> = vec![None; self.list.len()];
        for &index in &self.order {
            let calculation = &self.list[index];
            let result = match &calculation.program {
                Program::Ready(term) => {
                    let env = Env {
                        questions: &self.questions,
                        answers,
                        outcomes: &results,
                        calculation_ids: &ids,
                    };
                    eval::evaluate(term, &env).and_then(|value| match value {
                        Val::Number(n) => Ok(calculation
                            .precision
                            .map_or(n, |precision| round_to(n, precision))),
                        Val::Bool(_) => Err(EvalError::Invalid(
                            "it gives yes or no, not a number".into(),
                        )),
                    })
                }
                Program::Foreign(formula_type) => {
                    Err(EvalError::NotEvaluated(formula_type.clone()))
                }
                Program::Invalid(problems) => Err(EvalError::Invalid(
                    problems
                        .first()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                )),
            };
            results[index] = Some(result);
        }
        self.list
            .iter()
            .zip(results)
            .enumerate()
            .map(|(index, (calculation, result))| {
                let result = result.unwrap_or_else(|| {
                    Err(if self.cycles.contains_key(&index) {
                        EvalError::Cycle
                    } else {
                        // Behind a circle: the first calculation it names without an outcome.
                        let blocked = calculation
                            .references
                            .iter()
                            .find(|&&r| !self.order.contains(&r))
                            .map_or_else(String::new, |&r| ids[r].clone());
                        EvalError::DependsOn(blocked)
                    })
                });
                match result {
                    Ok(outcome) => CalculationOutcome {
                        calculation_id: calculation.id.clone(),
                        outcome: Some(outcome),
                        error_message: None,
                    },
                    Err(error) => CalculationOutcome {
                        calculation_id: calculation.id.clone(),
                        outcome: None,
                        error_message: Some(error.message(self.swedish)),
                    },
                }
            })
            .collect()
    }
}

/// The outcome of every calculation of `template` on `answers` (by question id).
pub fn outcomes(template: &FormTemplate, answers: &Answers) -> Vec<CalculationOutcome> {
    Calculations::new(template).outcomes(answers)
}

fn compile_one(formula: &CalculationFormula, names: &Names<'_>) -> Calculation {
    let mut calculation = Calculation {
        id: formula.calculation_id.clone(),
        precision: formula.outcome_presentation_precision,
        program: Program::Invalid(Vec::new()),
        references: BTreeSet::new(),
    };
    if !is_evaluated(formula) {
        calculation.program = Program::Foreign(formula.formula_type.clone().unwrap_or_default());
        return calculation;
    }
    let root = match syntax::parse(&formula.formula) {
        Ok(root) => root,
        Err(e) => {
            calculation.program = Program::Invalid(vec![e.into()]);
            return calculation;
        }
    };
    let mut problems = Vec::new();
    let (term, references) = compile::compile(&root, names, &mut problems);
    calculation.references = references;
    calculation.program = match term {
        Some(term) if problems.is_empty() => Program::Ready(term),
        _ => Program::Invalid(problems),
    };
    calculation
}

/// An order of evaluation (each calculation after the ones it names) and the circles.
///
/// Kahn's algorithm: what it cannot order is on a circle or behind one. From each of those
/// not yet explained, following names among them must come back round; the part that does
/// is a circle.
fn order(calculations: &[Calculation]) -> (Vec<usize>, BTreeMap<usize, Vec<String>>) {
    let n = calculations.len();
    let mut waiting_on: Vec<usize> = calculations
        .iter()
        .map(|c| c.references.iter().filter(|&&r| r < n).count())
        .collect();
    let mut named_by: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (index, calculation) in calculations.iter().enumerate() {
        for &reference in &calculation.references {
            if reference < n {
                named_by[reference].push(index);
            }
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|&i| waiting_on[i] == 0).collect();
    ready.reverse();
    let mut order = Vec::with_capacity(n);
    while let Some(index) = ready.pop() {
        order.push(index);
        for &dependent in &named_by[index] {
            waiting_on[dependent] -= 1;
            if waiting_on[dependent] == 0 {
                ready.push(dependent);
            }
        }
    }
    let ordered: BTreeSet<usize> = order.iter().copied().collect();
    let mut cycles = BTreeMap::new();
    let mut explained = ordered.clone();
    for start in 0..n {
        if explained.contains(&start) {
            continue;
        }
        // Walk along unordered names until a calculation repeats.
        let mut path = vec![start];
        let mut seen = BTreeSet::from([start]);
        loop {
            let current = *path.last().unwrap_or(&start);
            let Some(&next) = calculations[current]
                .references
                .iter()
                .find(|r| !ordered.contains(r))
            else {
                break;
            };
            if cycles.contains_key(&next) || (explained.contains(&next) && !seen.contains(&next)) {
                break; // behind a circle already found
            }
            if !seen.insert(next) {
                let from = path.iter().position(|&i| i == next).unwrap_or(0);
                let circle = &path[from..];
                for (offset, &member) in circle.iter().enumerate() {
                    let mut ids: Vec<String> = circle[offset..]
                        .iter()
                        .chain(&circle[..offset])
                        .map(|&i| calculations[i].id.clone())
                        .collect();
                    ids.push(calculations[member].id.clone());
                    cycles.insert(member, ids);
                }
                break;
            }
            path.push(next);
        }
        explained.extend(path);
    }
    (order, cycles)
}
