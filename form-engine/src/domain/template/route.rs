//! Routing and visibility at answer time: which page follows, and whether a conditional
//! question is shown, given the answers so far.

use serde_json::Value;

use super::check::routing::effective_operator;
use super::input::AnswerKind;
use super::model::{QuestionSuperior, RouteRule, RuleOperator, TemplateQuestion};

/// Whether `rule` holds for `answer`, the answer to `question` (`None`: unanswered).
pub fn rule_holds(rule: &RouteRule, question: &TemplateQuestion, answer: Option<&Value>) -> bool {
    let operator = effective_operator(rule);
    match operator {
        RuleOperator::Answered => answer.is_some(),
        RuleOperator::NotAnswered => answer.is_none(),
        RuleOperator::Equals => equals(rule, question, answer),
        RuleOperator::NotEquals => !equals(rule, question, answer),
        RuleOperator::GreaterThan
        | RuleOperator::GreaterThanOrEqual
        | RuleOperator::LessThan
        | RuleOperator::LessThanOrEqual => {
            let (Some(given), Some(limit)) = (answer.and_then(Value::as_f64), rule.value) else {
                return false;
            };
            match operator {
                RuleOperator::GreaterThan => given > limit,
                RuleOperator::GreaterThanOrEqual => given >= limit,
                RuleOperator::LessThan => given < limit,
                _ => given <= limit,
            }
        }
    }
}

fn equals(rule: &RouteRule, question: &TemplateQuestion, answer: Option<&Value>) -> bool {
    let Some(answer) = answer else {
        return false;
    };
    match question.input.answer_kind() {
        AnswerKind::SingleChoice | AnswerKind::MultipleChoice => {
            chosen(answer).any(|n| rule.answer_alternative_numbers.contains(&n))
        }
        AnswerKind::Number => match (answer.as_f64(), rule.value) {
            (Some(given), Some(wanted)) => {
                (given - wanted).abs() <= f64::EPSILON * wanted.abs().max(1.0)
            }
            _ => false,
        },
        _ => false,
    }
}

/// The alternative numbers an answer chooses: one for radio/select, several for checkbox.
pub fn chosen(answer: &Value) -> impl Iterator<Item = u32> + '_ {
    let single = answer.as_u64();
    let many = answer
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64));
    single
        .into_iter()
        .chain(many.into_iter().flatten())
        .filter_map(|n| u32::try_from(n).ok())
}

/// Whether the superior condition holds for the superior question's answer.
pub fn superior_holds(superior: &QuestionSuperior, answer: Option<&Value>) -> bool {
    let Some(answer) = answer else {
        return false;
    };
    let wanted = &superior.superior_answer_alternative_numbers;
    wanted.is_empty() || chosen(answer).any(|n| wanted.contains(&n))
}
