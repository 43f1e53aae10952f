//! A question block and its questions in the editor: every property by input type, the
//! alternatives and the condition.

#![allow(clippy::wildcard_imports)] // the editor's parts share its imports

use super::*;

pub(super) fn block_section(
    out: &mut String,
    view: &View<'_>,
    p: usize,
    b: usize,
    page_number: u32,
    block: &QuestionBlock,
) {
    let l = view.l;
    let m = block.block_number;
    let id = format!("page-{page_number}-block-{m}");
    let label = format!(
        "{} {page_number}, {} {m}",
        l.pick("Sida", "Page"),
        l.pick("block", "block")
    );
    let _ = write!(
        out,
        r#"<section class="block" id="{id}" aria-labelledby="{id}-heading"><h3 id="{id}-heading">{}</h3>"#,
        esc(&format!("{} {m}", l.pick("Frågeblock", "Question block")))
    );
    view.findings_at(out, Some(page_number), Some(m), None);
    out.push_str(r#"<div class="toolbar">"#);
    action_button(
        out,
        &format!("move-block-up:{p}:{b}"),
        l.pick("Flytta upp", "Move up"),
        &label,
    );
    action_button(
        out,
        &format!("move-block-down:{p}:{b}"),
        l.pick("Flytta ned", "Move down"),
        &label,
    );
    action_button(
        out,
        &format!("duplicate-block:{p}:{b}"),
        l.pick("Kopiera", "Duplicate"),
        &label,
    );
    action_button(
        out,
        &format!("delete-block:{p}:{b}"),
        l.pick("Ta bort", "Delete"),
        &label,
    );
    out.push_str("</div>");
    let at = format!("p{p}.b{b}");
    text_field(
        out,
        &format!("{at}.subject"),
        l.pick("Blockets rubrik", "Block heading"),
        block.subject.as_deref().unwrap_or_default(),
    );
    text_area(
        out,
        &format!("{at}.description"),
        l.pick("Blockets beskrivning", "Block description"),
        block.description.as_deref().unwrap_or_default(),
    );
    text_field(
        out,
        &format!("{at}.informationURL"),
        l.pick("Länk till mer information", "Link to more information"),
        block.information_url.as_deref().unwrap_or_default(),
    );
    for (q, question) in block.questions.iter().enumerate() {
        question_fieldset(
            out,
            view,
            QuestionAt {
                page: p,
                block: b,
                question: q,
            },
            page_number,
            m,
            question,
        );
    }
    let types: Vec<(String, String)> = INPUT_TYPES
        .iter()
        .map(|t| (t.as_str().to_owned(), input_name(l, *t).to_owned()))
        .collect();
    out.push_str(r#"<div class="toolbar">"#);
    select(
        out,
        &format!("{at}.newInput"),
        l.pick("Typ av ny fråga", "Type of new question"),
        &types,
        "radio",
    );
    action_button(
        out,
        &format!("add-question:{p}:{b}"),
        l.pick("Lägg till fråga", "Add question"),
        &label,
    );
    out.push_str("</div></section>");
}

pub(super) fn input_name(
    l: Lang,
    input: crate::domain::template::input::InputType,
) -> &'static str {
    use crate::domain::template::input::InputType as I;
    match input {
        I::Text => l.pick("Text, en rad (text)", "Text, one line (text)"),
        I::Textarea => l.pick(
            "Text, flera rader (textarea)",
            "Text, several lines (textarea)",
        ),
        I::Radio => l.pick("Ett val, knappar (radio)", "One choice, buttons (radio)"),
        I::Select => l.pick("Ett val, lista (select)", "One choice, list (select)"),
        I::Checkbox => l.pick("Flera val (checkbox)", "Several choices (checkbox)"),
        I::Number => l.pick("Tal (number)", "Number (number)"),
        I::Range => l.pick("Skala (range)", "Scale (range)"),
        I::Date => l.pick("Datum (date)", "Date (date)"),
        I::Time => l.pick("Klockslag (time)", "Time (time)"),
        I::DatetimeLocal => l.pick(
            "Datum och tid (datetime-local)",
            "Date and time (datetime-local)",
        ),
        I::Datetime => l.pick(
            "Datum och tid, äldre typ (datetime)",
            "Date and time, older type (datetime)",
        ),
        I::Month => l.pick("Månad (month)", "Month (month)"),
        I::Week => l.pick("Vecka (week)", "Week (week)"),
        I::Url => l.pick("Webbadress (url)", "Web address (url)"),
        I::Image => l.pick("Bild, inget svar (image)", "Image, no answer (image)"),
    }
}

pub(super) fn event_name(l: Lang, event: ValidationEventKind) -> &'static str {
    use ValidationEventKind as E;
    match event {
        E::Mandatory => l.pick("Text när svar saknas", "Text when the answer is missing"),
        E::AnswerMax => l.pick(
            "Text när svaret är för stort",
            "Text when the answer is too large",
        ),
        E::AnswerMin => l.pick(
            "Text när svaret är för litet",
            "Text when the answer is too small",
        ),
        E::AnswerMaxLength => l.pick(
            "Text när svaret är för långt",
            "Text when the answer is too long",
        ),
        E::AnswerPattern => l.pick(
            "Text när svaret inte följer mönstret",
            "Text when the answer breaks the pattern",
        ),
        E::MaxNumberOfChoices => l.pick("Text vid för många val", "Text for too many choices"),
        E::MinNumberOfChoices => l.pick("Text vid för få val", "Text for too few choices"),
        E::AnswerSuperior => l.pick(
            "Text när villkoret inte är uppfyllt",
            "Text when the condition does not hold",
        ),
        E::AnswerStep => l.pick(
            "Text när svaret inte följer stegen",
            "Text when the answer is off the steps",
        ),
        E::AnswerFormat => l.pick(
            "Text när svaret har fel form",
            "Text when the answer has the wrong form",
        ),
    }
}

pub(super) fn question_label(l: Lang, q: &TemplateQuestion) -> String {
    let subject = if q.subject.trim().is_empty() {
        l.pick("(ingen fråga ännu)", "(no question yet)").to_owned()
    } else {
        q.subject.clone()
    };
    format!(
        "{} {}: {subject}",
        l.pick("Fråga", "Question"),
        q.question_number
    )
}

// Positions are p, b, k as in the field names, and `l` the page's language, throughout.
#[allow(clippy::many_single_char_names)]
pub(super) fn question_fieldset(
    out: &mut String,
    view: &View<'_>,
    at: QuestionAt,
    page_number: u32,
    block_number: u32,
    q: &TemplateQuestion,
) {
    let l = view.l;
    let QuestionAt {
        page: p,
        block: b,
        question: k,
    } = at;
    let n = q.question_number;
    let label = question_label(l, q);
    let _ = write!(
        out,
        r#"<fieldset class="question" id="question-{n}"><legend>{}</legend>"#,
        esc(&label)
    );
    let _ = (page_number, block_number);
    view.findings_at(out, None, None, Some(n));
    out.push_str(r#"<div class="toolbar">"#);
    let coords = format!("{p}:{b}:{k}");
    action_button(
        out,
        &format!("move-question-up:{coords}"),
        l.pick("Flytta upp", "Move up"),
        &label,
    );
    action_button(
        out,
        &format!("move-question-down:{coords}"),
        l.pick("Flytta ned", "Move down"),
        &label,
    );
    action_button(
        out,
        &format!("duplicate-question:{coords}"),
        l.pick("Kopiera", "Duplicate"),
        &label,
    );
    action_button(
        out,
        &format!("delete-question:{coords}"),
        l.pick("Ta bort", "Delete"),
        &label,
    );
    out.push_str("</div>");
    let base = format!("p{p}.b{b}.q{k}");
    let name = |property: &str| format!("{base}.{property}");
    // The input type whose fields this page shows (see `fields::read_question`).
    let _ = write!(
        out,
        r#"<input type="hidden" name="{}" value="{}">"#,
        esc(&name("shownInput")),
        q.input.as_str()
    );
    text_area(
        out,
        &name("subject"),
        l.pick("Frågan", "The question"),
        &q.subject,
    );
    out.push_str(r#"<div class="grid">"#);
    let types: Vec<(String, String)> = INPUT_TYPES
        .iter()
        .map(|t| (t.as_str().to_owned(), input_name(l, *t).to_owned()))
        .collect();
    select(
        out,
        &name("input"),
        l.pick("Svarstyp", "Answer type"),
        &types,
        q.input.as_str(),
    );
    text_field(
        out,
        &name("questionId"),
        l.pick("Fråge-id (valfritt)", "Question id (optional)"),
        q.question_id.as_deref().unwrap_or_default(),
    );
    let mut aligns = vec![(String::new(), l.pick("Standard", "Default").to_owned())];
    aligns.extend(
        ALIGNS
            .iter()
            .map(|a| (align_str(*a).to_owned(), align_str(*a).to_owned())),
    );
    select(
        out,
        &name("questionAlign"),
        l.pick("Placering", "Alignment"),
        &aligns,
        q.question_align.map(align_str).unwrap_or_default(),
    );
    let kind = q.input.answer_kind();
    match kind {
        AnswerKind::Text => {
            text_field(
                out,
                &name("answerMaxLength"),
                l.pick("Högst antal tecken", "Most characters"),
                &opt(q.answer_max_length),
            );
            view.problem_at(out, &name("answerMaxLength"));
            text_field(
                out,
                &name("answerPattern"),
                l.pick(
                    "Mönster (reguljärt uttryck)",
                    "Pattern (regular expression)",
                ),
                q.answer_pattern.as_deref().unwrap_or_default(),
            );
            text_field(
                out,
                &name("answerPlaceholder"),
                l.pick("Exempeltext i fältet", "Placeholder"),
                q.answer_placeholder.as_deref().unwrap_or_default(),
            );
            text_field(
                out,
                &name("inputUnit"),
                l.pick("Enhet", "Unit"),
                q.input_unit.as_deref().unwrap_or_default(),
            );
        }
        AnswerKind::Number => {
            for (property, text, value) in [
                (
                    "answerMin",
                    l.pick("Minsta svar", "Smallest answer"),
                    q.answer_min.as_ref().map(ToString::to_string),
                ),
                (
                    "answerMax",
                    l.pick("Största svar", "Largest answer"),
                    q.answer_max.as_ref().map(ToString::to_string),
                ),
                (
                    "answerStep",
                    l.pick("Steg", "Step"),
                    q.answer_step.map(|s| s.to_string()),
                ),
            ] {
                text_field(
                    out,
                    &name(property),
                    text,
                    value.as_deref().unwrap_or_default(),
                );
                view.problem_at(out, &name(property));
            }
            text_field(
                out,
                &name("inputUnit"),
                l.pick("Enhet (t.ex. kg)", "Unit (e.g. kg)"),
                q.input_unit.as_deref().unwrap_or_default(),
            );
            text_field(
                out,
                &name("answerMinLabel"),
                l.pick("Etikett vid minsta", "Label at the smallest"),
                q.answer_min_label.as_deref().unwrap_or_default(),
            );
            text_field(
                out,
                &name("answerMaxLabel"),
                l.pick("Etikett vid största", "Label at the largest"),
                q.answer_max_label.as_deref().unwrap_or_default(),
            );
            text_field(
                out,
                &name("answerPlaceholder"),
                l.pick("Exempeltext i fältet", "Placeholder"),
                q.answer_placeholder.as_deref().unwrap_or_default(),
            );
        }
        AnswerKind::Temporal(_) => {
            text_field(
                out,
                &name("answerMin"),
                l.pick(
                    "Tidigast (i svarets format, t.ex. 20240101)",
                    "Earliest (in the answer's format, e.g. 20240101)",
                ),
                &q.answer_min
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            );
            text_field(
                out,
                &name("answerMax"),
                l.pick(
                    "Senast (i svarets format)",
                    "Latest (in the answer's format)",
                ),
                &q.answer_max
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            );
            text_field(
                out,
                &name("answerPlaceholder"),
                l.pick("Exempeltext i fältet", "Placeholder"),
                q.answer_placeholder.as_deref().unwrap_or_default(),
            );
        }
        AnswerKind::MultipleChoice => {
            text_field(
                out,
                &name("minNumberOfChoices"),
                l.pick("Minst antal val", "Fewest choices"),
                &opt(q.min_number_of_choices),
            );
            view.problem_at(out, &name("minNumberOfChoices"));
            text_field(
                out,
                &name("maxNumberOfChoices"),
                l.pick("Högst antal val", "Most choices"),
                &opt(q.max_number_of_choices),
            );
            view.problem_at(out, &name("maxNumberOfChoices"));
        }
        AnswerKind::SingleChoice | AnswerKind::None => {}
    }
    out.push_str("</div>");
    check_box(
        out,
        &name("mandatory"),
        l.pick("Obligatorisk", "Mandatory"),
        q.mandatory,
    );
    text_area(
        out,
        &name("description"),
        l.pick("Hjälptext", "Help text"),
        q.description.as_deref().unwrap_or_default(),
    );
    text_field(
        out,
        &name("informationURL"),
        l.pick("Länk till mer information", "Link to more information"),
        q.information_url.as_deref().unwrap_or_default(),
    );
    code_fields(
        out,
        l,
        &name("code"),
        q.code.as_ref(),
        l.pick("Frågans kod", "The question's code"),
    );
    if q.input.is_choice() {
        alternatives(out, view, &base, &coords, q);
    }
    condition(out, view, &base, q);
    let events = events_for(kind);
    if !events.is_empty() {
        let _ = write!(
            out,
            r#"<details><summary>{}</summary><div class="grid">"#,
            l.pick("Valideringstexter", "Validation texts")
        );
        for event in events {
            text_field(
                out,
                &name(&format!("event.{}", event.as_str())),
                event_name(l, event),
                q.event_text(event).unwrap_or_default(),
            );
        }
        out.push_str("</div></details>");
    }
    out.push_str("</fieldset>");
}

pub(super) fn opt(value: Option<u32>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

pub(super) fn alternatives(
    out: &mut String,
    view: &View<'_>,
    base: &str,
    coords: &str,
    q: &TemplateQuestion,
) {
    let l = view.l;
    let _ = write!(
        out,
        r#"<fieldset class="alternatives" id="question-{}-alternatives"><legend>{}</legend>"#,
        q.question_number,
        l.pick("Svarsalternativ", "Answer alternatives")
    );
    for (a, alternative) in q.answer_alternatives.iter().enumerate() {
        let number = alternative.answer_alternative_number;
        let label = format!(
            "{} {}, {} {number}",
            l.pick("fråga", "question"),
            q.question_number,
            l.pick("alternativ", "alternative")
        );
        let at = format!("{base}.a{a}");
        let _ = write!(out, r#"<div class="grid" id="{}">"#, id_of(&at));
        text_field(
            out,
            &format!("{at}.value"),
            &format!("{} {number}", l.pick("Alternativ", "Alternative")),
            &alternative.alternative_value,
        );
        text_field(
            out,
            &format!("{at}.help"),
            &format!(
                "{} {number}",
                l.pick("Hjälptext till alternativ", "Help text of alternative")
            ),
            alternative.answer_help.as_deref().unwrap_or_default(),
        );
        text_field(
            out,
            &format!("{at}.score"),
            &format!(
                "{} {number}",
                l.pick("Poäng för alternativ", "Score of alternative")
            ),
            &alternative.score.map(|s| s.to_string()).unwrap_or_default(),
        );
        view.problem_at(out, &format!("{at}.score"));
        out.push_str(r#"<div class="toolbar">"#);
        action_button(
            out,
            &format!("move-alternative-up:{coords}:{a}"),
            l.pick("Flytta upp", "Move up"),
            &label,
        );
        action_button(
            out,
            &format!("move-alternative-down:{coords}:{a}"),
            l.pick("Flytta ned", "Move down"),
            &label,
        );
        action_button(
            out,
            &format!("delete-alternative:{coords}:{a}"),
            l.pick("Ta bort", "Delete"),
            &label,
        );
        out.push_str("</div></div>");
    }
    out.push_str(r#"<div class="toolbar">"#);
    action_button(
        out,
        &format!("add-alternative:{coords}"),
        l.pick("Lägg till alternativ", "Add alternative"),
        &format!("{} {}", l.pick("fråga", "question"), q.question_number),
    );
    out.push_str("</div></fieldset>");
}

/// The condition (questionSuperior): a question chosen from a list of the earlier ones, then
/// its alternatives as checkboxes.
pub(super) fn condition(out: &mut String, view: &View<'_>, base: &str, q: &TemplateQuestion) {
    let l = view.l;
    let current = q
        .question_superior
        .as_ref()
        .map(|s| s.superior_question_number);
    let mut options = vec![(
        String::new(),
        l.pick("Visas alltid", "Always shown").to_owned(),
    )];
    for (_, other) in &view.questions {
        let earlier = other.question_number < q.question_number;
        if other.question_number == q.question_number
            || (!earlier && Some(other.question_number) != current)
            || other.input.answer_kind() == AnswerKind::None
        {
            continue;
        }
        let mut text = format!(
            "{} {}",
            l.pick("Visas när besvarad:", "Shown when answered:"),
            question_label(l, other)
        );
        if !earlier {
            text.push_str(l.pick(" (kommer efter!)", " (comes after!)"));
        }
        options.push((other.question_number.to_string(), text));
    }
    select(
        out,
        &format!("{base}.superior"),
        l.pick("Villkor", "Condition"),
        &options,
        &current.map(|n| n.to_string()).unwrap_or_default(),
    );
    let Some(superior) = &q.question_superior else {
        return;
    };
    let Some((_, chosen)) = view
        .questions
        .iter()
        .find(|(_, other)| other.question_number == superior.superior_question_number)
    else {
        return;
    };
    if !chosen.input.is_choice() || chosen.answer_alternatives.is_empty() {
        return;
    }
    let _ = write!(
        out,
        r#"<fieldset class="condition"><legend>{}</legend><input type="hidden" name="{base}.superiorAlternativesShown" value="{}">"#,
        esc(&format!(
            "{} {}",
            l.pick(
                "Visas bara vid dessa svar på fråga",
                "Shown only for these answers to question"
            ),
            chosen.question_number
        )),
        chosen.question_number
    );
    for alternative in &chosen.answer_alternatives {
        let number = alternative.answer_alternative_number;
        let name = format!("{base}.superiorAlternatives");
        let id = format!("{}-{number}", id_of(&name));
        let checked = superior
            .superior_answer_alternative_numbers
            .contains(&number);
        let _ = write!(
            out,
            r#"<div class="field check"><input type="checkbox" id="{id}" name="{}" value="{number}"{}><label for="{id}">{}</label></div>"#,
            esc(&name),
            if checked { " checked" } else { "" },
            esc(&alternative_label(
                l,
                number,
                &alternative.alternative_value
            )),
        );
    }
    out.push_str("</fieldset>");
}

pub(super) fn alternative_label(l: Lang, number: u32, value: &str) -> String {
    if value.trim().is_empty() {
        format!("{} {number}", l.pick("Alternativ", "Alternative"))
    } else {
        format!("{number}. {value}")
    }
}
