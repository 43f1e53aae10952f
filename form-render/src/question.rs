//! A question of a form page as an HTML control: which control each input type becomes, its
//! label, help, unit, error and saved answer, and the attributes that let a browser help the
//! citizen (the engine's validation is what counts: the form is posted `novalidate`).

use std::collections::HashMap;

use serde_json::Value;

use crate::answer::{self, InputType};
use crate::posted::{self, PostedQuestion};
use crate::texts::Texts;
use crate::wire::{Page, Question};

/// Ranges with at most this many values are asked as a row of radio buttons (a scale): a
/// slider shows no value without a script and cannot be left unanswered.
const MAX_SCALE_VALUES: u32 = 11;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// A fieldset of radio buttons (radio; range as a scale).
    Radio,
    /// A fieldset of checkboxes.
    Checkbox,
    Select,
    Textarea,
    /// An `<input>` of [`QuestionView::html_type`].
    Input,
    /// Shown, not answered.
    Display,
}

pub struct Hint {
    pub text: String,
    /// Written by the portal (in the page's language), not taken from the form.
    pub from_portal: bool,
}

impl Hint {
    fn form(text: String) -> Self {
        Self {
            text,
            from_portal: false,
        }
    }

    fn portal(text: String) -> Self {
        Self {
            text,
            from_portal: true,
        }
    }
}

pub struct Choice {
    pub id: String,
    pub value: String,
    pub label: String,
    pub help: Option<String>,
    pub checked: bool,
}

pub struct QuestionView {
    /// The control's id (the fieldset's, for a group of choices).
    pub id: String,
    pub name: String,
    pub control: Control,
    /// A range asked as a row of radio buttons.
    pub scale: bool,
    /// For [`Control::Input`]: `text`, `number`, `date`...
    pub html_type: &'static str,
    pub subject: String,
    pub optional: bool,
    /// Shown below the label, in order: the question's description and the hints.
    pub hints: Vec<Hint>,
    pub information_url: Option<String>,
    /// Asked only for some answers to another question.
    pub conditional: bool,
    pub unit: Option<String>,
    pub error: Option<String>,
    pub value: String,
    pub choices: Vec<Choice>,
    pub min: Option<String>,
    pub max: Option<String>,
    pub step: Option<String>,
    pub max_length: Option<u32>,
    pub pattern: Option<String>,
    pub placeholder: Option<String>,
    /// A width class for the input: a year does not need a full line.
    pub width: &'static str,
    /// `aria-describedby`: the hint, unit and error ids there are.
    pub described_by: String,
    /// Where the error summary's link leads: the control, or a group's first choice.
    pub focus_id: String,
}

impl QuestionView {
    pub fn hint_id(&self) -> String {
        format!("{}-hint", self.id)
    }

    pub fn error_id(&self) -> String {
        format!("{}-error", self.id)
    }

    pub fn unit_id(&self) -> String {
        format!("{}-unit", self.id)
    }

    pub fn is_group(&self) -> bool {
        matches!(self.control, Control::Radio | Control::Checkbox)
    }

    pub fn is_select(&self) -> bool {
        self.control == Control::Select
    }

    pub fn is_textarea(&self) -> bool {
        self.control == Control::Textarea
    }

    pub fn is_input(&self) -> bool {
        self.control == Control::Input
    }

    pub fn is_display(&self) -> bool {
        self.control == Control::Display
    }

    pub fn choice_type(&self) -> &'static str {
        if self.control == Control::Checkbox {
            "checkbox"
        } else {
            "radio"
        }
    }
}

pub struct BlockView {
    pub id: String,
    pub subject: Option<String>,
    pub description: Option<String>,
    pub questions: Vec<QuestionView>,
}

/// A page's questions as controls, and the layout its form posts back.
pub struct PageView {
    pub blocks: Vec<BlockView>,
    pub layout: Vec<PostedQuestion>,
}

/// What to show in each control instead of the engine's saved answer: what the citizen just
/// sent (`None`: left empty), so a refused page comes back as it was posted.
pub type Sent = HashMap<String, Option<Value>>;

pub fn page_view(page: &Page, sent: Option<&Sent>, t: &Texts) -> PageView {
    let by_number: HashMap<u32, &Question> = page
        .question_blocks
        .iter()
        .flat_map(|b| b.questions.iter())
        .filter_map(|q| q.question_number.map(|n| (n, q)))
        .collect();
    let mut layout = Vec::new();
    let mut blocks = Vec::new();
    // Ids count every question shown; field names count the questions answered.
    let mut position = 0;
    for block in &page.question_blocks {
        let mut questions = Vec::new();
        for question in &block.questions {
            position += 1;
            let Some(value_id) = question.value_id() else {
                // Nothing to name an answer by (the engine always sends an id, so this is not
                // expected): the question is shown, not asked.
                questions.push(display_only(question, position));
                continue;
            };
            let saved = question.answer();
            let value = match sent.and_then(|s| s.get(&value_id)) {
                Some(sent) => sent.clone(),
                None => saved.map(|a| a.value.clone()).filter(|v| !v.is_null()),
            };
            let error = saved
                .and_then(|a| a.error_text())
                .map(|text| {
                    if text.is_empty() {
                        t.form_error_fallback
                    } else {
                        text
                    }
                })
                .map(str::to_owned);
            let condition = question.question_superior.as_ref().map(|s| {
                condition_hint(
                    s.superior_question_number,
                    &s.superior_answer_alternative_numbers,
                    &by_number,
                    t,
                )
            });
            let mut shown = base(question, position, layout.len());
            shown.error = error;
            questions.push(view(question, shown, value.as_ref(), condition, t));
            layout.push(PostedQuestion::of(block.block_number, question, value_id));
        }
        blocks.push(BlockView {
            id: format!("block-{}", block.block_number),
            subject: block.subject.clone().filter(|s| !s.is_empty()),
            description: block.description.clone().filter(|s| !s.is_empty()),
            questions,
        });
    }
    PageView { blocks, layout }
}

/// "Answer only if you answered Yes to ‘Do you smoke?’", when the superior question is on
/// the same page; otherwise the generic hint (the engine sent the question, so it applies).
fn condition_hint(
    superior: u32,
    alternatives: &[u32],
    page: &HashMap<u32, &Question>,
    t: &Texts,
) -> String {
    let Some(question) = page.get(&superior) else {
        return t.form_condition_elsewhere.to_owned();
    };
    let names: Vec<String> = alternatives
        .iter()
        .filter_map(|n| {
            question
                .answer_alternatives
                .iter()
                .find(|a| a.answer_alternative_number == *n)
        })
        .map(|a| format!("{}{}{}", t.quote_open, a.alternative_value, t.quote_close))
        .collect();
    let subject = format!("{}{}{}", t.quote_open, question.subject, t.quote_close);
    if names.is_empty() {
        return t.form_condition_any.replace("{question}", &subject);
    }
    t.form_condition
        .replace("{answers}", &join_or(&names, t.or))
        .replace("{question}", &subject)
}

fn join_or(items: &[String], or: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {or} {last}", rest.join(", ")),
    }
}

fn display_only(question: &Question, position: usize) -> QuestionView {
    let mut view = base(question, position, usize::MAX);
    view.control = Control::Display;
    view.described_by.clear();
    view
}

fn base(question: &Question, position: usize, field: usize) -> QuestionView {
    let id = format!("q{position}");
    QuestionView {
        name: posted::field_name(field),
        focus_id: id.clone(),
        id,
        control: Control::Input,
        scale: false,
        html_type: "text",
        subject: question.subject.clone(),
        optional: !question.mandatory,
        hints: question
            .description
            .iter()
            .filter(|d| !d.is_empty())
            .cloned()
            .map(Hint::form)
            .collect(),
        information_url: question.information_url.clone().filter(|u| is_web_link(u)),
        conditional: question.question_superior.is_some(),
        unit: question.input_unit.clone().filter(|u| !u.is_empty()),
        error: None,
        value: String::new(),
        choices: Vec::new(),
        min: None,
        max: None,
        step: None,
        max_length: None,
        pattern: None,
        placeholder: question
            .answer_placeholder
            .clone()
            .filter(|p| !p.is_empty()),
        width: "",
        described_by: String::new(),
    }
}

/// Only links a browser should follow from a form (no `javascript:` and the like).
fn is_web_link(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

fn view(
    question: &Question,
    mut view: QuestionView,
    value: Option<&Value>,
    condition: Option<String>,
    t: &Texts,
) -> QuestionView {
    if let Some(condition) = condition {
        view.hints.insert(0, Hint::portal(condition));
    }
    let input = question.input;
    match input {
        InputType::Radio | InputType::Checkbox | InputType::Select => {
            let chosen = value.map(answer::chosen).unwrap_or_default();
            view.control = match input {
                InputType::Radio => Control::Radio,
                InputType::Checkbox => Control::Checkbox,
                _ => Control::Select,
            };
            view.choices = question
                .answer_alternatives
                .iter()
                .map(|alternative| Choice {
                    id: format!("{}-{}", view.id, alternative.answer_alternative_number),
                    value: alternative.answer_alternative_number.to_string(),
                    label: alternative.alternative_value.clone(),
                    help: alternative.answer_help.clone().filter(|h| !h.is_empty()),
                    checked: chosen.contains(&alternative.answer_alternative_number),
                })
                .collect();
            if input == InputType::Checkbox
                && let Some(max) = question.max_number_of_choices
                && (max as usize) < view.choices.len()
            {
                view.hints.push(Hint::portal(
                    t.form_max_choices.replace("{n}", &max.to_string()),
                ));
            }
        }
        InputType::Range => {
            if let Some(steps) = scale(question) {
                let current = value.map(|v| answer::control_value(input, v));
                view.control = Control::Radio;
                view.scale = true;
                view.choices = steps
                    .into_iter()
                    .enumerate()
                    .map(|(i, step)| Choice {
                        id: format!("{}-{}", view.id, i + 1),
                        checked: current.as_deref() == Some(step.as_str()),
                        label: step.clone(),
                        value: step,
                        help: None,
                    })
                    .collect();
            } else {
                number_input(question, &mut view);
                if let (Some(min), Some(max)) = (&view.min, &view.max) {
                    let hint = t
                        .form_range_hint
                        .replace("{min}", min)
                        .replace("{max}", max);
                    view.hints.push(Hint::portal(hint));
                }
            }
            scale_labels(question, &mut view);
        }
        InputType::Number => number_input(question, &mut view),
        InputType::Textarea => {
            view.control = Control::Textarea;
            view.max_length = question.answer_max_length;
        }
        InputType::Image => view.control = Control::Display,
        InputType::Text | InputType::Url | InputType::Unknown => {
            view.html_type = if input == InputType::Url {
                "url"
            } else {
                "text"
            };
            view.max_length = question.answer_max_length;
            view.pattern = question.answer_pattern.clone().filter(|p| !p.is_empty());
            view.width = if question.answer_max_length.is_some_and(|n| n <= 20) {
                "width-short"
            } else {
                "width-long"
            };
        }
        InputType::Date
        | InputType::Time
        | InputType::Datetime
        | InputType::DatetimeLocal
        | InputType::Month
        | InputType::Week => {
            view.html_type = match input {
                InputType::Date => "date",
                InputType::Time => "time",
                InputType::Month => "month",
                InputType::Week => "week",
                _ => "datetime-local",
            };
            let bound = |b: &Option<Value>| {
                b.as_ref()
                    .filter(|v| v.is_string())
                    .map(|v| answer::control_value(input, v))
            };
            view.min = bound(&question.answer_min);
            view.max = bound(&question.answer_max);
            view.width = if view.html_type == "datetime-local" {
                "width-datetime"
            } else {
                "width-date"
            };
            // Browsers without a month or week picker show a text box: say how to write it.
            match input {
                InputType::Month => view.hints.push(Hint::portal(t.form_month_hint.to_owned())),
                InputType::Week => view.hints.push(Hint::portal(t.form_week_hint.to_owned())),
                _ => {}
            }
        }
    }
    if matches!(view.control, Control::Input | Control::Textarea) {
        view.value = value
            .map(|v| answer::control_value(input, v))
            .unwrap_or_default();
    }
    if view.control == Control::Textarea
        && let Some(max) = view.max_length
    {
        view.hints.push(Hint::portal(
            t.form_max_length.replace("{n}", &max.to_string()),
        ));
    }
    if view.is_group()
        && let Some(first) = view.choices.first()
    {
        view.focus_id.clone_from(&first.id);
    }
    view.described_by = described_by(&view);
    view
}

fn described_by(view: &QuestionView) -> String {
    let mut ids = Vec::new();
    if !view.hints.is_empty() {
        ids.push(view.hint_id());
    }
    if view.unit.is_some() && view.control == Control::Input {
        ids.push(view.unit_id());
    }
    if view.error.is_some() {
        ids.push(view.error_id());
    }
    ids.join(" ")
}

fn number(value: Option<&Value>) -> Option<f64> {
    value.and_then(Value::as_f64)
}

fn number_text(n: f64) -> String {
    answer::json_number(n).to_string()
}

fn number_input(question: &Question, view: &mut QuestionView) {
    view.control = Control::Input;
    view.html_type = "number";
    view.min = number(question.answer_min.as_ref()).map(number_text);
    view.max = number(question.answer_max.as_ref()).map(number_text);
    // Without a step a browser takes 1 and marks decimals as wrong; the template decides.
    view.step = Some(
        question
            .answer_step
            .filter(|s| *s > 0.0)
            .map_or_else(|| String::from("any"), number_text),
    );
    view.width = "width-number";
}

/// The values of a range with few steps, as texts, from min to max.
fn scale(question: &Question) -> Option<Vec<String>> {
    let min = number(question.answer_min.as_ref())?;
    let max = number(question.answer_max.as_ref())?;
    let step = question.answer_step.filter(|s| *s > 0.0).unwrap_or(1.0);
    if max < min {
        return None;
    }
    let intervals = ((max - min) / step).floor();
    if !intervals.is_finite() || intervals >= f64::from(MAX_SCALE_VALUES) {
        return None;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0..11, checked above
    let intervals = intervals as u32;
    Some(
        (0..=intervals)
            .map(|i| number_text(min + step * f64::from(i)))
            .collect(),
    )
}

/// "0 = No pain", "10 = Worst pain imaginable".
fn scale_labels(question: &Question, view: &mut QuestionView) {
    for (bound, label) in [
        (&question.answer_min, &question.answer_min_label),
        (&question.answer_max, &question.answer_max_label),
    ] {
        if let (Some(n), Some(label)) = (
            number(bound.as_ref()),
            label.as_ref().filter(|l| !l.is_empty()),
        ) {
            view.hints
                .push(Hint::form(format!("{} = {label}", number_text(n))));
        }
    }
}
