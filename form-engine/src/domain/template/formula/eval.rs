//! Evaluating a checked formula on a form's answers. The program has no loops and no calls
//! other than the built-in functions, so the work is one visit per term (a range counts as
//! its questions), and the nesting is bounded by the parser.

use serde_json::Value;

use super::EvalError;
use super::compile::{Question, Term};
use super::syntax::BinaryOp;
use crate::domain::template::compiled::{Answers, is_empty_answer};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val {
    Number(f64),
    Bool(bool),
}

/// What a formula reads: the questions, the answers, and the outcomes of the calculations
/// evaluated before it.
pub struct Env<'a> {
    pub questions: &'a [Question],
    pub answers: &'a Answers,
    pub outcomes: &'a [Option<Result<f64, EvalError>>],
    pub calculation_ids: &'a [String],
}

impl Env<'_> {
    fn answer(&self, index: usize) -> Option<&Value> {
        let question = &self.questions[index];
        self.answers
            .get(&question.id)
            .filter(|value| !is_empty_answer(value))
    }

    fn required(&self, index: usize) -> Result<&Value, EvalError> {
        self.answer(index)
            .ok_or_else(|| EvalError::NotAnswered(self.questions[index].id.clone()))
    }

    fn chosen_score(&self, index: usize, value: &Value) -> Result<f64, EvalError> {
        let question = &self.questions[index];
        let number = alternative_number(value);
        question
            .alternatives
            .iter()
            .find(|(n, _)| Some(*n) == number)
            .and_then(|(_, score)| *score)
            .ok_or_else(|| EvalError::NotAnAlternative(question.id.clone()))
    }

    fn score(&self, index: usize) -> Result<f64, EvalError> {
        match self.required(index)? {
            Value::Array(chosen) => chosen
                .iter()
                .map(|value| self.chosen_score(index, value))
                .sum(),
            value => self.chosen_score(index, value),
        }
    }

    fn value(&self, index: usize) -> Result<f64, EvalError> {
        let question = &self.questions[index];
        let value = self.required(index)?;
        if question.input.is_choice() {
            // A radio or select answer: the alternative's number.
            let number = alternative_number(value)
                .filter(|n| question.alternatives.iter().any(|(a, _)| a == n))
                .ok_or_else(|| EvalError::NotAnAlternative(question.id.clone()))?;
            return Ok(f64::from(number));
        }
        value
            .as_f64()
            .ok_or_else(|| EvalError::NotANumber(question.id.clone()))
    }

    fn calculation(&self, index: usize) -> Result<f64, EvalError> {
        match self.outcomes.get(index) {
            Some(Some(Ok(outcome))) => Ok(*outcome),
            _ => Err(EvalError::DependsOn(self.calculation_ids[index].clone())),
        }
    }
}

/// An alternative number as answers give it: a whole JSON number.
fn alternative_number(value: &Value) -> Option<u32> {
    value.as_u64().and_then(|n| u32::try_from(n).ok())
}

fn finite(n: f64) -> Result<f64, EvalError> {
    if n.is_finite() {
        Ok(n)
    } else {
        Err(EvalError::NotFinite)
    }
}

fn number(term: &Term, env: &Env<'_>) -> Result<f64, EvalError> {
    match evaluate(term, env)? {
        Val::Number(n) => Ok(n),
        // The checks rule this out; an error rather than a panic if a change breaks that.
        Val::Bool(_) => Err(EvalError::Invalid(
            "a yes/no value where a number belongs".into(),
        )),
    }
}

fn truth(term: &Term, env: &Env<'_>) -> Result<bool, EvalError> {
    match evaluate(term, env)? {
        Val::Bool(b) => Ok(b),
        Val::Number(_) => Err(EvalError::Invalid(
            "a number where yes or no belongs".into(),
        )),
    }
}

fn numbers(terms: &[Term], env: &Env<'_>) -> Result<Vec<f64>, EvalError> {
    terms.iter().map(|t| number(t, env)).collect()
}

pub fn evaluate(term: &Term, env: &Env<'_>) -> Result<Val, EvalError> {
    let n = |n: f64| Ok(Val::Number(n));
    match term {
        Term::Number(x) => n(*x),
        Term::Bool(b) => Ok(Val::Bool(*b)),
        Term::Score(q) => n(env.score(*q)?),
        Term::Value(q) => n(env.value(*q)?),
        Term::Answered(q) => Ok(Val::Bool(env.answer(*q).is_some())),
        Term::Calculation(c) => n(env.calculation(*c)?),
        Term::Negate(x) => n(-number(x, env)?),
        Term::Not(x) => Ok(Val::Bool(!truth(x, env)?)),
        Term::Arithmetic(op, a, b) => {
            let (a, b) = (number(a, env)?, number(b, env)?);
            let result = match op {
                BinaryOp::Add => a + b,
                BinaryOp::Subtract => a - b,
                BinaryOp::Multiply => a * b,
                BinaryOp::Divide if b == 0.0 => return Err(EvalError::DivisionByZero),
                BinaryOp::Divide => a / b,
                BinaryOp::Power => a.powf(b),
                _ => return Err(EvalError::Invalid(format!("`{}` on numbers", op.symbol()))),
            };
            n(finite(result)?)
        }
        Term::Compare(op, a, b) => {
            let (a, b) = (number(a, env)?, number(b, env)?);
            #[allow(clippy::float_cmp)] // answers and scores are compared as given
            let holds = match op {
                BinaryOp::Equal => a == b,
                BinaryOp::NotEqual => a != b,
                BinaryOp::Less => a < b,
                BinaryOp::LessOrEqual => a <= b,
                BinaryOp::Greater => a > b,
                BinaryOp::GreaterOrEqual => a >= b,
                _ => return Err(EvalError::Invalid(format!("`{}` compares", op.symbol()))),
            };
            Ok(Val::Bool(holds))
        }
        Term::Same(equal, a, b) => Ok(Val::Bool((truth(a, env)? == truth(b, env)?) == *equal)),
        Term::And(a, b) => Ok(Val::Bool(truth(a, env)? && truth(b, env)?)),
        Term::Or(a, b) => Ok(Val::Bool(truth(a, env)? || truth(b, env)?)),
        Term::If(condition, then, otherwise) => {
            if truth(condition, env)? {
                evaluate(then, env)
            } else {
                evaluate(otherwise, env)
            }
        }
        Term::Sum(terms) => n(finite(numbers(terms, env)?.into_iter().sum())?),
        Term::Min(terms) => n(numbers(terms, env)?
            .into_iter()
            .fold(f64::INFINITY, f64::min)),
        Term::Max(terms) => n(numbers(terms, env)?
            .into_iter()
            .fold(f64::NEG_INFINITY, f64::max)),
        Term::Count(terms) => {
            let mut count = 0_u32;
            for term in terms {
                if truth(term, env)? {
                    count += 1;
                }
            }
            n(f64::from(count))
        }
        Term::Round(x, decimals) => n(round_to(number(x, env)?, *decimals)),
        Term::Floor(x) => n(number(x, env)?.floor()),
        Term::Ceil(x) => n(number(x, env)?.ceil()),
        Term::Abs(x) => n(number(x, env)?.abs()),
    }
}

/// Rounds to `decimals` places (negative: to tens, hundreds...), halves away from zero.
///
/// It rounds the shortest decimal that reads back as `x`, the number as a person sees it, so
/// 1.005 rounds to 1.01; rounding its binary value (1.00499999...) would give 1.00.
pub fn round_to(x: f64, decimals: i32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let decimals = decimals.clamp(-20, 20);
    // `{:e}` writes the shortest digits that read back as x: `-1.005e0`.
    let text = format!("{:e}", x.abs());
    let Some((mantissa, exponent)) = text.split_once('e') else {
        return x;
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return x;
    };
    let digits: Vec<u8> = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    // The digits are d0.d1d2... × 10^exponent; keep those down to 10^-decimals.
    let kept = exponent + 1 + decimals;
    let Ok(kept) = usize::try_from(kept) else {
        return 0.0;
    };
    if kept >= digits.len() {
        return x;
    }
    let mut whole: u64 = digits[..kept]
        .iter()
        .fold(0, |acc, d| acc * 10 + u64::from(*d));
    if digits[kept] >= 5 {
        whole += 1;
    }
    if whole == 0 {
        return 0.0;
    }
    let sign = if x < 0.0 { "-" } else { "" };
    format!("{sign}{whole}e{}", -decimals).parse().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::round_to;

    #[test]
    #[allow(clippy::float_cmp)] // the results are exact decimals read back
    fn rounding_is_decimal_and_halves_go_away_from_zero() {
        assert_eq!(round_to(1.005, 2), 1.01);
        assert_eq!(round_to(2.675, 2), 2.68);
        assert_eq!(round_to(2.5, 0), 3.0);
        assert_eq!(round_to(-2.5, 0), -3.0);
        assert_eq!(round_to(0.1 + 0.2, 1), 0.3);
        assert_eq!(round_to(14.0, 0), 14.0);
        assert_eq!(round_to(14.0, 3), 14.0);
        assert_eq!(round_to(24.96, 1), 25.0);
        assert_eq!(round_to(9.96, 1), 10.0);
        assert_eq!(round_to(99.5, 0), 100.0);
        assert_eq!(round_to(1234.0, -2), 1200.0);
        assert_eq!(round_to(1250.0, -2), 1300.0);
        assert_eq!(round_to(0.004, 2), 0.0);
        assert_eq!(round_to(0.005, 2), 0.01);
        assert_eq!(round_to(-0.004, 2), 0.0);
        assert!(round_to(-0.004, 2).is_sign_positive());
        assert_eq!(round_to(1e-7, 3), 0.0);
        assert_eq!(round_to(123_456.789, 20), 123_456.789);
        assert_eq!(round_to(0.0, 2), 0.0);
        assert_eq!(round_to(1e300, 2), 1e300);
    }
}
