//! The template checks run on SaveFormTemplate. Each check adds findings; the template is
//! refused when any finding is an error. The checks never stop at the first finding: a
//! designer fixes everything in one round.

mod formulas;
mod info;
mod questions;
pub(crate) mod routing;
mod structure;
mod superior;

use std::collections::BTreeMap;

use super::finding::{Finding, FindingCode, Location};
use super::graph::PageGraph;
use super::model::{FormTemplate, TemplateQuestion};

/// Runs every check on a normalized template (question ids filled in).
pub fn check(template: &FormTemplate) -> Vec<Finding> {
    let mut findings = Findings::default();
    let graph = PageGraph::new(template);
    let index = QuestionIndex::new(template);
    info::check(template, &mut findings);
    structure::check(template, &mut findings);
    questions::check(template, &mut findings);
    superior::check(template, &index, &graph, &mut findings);
    routing::check(template, &index, &graph, &mut findings);
    formulas::check(template, &mut findings);
    findings.0
}

#[derive(Default)]
pub(super) struct Findings(Vec<Finding>);

impl Findings {
    pub(super) fn error(
        &mut self,
        code: FindingCode,
        at: &Location,
        field: Option<&str>,
        text: &str,
    ) {
        self.0.push(Finding::error(code, at, field, text));
    }

    pub(super) fn warning(
        &mut self,
        code: FindingCode,
        at: &Location,
        field: Option<&str>,
        text: &str,
    ) {
        self.0.push(Finding::warning(code, at, field, text));
    }
}

/// Where each question is, by question number (the first one when numbers repeat; the
/// duplicate is reported by the structure checks).
pub(super) struct QuestionIndex<'t> {
    by_number: BTreeMap<u32, Placed<'t>>,
}

#[derive(Clone, Copy)]
pub(super) struct Placed<'t> {
    pub page: u32,
    pub block: u32,
    pub question: &'t TemplateQuestion,
}

impl<'t> QuestionIndex<'t> {
    fn new(template: &'t FormTemplate) -> Self {
        let mut by_number = BTreeMap::new();
        for (page, block, question) in template.questions() {
            by_number.entry(question.question_number).or_insert(Placed {
                page: page.page_number,
                block: block.block_number,
                question,
            });
        }
        Self { by_number }
    }

    pub(super) fn get(&self, number: u32) -> Option<Placed<'t>> {
        self.by_number.get(&number).copied()
    }
}

pub(super) fn question_location(page: u32, block: u32, question: &TemplateQuestion) -> Location {
    Location::question(
        page,
        block,
        question.question_number,
        question.question_id.as_deref(),
    )
}

pub(super) fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}
