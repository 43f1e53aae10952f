//! Checks of the template's skeleton: pages, blocks and question numbering.

use std::collections::{BTreeMap, BTreeSet};

use super::{Findings, question_location};
use crate::domain::template::finding::{FindingCode, Location};
use crate::domain::template::model::FormTemplate;

/// Longest question id; ids are JSON property names in answers and schemas.
pub const MAX_QUESTION_ID_LEN: usize = 64;

pub(super) fn check(template: &FormTemplate, findings: &mut Findings) {
    if template.pages.is_empty() {
        findings.error(
            FindingCode::NoPages,
            &Location::template(),
            Some("pages"),
            "the template has no pages; add at least one page with a question",
        );
    }
    let mut pages = BTreeSet::new();
    let mut question_numbers: BTreeMap<u32, Location> = BTreeMap::new();
    let mut question_ids: BTreeMap<String, Location> = BTreeMap::new();
    for (index, routed) in template.pages.iter().enumerate() {
        let page = &routed.page;
        let at = Location::page(page.page_number);
        if page.page_number == 0 {
            findings.error(
                FindingCode::InvalidPageNumber,
                &at,
                Some("pageNumber"),
                &format!(
                    "page {} in the list has page number 0; pages are numbered from 1",
                    index + 1
                ),
            );
        } else if !pages.insert(page.page_number) {
            findings.error(
                FindingCode::DuplicatePageNumber,
                &at,
                Some("pageNumber"),
                "two pages have this page number; give each page its own number",
            );
        }
        if page.question_blocks.is_empty() {
            findings.error(
                FindingCode::EmptyPage,
                &at,
                Some("questionBlocks"),
                "the page has no question blocks",
            );
        }
        let mut blocks = BTreeSet::new();
        for block in &page.question_blocks {
            let at = Location::block(page.page_number, block.block_number);
            if block.block_number == 0 {
                findings.error(
                    FindingCode::InvalidPageNumber,
                    &at,
                    Some("blockNumber"),
                    "blocks are numbered from 1",
                );
            } else if !blocks.insert(block.block_number) {
                findings.error(
                    FindingCode::DuplicateBlockNumber,
                    &at,
                    Some("blockNumber"),
                    "two blocks on this page have this block number",
                );
            }
            if block.questions.is_empty() {
                findings.error(
                    FindingCode::EmptyBlock,
                    &at,
                    Some("questions"),
                    "the block has no questions",
                );
            }
            if let Some(stated) = block.number_of_questions {
                let actual = block.questions.len();
                if usize::try_from(stated).ok() != Some(actual) {
                    findings.error(
                        FindingCode::NumberOfQuestionsMismatch,
                        &at,
                        Some("numberOfQuestions"),
                        &format!(
                            "says {stated} but the block has {actual} questions; correct it or leave it out"
                        ),
                    );
                }
            }
            for question in &block.questions {
                let at = question_location(page.page_number, block.block_number, question);
                if question.question_number == 0 {
                    findings.error(
                        FindingCode::InvalidQuestionNumber,
                        &at,
                        Some("questionNumber"),
                        "questions are numbered from 1",
                    );
                } else if let Some(first) = question_numbers.get(&question.question_number) {
                    findings.error(
                        FindingCode::DuplicateQuestionNumber,
                        &at,
                        Some("questionNumber"),
                        &format!(
                            "{first} has the same number; question numbers run through the whole form and must be unique"
                        ),
                    );
                } else {
                    question_numbers.insert(question.question_number, at.clone());
                }
                let id = question.id();
                if !is_question_id(&id) {
                    findings.error(
                        FindingCode::InvalidQuestionId,
                        &at,
                        Some("questionId"),
                        &format!(
                            "`{id}` is not a usable id: start with a letter, then up to {} letters, digits, `_`, `-` or `.`",
                            MAX_QUESTION_ID_LEN - 1
                        ),
                    );
                } else if let Some(first) = question_ids.get(&id) {
                    findings.error(
                        FindingCode::DuplicateQuestionId,
                        &at,
                        Some("questionId"),
                        &format!(
                            "{first} has the same questionId; answers name questions by it, so it must be unique"
                        ),
                    );
                } else {
                    question_ids.insert(id, at);
                }
            }
        }
    }
}

/// `smoker`, `phq9.q1`, `q12`: ASCII, starting with a letter.
pub fn is_question_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && id.len() <= MAX_QUESTION_ID_LEN
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}
