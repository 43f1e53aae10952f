//! Reading the editor's posted fields onto the draft. The field names are the page's (see the
//! module documentation of [`super`]): `p{page}.b{block}.q{question}.{property}` by position,
//! properties by the model's element names. A field left empty clears the property. Which
//! properties a question shows depends on its input type; a changed input type drops the
//! properties the new type has no use for.

use crate::domain::template::input::{AnswerKind, InputType};
use crate::domain::template::model::{
    AnswerAlternative, Bound, Code, FormTemplate, QuestionAlign, QuestionSuperior, RuleOperator,
    TemplatePropagate, TemplateQuestion, ValidationEvent, ValidationEventKind,
};

use super::post::{Fields, all, field};

/// Every input type, in the order the editor offers them.
pub const INPUT_TYPES: [InputType; 15] = [
    InputType::Text,
    InputType::Textarea,
    InputType::Radio,
    InputType::Select,
    InputType::Checkbox,
    InputType::Number,
    InputType::Range,
    InputType::Date,
    InputType::Time,
    InputType::DatetimeLocal,
    InputType::Datetime,
    InputType::Month,
    InputType::Week,
    InputType::Url,
    InputType::Image,
];

pub const ALIGNS: [QuestionAlign; 5] = [
    QuestionAlign::Left,
    QuestionAlign::Right,
    QuestionAlign::Center,
    QuestionAlign::Vertical,
    QuestionAlign::Horizontal,
];

pub const OPERATORS: [RuleOperator; 8] = [
    RuleOperator::Equals,
    RuleOperator::NotEquals,
    RuleOperator::GreaterThan,
    RuleOperator::GreaterThanOrEqual,
    RuleOperator::LessThan,
    RuleOperator::LessThanOrEqual,
    RuleOperator::Answered,
    RuleOperator::NotAnswered,
];

pub fn parse_input(value: &str) -> Option<InputType> {
    serde_json::from_value(serde_json::Value::String(value.to_owned())).ok()
}

pub fn align_str(align: QuestionAlign) -> &'static str {
    match align {
        QuestionAlign::Left => "left",
        QuestionAlign::Right => "right",
        QuestionAlign::Center => "center",
        QuestionAlign::Vertical => "vertical",
        QuestionAlign::Horizontal => "horizontal",
    }
}

pub fn operator_str(operator: RuleOperator) -> &'static str {
    match operator {
        RuleOperator::Equals => "equals",
        RuleOperator::NotEquals => "notEquals",
        RuleOperator::GreaterThan => "greaterThan",
        RuleOperator::GreaterThanOrEqual => "greaterThanOrEqual",
        RuleOperator::LessThan => "lessThan",
        RuleOperator::LessThanOrEqual => "lessThanOrEqual",
        RuleOperator::Answered => "answered",
        RuleOperator::NotAnswered => "notAnswered",
    }
}

/// The validation texts a question of `kind` can show.
pub fn events_for(kind: AnswerKind) -> Vec<ValidationEventKind> {
    use ValidationEventKind as E;
    let mut events = vec![E::Mandatory, E::AnswerSuperior];
    match kind {
        AnswerKind::Text => events.extend([E::AnswerMaxLength, E::AnswerPattern, E::AnswerFormat]),
        AnswerKind::Number => {
            events.extend([E::AnswerMin, E::AnswerMax, E::AnswerStep, E::AnswerFormat]);
        }
        AnswerKind::Temporal(_) => events.extend([E::AnswerMin, E::AnswerMax, E::AnswerFormat]),
        AnswerKind::MultipleChoice => {
            events.extend([
                E::MinNumberOfChoices,
                E::MaxNumberOfChoices,
                E::AnswerFormat,
            ]);
        }
        AnswerKind::SingleChoice => events.push(E::AnswerFormat),
        AnswerKind::None => events.clear(),
    }
    events
}

/// A field the editor could not read, by its field name, with what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputProblem {
    pub name: String,
    pub value: String,
}

/// A text field: `None` when the page did not show it (nothing changes), `Some(None)` when
/// it was emptied (the property is cleared).
#[allow(clippy::option_option)] // the three cases are exactly what a posted field can be
fn text(fields: &Fields, name: &str) -> Option<Option<String>> {
    field(fields, name).map(|v| {
        let v = v.trim_end_matches(['\r', '\n']).trim();
        (!v.is_empty()).then(|| v.to_owned())
    })
}

fn set_text(target: &mut Option<String>, fields: &Fields, name: &str) {
    if let Some(value) = text(fields, name) {
        *target = value;
    }
}

/// A decimal number, written with a point or a Swedish comma.
fn number(value: &str) -> Option<f64> {
    value
        .trim()
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
}

struct Reader<'f> {
    fields: &'f Fields,
    problems: Vec<InputProblem>,
}

impl Reader<'_> {
    fn problem(&mut self, name: &str, value: &str) {
        self.problems.push(InputProblem {
            name: name.to_owned(),
            value: value.to_owned(),
        });
    }

    /// A whole number field: empty clears, unreadable is a problem and changes nothing.
    fn whole(&mut self, target: &mut Option<u32>, name: &str) {
        let Some(value) = field(self.fields, name) else {
            return;
        };
        let value = value.trim();
        if value.is_empty() {
            *target = None;
        } else if let Ok(n) = value.parse() {
            *target = Some(n);
        } else {
            self.problem(name, value);
        }
    }

    fn decimal(&mut self, target: &mut Option<f64>, name: &str) {
        let Some(value) = field(self.fields, name) else {
            return;
        };
        let value = value.trim();
        if value.is_empty() {
            *target = None;
        } else if let Some(n) = number(value) {
            *target = Some(n);
        } else {
            self.problem(name, value);
        }
    }

    fn bound(&mut self, target: &mut Option<Bound>, kind: AnswerKind, name: &str) {
        let Some(value) = field(self.fields, name) else {
            return;
        };
        let value = value.trim();
        if value.is_empty() {
            *target = None;
        } else if kind == AnswerKind::Number {
            match number(value) {
                Some(n) => *target = Some(Bound::Number(n)),
                None => self.problem(name, value),
            }
        } else {
            // A date-like bound in the answer's format; the checks say when it is not.
            *target = Some(Bound::Text(value.to_owned()));
        }
    }
}

/// Reads the posted fields onto `template`; answers the fields that could not be read (they
/// are left as they were).
pub fn apply_fields(template: &mut FormTemplate, fields: &Fields) -> Vec<InputProblem> {
    let mut reader = Reader {
        fields,
        problems: Vec::new(),
    };
    // Only a post of the editor's form carries the form's properties.
    if field(fields, "formName").is_none() {
        return reader.problems;
    }
    if let Some(name) = text(fields, "formName") {
        template.form_name = name.unwrap_or_default();
    }
    set_text(&mut template.form_title, fields, "formTitle");
    set_text(&mut template.description, fields, "description");
    set_text(
        &mut template.description_internal,
        fields,
        "descriptionInternal",
    );
    set_text(&mut template.category, fields, "category");
    set_text(&mut template.form_complete_text, fields, "formCompleteText");
    set_text(&mut template.term, fields, "term");
    set_text(&mut template.information_url, fields, "informationURL");
    if let Some(Some(language)) = text(fields, "language") {
        template.language = language.to_lowercase();
    }
    template.anonymous_form = field(fields, "anonymousForm").is_some();
    template.mandatory = field(fields, "mandatory").is_some();
    if let Some(counties) = field(fields, "countycodes") {
        template.template_propagate = if field(fields, "propagate").is_some() {
            vec![TemplatePropagate {
                propagate: true,
                countycode: counties
                    .split([',', ' '])
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect(),
            }]
        } else {
            Vec::new()
        };
    }
    read_code(&mut template.code, fields, "code");
    if let Some(days) = field(fields, "reminderDaysBefore") {
        let parsed: Result<Vec<u32>, _> = days
            .split([',', ' '])
            .filter(|d| !d.trim().is_empty())
            .map(|d| d.trim().parse::<u32>())
            .collect();
        match parsed {
            Ok(days) => template.reminder_days_before = days,
            Err(_) => reader.problem("reminderDaysBefore", days),
        }
    }
    let question_numbers: Vec<u32> = template
        .questions()
        .map(|(_, _, q)| q.question_number)
        .collect();
    let blocks_of: std::collections::BTreeMap<u32, u32> = template
        .questions()
        .map(|(_, b, q)| (q.question_number, b.block_number))
        .collect();
    for (p, routed) in template.pages.iter_mut().enumerate() {
        let page = &mut routed.page;
        let at = format!("p{p}");
        set_text(&mut page.subject, fields, &format!("{at}.subject"));
        set_text(&mut page.description, fields, &format!("{at}.description"));
        set_text(
            &mut page.information_url,
            fields,
            &format!("{at}.informationURL"),
        );
        for (b, block) in page.question_blocks.iter_mut().enumerate() {
            let at = format!("p{p}.b{b}");
            set_text(&mut block.subject, fields, &format!("{at}.subject"));
            set_text(&mut block.description, fields, &format!("{at}.description"));
            set_text(
                &mut block.information_url,
                fields,
                &format!("{at}.informationURL"),
            );
            for (q, question) in block.questions.iter_mut().enumerate() {
                read_question(
                    &mut reader,
                    question,
                    &format!("{at}.q{q}"),
                    &question_numbers,
                );
            }
        }
        if let Some(routing) = &mut routed.routing {
            for (r, route) in routing.routes.iter_mut().enumerate() {
                let at = format!("p{p}.r{r}");
                let mut target = Some(route.page_number);
                reader.whole(&mut target, &format!("{at}.page"));
                route.page_number = target.unwrap_or(route.page_number);
                for (u, rule) in route.rules.iter_mut().enumerate() {
                    let at = format!("{at}.u{u}");
                    let before = rule.question_number;
                    let mut chosen = Some(rule.question_number);
                    reader.whole(&mut chosen, &format!("{at}.question"));
                    if let Some(n) = chosen.filter(|n| question_numbers.contains(n)) {
                        rule.question_number = n;
                        rule.block_number = blocks_of.get(&n).copied().unwrap_or(rule.block_number);
                    }
                    if let Some(op) = field(fields, &format!("{at}.operator")) {
                        rule.operator = OPERATORS.into_iter().find(|o| operator_str(*o) == op);
                    }
                    if rule.question_number == before {
                        // The alternatives the page showed are those of this question.
                        let shown = field(fields, &format!("{at}.alternativesShown"));
                        if shown == Some(before.to_string().as_str()) {
                            rule.answer_alternative_numbers =
                                all(fields, &format!("{at}.alternatives"))
                                    .filter_map(|v| v.parse().ok())
                                    .collect();
                        }
                        reader.decimal(&mut rule.value, &format!("{at}.value"));
                    } else {
                        // Another question: what it was compared with no longer fits.
                        rule.answer_alternative_numbers.clear();
                        rule.value = None;
                    }
                }
            }
        }
    }
    reader.problems
}

fn read_question(
    reader: &mut Reader<'_>,
    question: &mut TemplateQuestion,
    at: &str,
    numbers: &[u32],
) {
    let fields = reader.fields;
    let name = |property: &str| format!("{at}.{property}");
    if let Some(subject) = text(fields, &name("subject")) {
        question.subject = subject.unwrap_or_default();
    }
    set_text(&mut question.question_id, fields, &name("questionId"));
    read_code(&mut question.code, fields, &name("code"));
    set_text(&mut question.description, fields, &name("description"));
    set_text(
        &mut question.information_url,
        fields,
        &name("informationURL"),
    );
    let before = question.input;
    if let Some(input) = field(fields, &name("input")).and_then(parse_input) {
        question.input = input;
    }
    if field(fields, &name("subject")).is_some() {
        question.mandatory = field(fields, &name("mandatory")).is_some();
    }
    if let Some(align) = field(fields, &name("questionAlign")) {
        question.question_align = ALIGNS.into_iter().find(|a| align_str(*a) == align);
    }
    let kind = before.answer_kind();
    // The fields of the input type the page showed; after a change of type made elsewhere
    // (an autosave, another person) they belong to another type and are left unread.
    let shown = field(fields, &name("shownInput")).and_then(parse_input);
    let fits = shown.is_none_or(|shown| shown == before);
    if fits {
        set_text(&mut question.input_unit, fields, &name("inputUnit"));
        set_text(
            &mut question.answer_placeholder,
            fields,
            &name("answerPlaceholder"),
        );
        set_text(
            &mut question.answer_min_label,
            fields,
            &name("answerMinLabel"),
        );
        set_text(
            &mut question.answer_max_label,
            fields,
            &name("answerMaxLabel"),
        );
        set_text(&mut question.answer_pattern, fields, &name("answerPattern"));
        reader.whole(&mut question.answer_max_length, &name("answerMaxLength"));
        reader.whole(
            &mut question.min_number_of_choices,
            &name("minNumberOfChoices"),
        );
        reader.whole(
            &mut question.max_number_of_choices,
            &name("maxNumberOfChoices"),
        );
        reader.decimal(&mut question.answer_step, &name("answerStep"));
        reader.bound(&mut question.answer_min, kind, &name("answerMin"));
        reader.bound(&mut question.answer_max, kind, &name("answerMax"));
        for (a, alternative) in question.answer_alternatives.iter_mut().enumerate() {
            read_alternative(reader, alternative, &format!("{at}.a{a}"));
        }
    }
    // The condition: a question chosen from a list; its alternatives when it has some.
    if let Some(superior) = field(fields, &name("superior")) {
        let chosen: Option<u32> = superior.parse().ok().filter(|n| numbers.contains(n));
        let previous = question
            .question_superior
            .as_ref()
            .map(|s| s.superior_question_number);
        question.question_superior = chosen.map(|n| QuestionSuperior {
            superior_question_number: n,
            superior_answer_alternative_numbers: if Some(n) == previous
                && field(fields, &name("superiorAlternativesShown")) == Some(n.to_string().as_str())
            {
                all(fields, &name("superiorAlternatives"))
                    .filter_map(|v| v.parse().ok())
                    .collect()
            } else if Some(n) == previous {
                question
                    .question_superior
                    .as_ref()
                    .map(|s| s.superior_answer_alternative_numbers.clone())
                    .unwrap_or_default()
            } else {
                Vec::new()
            },
        });
    }
    // Validation texts: one per event the question shows; an empty one is no text.
    let shown_events = if fits { events_for(kind) } else { Vec::new() };
    for event in shown_events {
        if let Some(value) = text(fields, &name(&format!("event.{}", event.as_str()))) {
            question.validation_events.retain(|e| e.event != event);
            if let Some(text) = value {
                question
                    .validation_events
                    .push(ValidationEvent { event, text });
            }
        }
    }
    if question.input != before {
        fit_to_input(question);
    }
}

/// A code's three fields; both value and system empty is no code.
fn read_code(target: &mut Option<Code>, fields: &Fields, prefix: &str) {
    let (Some(value), Some(system)) = (
        text(fields, &format!("{prefix}.codeValue")),
        text(fields, &format!("{prefix}.codeSystem")),
    ) else {
        return;
    };
    let display_name = text(fields, &format!("{prefix}.displayName")).flatten();
    *target = match (value, system) {
        (None, None) => None,
        (value, system) => Some(Code {
            code_value: value.unwrap_or_default(),
            code_system: system.unwrap_or_default(),
            display_name,
        }),
    };
}

fn read_alternative(reader: &mut Reader<'_>, alternative: &mut AnswerAlternative, at: &str) {
    let fields = reader.fields;
    if let Some(value) = text(fields, &format!("{at}.value")) {
        alternative.alternative_value = value.unwrap_or_default();
    }
    set_text(&mut alternative.answer_help, fields, &format!("{at}.help"));
    reader.decimal(&mut alternative.score, &format!("{at}.score"));
}

/// Drops what the question's (new) input type has no use for, and gives a new choice
/// question two alternatives to fill in.
pub fn fit_to_input(question: &mut TemplateQuestion) {
    let kind = question.input.answer_kind();
    if !question.input.is_choice() {
        question.answer_alternatives.clear();
    } else if question.answer_alternatives.is_empty() {
        question.answer_alternatives =
            crate::domain::designer::edit::new_question(0, question.input).answer_alternatives;
    }
    if kind != AnswerKind::MultipleChoice {
        question.min_number_of_choices = None;
        question.max_number_of_choices = None;
    }
    // Bounds are numbers or text by the kind: a changed kind starts again.
    question.answer_min = None;
    question.answer_max = None;
    if question.input == InputType::Range {
        let fresh = crate::domain::designer::edit::new_question(0, InputType::Range);
        question.answer_min = fresh.answer_min;
        question.answer_max = fresh.answer_max;
    }
    if kind != AnswerKind::Number {
        question.answer_step = None;
        question.answer_min_label = None;
        question.answer_max_label = None;
    }
    if kind != AnswerKind::Text {
        question.answer_max_length = None;
        question.answer_pattern = None;
    }
    let events = events_for(kind);
    question
        .validation_events
        .retain(|e| events.contains(&e.event));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::designer::edit::{EditAction, apply};
    use common::identity::HsaId;

    fn draft() -> FormTemplate {
        let mut t = crate::domain::designer::blank(
            "T-1",
            "Test",
            HsaId::parse("SE0000000001-CU01").unwrap(),
        );
        for action in [
            EditAction::AddPage,
            EditAction::AddQuestion(0, 0, InputType::Radio),
            EditAction::AddQuestion(0, 0, InputType::Number),
            EditAction::AddRoute(0),
            EditAction::AddRule(0, 0),
        ] {
            apply(&mut t, &action).unwrap();
        }
        t
    }

    fn posted(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn reads_properties_alternatives_conditions_and_rules() {
        let mut t = draft();
        let problems = apply_fields(
            &mut t,
            &posted(&[
                ("formName", "Hälsa"),
                ("mandatory", "on"),
                ("reminderDaysBefore", "3, 1"),
                ("p0.subject", "Allmänt"),
                ("p0.b0.q0.subject", "Röker du?"),
                ("p0.b0.q0.a0.value", "Ja"),
                ("p0.b0.q0.a1.value", "Nej"),
                ("p0.b0.q0.a1.score", "1,5"),
                ("p0.b0.q1.subject", "Hur många?"),
                ("p0.b0.q1.mandatory", "on"),
                ("p0.b0.q1.answerMin", "0"),
                ("p0.b0.q1.answerMax", "100"),
                ("p0.b0.q1.answerStep", "1"),
                ("p0.b0.q1.inputUnit", "st"),
                ("p0.b0.q1.superior", "1"),
                ("p0.b0.q1.event.answerMax", "Högst 100."),
                ("p0.r0.page", "1"),
                ("p0.r0.u0.question", "1"),
                ("p0.r0.u0.operator", "equals"),
                ("p0.r0.u0.alternativesShown", "1"),
                ("p0.r0.u0.alternatives", "2"),
            ]),
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert!(t.mandatory);
        assert_eq!(t.reminder_days_before, vec![3, 1]);
        assert_eq!(t.pages[0].page.subject.as_deref(), Some("Allmänt"));
        let qs = &t.pages[0].page.question_blocks[0].questions;
        assert_eq!(qs[0].answer_alternatives[1].alternative_value, "Nej");
        assert_eq!(qs[0].answer_alternatives[1].score, Some(1.5));
        assert!(qs[1].mandatory && !qs[0].mandatory);
        assert_eq!(qs[1].answer_max, Some(Bound::Number(100.0)));
        assert_eq!(qs[1].input_unit.as_deref(), Some("st"));
        assert_eq!(
            qs[1]
                .question_superior
                .as_ref()
                .unwrap()
                .superior_question_number,
            1
        );
        assert_eq!(
            qs[1].event_text(ValidationEventKind::AnswerMax),
            Some("Högst 100.")
        );
        let rule = &t.pages[0].routing.as_ref().unwrap().routes[0].rules[0];
        assert_eq!(rule.operator, Some(RuleOperator::Equals));
        assert_eq!(rule.answer_alternative_numbers, vec![2]);
    }

    #[test]
    fn an_unreadable_number_is_a_problem_and_changes_nothing() {
        let mut t = draft();
        let problems = apply_fields(
            &mut t,
            &posted(&[("formName", "Test"), ("p0.b0.q1.answerMax", "mycket")]),
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].name, "p0.b0.q1.answerMax");
        assert_eq!(
            t.pages[0].page.question_blocks[0].questions[1].answer_max,
            None
        );
    }

    #[test]
    fn a_changed_input_type_drops_what_it_has_no_use_for() {
        let mut t = draft();
        apply_fields(
            &mut t,
            &posted(&[
                ("formName", "Test"),
                ("p0.b0.q0.input", "text"),
                ("p0.b0.q1.answerMax", "5"),
                ("p0.b0.q1.input", "radio"),
            ]),
        );
        let qs = &t.pages[0].page.question_blocks[0].questions;
        assert!(qs[0].answer_alternatives.is_empty());
        assert_eq!(qs[1].answer_alternatives.len(), 2);
        assert_eq!(qs[1].answer_max, None);
    }

    #[test]
    fn reads_codes_and_sharing() {
        let mut t = draft();
        apply_fields(
            &mut t,
            &posted(&[
                ("formName", "T"),
                ("propagate", "on"),
                ("countycodes", "01, 12"),
                ("code.codeValue", "1177.forms.x"),
                ("code.codeSystem", "1.2.752.129.2.2.3.1"),
                ("code.displayName", ""),
                ("p0.b0.q0.code.codeValue", "72166-2"),
                ("p0.b0.q0.code.codeSystem", "http://loinc.org"),
                ("p0.b0.q0.code.displayName", "Tobacco smoking status"),
            ]),
        );
        assert_eq!(t.template_propagate.len(), 1);
        assert_eq!(t.template_propagate[0].countycode, vec!["01", "12"]);
        let code = t.code.as_ref().unwrap();
        assert_eq!(
            (code.code_value.as_str(), code.display_name.as_deref()),
            ("1177.forms.x", None)
        );
        let q = &t.pages[0].page.question_blocks[0].questions[0];
        assert_eq!(q.code.as_ref().unwrap().code_system, "http://loinc.org");
        // Unticked and emptied: no sharing, no code.
        apply_fields(
            &mut t,
            &posted(&[
                ("formName", "T"),
                ("countycodes", "01"),
                ("code.codeValue", ""),
                ("code.codeSystem", ""),
            ]),
        );
        assert!(t.template_propagate.is_empty());
        assert!(t.code.is_none());
    }

    #[test]
    fn fields_of_another_input_type_than_the_page_showed_are_left_unread() {
        let mut t = draft();
        // The page showed question 2 as a number; meanwhile it became a text question.
        apply_fields(
            &mut t,
            &posted(&[("formName", "T"), ("p0.b0.q1.input", "text")]),
        );
        let problems = apply_fields(
            &mut t,
            &posted(&[
                ("formName", "T"),
                ("p0.b0.q1.shownInput", "number"),
                ("p0.b0.q1.input", "text"),
                ("p0.b0.q1.answerMax", "100"),
                ("p0.b0.q1.subject", "Still read"),
            ]),
        );
        assert!(problems.is_empty());
        let q = &t.pages[0].page.question_blocks[0].questions[1];
        assert_eq!(q.answer_max, None);
        assert_eq!(q.subject, "Still read");
    }

    #[test]
    fn a_condition_on_another_question_starts_without_alternatives() {
        let mut t = draft();
        apply_fields(
            &mut t,
            &posted(&[("formName", "T"), ("p0.b0.q1.superior", "1")]),
        );
        apply_fields(
            &mut t,
            &posted(&[
                ("formName", "T"),
                ("p0.b0.q1.superior", "1"),
                ("p0.b0.q1.superiorAlternativesShown", "1"),
                ("p0.b0.q1.superiorAlternatives", "1"),
            ]),
        );
        let q = &t.pages[0].page.question_blocks[0].questions[1];
        assert_eq!(
            q.question_superior
                .as_ref()
                .unwrap()
                .superior_answer_alternative_numbers,
            vec![1]
        );
        apply_fields(
            &mut t,
            &posted(&[("formName", "T"), ("p0.b0.q1.superior", "")]),
        );
        assert!(
            t.pages[0].page.question_blocks[0].questions[1]
                .question_superior
                .is_none()
        );
    }
}
