//! GetFormQuestionPage: moving FORWARD and BACK among the pages a citizen has reached
//! (contracts §2.3.5).
//!
//! - Only pages on the form's path (reached by saving the page before) can be shown.
//! - BACK is not allowed from the first page; FORWARD not from the last page of the form, nor
//!   from a page that has not been saved yet.
//! - Page 0 FORWARD is the first page; page 0 BACK the last page reached.
//! - Going BACK on a PENDING_COMPLETION form (leaving the summary to change an answer) reopens
//!   it: it is ONGOING again until its last page is saved again. FORWARD only shows a page and
//!   never changes the status (api.md §5), so reading through the answers keeps the form
//!   ready to send.

use super::model::{Form, FormStatus};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Back,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NavigationError {
    #[error("the form is completed and read-only; read it with GetForm")]
    Completed,
    #[error("page {0} has not been reached; pages open once the page before them is saved")]
    NotReached(u32),
    #[error("BACK is not possible from the first page")]
    BackFromFirst,
    #[error("FORWARD is not possible from the last page of the form")]
    ForwardFromLast,
    #[error("FORWARD from page {0} is not possible before the page is saved")]
    ForwardFromUnsaved(u32),
}

/// The page to show, and the form moved there (a PENDING_COMPLETION form moved FORWARD stays
/// as it is).
pub fn navigate(
    form: &Form,
    page: u32,
    direction: Direction,
    is_last_page: impl Fn(u32) -> bool,
) -> Result<(u32, Form), NavigationError> {
    if form.status == FormStatus::Completed {
        return Err(NavigationError::Completed);
    }
    let path = &form.progress.path;
    let target = if page == 0 {
        match direction {
            Direction::Forward => path.first().copied(),
            Direction::Back => path.last().copied(),
        }
        .ok_or(NavigationError::NotReached(page))?
    } else {
        let index = path
            .iter()
            .position(|p| *p == page)
            .ok_or(NavigationError::NotReached(page))?;
        match direction {
            Direction::Back => {
                if index == 0 {
                    return Err(NavigationError::BackFromFirst);
                }
                path[index - 1]
            }
            Direction::Forward => {
                if let Some(next) = path.get(index + 1) {
                    *next
                } else if is_last_page(page) {
                    return Err(NavigationError::ForwardFromLast);
                } else {
                    return Err(NavigationError::ForwardFromUnsaved(page));
                }
            }
        }
    };
    let mut moved = form.clone();
    if direction == Direction::Back || form.status == FormStatus::Ongoing {
        moved.status = FormStatus::Ongoing;
        moved.current_page = Some(target);
    }
    Ok((target, moved))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::form::model::{Origin, Progress};
    use crate::domain::template::TemplateKey;

    fn summary() -> Form {
        Form {
            id: uuid::Uuid::nil(),
            status: FormStatus::PendingCompletion,
            subject_of_care: None,
            care_unit: common::identity::HsaId::parse("SE0000000001-CU01").unwrap(),
            care_unit_name: None,
            care_giver: None,
            med_unit: None,
            system_id: None,
            template: TemplateKey {
                template_id: String::from("T"),
                template_version: 1,
            },
            form_name: String::from("T"),
            clinical_process_interest_id: None,
            form_text: None,
            expire_date: None,
            keep_until: None,
            origin: Origin::Request,
            created_at: chrono::Utc::now(),
            last_saved_at: None,
            completed_at: None,
            expired_at: None,
            revocation_requested_at: None,
            current_page: None,
            progress: Progress {
                path: vec![1, 2, 3],
                ..Progress::default()
            },
            revision: 1,
        }
    }

    #[test]
    fn forward_from_the_summary_shows_a_page_and_changes_nothing() {
        let form = summary();
        for (page, shown) in [(0, 1), (1, 2), (2, 3)] {
            let (target, moved) = navigate(&form, page, Direction::Forward, |p| p == 3).unwrap();
            assert_eq!(target, shown);
            assert_eq!(moved, form, "FORWARD from page {page}");
        }
    }

    #[test]
    fn back_from_the_summary_reopens_the_form() {
        let form = summary();
        for (page, shown) in [(0, 3), (3, 2), (2, 1)] {
            let (target, moved) = navigate(&form, page, Direction::Back, |p| p == 3).unwrap();
            assert_eq!(target, shown);
            assert_eq!(moved.status, FormStatus::Ongoing);
            assert_eq!(moved.current_page, Some(shown));
        }
    }
}
