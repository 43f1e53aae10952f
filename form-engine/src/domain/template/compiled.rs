//! A template version ready for answering: its schemas derived and compiled once, its
//! questions indexed, its routing graph built. Answers are checked page by page against the
//! compiled page schema; each broken rule becomes the question's validation-event text.

use std::collections::{BTreeMap, HashMap};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use super::formula::{CalculationOutcome, Calculations};
use super::graph::{PageGraph, default_next};
use super::input::AnswerKind;
use super::model::{FormTemplate, TemplateQuestion, ValidationEventKind};
use super::route::{rule_holds, superior_holds};
use super::schema::{self, options};
use super::texts;

/// Answers by questionId.
pub type Answers = BTreeMap<String, Value>;

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("page {page}: the derived schema does not compile: {reason}")]
    Page { page: u32, reason: String },
    #[error("the derived form schema does not compile: {0}")]
    Form(String),
}

/// Why answers could not even be checked: they do not fit the page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerShapeError {
    #[error("the form has no page {0}")]
    UnknownPage(u32),
    #[error("valueID `{value_id}`: page {page} has no question with this id")]
    NotOnPage { value_id: String, page: u32 },
    #[error("valueID `{0}`: the question is an image and takes no answer")]
    TakesNoAnswer(String),
}

/// Where a question is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub page: u32,
    pub block: u32,
    pub position: usize,
}

/// A rule an answer breaks, with the text to show the citizen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerProblem {
    pub question_id: String,
    pub event: ValidationEventKind,
    pub text: String,
}

/// The outcome of checking one page's answers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageCheck {
    /// What is kept: answers to shown questions, empty answers left out.
    pub answers: Answers,
    /// One entry per question with a broken rule, in page order. Empty: the page is valid.
    pub problems: Vec<AnswerProblem>,
}

struct CompiledPage {
    schema: Value,
    /// Earlier questions whose answers the page's conditions read.
    context: Vec<String>,
    validator: Validator,
    /// The page's questions, in order.
    questions: Vec<String>,
}

pub struct CompiledTemplate {
    template: FormTemplate,
    graph: PageGraph,
    placements: HashMap<String, Placement>,
    questions: HashMap<String, TemplateQuestion>,
    ids_by_number: HashMap<u32, String>,
    pages: BTreeMap<u32, CompiledPage>,
    form_schema: Value,
    form_validator: Validator,
    calculations: Calculations,
}

impl std::fmt::Debug for CompiledTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledTemplate")
            .field("template_id", &self.template.template_id)
            .field("template_version", &self.template.template_version)
            .finish_non_exhaustive()
    }
}

impl CompiledTemplate {
    /// Derives and compiles the schemas of a checked, normalized template.
    pub fn compile(template: FormTemplate) -> Result<Self, CompileError> {
        let graph = PageGraph::new(&template);
        let mut placements = HashMap::new();
        let mut questions = HashMap::new();
        let mut ids_by_number = HashMap::new();
        for (position, (page, block, question)) in template.questions().enumerate() {
            let id = question.id();
            placements.insert(
                id.clone(),
                Placement {
                    page: page.page_number,
                    block: block.block_number,
                    position,
                },
            );
            ids_by_number.insert(question.question_number, id.clone());
            questions.insert(id, question.clone());
        }
        let mut pages = BTreeMap::new();
        for routed in &template.pages {
            let number = routed.page.page_number;
            let Some((schema, context)) = schema::page_schema(&template, number) else {
                continue;
            };
            let validator = options::compile(&schema).map_err(|reason| CompileError::Page {
                page: number,
                reason,
            })?;
            let page_questions = routed
                .page
                .question_blocks
                .iter()
                .flat_map(|b| &b.questions)
                .map(TemplateQuestion::id)
                .collect();
            pages.insert(
                number,
                CompiledPage {
                    schema,
                    context,
                    validator,
                    questions: page_questions,
                },
            );
        }
        let form_schema = schema::form_schema(&template, &graph);
        let form_validator = options::compile(&form_schema).map_err(CompileError::Form)?;
        let calculations = Calculations::new(&template);
        Ok(Self {
            template,
            graph,
            placements,
            questions,
            ids_by_number,
            pages,
            form_schema,
            form_validator,
            calculations,
        })
    }

    pub fn template(&self) -> &FormTemplate {
        &self.template
    }

    /// The outcome of every calculation of the template on `answers`, in template order
    /// (empty when the template has none).
    pub fn outcomes(&self, answers: &Answers) -> Vec<CalculationOutcome> {
        self.calculations.outcomes(answers)
    }

    pub fn graph(&self) -> &PageGraph {
        &self.graph
    }

    pub fn first_page(&self) -> Option<u32> {
        self.graph.first_page()
    }

    pub fn question(&self, id: &str) -> Option<(&TemplateQuestion, Placement)> {
        Some((self.questions.get(id)?, *self.placements.get(id)?))
    }

    pub fn question_by_number(&self, number: u32) -> Option<&TemplateQuestion> {
        self.questions.get(self.ids_by_number.get(&number)?)
    }

    pub fn page_schema(&self, page: u32) -> Option<&Value> {
        self.pages.get(&page).map(|p| &p.schema)
    }

    pub fn page_numbers(&self) -> impl Iterator<Item = u32> + '_ {
        self.pages.keys().copied()
    }

    pub fn form_schema(&self) -> &Value {
        &self.form_schema
    }

    /// Whether `question` is shown given `answers`: it has no superior question, or its
    /// superior is shown and answered as the condition asks.
    pub fn is_shown(&self, question: &TemplateQuestion, answers: &Answers) -> bool {
        let mut current = question;
        // Superiors always come earlier (checked on save), so this walk ends; the bound
        // guards against a template stored before that check existed.
        for _ in 0..=self.questions.len() {
            let Some(superior) = &current.question_superior else {
                return true;
            };
            let Some(superior_id) = self.ids_by_number.get(&superior.superior_question_number)
            else {
                return false;
            };
            if !superior_holds(superior, answers.get(superior_id)) {
                return false;
            }
            let Some(next) = self.questions.get(superior_id) else {
                return false;
            };
            current = next;
        }
        false
    }

    /// Checks one page's answers. `earlier` holds the answers kept from earlier pages (for
    /// conditions that read them). Empty answers (null, blank text, no choices) count as
    /// unanswered; answers to questions not shown are dropped.
    pub fn check_page(
        &self,
        page: u32,
        given: &Answers,
        earlier: &Answers,
    ) -> Result<PageCheck, AnswerShapeError> {
        let compiled = self
            .pages
            .get(&page)
            .ok_or(AnswerShapeError::UnknownPage(page))?;
        let mut kept = Answers::new();
        for (id, value) in given {
            let on_page = self.placements.get(id).is_some_and(|p| p.page == page);
            let Some(question) = self.questions.get(id).filter(|_| on_page) else {
                return Err(AnswerShapeError::NotOnPage {
                    value_id: id.clone(),
                    page,
                });
            };
            if question.input.answer_kind() == AnswerKind::None {
                return Err(AnswerShapeError::TakesNoAnswer(id.clone()));
            }
            if !is_empty_answer(value) {
                kept.insert(id.clone(), value.clone());
            }
        }
        let mut visible = earlier.clone();
        visible.extend(kept.clone());
        for id in &compiled.questions {
            if let Some(question) = self.questions.get(id)
                && !self.is_shown(question, &visible)
            {
                kept.remove(id);
                visible.remove(id);
            }
        }
        let mut instance = serde_json::Map::new();
        for id in &compiled.context {
            if let Some(value) = earlier.get(id) {
                instance.insert(id.clone(), value.clone());
            }
        }
        for (id, value) in &kept {
            instance.insert(id.clone(), value.clone());
        }
        let instance = Value::Object(instance);
        let problems = self.problems(compiled.validator.iter_errors(&instance));
        Ok(PageCheck {
            answers: kept,
            problems,
        })
    }

    /// Checks all answers of a form against the form schema (a last check before completion).
    pub fn check_form(&self, answers: &Answers) -> Vec<AnswerProblem> {
        let instance = Value::Object(answers.clone().into_iter().collect());
        self.problems(self.form_validator.iter_errors(&instance))
    }

    fn problems<'i>(
        &self,
        errors: impl Iterator<Item = ValidationError<'i>>,
    ) -> Vec<AnswerProblem> {
        let mut events: BTreeMap<usize, (String, Vec<ValidationEventKind>)> = BTreeMap::new();
        for error in errors {
            let Some((id, event)) = self.event_of(&error) else {
                continue;
            };
            let Some(placement) = self.placements.get(&id) else {
                continue;
            };
            let entry = events
                .entry(placement.position)
                .or_insert_with(|| (id, Vec::new()));
            if !entry.1.contains(&event) {
                entry.1.push(event);
            }
        }
        events
            .into_values()
            .filter_map(|(id, mut kinds)| {
                let question = self.questions.get(&id)?;
                kinds.sort_by_key(|k| priority(*k));
                let mut texts: Vec<String> = Vec::new();
                for kind in &kinds {
                    let text = texts::text_for(question, *kind, &self.template.language);
                    if !texts.contains(&text) {
                        texts.push(text);
                    }
                }
                Some(AnswerProblem {
                    question_id: id,
                    event: kinds[0],
                    text: texts.join(" "),
                })
            })
            .collect()
    }

    /// The question an error is about, and the validation event it reports.
    fn event_of(&self, error: &ValidationError<'_>) -> Option<(String, ValidationEventKind)> {
        use ValidationEventKind as E;
        if let ValidationErrorKind::Required { property } = error.kind() {
            let id = property.as_str()?.to_owned();
            let conditional = error
                .evaluation_path()
                .as_str()
                .split('/')
                .any(|segment| segment == "then");
            return Some((
                id,
                if conditional {
                    E::AnswerSuperior
                } else {
                    E::Mandatory
                },
            ));
        }
        let path = error.instance_path().as_str();
        let id = path.trim_start_matches('/').split('/').next()?.to_owned();
        let question = self.questions.get(&id)?;
        let event = match error.kind().keyword() {
            "minimum" | "exclusiveMinimum" | "formatMinimum" => E::AnswerMin,
            "maximum" | "exclusiveMaximum" | "formatMaximum" => E::AnswerMax,
            "maxLength" => E::AnswerMaxLength,
            "pattern" => E::AnswerPattern,
            "maxItems" => E::MaxNumberOfChoices,
            "minItems" if question.min_number_of_choices.is_some() => E::MinNumberOfChoices,
            // An empty text or choice list is no answer.
            "minLength" | "minItems" => E::Mandatory,
            "multipleOf" | "stepFrom" => E::AnswerStep,
            _ => E::AnswerFormat,
        };
        Some((id, event))
    }

    /// The page after `page`: the first route whose rules all hold, else the next page in
    /// page-number order; `None` when the form ends after `page`.
    pub fn next_page(&self, page: u32, answers: &Answers) -> Option<u32> {
        let routed = self.template.page(page)?;
        for route in routed.routing.iter().flat_map(|r| &r.routes) {
            let holds = route.rules.iter().all(|rule| {
                self.ids_by_number
                    .get(&rule.question_number)
                    .and_then(|id| Some((self.questions.get(id)?, answers.get(id))))
                    .is_some_and(|(question, answer)| rule_holds(rule, question, answer))
            });
            if holds && self.pages.contains_key(&route.page_number) {
                return Some(route.page_number);
            }
        }
        default_next(self.graph.pages(), page)
    }

    /// The questions of a page, in order.
    pub fn page_questions(&self, page: u32) -> &[String] {
        self.pages
            .get(&page)
            .map_or(&[], |p| p.questions.as_slice())
    }
}

/// Which event to name first when an answer breaks several rules.
fn priority(kind: ValidationEventKind) -> u8 {
    use ValidationEventKind as E;
    match kind {
        E::Mandatory | E::AnswerSuperior => 0,
        E::AnswerFormat => 1,
        _ => 2,
    }
}

/// null, a blank text and an empty choice list are no answer.
pub fn is_empty_answer(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}
