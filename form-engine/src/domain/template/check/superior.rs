//! Checks of conditional questions (questionSuperior): the superior question exists, can be
//! answered before this one, and has the alternatives named.

use std::collections::BTreeMap;

use super::{Findings, PageGraph, QuestionIndex, question_location};
use crate::domain::template::finding::FindingCode;
use crate::domain::template::input::AnswerKind;
use crate::domain::template::model::FormTemplate;

pub(super) fn check(
    template: &FormTemplate,
    index: &QuestionIndex<'_>,
    graph: &PageGraph,
    findings: &mut Findings,
) {
    let order = document_order(template);
    for (page, block, question) in template.questions() {
        let Some(superior) = &question.question_superior else {
            continue;
        };
        let at = question_location(page.page_number, block.block_number, question);
        let number = superior.superior_question_number;
        let field = Some("questionSuperior");
        if number == question.question_number {
            findings.error(
                FindingCode::SuperiorNotEarlier,
                &at,
                field,
                "the question names itself as its superior question",
            );
            continue;
        }
        let Some(placed) = index.get(number) else {
            findings.error(
                FindingCode::SuperiorUnknown,
                &at,
                field,
                &format!("superior question {number} does not exist"),
            );
            continue;
        };
        let earlier = if placed.page == page.page_number {
            order.get(&number) < order.get(&question.question_number)
        } else {
            graph.can_precede(placed.page, page.page_number)
        };
        if !earlier {
            findings.error(
                FindingCode::SuperiorNotEarlier,
                &at,
                field,
                &format!(
                    "superior question {number} (page {}) is not answered before this question; \
                     it must come earlier on this page or on a page the citizen passes first",
                    placed.page
                ),
            );
        }
        let kind = placed.question.input.answer_kind();
        if kind == AnswerKind::None {
            findings.error(
                FindingCode::SuperiorWithoutAnswer,
                &at,
                field,
                &format!("superior question {number} is an image and takes no answer"),
            );
            continue;
        }
        if superior.superior_answer_alternative_numbers.is_empty() {
            continue;
        }
        if !placed.question.input.is_choice() {
            findings.error(
                FindingCode::SuperiorAlternativeUnknown,
                &at,
                Some("questionSuperior.superiorAnswerAlternativeNumbers"),
                &format!(
                    "superior question {number} is a {} question without alternatives; \
                     leave superiorAnswerAlternativeNumbers out to show this question whenever it is answered",
                    placed.question.input
                ),
            );
            continue;
        }
        let available = &placed.question.answer_alternatives;
        for wanted in &superior.superior_answer_alternative_numbers {
            if !available
                .iter()
                .any(|a| a.answer_alternative_number == *wanted)
            {
                findings.error(
                    FindingCode::SuperiorAlternativeUnknown,
                    &at,
                    Some("questionSuperior.superiorAnswerAlternativeNumbers"),
                    &format!(
                        "superior question {number} has no alternative {wanted} (it has {})",
                        available.len()
                    ),
                );
            }
        }
    }
}

/// Each question number's position in the document.
pub(super) fn document_order(template: &FormTemplate) -> BTreeMap<u32, usize> {
    let mut order = BTreeMap::new();
    for (position, (_, _, question)) in template.questions().enumerate() {
        order.entry(question.question_number).or_insert(position);
    }
    order
}
