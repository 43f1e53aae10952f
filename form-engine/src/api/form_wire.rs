//! How a form travels (FormType, PageType, QuestionType, AnswerType, api.md §3.1), and how one
//! is drawn from a stored form and the template version it is pinned to.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::wire::ResultCode;
use crate::domain::follow_up::reminders::Outcome;
use crate::domain::form::model::{Actor, Form, FormStatus};
use crate::domain::template::compiled::{AnswerProblem, Answers, CompiledTemplate};
use crate::domain::template::model::{TemplateQuestion, number};

/// FormType.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FormView {
    #[serde(rename = "formId")]
    #[schema(example = "0b7e5a1c-2f4d-4c1e-9a57-3f1d2b8c9e10")]
    pub form_id: String,
    #[serde(rename = "formStatus")]
    pub form_status: FormStatus,
    /// The citizen; absent for an anonymous form.
    #[serde(rename = "subjectOfCare", skip_serializing_if = "Option::is_none")]
    pub subject_of_care: Option<String>,
    /// The care unit that offers and owns the form.
    #[serde(rename = "healthcare_facility_CareUnit")]
    pub care_unit: String,
    #[serde(rename = "healthcare_facility_CareUnitName")]
    pub care_unit_name: String,
    #[serde(
        rename = "healthcare_CareGiver",
        skip_serializing_if = "Option::is_none"
    )]
    pub care_giver: Option<String>,
    #[serde(rename = "healthcare_MedUnit", skip_serializing_if = "Option::is_none")]
    pub med_unit: Option<String>,
    #[serde(
        rename = "healthcare_systemID",
        skip_serializing_if = "Option::is_none"
    )]
    pub system_id: Option<String>,
    /// YYYYMMDDThhmmss, Swedish time.
    #[serde(rename = "createdDateTime")]
    pub created_date_time: String,
    /// YYYYMMDD: the last day the form can be answered.
    #[serde(rename = "expireDate", skip_serializing_if = "Option::is_none")]
    pub expire_date: Option<String>,
    /// YYYYMMDD: the form is deleted after this day.
    #[serde(rename = "keepUntil", skip_serializing_if = "Option::is_none")]
    pub keep_until: Option<String>,
    /// YYYYMMDDThhmmss: the last save.
    #[serde(rename = "lastSavedDate", skip_serializing_if = "Option::is_none")]
    pub last_saved_date: Option<String>,
    #[serde(rename = "formText", skip_serializing_if = "Option::is_none")]
    pub form_text: Option<String>,
    #[serde(
        rename = "clinicalProcessInterestId",
        skip_serializing_if = "Option::is_none"
    )]
    pub clinical_process_interest_id: Option<String>,
    #[serde(rename = "formTemplate")]
    pub form_template: TemplateRef,
    /// ONGOING: the page to show, with any saved answers.
    #[serde(rename = "currentPage", skip_serializing_if = "Option::is_none")]
    pub current_page: Option<PageView>,
    /// PENDING_COMPLETION (the summary) and COMPLETED: the answers of every page.
    #[serde(rename = "pageAnswers", skip_serializing_if = "Vec::is_empty")]
    pub page_answers: Vec<PageAnswers>,
    /// Who last saved (2.1 extension).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    /// Extension: when the form was sent (YYYYMMDDThhmmss).
    #[serde(rename = "completedDateTime", skip_serializing_if = "Option::is_none")]
    pub completed_date_time: Option<String>,
    /// Extension: true once expireDate has passed without the form being sent. Absent
    /// otherwise. A care system's GetForms lists such forms until keepUntil; the e-service's
    /// only with `includeExpired: true`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub expired: bool,
    /// Extension: true when CancelForm asked for a completed form to be revoked.
    #[serde(
        rename = "revocationRequested",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub revocation_requested: bool,
    /// CalculationOutcomeType (2.1 extension): the outcome of each of the template's
    /// calculations on the saved answers, in template order, as evaluated when a page was
    /// last saved and when the form was sent. A care system gets every calculation; the
    /// e-service (the citizen) only those `approvedForSubjectOfCare`. Absent when there are
    /// none to show.
    #[serde(rename = "calculationOutcome", skip_serializing_if = "Vec::is_empty")]
    pub calculation_outcome: Vec<OutcomeView>,
    /// Extension: every reminder sent or tried before expireDate, oldest first
    /// (docs/follow-up.md). Absent when there were none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reminders: Vec<ReminderView>,
}

/// One attempt at reminding the citizen of a form, and how it went.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReminderView {
    /// When it was tried (YYYYMMDDThhmmss, Swedish time).
    pub at: String,
    pub outcome: ReminderOutcome,
}

/// How a reminder went (docs/follow-up.md).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum ReminderOutcome {
    /// In the portal inbox; the citizen is notified by SMS or e-mail.
    Sent,
    /// In the inbox; the citizen has no notification on and sees it at the next sign-in.
    NotificationsOff,
    /// The portal does not know the citizen as an active user: nothing sent.
    NotAPortalUser,
    /// The portal did not answer: tried again later.
    PortalUnreachable,
    /// The portal refused the call: not tried again.
    PortalRefused,
    /// The form was sent, expired or deleted before a retry: nothing sent.
    FormClosed,
}

impl From<Outcome> for ReminderOutcome {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Sent => Self::Sent,
            Outcome::NotificationsOff => Self::NotificationsOff,
            Outcome::NotAPortalUser => Self::NotAPortalUser,
            Outcome::PortalUnreachable => Self::PortalUnreachable,
            Outcome::PortalRefused => Self::PortalRefused,
            Outcome::FormClosed => Self::FormClosed,
        }
    }
}

impl ReminderView {
    /// The attempt as shown; None for an outcome this version does not know.
    pub fn of(attempt: &crate::store::follow_up::ReminderAttempt) -> Option<Self> {
        Some(Self {
            at: common::riv_time::format_form_timestamp(attempt.at),
            outcome: Outcome::parse(&attempt.outcome)?.into(),
        })
    }
}

/// Who a form is drawn for, which decides the calculations shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// A care system: every calculation, with the texts for staff.
    CareSystem,
    /// The e-service acting for the citizen: only calculations approved for the subject of
    /// care, without `descriptionCareActor`.
    SubjectOfCare,
}

/// CalculationOutcomeType: `calculationId`, `outcome` and `errorMessage` as in the 2.1
/// extension schema, with the calculation's `subject`, descriptions and
/// `approvedForSubjectOfCare` from the template as the TKB lists them, so a portal can label
/// the number ("Din summa: 14").
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeView {
    #[schema(example = "phq9-total")]
    pub calculation_id: String,
    #[schema(example = "Summa")]
    pub subject: String,
    /// For staff; care systems only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description_care_actor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Din summa")]
    pub description_subject_of_care: Option<String>,
    /// Whether the citizen is shown this outcome (the template's value; absent there
    /// means true).
    pub approved_for_subject_of_care: bool,
    /// The result rounded to the calculation's outcomePresentationPrecision (written as an
    /// integer when it is one); absent when it cannot be computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>, example = 14)]
    pub outcome: Option<Value>,
    /// Why there is no outcome, e.g. a question left unanswered (in the template's
    /// language).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Frågan `phq4` är inte besvarad.")]
    pub error_message: Option<String>,
}

/// The form's calculation outcomes as `audience` may see them.
pub fn outcome_views(
    form: &Form,
    template: &CompiledTemplate,
    audience: Audience,
) -> Vec<OutcomeView> {
    let formulas = &template.template().formula;
    form.outcomes(template)
        .into_iter()
        .filter_map(|outcome| {
            let formula = formulas
                .iter()
                .find(|f| f.calculation_id == outcome.calculation_id)?;
            let approved = formula.approved_for_subject_of_care.unwrap_or(true);
            if audience == Audience::SubjectOfCare && !approved {
                return None;
            }
            Some(OutcomeView {
                calculation_id: outcome.calculation_id,
                subject: formula.subject.clone(),
                description_care_actor: match audience {
                    Audience::CareSystem => formula.description_care_actor.clone(),
                    Audience::SubjectOfCare => None,
                },
                description_subject_of_care: formula.description_subject_of_care.clone(),
                approved_for_subject_of_care: approved,
                outcome: outcome.outcome.map(number),
                error_message: outcome.error_message,
            })
        })
        .collect()
}

/// The template version a form is pinned to.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRef {
    pub template_id: String,
    pub template_version: u32,
    pub form_name: String,
}

/// PageType: one page with its questions and any answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageView {
    pub page_number: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "informationURL", skip_serializing_if = "Option::is_none")]
    pub information_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub media: Option<Value>,
    /// True: after this page the form is complete (show "finish and send").
    pub last_page: bool,
    pub question_blocks: Vec<BlockView>,
}

/// QuestionBlockType.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockView {
    pub block_number: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "informationURL", skip_serializing_if = "Option::is_none")]
    pub information_url: Option<String>,
    pub number_of_questions: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub grid_config: Option<Value>,
    pub questions: Vec<QuestionView>,
}

/// QuestionType: the question as the template gives it, with its answer. Show exactly these
/// questions; a question with `questionSuperior` is shown only while its condition holds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionView {
    #[serde(flatten)]
    pub question: TemplateQuestion,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<AnswerView>,
}

/// AnswerType.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnswerView {
    /// The questionId.
    #[serde(rename = "valueID")]
    pub value_id: String,
    /// Absent when the question has no answer (its status then says why it needs one).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub value: Option<Value>,
    #[serde(rename = "answerStatus", skip_serializing_if = "Option::is_none")]
    pub answer_status: Option<AnswerStatus>,
}

/// AnswerStatusType: whether the answer passed its rules, with the text to show.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnswerStatus {
    #[serde(rename = "resultCode")]
    pub result_code: ResultCode,
    #[serde(rename = "resultCodeText", skip_serializing_if = "Option::is_none")]
    pub result_code_text: Option<String>,
}

/// PageAnswerType: the answers of one page, by block.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageAnswers {
    pub page_number: u32,
    pub question_answer_blocks: Vec<BlockAnswers>,
}

/// QuestionBlockAnswerType.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockAnswers {
    pub block_number: u32,
    pub answers: Vec<GivenAnswer>,
}

/// An answer as given: the questionId and the value (its shape per the question's input).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GivenAnswer {
    #[serde(rename = "valueID")]
    #[schema(example = "smoker")]
    pub value_id: String,
    #[schema(value_type = Object, example = 1)]
    pub value: Value,
}

/// What to draw of a form.
#[derive(Debug, Clone, Default)]
pub enum Content {
    /// Only the form's own fields (GetForms).
    #[default]
    Summary,
    /// As its status says: ONGOING its current page; otherwise every page's answers.
    AsStored,
    /// This page with these answers and these broken rules (an answer per question gets a
    /// status).
    Checked {
        page: u32,
        answers: Answers,
        problems: Vec<AnswerProblem>,
    },
    /// This page with its saved answers.
    Page(u32),
}

pub fn form_view(
    form: &Form,
    template: &CompiledTemplate,
    content: Content,
    audience: Audience,
) -> FormView {
    let time = |t| common::riv_time::format_form_timestamp(t);
    let mut view = FormView {
        form_id: form.id.to_string(),
        form_status: form.status,
        subject_of_care: form.subject_of_care.as_ref().map(|s| s.as_str().to_owned()),
        care_unit: form.care_unit.to_string(),
        care_unit_name: form
            .care_unit_name
            .clone()
            .unwrap_or_else(|| form.care_unit.to_string()),
        care_giver: form.care_giver.as_ref().map(ToString::to_string),
        med_unit: form.med_unit.as_ref().map(ToString::to_string),
        system_id: form.system_id.as_ref().map(ToString::to_string),
        created_date_time: time(form.created_at),
        expire_date: form.expire_date.map(common::riv_time::format_date),
        keep_until: form.keep_until.map(common::riv_time::format_date),
        last_saved_date: form.last_saved_at.map(time),
        form_text: form.form_text.clone(),
        clinical_process_interest_id: form.clinical_process_interest_id.clone(),
        form_template: TemplateRef {
            template_id: form.template.template_id.clone(),
            template_version: form.template.template_version,
            form_name: form.form_name.clone(),
        },
        current_page: None,
        page_answers: Vec::new(),
        actor: form.progress.actor.clone(),
        completed_date_time: form.completed_at.map(time),
        expired: form.is_expired(common::riv_time::today_in_sweden()),
        revocation_requested: form.revocation_requested_at.is_some(),
        calculation_outcome: outcome_views(form, template, audience),
        reminders: Vec::new(),
    };
    match content {
        Content::Summary => {}
        Content::AsStored => match (form.status, form.current_page) {
            (FormStatus::Ongoing, Some(page)) => {
                view.current_page = page_view(form, template, page, None, &[]);
            }
            _ => view.page_answers = all_page_answers(form, template),
        },
        Content::Page(page) => view.current_page = page_view(form, template, page, None, &[]),
        Content::Checked {
            page,
            answers,
            problems,
        } => view.current_page = page_view(form, template, page, Some(&answers), &problems),
    }
    view
}

/// One page with its answers: `given` (a checked submission, every answer gets a status)
/// or the saved ones.
fn page_view(
    form: &Form,
    template: &CompiledTemplate,
    page: u32,
    given: Option<&Answers>,
    problems: &[AnswerProblem],
) -> Option<PageView> {
    let routed = template.template().page(page)?;
    let saved = form.progress.answers.get(&page);
    let answers = given.or(saved);
    let problems: BTreeMap<&str, &AnswerProblem> = problems
        .iter()
        .map(|p| (p.question_id.as_str(), p))
        .collect();
    let mut known = form.answers_before(page);
    if let Some(answers) = answers {
        known.extend(answers.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let blocks = routed
        .page
        .question_blocks
        .iter()
        .map(|block| BlockView {
            block_number: block.block_number,
            subject: block.subject.clone(),
            description: block.description.clone(),
            information_url: block.information_url.clone(),
            number_of_questions: u32::try_from(block.questions.len()).unwrap_or(u32::MAX),
            grid_config: block.grid_config.clone(),
            questions: block
                .questions
                .iter()
                .map(|question| {
                    let id = question.id();
                    let value = answers.and_then(|a| a.get(&id)).cloned();
                    let problem = problems.get(id.as_str());
                    let status = match (given.is_some(), problem) {
                        (_, Some(problem)) => Some(AnswerStatus {
                            result_code: ResultCode::Error,
                            result_code_text: Some(problem.text.clone()),
                        }),
                        (true, None) if value.is_some() => Some(AnswerStatus {
                            result_code: ResultCode::Ok,
                            result_code_text: None,
                        }),
                        _ => None,
                    };
                    let answers = if value.is_some() || status.is_some() {
                        vec![AnswerView {
                            value_id: id,
                            value,
                            answer_status: status,
                        }]
                    } else {
                        Vec::new()
                    };
                    QuestionView {
                        question: question.clone(),
                        answers,
                    }
                })
                .collect(),
        })
        .collect();
    Some(PageView {
        page_number: page,
        subject: routed.page.subject.clone(),
        description: routed.page.description.clone(),
        information_url: routed.page.information_url.clone(),
        media: routed.page.media.clone(),
        last_page: template.next_page(page, &known).is_none(),
        question_blocks: blocks,
    })
}

/// The saved answers of every page on the path, by block, in page order.
pub fn all_page_answers(form: &Form, template: &CompiledTemplate) -> Vec<PageAnswers> {
    form.progress
        .path
        .iter()
        .filter_map(|page| {
            let answers = form.progress.answers.get(page)?;
            let mut blocks: BTreeMap<u32, Vec<GivenAnswer>> = BTreeMap::new();
            for id in template.page_questions(*page) {
                let (Some(value), Some((_, placement))) = (answers.get(id), template.question(id))
                else {
                    continue;
                };
                blocks
                    .entry(placement.block)
                    .or_default()
                    .push(GivenAnswer {
                        value_id: id.clone(),
                        value: value.clone(),
                    });
            }
            Some(PageAnswers {
                page_number: *page,
                question_answer_blocks: blocks
                    .into_iter()
                    .map(|(block_number, answers)| BlockAnswers {
                        block_number,
                        answers,
                    })
                    .collect(),
            })
        })
        .collect()
}
