//! GetFormQuestionPage: moving FORWARD and BACK among the pages a citizen has reached
//! (contracts §2.3.5).
//!
//! - Only pages on the form's path (reached by saving the page before) can be shown.
//! - BACK is not allowed from the first page; FORWARD not from the last page of the form, nor
//!   from a page that has not been saved yet.
//! - Page 0 FORWARD is the first page; page 0 BACK the last page reached.
//! - Moving on a PENDING_COMPLETION form (leaving the summary) reopens it for changes: it is
//!   ONGOING again until its last page is saved again.

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

/// The page to show, and the form moved there.
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
    moved.status = FormStatus::Ongoing;
    moved.current_page = Some(target);
    Ok((target, moved))
}
