//! SaveFormPage: checking a page's answers, keeping them, and moving the citizen on along the
//! routing (contracts §2.3.6).
//!
//! - A temporary save keeps the answers as given (empty ones left out), without checking
//!   them, and stays on the page.
//! - A normal save checks the answers against the page's schema. Broken rules: nothing is
//!   kept, the page comes back with a status per answer.
//! - Valid answers are kept, and the routing chooses the next page. When the next page is
//!   the one the citizen went to before, the pages after it stay as they were; when the
//!   routing now leads elsewhere, the pages of the old branch and their answers are dropped.
//! - After the last page every page on the path is checked again (an answer changed on an
//!   earlier page can make a later question required); when all pass the form is
//!   PENDING_COMPLETION, else the citizen is sent to the first page that needs changes.
//! - Every save that keeps answers evaluates the template's calculations on all the kept
//!   answers and stores their outcomes with the form.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::model::{Actor, Form, FormStatus};
use crate::domain::template::compiled::{
    AnswerProblem, AnswerShapeError, Answers, CompiledTemplate, is_empty_answer,
};

#[derive(Debug, Clone, PartialEq)]
pub enum PageSave {
    /// Saved; the citizen goes on to `page`.
    Next { form: Form, page: u32 },
    /// Saved; every page is answered and the form waits to be sent.
    Complete { form: Form },
    /// Kept without checking (temporarySave); the citizen stays on `page`.
    Temporary { form: Form, page: u32 },
    /// Not kept: the answers break rules. `answers` are the ones given.
    Invalid {
        page: u32,
        answers: Answers,
        problems: Vec<AnswerProblem>,
    },
    /// The page was kept, but an earlier page needs changes before the form can be sent;
    /// the citizen is sent there.
    EarlierPageInvalid {
        form: Form,
        page: u32,
        problems: Vec<AnswerProblem>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaveError {
    #[error(transparent)]
    Shape(#[from] AnswerShapeError),
    #[error("page {page} has not been reached; the form is on page {current}")]
    NotReached { page: u32, current: u32 },
    #[error("valueID `{0}` is answered twice")]
    AnsweredTwice(String),
    #[error(
        "valueID `{value_id}` is given in block {given}, but the question is in block {actual}"
    )]
    WrongBlock {
        value_id: String,
        given: u32,
        actual: u32,
    },
}

/// An answer as given in SaveFormPage: in a block, naming its question.
#[derive(Debug, Clone, PartialEq)]
pub struct Given {
    pub block: u32,
    pub value_id: String,
    pub value: Value,
}

/// The given answers by questionId, each in the block its question is in, none twice.
/// (Answers naming no question of the page are reported when the page is checked.)
pub fn by_question(compiled: &CompiledTemplate, given: &[Given]) -> Result<Answers, SaveError> {
    let mut answers = Answers::new();
    for answer in given {
        if let Some((_, placement)) = compiled.question(&answer.value_id)
            && placement.block != answer.block
        {
            return Err(SaveError::WrongBlock {
                value_id: answer.value_id.clone(),
                given: answer.block,
                actual: placement.block,
            });
        }
        if answers
            .insert(answer.value_id.clone(), answer.value.clone())
            .is_some()
        {
            return Err(SaveError::AnsweredTwice(answer.value_id.clone()));
        }
    }
    Ok(answers)
}

/// Saves one page of answers on an ONGOING form.
pub fn save_page(
    form: &Form,
    compiled: &CompiledTemplate,
    page: u32,
    given: &Answers,
    temporary: bool,
    now: DateTime<Utc>,
    actor: Option<Actor>,
) -> Result<PageSave, SaveError> {
    let Some(index) = form.progress.path.iter().position(|p| *p == page) else {
        return Err(SaveError::NotReached {
            page,
            current: form.current_page.unwrap_or(0),
        });
    };
    let mut saved = form.clone();
    saved.last_saved_at = Some(now);
    if actor.is_some() {
        saved.progress.actor = actor;
    }
    if temporary {
        let kept = kept_as_given(compiled, page, given)?;
        saved.progress.answers.insert(page, kept);
        saved.current_page = Some(page);
        saved.evaluate_calculations(compiled);
        return Ok(PageSave::Temporary { form: saved, page });
    }
    let check = compiled.check_page(page, given, &form.answers_before(page))?;
    if !check.problems.is_empty() {
        return Ok(PageSave::Invalid {
            page,
            answers: given.clone(),
            problems: check.problems,
        });
    }
    saved.progress.answers.insert(page, check.answers);
    let next = compiled.next_page(page, &saved.answers_through(page));
    let path = &mut saved.progress.path;
    match next {
        Some(next) if path.get(index + 1) == Some(&next) => {}
        Some(next) => {
            path.truncate(index + 1);
            path.push(next);
        }
        None => path.truncate(index + 1),
    }
    let on_path = saved.progress.path.clone();
    saved.progress.answers.retain(|p, _| on_path.contains(p));
    saved.evaluate_calculations(compiled);
    if let Some(next) = next {
        saved.current_page = Some(next);
        return Ok(PageSave::Next {
            form: saved,
            page: next,
        });
    }
    if let Some((page, problems)) = first_invalid_page(&saved, compiled) {
        saved.current_page = Some(page);
        return Ok(PageSave::EarlierPageInvalid {
            form: saved,
            page,
            problems,
        });
    }
    saved.status = FormStatus::PendingCompletion;
    saved.current_page = None;
    Ok(PageSave::Complete { form: saved })
}

/// The first page on the path whose kept answers no longer pass, with its problems.
pub fn first_invalid_page(
    form: &Form,
    compiled: &CompiledTemplate,
) -> Option<(u32, Vec<AnswerProblem>)> {
    for &page in &form.progress.path {
        let answers = form
            .progress
            .answers
            .get(&page)
            .cloned()
            .unwrap_or_default();
        match compiled.check_page(page, &answers, &form.answers_before(page)) {
            Ok(check) if check.problems.is_empty() => {}
            Ok(check) => return Some((page, check.problems)),
            // Answers kept earlier always fit their page; a template cannot change under
            // a form (it is pinned to a Published version).
            Err(_) => return Some((page, Vec::new())),
        }
    }
    None
}

/// A temporary save: the page's structure is checked (every valueID a question of the page
/// that takes an answer), nothing else; empty answers are left out.
fn kept_as_given(
    compiled: &CompiledTemplate,
    page: u32,
    given: &Answers,
) -> Result<Answers, AnswerShapeError> {
    // check_page reports the structural errors first; its validation outcome is not used.
    compiled.check_page(page, given, &Answers::new())?;
    Ok(given
        .iter()
        .filter(|(_, v)| !is_empty_answer(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect())
}

impl Form {
    /// The answers of the pages on the path up to and including `page`, merged.
    pub fn answers_through(&self, page: u32) -> Answers {
        let mut merged = self.answers_before(page);
        if let Some(answers) = self.progress.answers.get(&page) {
            merged.extend(answers.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        merged
    }
}
