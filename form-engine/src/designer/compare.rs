//! Comparing two versions of a template side by side (the differences of
//! [`crate::domain::template::diff`]): the form's properties, pages with their routing,
//! blocks, and per question what was added, removed or changed, old value beside new.
//!
//! `GET …/versions/{v}/compare?with={w}`: version `w` (default: the one before `v`) on the
//! left, `v` on the right. Page structure: form `#compare-form` (select `#compare-with`,
//! button `#compare`), `#diff-summary`, tables `#diff-form`, `#diff-pages`, `#diff-blocks`,
//! `#diff-questions`; a question's rows are `tbody#diff-question-{id}` with class `added`,
//! `removed` or `changed`.

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::response::Response;
use common::identity::HsaId;
use http::StatusCode;
use serde_json::Value;

use super::DesignerState;
use super::context::{Lang, PageContext};
use super::editor::version_of;
use super::html::{esc, page};
use super::list::version_path;
use super::respond;
use super::session::SignedIn;
use crate::domain::designer::service::{DesignerError, ListFilter};
use crate::domain::template::diff::{self, Presence, PropertyChange, QuestionDiff, TemplateDiff};
use crate::domain::template::model::Route;
use crate::domain::template::{TemplateKey, normalize};

pub fn compare_path(unit: &HsaId, key: &TemplateKey) -> String {
    format!(
        "{}/compare",
        version_path(unit, &key.template_id, key.template_version)
    )
}

/// `GET …/compare`.
pub async fn show(
    State(state): State<DesignerState>,
    context: PageContext,
    user: SignedIn,
    Path((unit, template_id, version)): Path<(String, String, String)>,
) -> Response {
    let Some((unit, key)) = version_of(&user, &unit, template_id, &version) else {
        return respond::not_found(&context, Some(&user));
    };
    let service = &state.service;
    let newer = match service.open(&user.member, &unit, &key).await {
        Ok(opened) => opened,
        Err(DesignerError::NotFound) => return respond::not_found(&context, Some(&user)),
        Err(error) => return respond::internal(&context, Some(&user), &error),
    };
    let filter = ListFilter {
        search: Some(key.template_id.clone()),
        status: None,
    };
    let versions: Vec<u32> = match service.list(&user.member, &unit, &filter).await {
        Ok(list) => list
            .into_iter()
            .filter(|t| t.template_id == key.template_id)
            .flat_map(|t| t.versions.into_iter().map(|v| v.version))
            .filter(|v| *v != key.template_version)
            .collect(),
        Err(error) => return respond::internal(&context, Some(&user), &error),
    };
    let with = context
        .query("with")
        .and_then(|w| w.parse::<u32>().ok())
        .filter(|w| versions.contains(w))
        .or_else(|| {
            versions
                .iter()
                .copied()
                .filter(|v| *v < key.template_version)
                .max()
        })
        .or_else(|| versions.first().copied());
    let l = context.lang;
    let title = format!(
        "{} – {} {}",
        l.pick("Jämför versioner", "Compare versions"),
        key.template_id,
        key.template_version
    );
    let mut main = format!(
        r#"<p><a href="{}" id="compare-to-editor">{}</a></p><h1>{}</h1>"#,
        esc(&version_path(&unit, &key.template_id, key.template_version)),
        l.pick("Tillbaka till redigeraren", "Back to the editor"),
        esc(&title)
    );
    if versions.is_empty() {
        let _ = write!(
            main,
            r#"<p id="diff-summary">{}</p>"#,
            l.pick(
                "Mallen har bara den här versionen; det finns inget att jämföra med.",
                "The template has only this version; there is nothing to compare with."
            )
        );
        return respond::render(StatusCode::OK, page(&context, &title, Some(&user), &main));
    }
    let _ = write!(
        main,
        r#"<form method="get" action="{}" id="compare-form"><div class="field"><label for="compare-with">{}</label><select id="compare-with" name="with">"#,
        esc(&compare_path(&unit, &key)),
        l.pick("Jämför med version", "Compare with version")
    );
    for v in &versions {
        let _ = write!(
            main,
            r#"<option value="{v}"{}>{v}</option>"#,
            if Some(*v) == with { " selected" } else { "" }
        );
    }
    let _ = write!(
        main,
        r#"</select></div><button type="submit" id="compare">{}</button></form>"#,
        l.pick("Jämför", "Compare")
    );
    let Some(with) = with else {
        return respond::render(StatusCode::OK, page(&context, &title, Some(&user), &main));
    };
    let older_key = TemplateKey {
        template_id: key.template_id.clone(),
        template_version: with,
    };
    let older = match service.open(&user.member, &unit, &older_key).await {
        Ok(opened) => opened,
        Err(DesignerError::NotFound) => return respond::not_found(&context, Some(&user)),
        Err(error) => return respond::internal(&context, Some(&user), &error),
    };
    // Both as the engine stores them (what it fills in, e.g. the page and question counts of
    // the routing, is not a difference a designer made).
    let (mut before, mut after) = (older.template, newer.template);
    for template in [&mut before, &mut after] {
        normalize::fill_in(template);
        normalize::count_paths(template);
    }
    let result = diff::diff(&before, &after);
    write_diff(&mut main, l, with, key.template_version, &result);
    respond::render(StatusCode::OK, page(&context, &title, Some(&user), &main))
}

fn presence_name(l: Lang, presence: Presence) -> &'static str {
    match presence {
        Presence::Added => l.pick("Tillagd", "Added"),
        Presence::Removed => l.pick("Borttagen", "Removed"),
        Presence::Changed => l.pick("Ändrad", "Changed"),
    }
}

/// A value as the designer reads it: text as it is, anything else as JSON.
fn shown(value: Option<&Value>) -> String {
    match value {
        None => String::from("–"),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

fn table_head(out: &mut String, id: &str, caption: &str, l: Lang, old: u32, new: u32) {
    let _ = write!(
        out,
        r#"<div class="table-wrap"><table id="{id}" class="diff"><caption>{}</caption><thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{} {old}</th><th scope="col">{} {new}</th></tr></thead>"#,
        esc(caption),
        l.pick("Del", "Element"),
        l.pick("Egenskap", "Property"),
        l.pick("Version", "Version"),
        l.pick("Version", "Version"),
    );
}

fn change_rows(out: &mut String, element: &str, changes: &[PropertyChange]) {
    for (i, change) in changes.iter().enumerate() {
        let _ = write!(
            out,
            r#"<tr>{}<td>{}</td><td class="old">{}</td><td class="new">{}</td></tr>"#,
            if i == 0 {
                format!(
                    r#"<th scope="rowgroup" rowspan="{}">{element}</th>"#,
                    changes.len()
                )
            } else {
                String::new()
            },
            esc(&change.property),
            esc(&shown(change.old.as_ref())),
            esc(&shown(change.new.as_ref())),
        );
    }
}

fn route_text(l: Lang, route: &Route) -> String {
    let rules: Vec<String> = route
        .rules
        .iter()
        .map(|rule| {
            let mut text = format!("{} {}", l.pick("fråga", "question"), rule.question_number);
            if let Some(operator) = rule.operator {
                let _ = write!(
                    text,
                    " {}",
                    serde_json::to_value(operator)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                );
            }
            if !rule.answer_alternative_numbers.is_empty() {
                let _ = write!(
                    text,
                    " {} {:?}",
                    l.pick("svar", "answer"),
                    rule.answer_alternative_numbers
                );
            }
            if let Some(value) = rule.value {
                let _ = write!(text, " {value}");
            }
            text
        })
        .collect();
    let target = format!("{} {}", l.pick("till sida", "to page"), route.page_number);
    if rules.is_empty() {
        format!("{target} ({})", l.pick("alltid", "always"))
    } else {
        format!("{target} {} {}", l.pick("när", "when"), rules.join(", "))
    }
}

fn write_diff(out: &mut String, l: Lang, old: u32, new: u32, result: &TemplateDiff) {
    let changed = result
        .questions
        .iter()
        .filter(|q| q.presence == Presence::Changed)
        .count();
    let count = |p: Presence| result.questions.iter().filter(|q| q.presence == p).count();
    let (added, removed) = (count(Presence::Added), count(Presence::Removed));
    let _ = write!(
        out,
        r#"<p id="diff-summary" data-added="{added}" data-removed="{removed}" data-changed="{changed}">{}</p>"#,
        if result.is_empty() {
            l.pick(
                "Versionerna har samma innehåll.",
                "The versions have the same content.",
            )
            .to_owned()
        } else {
            format!(
                "{}: {added} {}, {removed} {}, {changed} {}, {} {}.",
                l.pick("Frågor", "Questions"),
                l.pick("tillagda", "added"),
                l.pick("borttagna", "removed"),
                l.pick("ändrade", "changed"),
                result.unchanged_questions,
                l.pick("oförändrade", "unchanged"),
            )
        },
    );
    if !result.form.is_empty() {
        table_head(
            out,
            "diff-form",
            l.pick("Formuläret", "The form"),
            l,
            old,
            new,
        );
        out.push_str("<tbody>");
        change_rows(out, l.pick("Formuläret", "The form"), &result.form);
        out.push_str("</tbody></table></div>");
    }
    if !result.pages.is_empty() {
        table_head(
            out,
            "diff-pages",
            l.pick("Sidor och vägval", "Pages and routing"),
            l,
            old,
            new,
        );
        for page in &result.pages {
            let element = format!(
                "{} {} ({})",
                l.pick("Sida", "Page"),
                page.page_number,
                presence_name(l, page.presence)
            );
            let _ = write!(out, r#"<tbody id="diff-page-{}">"#, page.page_number);
            let mut changes = page.changes.clone();
            for route in &page.routes_removed {
                changes.push(PropertyChange {
                    property: l.pick("vägval", "route").to_owned(),
                    old: Some(Value::from(route_text(l, route))),
                    new: None,
                });
            }
            for route in &page.routes_added {
                changes.push(PropertyChange {
                    property: l.pick("vägval", "route").to_owned(),
                    old: None,
                    new: Some(Value::from(route_text(l, route))),
                });
            }
            if changes.is_empty() {
                let _ = write!(
                    out,
                    r#"<tr><th scope="row">{}</th><td colspan="3"></td></tr>"#,
                    esc(&element)
                );
            }
            change_rows(out, &esc(&element), &changes);
            out.push_str("</tbody>");
        }
        out.push_str("</table></div>");
    }
    if !result.blocks.is_empty() {
        table_head(
            out,
            "diff-blocks",
            l.pick("Frågeblock", "Question blocks"),
            l,
            old,
            new,
        );
        for block in &result.blocks {
            let element = format!(
                "{} {}, {} {} ({})",
                l.pick("Sida", "Page"),
                block.page_number,
                l.pick("block", "block"),
                block.block_number,
                presence_name(l, block.presence)
            );
            out.push_str("<tbody>");
            if block.changes.is_empty() {
                let _ = write!(
                    out,
                    r#"<tr><th scope="row">{}</th><td colspan="3"></td></tr>"#,
                    esc(&element)
                );
            }
            change_rows(out, &esc(&element), &block.changes);
            out.push_str("</tbody>");
        }
        out.push_str("</table></div>");
    }
    if !result.questions.is_empty() {
        table_head(
            out,
            "diff-questions",
            l.pick("Frågor", "Questions"),
            l,
            old,
            new,
        );
        for question in &result.questions {
            question_rows(out, l, question);
        }
        out.push_str("</table></div>");
    }
}

fn question_rows(out: &mut String, l: Lang, question: &QuestionDiff) {
    let class = match question.presence {
        Presence::Added => "added",
        Presence::Removed => "removed",
        Presence::Changed => "changed",
    };
    let place = question
        .new_place
        .or(question.old_place)
        .map_or_else(String::new, |p| {
            format!(
                ", {} {} {} {}",
                l.pick("sida", "page"),
                p.page,
                l.pick("block", "block"),
                p.block
            )
        });
    let element = format!(
        "{} ({}{place}): {}",
        esc(&question.id),
        presence_name(l, question.presence),
        esc(&question.subject)
    );
    let _ = write!(
        out,
        r#"<tbody id="diff-question-{}" class="{class}">"#,
        esc(&question.id)
    );
    change_rows(out, &element, &question.changes);
    out.push_str("</tbody>");
}
