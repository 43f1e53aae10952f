//! Answering a draft as a citizen would, without a form: the preview runs the engine's own
//! page checks ([`answering::save_page`]: the page's JSON Schema, the conditions) and routing
//! ([`CompiledTemplate::next_page`], [`navigation::navigate`]) on a form that exists only in
//! the preview. Its progress (the pages reached and their answers) travels with the preview
//! page; nothing is stored, no form is created, no one is notified.

use chrono::{DateTime, Utc};
use common::identity::HsaId;
use uuid::Uuid;

use super::answering::{self, Given, PageSave, SaveError};
use super::model::{Form, FormStatus, Origin, Progress};
use super::navigation::{self, Direction, NavigationError};
use crate::domain::template::compiled::{AnswerProblem, Answers, CompiledTemplate};
use crate::domain::template::{FormTemplate, TemplateKey};

/// What the preview shows next.
#[derive(Debug, Clone)]
pub enum PreviewStep {
    /// A page with the answers kept for it.
    Page { form: Form, page: u32 },
    /// A page whose answers break its rules, with what was sent and the problems.
    Refused {
        form: Form,
        page: u32,
        answers: Answers,
        problems: Vec<AnswerProblem>,
    },
    /// Every page on the way answered: a citizen would now see the summary and send.
    Finished { form: Form },
}

impl PreviewStep {
    pub fn form(&self) -> &Form {
        match self {
            Self::Page { form, .. } | Self::Refused { form, .. } | Self::Finished { form } => form,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error(transparent)]
    Save(#[from] SaveError),
    #[error(transparent)]
    Navigation(#[from] NavigationError),
    #[error("the draft has no pages to preview")]
    NoPages,
}

/// The form the preview answers: the draft's, of no one, never stored.
fn preview_form(
    template: &FormTemplate,
    progress: Progress,
    current_page: Option<u32>,
    now: DateTime<Utc>,
) -> Form {
    Form {
        id: Uuid::nil(),
        status: if current_page.is_some() {
            FormStatus::Ongoing
        } else {
            FormStatus::PendingCompletion
        },
        subject_of_care: None,
        care_unit: template.health_care_facility_unit.clone(),
        care_unit_name: None,
        care_giver: None::<HsaId>,
        med_unit: None,
        system_id: None,
        template: TemplateKey {
            template_id: template.template_id.clone(),
            template_version: template.version(),
        },
        form_name: template.form_name.clone(),
        clinical_process_interest_id: None,
        form_text: None,
        expire_date: None,
        keep_until: None,
        origin: Origin::Request,
        created_at: now,
        last_saved_at: None,
        completed_at: None,
        expired_at: None,
        revocation_requested_at: None,
        current_page,
        progress,
        revision: 1,
    }
}

/// The first page, nothing answered.
pub fn start(compiled: &CompiledTemplate, now: DateTime<Utc>) -> Result<PreviewStep, PreviewError> {
    let first = compiled.first_page().ok_or(PreviewError::NoPages)?;
    let progress = Progress {
        path: vec![first],
        ..Progress::default()
    };
    let form = preview_form(compiled.template(), progress, Some(first), now);
    Ok(PreviewStep::Page { form, page: first })
}

/// Page `page` answered with `given` and "next" pressed: checked and routed as the engine
/// does for a citizen's SaveFormPage.
pub fn answer(
    compiled: &CompiledTemplate,
    progress: Progress,
    page: u32,
    given: &[Given],
    now: DateTime<Utc>,
) -> Result<PreviewStep, PreviewError> {
    let form = preview_form(compiled.template(), progress, Some(page), now);
    let answers = answering::by_question(compiled, given)?;
    let step = match answering::save_page(&form, compiled, page, &answers, false, now, None)? {
        PageSave::Next { form, page } | PageSave::Temporary { form, page } => {
            PreviewStep::Page { form, page }
        }
        PageSave::Complete { form } => PreviewStep::Finished { form },
        PageSave::Invalid {
            page,
            answers,
            problems,
        } => PreviewStep::Refused {
            form,
            page,
            answers,
            problems,
        },
        PageSave::EarlierPageInvalid {
            form,
            page,
            problems,
        } => {
            let answers = form
                .progress
                .answers
                .get(&page)
                .cloned()
                .unwrap_or_default();
            PreviewStep::Refused {
                form,
                page,
                answers,
                problems,
            }
        }
    };
    Ok(step)
}

/// Page `page` again as it is, unchecked (the preview shown at another width).
pub fn showing(
    compiled: &CompiledTemplate,
    progress: Progress,
    page: u32,
    now: DateTime<Utc>,
) -> PreviewStep {
    let form = preview_form(compiled.template(), progress, Some(page), now);
    PreviewStep::Page { form, page }
}

/// The end of the preview again, as it is.
pub fn finished(
    compiled: &CompiledTemplate,
    progress: Progress,
    now: DateTime<Utc>,
) -> PreviewStep {
    PreviewStep::Finished {
        form: preview_form(compiled.template(), progress, None, now),
    }
}

/// "Previous" on page `page` (0 from the end of the preview: the last page reached).
pub fn back(
    compiled: &CompiledTemplate,
    progress: Progress,
    page: u32,
    now: DateTime<Utc>,
) -> Result<PreviewStep, PreviewError> {
    let current = (page != 0).then_some(page);
    let form = preview_form(compiled.template(), progress, current, now);
    let (target, moved) = navigation::navigate(&form, page, Direction::Back, |p| {
        compiled.next_page(p, &form.answers_through(p)).is_none()
    })?;
    Ok(PreviewStep::Page {
        form: moved,
        page: target,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Page 1: smoker (radio, mandatory) and, for "yes", cigarettes (number 0..60, mandatory);
    /// "yes" routes to page 2, otherwise to page 3.
    fn compiled() -> CompiledTemplate {
        let mut template: FormTemplate = serde_json::from_value(json!({
            "templateId": "PREVIEW-1", "templateVersion": 1, "formName": "Förhandsvisning",
            "healthCareFacilityUnit": "SE0000000001-CU01",
            "pages": [
                {"page": {"pageNumber": 1, "questionBlocks": [{"blockNumber": 1, "questions": [
                    {"questionNumber": 1, "questionId": "smoker", "subject": "Röker du?",
                     "input": "radio", "mandatory": true, "answerAlternatives": [
                        {"answerAlternativeNumber": 1, "alternativeValue": "Ja"},
                        {"answerAlternativeNumber": 2, "alternativeValue": "Nej"}]},
                    {"questionNumber": 2, "questionId": "cigarettes", "subject": "Hur många?",
                     "input": "number", "mandatory": true, "answerMin": 0, "answerMax": 60,
                     "questionSuperior": {"superiorQuestionNumber": 1,
                                          "superiorAnswerAlternativeNumbers": [1]}}]}]},
                 "routing": {"routes": [
                    {"pageNumber": 2, "rules": [{"blockNumber": 1, "questionNumber": 1,
                                                 "answerAlternativeNumbers": [1]}]},
                    {"pageNumber": 3, "rules": []}]}},
                {"page": {"pageNumber": 2, "questionBlocks": [{"blockNumber": 1, "questions": [
                    {"questionNumber": 3, "questionId": "quit", "subject": "Vill du sluta?",
                     "input": "text"}]}]},
                 "routing": {"routes": [{"pageNumber": 3, "rules": []}]}},
                {"page": {"pageNumber": 3, "questionBlocks": [{"blockNumber": 1, "questions": [
                    {"questionNumber": 4, "questionId": "other", "subject": "Övrigt",
                     "input": "text"}]}]}}
            ]
        }))
        .unwrap();
        crate::domain::template::normalize::fill_in(&mut template);
        CompiledTemplate::compile(template).unwrap()
    }

    fn given(id: &str, value: serde_json::Value) -> Given {
        Given {
            block: 1,
            value_id: id.into(),
            value,
        }
    }

    fn page_of(step: &PreviewStep) -> Option<u32> {
        match step {
            PreviewStep::Page { page, .. } | PreviewStep::Refused { page, .. } => Some(*page),
            PreviewStep::Finished { .. } => None,
        }
    }

    #[test]
    fn the_routing_of_the_draft_decides_the_next_page() {
        let t = compiled();
        let now = Utc::now();
        let start = start(&t, now).unwrap();
        assert_eq!(page_of(&start), Some(1));
        let progress = start.form().progress.clone();
        let yes = answer(
            &t,
            progress.clone(),
            1,
            &[given("smoker", json!(1)), given("cigarettes", json!(10))],
            now,
        )
        .unwrap();
        assert_eq!(page_of(&yes), Some(2));
        let no = answer(&t, progress, 1, &[given("smoker", json!(2))], now).unwrap();
        assert_eq!(page_of(&no), Some(3));
        assert_eq!(no.form().progress.path, vec![1, 3]);
        let end = answer(&t, no.form().progress.clone(), 3, &[], now).unwrap();
        assert!(matches!(end, PreviewStep::Finished { .. }));
        let again = back(&t, end.form().progress.clone(), 0, now).unwrap();
        assert_eq!(page_of(&again), Some(3));
        let first = back(&t, again.form().progress.clone(), 3, now).unwrap();
        assert_eq!(page_of(&first), Some(1));
    }

    #[test]
    fn answers_are_checked_by_the_page_schema_and_conditions() {
        let t = compiled();
        let now = Utc::now();
        let progress = start(&t, now).unwrap().form().progress.clone();
        let refused = answer(
            &t,
            progress.clone(),
            1,
            &[given("smoker", json!(1)), given("cigarettes", json!(99))],
            now,
        )
        .unwrap();
        let PreviewStep::Refused { page, problems, .. } = refused else {
            panic!("99 is above answerMax: {refused:?}");
        };
        assert_eq!(page, 1);
        assert_eq!(problems[0].question_id, "cigarettes");
        // The follow-up is required only when its condition holds.
        let missing = answer(&t, progress, 1, &[given("smoker", json!(1))], now).unwrap();
        assert!(matches!(missing, PreviewStep::Refused { .. }));
    }
}
