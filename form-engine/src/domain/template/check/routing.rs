//! Checks of page routing: routes lead to existing other pages, rules name questions that are
//! answered before the route is taken and compare them with something they can hold, no
//! route can loop, and every page can be reached.

use super::{Findings, PageGraph, QuestionIndex};
use crate::domain::template::finding::{FindingCode, Location};
use crate::domain::template::input::AnswerKind;
use crate::domain::template::model::{FormTemplate, RouteRule, RuleOperator, TemplateQuestion};

pub(super) fn check(
    template: &FormTemplate,
    index: &QuestionIndex<'_>,
    graph: &PageGraph,
    findings: &mut Findings,
) {
    for routed in &template.pages {
        let page = routed.page.page_number;
        let at = Location::page(page);
        let Some(routing) = &routed.routing else {
            continue;
        };
        let mut unconditional_seen = false;
        for (position, route) in routing.routes.iter().enumerate() {
            let field = format!("routing.routes[{position}]");
            if unconditional_seen {
                findings.warning(
                    FindingCode::RouteNeverTaken,
                    &at,
                    Some(&field),
                    &format!(
                        "the route to page {} comes after a route without rules, which is always taken",
                        route.page_number
                    ),
                );
            }
            if route.page_number == page {
                findings.error(
                    FindingCode::RouteToSamePage,
                    &at,
                    Some(&field),
                    "a route leads back to the same page",
                );
            } else if template.page(route.page_number).is_none() {
                findings.error(
                    FindingCode::RoutePageUnknown,
                    &at,
                    Some(&field),
                    &format!(
                        "the route leads to page {}, which does not exist",
                        route.page_number
                    ),
                );
            }
            for (rule_position, rule) in route.rules.iter().enumerate() {
                let field = format!("{field}.rules[{rule_position}]");
                rule_checks(page, rule, index, graph, &at, &field, findings);
            }
            unconditional_seen |= route.rules.is_empty();
        }
    }
    for cycle in graph.cycles() {
        let mut pages: Vec<String> = cycle.iter().map(|p| format!("page {p}")).collect();
        pages.push(format!("page {}", cycle[0]));
        findings.error(
            FindingCode::RoutingCycle,
            &Location::page(cycle[0]),
            Some("routing"),
            &format!(
                "the routing can go round in a circle: {}; a citizen could never finish",
                pages.join(" → ")
            ),
        );
    }
    for page in graph.unreachable() {
        findings.error(
            FindingCode::UnreachablePage,
            &Location::page(page),
            None,
            "no route from the first page leads here, so no citizen ever sees this page",
        );
    }
}

fn rule_checks(
    page: u32,
    rule: &RouteRule,
    index: &QuestionIndex<'_>,
    graph: &PageGraph,
    at: &Location,
    field: &str,
    findings: &mut Findings,
) {
    let number = rule.question_number;
    let Some(placed) = index.get(number) else {
        findings.error(
            FindingCode::RuleQuestionUnknown,
            at,
            Some(field),
            &format!("the rule names question {number}, which does not exist"),
        );
        return;
    };
    if placed.block != rule.block_number {
        findings.error(
            FindingCode::RuleBlockMismatch,
            at,
            Some(field),
            &format!(
                "the rule names block {} but question {number} is in block {} of page {}",
                rule.block_number, placed.block, placed.page
            ),
        );
    }
    if placed.page != page && !graph.can_precede(placed.page, page) {
        findings.error(
            FindingCode::RuleQuestionNotEarlier,
            at,
            Some(field),
            &format!(
                "question {number} is on page {}, which the citizen does not pass before this page; \
                 a rule can only use answers from this page or earlier ones",
                placed.page
            ),
        );
    }
    if let Err(why) = operand_fits(rule, placed.question) {
        findings.error(FindingCode::RuleOperandInvalid, at, Some(field), &why);
    }
}

/// Whether the rule's operator and operand suit the question's answers.
fn operand_fits(rule: &RouteRule, question: &TemplateQuestion) -> Result<(), String> {
    let number = question.question_number;
    let kind = question.input.answer_kind();
    let has_alternatives = !rule.answer_alternative_numbers.is_empty();
    let has_value = rule.value.is_some();
    if kind == AnswerKind::None {
        return Err(format!(
            "question {number} is an image and has no answer to test"
        ));
    }
    match effective_operator(rule) {
        RuleOperator::Answered | RuleOperator::NotAnswered => {
            if has_alternatives || has_value {
                return Err(String::from(
                    "answered and notAnswered take no answerAlternativeNumbers or value",
                ));
            }
        }
        RuleOperator::Equals | RuleOperator::NotEquals => match kind {
            AnswerKind::SingleChoice | AnswerKind::MultipleChoice => {
                if !has_alternatives || has_value {
                    return Err(format!(
                        "question {number} is a {} question: compare it with answerAlternativeNumbers",
                        question.input
                    ));
                }
                for wanted in &rule.answer_alternative_numbers {
                    if !question
                        .answer_alternatives
                        .iter()
                        .any(|a| a.answer_alternative_number == *wanted)
                    {
                        return Err(format!("question {number} has no alternative {wanted}"));
                    }
                }
            }
            AnswerKind::Number => {
                if !has_value || has_alternatives {
                    return Err(format!(
                        "question {number} is a {} question: compare it with a number in `value`",
                        question.input
                    ));
                }
            }
            _ => {
                return Err(format!(
                    "a {} answer can only be tested with answered or notAnswered",
                    question.input
                ));
            }
        },
        _ => {
            if kind != AnswerKind::Number || !has_value || has_alternatives {
                return Err(format!(
                    "greater/less comparisons need a number or range question and a number in `value`; \
                     question {number} is a {} question",
                    question.input
                ));
            }
        }
    }
    Ok(())
}

/// The operator a rule uses: as given, else `equals` with an operand and `answered` without.
pub fn effective_operator(rule: &RouteRule) -> RuleOperator {
    rule.operator.unwrap_or(
        if rule.answer_alternative_numbers.is_empty() && rule.value.is_none() {
            RuleOperator::Answered
        } else {
            RuleOperator::Equals
        },
    )
}
