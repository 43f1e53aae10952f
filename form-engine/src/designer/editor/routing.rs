//! A page in the editor and its routing: routes tried in order, each with rules on a question
//! of this or an earlier page.

#![allow(clippy::wildcard_imports)] // the editor's parts share its imports

use super::*;

pub(super) fn page_section(
    out: &mut String,
    view: &View<'_>,
    t: &FormTemplate,
    p: usize,
    routed: &RoutedPage,
) {
    let l = view.l;
    let page = &routed.page;
    let n = page.page_number;
    let label = format!("{} {n}", l.pick("Sida", "Page"));
    let _ = write!(
        out,
        r#"<section class="page" id="page-{n}" aria-labelledby="page-{n}-heading"><h2 id="page-{n}-heading">{}</h2>"#,
        esc(&label)
    );
    view.findings_at(out, Some(n), None, None);
    out.push_str(r#"<div class="toolbar">"#);
    action_button(
        out,
        &format!("move-page-up:{p}"),
        l.pick("Flytta upp", "Move up"),
        &label,
    );
    action_button(
        out,
        &format!("move-page-down:{p}"),
        l.pick("Flytta ned", "Move down"),
        &label,
    );
    action_button(
        out,
        &format!("duplicate-page:{p}"),
        l.pick("Kopiera", "Duplicate"),
        &label,
    );
    action_button(
        out,
        &format!("delete-page:{p}"),
        l.pick("Ta bort", "Delete"),
        &label,
    );
    out.push_str("</div>");
    let at = format!("p{p}");
    text_field(
        out,
        &format!("{at}.subject"),
        l.pick("Sidans rubrik", "Page heading"),
        page.subject.as_deref().unwrap_or_default(),
    );
    text_area(
        out,
        &format!("{at}.description"),
        l.pick("Sidans beskrivning", "Page description"),
        page.description.as_deref().unwrap_or_default(),
    );
    text_field(
        out,
        &format!("{at}.informationURL"),
        l.pick("Länk till mer information", "Link to more information"),
        page.information_url.as_deref().unwrap_or_default(),
    );
    for (b, block) in page.question_blocks.iter().enumerate() {
        block_section(out, view, p, b, n, block);
    }
    let _ = write!(out, r#"<div class="toolbar">"#);
    action_button(
        out,
        &format!("add-block:{p}"),
        l.pick("Lägg till block", "Add block"),
        &label,
    );
    out.push_str("</div>");
    routing_section(out, view, t, p, routed);
    out.push_str("</section>");
}

#[allow(clippy::many_single_char_names)]
pub(super) fn routing_section(
    out: &mut String,
    view: &View<'_>,
    t: &FormTemplate,
    p: usize,
    routed: &RoutedPage,
) {
    let l = view.l;
    let n = routed.page.page_number;
    let _ = write!(
        out,
        r#"<section class="routing" id="page-{n}-routing" aria-labelledby="page-{n}-routing-heading"><h3 id="page-{n}-routing-heading">{}</h3><p class="muted">{}</p>"#,
        esc(&format!("{} {n}", l.pick("Vägval efter sida", "Routing after page"))),
        l.pick(
            "Vägvalen prövas i ordning; det första vars alla regler gäller tas. Gäller inget går invånaren till nästa sida.",
            "Routes are tried in order; the first whose rules all hold is taken. When none holds, the citizen goes to the next page.",
        )
    );
    let routes: &[Route] = routed.routing.as_ref().map_or(&[], |r| &r.routes);
    let pages: Vec<(String, String)> = t
        .pages
        .iter()
        .map(|r| {
            let number = r.page.page_number;
            let subject = r.page.subject.as_deref().unwrap_or_default();
            (
                number.to_string(),
                format!("{} {number} {subject}", l.pick("Sida", "Page"))
                    .trim()
                    .to_owned(),
            )
        })
        .collect();
    // Rules may name questions on this page or earlier ones.
    let askable: Vec<&TemplateQuestion> = view
        .questions
        .iter()
        .filter(|(page, q)| *page <= n && q.input.answer_kind() != AnswerKind::None)
        .map(|(_, q)| *q)
        .collect();
    for (r, route) in routes.iter().enumerate() {
        let label = format!(
            "{} {n}, {} {}",
            l.pick("Sida", "Page"),
            l.pick("vägval", "route"),
            r + 1
        );
        let at = format!("p{p}.r{r}");
        let _ = write!(
            out,
            r#"<fieldset class="route" id="page-{n}-route-{}"><legend>{}</legend>"#,
            r + 1,
            esc(&format!("{} {}", l.pick("Vägval", "Route"), r + 1))
        );
        select(
            out,
            &format!("{at}.page"),
            l.pick("Gå till", "Go to"),
            &pages,
            &route.page_number.to_string(),
        );
        for (u, rule) in route.rules.iter().enumerate() {
            let rule_at = format!("{at}.u{u}");
            let _ = write!(
                out,
                r#"<div class="rule grid" id="{}"><p>{}</p>"#,
                id_of(&rule_at),
                esc(&format!("{} {}", l.pick("Regel", "Rule"), u + 1))
            );
            let mut questions: Vec<(String, String)> = askable
                .iter()
                .map(|q| (q.question_number.to_string(), question_label(l, q)))
                .collect();
            if !askable
                .iter()
                .any(|q| q.question_number == rule.question_number)
            {
                questions.insert(
                    0,
                    (
                        rule.question_number.to_string(),
                        format!(
                            "{} {} ({})",
                            l.pick("Fråga", "Question"),
                            rule.question_number,
                            l.pick("finns inte här", "not available here")
                        ),
                    ),
                );
            }
            select(
                out,
                &format!("{rule_at}.question"),
                l.pick("Fråga", "Question"),
                &questions,
                &rule.question_number.to_string(),
            );
            let mut operators = vec![(
                String::new(),
                l.pick(
                    "Standard (lika med / besvarad)",
                    "Default (equals / answered)",
                )
                .to_owned(),
            )];
            operators.extend(
                OPERATORS
                    .iter()
                    .map(|o| (operator_str(*o).to_owned(), operator_name(l, *o).to_owned())),
            );
            select(
                out,
                &format!("{rule_at}.operator"),
                l.pick("Villkor", "Condition"),
                &operators,
                rule.operator.map(operator_str).unwrap_or_default(),
            );
            let asked = askable
                .iter()
                .find(|q| q.question_number == rule.question_number);
            match asked.map(|q| q.input.answer_kind()) {
                Some(AnswerKind::SingleChoice | AnswerKind::MultipleChoice) => {
                    let q = asked.expect("matched");
                    let _ = write!(
                        out,
                        r#"<fieldset><legend>{}</legend><input type="hidden" name="{rule_at}.alternativesShown" value="{}">"#,
                        l.pick("Svarsalternativ", "Answer alternatives"),
                        q.question_number
                    );
                    for alternative in &q.answer_alternatives {
                        let number = alternative.answer_alternative_number;
                        let name = format!("{rule_at}.alternatives");
                        let id = format!("{}-{number}", id_of(&name));
                        let _ = write!(
                            out,
                            r#"<div class="field check"><input type="checkbox" id="{id}" name="{}" value="{number}"{}><label for="{id}">{}</label></div>"#,
                            esc(&name),
                            if rule.answer_alternative_numbers.contains(&number) {
                                " checked"
                            } else {
                                ""
                            },
                            esc(&alternative_label(
                                l,
                                number,
                                &alternative.alternative_value
                            )),
                        );
                    }
                    out.push_str("</fieldset>");
                }
                Some(AnswerKind::Number) => {
                    text_field(
                        out,
                        &format!("{rule_at}.value"),
                        l.pick("Värde", "Value"),
                        &rule.value.map(|v| v.to_string()).unwrap_or_default(),
                    );
                    view.problem_at(out, &format!("{rule_at}.value"));
                }
                _ => {}
            }
            let rule_label = format!("{label}, {} {}", l.pick("regel", "rule"), u + 1);
            out.push_str(r#"<div class="toolbar">"#);
            action_button(
                out,
                &format!("delete-rule:{p}:{r}:{u}"),
                l.pick("Ta bort regel", "Delete rule"),
                &rule_label,
            );
            out.push_str("</div></div>");
        }
        out.push_str(r#"<div class="toolbar">"#);
        action_button(
            out,
            &format!("add-rule:{p}:{r}"),
            l.pick("Lägg till regel", "Add rule"),
            &label,
        );
        action_button(
            out,
            &format!("move-route-up:{p}:{r}"),
            l.pick("Flytta upp", "Move up"),
            &label,
        );
        action_button(
            out,
            &format!("move-route-down:{p}:{r}"),
            l.pick("Flytta ned", "Move down"),
            &label,
        );
        action_button(
            out,
            &format!("delete-route:{p}:{r}"),
            l.pick("Ta bort vägval", "Delete route"),
            &label,
        );
        out.push_str("</div></fieldset>");
    }
    out.push_str(r#"<div class="toolbar">"#);
    action_button(
        out,
        &format!("add-route:{p}"),
        l.pick("Lägg till vägval", "Add route"),
        &format!("{} {n}", l.pick("sida", "page")),
    );
    out.push_str("</div></section>");
}

pub(super) fn operator_name(
    l: Lang,
    operator: crate::domain::template::model::RuleOperator,
) -> &'static str {
    use crate::domain::template::model::RuleOperator as O;
    match operator {
        O::Equals => l.pick("är lika med / är något av", "equals / is one of"),
        O::NotEquals => l.pick("är inte lika med", "does not equal"),
        O::GreaterThan => l.pick("är större än", "is greater than"),
        O::GreaterThanOrEqual => l.pick("är minst", "is at least"),
        O::LessThan => l.pick("är mindre än", "is less than"),
        O::LessThanOrEqual => l.pick("är högst", "is at most"),
        O::Answered => l.pick("är besvarad", "is answered"),
        O::NotAnswered => l.pick("är obesvarad", "is not answered"),
    }
}
