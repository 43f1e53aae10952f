//! The editor of one template version: every property, page, block, question, alternative,
//! condition and routing rule in one form, whose buttons each save the fields and make one
//! edit ([`crate::domain::designer::edit`]); the checks' findings next to the elements they
//! name and in a summary. A version that is not a draft is shown read-only.

use std::fmt::Write as _;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use common::identity::HsaId;
use http::StatusCode;
use serde_json::json;

use super::context::{Lang, PageContext};
use super::fields::{
    ALIGNS, INPUT_TYPES, InputProblem, OPERATORS, align_str, apply_fields, events_for,
    operator_str, parse_input,
};
use super::html::{action_button, check_box, esc, id_of, page, select, text_area, text_field};
use super::list::{list_path, parse_unit, version_path};
use super::post::{CheckedPost, field};
use super::session::SignedIn;
use super::{DesignerState, respond, status_name, swedish_time, tools};
use crate::domain::designer::edit::{self, Direction, EditAction, QuestionAt};
use crate::domain::designer::service::{DesignerError, Opened};
use crate::domain::template::finding::{Finding, Severity};
use crate::domain::template::input::AnswerKind;
use crate::domain::template::model::{
    FormTemplate, QuestionBlock, Route, RoutedPage, TemplateQuestion, ValidationEventKind,
};
use crate::domain::template::{PublishStatus, TemplateKey};

/// The version a path names, of a care unit the member works for.
pub fn version_of(
    user: &SignedIn,
    unit: &str,
    template_id: String,
    version: &str,
) -> Option<(HsaId, TemplateKey)> {
    let unit = parse_unit(unit).filter(|u| user.member.works_for(u))?;
    let template_version = version.parse().ok()?;
    Some((
        unit,
        TemplateKey {
            template_id,
            template_version,
        },
    ))
}

/// `GET /designer/units/{unit}/templates/{templateId}/versions/{version}`.
pub async fn show(
    State(state): State<DesignerState>,
    context: PageContext,
    user: SignedIn,
    Path((unit, template_id, version)): Path<(String, String, String)>,
) -> Response {
    let Some((unit, key)) = version_of(&user, &unit, template_id, &version) else {
        return respond::not_found(&context, Some(&user));
    };
    match state.service.open(&user.member, &unit, &key).await {
        Ok(opened) => {
            let notice = context.query("notice").map(str::to_owned);
            editor_page(
                &context,
                &user,
                &unit,
                &key,
                &opened,
                notice.as_deref(),
                &[],
            )
        }
        Err(DesignerError::NotFound) => respond::not_found(&context, Some(&user)),
        Err(error) => respond::internal(&context, Some(&user), &error),
    }
}

/// `POST` to the same path: saves the fields and makes the edit the pressed button names.
pub async fn save(
    State(state): State<DesignerState>,
    Path((unit, template_id, version)): Path<(String, String, String)>,
    post: CheckedPost,
) -> Response {
    let CheckedPost {
        context,
        signed_in: user,
        fields,
    } = post;
    let Some((unit, key)) = version_of(&user, &unit, template_id, &version) else {
        return respond::not_found(&context, Some(&user));
    };
    let opened = match state.service.open(&user.member, &unit, &key).await {
        Ok(opened) => opened,
        Err(DesignerError::NotFound) => return respond::not_found(&context, Some(&user)),
        Err(error) => return respond::internal(&context, Some(&user), &error),
    };
    let path = version_path(&unit, &key.template_id, key.template_version);
    let l = context.lang;
    let action = field(&fields, "action").unwrap_or("save");
    let autosave = action == "autosave";
    if !opened.editable {
        if autosave {
            return (
                StatusCode::CONFLICT,
                Json(json!({"message": l.pick("Inte sparat: versionen är inte ett utkast.", "Not saved: the version is not a draft.")})),
            )
                .into_response();
        }
        return Redirect::to(&format!("{path}?notice=not-draft")).into_response();
    }
    let mut template = opened.template;
    let problems = apply_fields(&mut template, &fields);
    let Ok((edit, anchor)) = parse_action(action, &fields) else {
        return respond::bad_form(&context, Some(&user));
    };
    let mut stale = false;
    if let Some(edit) = &edit {
        stale = edit::apply(&mut template, edit).is_err();
    }
    let expected = field(&fields, "revision").filter(|r| !r.is_empty());
    let saved = match state
        .service
        .save(&user.member, &unit, &key, template, expected)
        .await
    {
        Ok(saved) => saved,
        Err(DesignerError::NotFound) => return respond::not_found(&context, Some(&user)),
        Err(DesignerError::Conflict(by)) => {
            return conflict(&state, &context, &user, &unit, &key, &by, autosave).await;
        }
        Err(error) => return respond::internal(&context, Some(&user), &error),
    };
    let findings = saved.findings;
    if autosave {
        let errors = findings.iter().filter(|f| f.is_error()).count();
        let warnings = findings.len() - errors;
        let message = format!(
            "{} {} – {errors} {}, {warnings} {}",
            l.pick("Sparat", "Saved"),
            swedish_time(chrono::Utc::now()),
            l.pick("fel", "errors"),
            l.pick("varningar", "warnings"),
        );
        return Json(json!({
            "message": message,
            "errors": errors,
            "warnings": warnings,
            "revision": saved.revision,
        }))
        .into_response();
    }
    if !problems.is_empty() {
        // Show what could not be read, next to its field, without losing the rest.
        return match state.service.open(&user.member, &unit, &key).await {
            Ok(opened) => {
                let mut response =
                    editor_page(&context, &user, &unit, &key, &opened, None, &problems);
                *response.status_mut() = StatusCode::BAD_REQUEST;
                response
            }
            Err(error) => respond::internal(&context, Some(&user), &error),
        };
    }
    let notice = if stale { "stale" } else { "saved" };
    Redirect::to(&format!("{path}?notice={notice}{anchor}")).into_response()
}

/// Someone else saved the draft since this page was loaded: nothing was saved; the page
/// shows their version and says so.
async fn conflict(
    state: &DesignerState,
    context: &PageContext,
    user: &SignedIn,
    unit: &HsaId,
    key: &TemplateKey,
    by: &str,
    autosave: bool,
) -> Response {
    let l = context.lang;
    let message = format!(
        "{} {by}. {}",
        l.pick(
            "Inte sparat: utkastet har sparats under tiden av",
            "Not saved: the draft was saved meanwhile by"
        ),
        l.pick(
            "Ladda om sidan och gör ändringen igen.",
            "Reload the page and make the change again."
        )
    );
    if autosave {
        return (StatusCode::CONFLICT, Json(json!({"message": message}))).into_response();
    }
    match state.service.open(&user.member, unit, key).await {
        Ok(opened) => {
            let mut response =
                editor_page(context, user, unit, key, &opened, Some("conflict"), &[]);
            *response.status_mut() = StatusCode::CONFLICT;
            response
        }
        Err(error) => respond::internal(context, Some(user), &error),
    }
}

/// The edit a button names, and where the page scrolls back to.
fn parse_action(
    action: &str,
    fields: &super::post::Fields,
) -> Result<(Option<EditAction>, String), ()> {
    use Direction::{Down, Up};
    use EditAction as A;
    let (verb, rest) = action.split_once(':').unwrap_or((action, ""));
    let n: Vec<usize> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split(':')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| ())?
    };
    let at = |i: usize| n.get(i).copied().ok_or(());
    let q = || -> Result<QuestionAt, ()> {
        Ok(QuestionAt {
            page: at(0)?,
            block: at(1)?,
            question: at(2)?,
        })
    };
    let page_anchor = |p: usize| format!("#page-{}", p + 1);
    let block_anchor = |p: usize, b: usize| format!("#page-{}-block-{}", p + 1, b + 1);
    let routing_anchor = |p: usize| format!("#page-{}-routing", p + 1);
    let parsed = match verb {
        "save" | "autosave" => (None, String::new()),
        "add-page" => (Some(A::AddPage), String::new()),
        "move-page-up" => (
            Some(A::MovePage(at(0)?, Up)),
            page_anchor(at(0)?.saturating_sub(1)),
        ),
        "move-page-down" => (Some(A::MovePage(at(0)?, Down)), page_anchor(at(0)? + 1)),
        "duplicate-page" => (Some(A::DuplicatePage(at(0)?)), page_anchor(at(0)? + 1)),
        "delete-page" => (Some(A::DeletePage(at(0)?)), String::new()),
        "add-block" => (Some(A::AddBlock(at(0)?)), page_anchor(at(0)?)),
        "move-block-up" => (Some(A::MoveBlock(at(0)?, at(1)?, Up)), page_anchor(at(0)?)),
        "move-block-down" => (
            Some(A::MoveBlock(at(0)?, at(1)?, Down)),
            page_anchor(at(0)?),
        ),
        "duplicate-block" => (Some(A::DuplicateBlock(at(0)?, at(1)?)), page_anchor(at(0)?)),
        "delete-block" => (Some(A::DeleteBlock(at(0)?, at(1)?)), page_anchor(at(0)?)),
        "add-question" => {
            let (p, b) = (at(0)?, at(1)?);
            let input = field(fields, &format!("p{p}.b{b}.newInput"))
                .and_then(parse_input)
                .ok_or(())?;
            (Some(A::AddQuestion(p, b, input)), block_anchor(p, b))
        }
        "move-question-up" => (Some(A::MoveQuestion(q()?, Up)), page_anchor(at(0)?)),
        "move-question-down" => (Some(A::MoveQuestion(q()?, Down)), page_anchor(at(0)?)),
        "duplicate-question" => (
            Some(A::DuplicateQuestion(q()?)),
            block_anchor(at(0)?, at(1)?),
        ),
        "delete-question" => (Some(A::DeleteQuestion(q()?)), block_anchor(at(0)?, at(1)?)),
        "add-alternative" => (Some(A::AddAlternative(q()?)), block_anchor(at(0)?, at(1)?)),
        "move-alternative-up" => (
            Some(A::MoveAlternative(q()?, at(3)?, Up)),
            block_anchor(at(0)?, at(1)?),
        ),
        "move-alternative-down" => (
            Some(A::MoveAlternative(q()?, at(3)?, Down)),
            block_anchor(at(0)?, at(1)?),
        ),
        "delete-alternative" => (
            Some(A::DeleteAlternative(q()?, at(3)?)),
            block_anchor(at(0)?, at(1)?),
        ),
        "add-route" => (Some(A::AddRoute(at(0)?)), routing_anchor(at(0)?)),
        "delete-route" => (Some(A::DeleteRoute(at(0)?, at(1)?)), routing_anchor(at(0)?)),
        "move-route-up" => (
            Some(A::MoveRoute(at(0)?, at(1)?, Up)),
            routing_anchor(at(0)?),
        ),
        "move-route-down" => (
            Some(A::MoveRoute(at(0)?, at(1)?, Down)),
            routing_anchor(at(0)?),
        ),
        "add-rule" => (Some(A::AddRule(at(0)?, at(1)?)), routing_anchor(at(0)?)),
        "delete-rule" => (
            Some(A::DeleteRule(at(0)?, at(1)?, at(2)?)),
            routing_anchor(at(0)?),
        ),
        _ => return Err(()),
    };
    Ok(parsed)
}

/// A finding for the page: in Swedish its kind first, then the checks' own (English) message.
fn finding_text(l: Lang, finding: &Finding) -> String {
    match l {
        Lang::Sv => format!(
            "{}. {}",
            super::finding_texts::swedish(finding.code),
            finding.message
        ),
        Lang::En => finding.message.clone(),
    }
}

/// The id of the element a finding names (the summary links to it).
fn finding_target(finding: &Finding) -> String {
    match (
        finding.page_number,
        finding.block_number,
        finding.question_number,
    ) {
        (_, _, Some(q)) => format!("question-{q}"),
        (Some(p), Some(b), None) => format!("page-{p}-block-{b}"),
        (Some(p), None, None) => format!("page-{p}"),
        _ => String::from("form-properties"),
    }
}

struct View<'a> {
    l: Lang,
    findings: &'a [Finding],
    problems: &'a [InputProblem],
    /// Every question with its page number, in order (for the condition and rule lists).
    questions: Vec<(u32, &'a TemplateQuestion)>,
}

impl View<'_> {
    /// The findings that name exactly this element, as a list next to it.
    fn findings_at(
        &self,
        out: &mut String,
        page: Option<u32>,
        block: Option<u32>,
        question: Option<u32>,
    ) {
        let here: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| {
                if question.is_some() {
                    f.question_number == question
                } else {
                    f.question_number.is_none() && f.page_number == page && f.block_number == block
                }
            })
            .collect();
        if here.is_empty() {
            return;
        }
        out.push_str(r#"<ul class="findings">"#);
        for f in here {
            let (class, label) = match f.severity {
                Severity::Error => ("error", self.l.pick("Fel", "Error")),
                Severity::Warning => ("warning", self.l.pick("Varning", "Warning")),
            };
            let _ = write!(
                out,
                r#"<li class="finding {class}" data-code="{:?}"><strong>{label}:</strong> {}</li>"#,
                f.code,
                esc(&finding_text(self.l, f))
            );
        }
        out.push_str("</ul>");
    }

    fn problem_at(&self, out: &mut String, name: &str) {
        if let Some(problem) = self.problems.iter().find(|p| p.name == name) {
            let _ = write!(
                out,
                r#"<p class="finding error" id="{}-problem" role="alert">{} „{}“</p>"#,
                id_of(name),
                self.l.pick(
                    "Kunde inte läsas som tal:",
                    "Could not be read as a number:"
                ),
                esc(&problem.value)
            );
        }
    }
}

pub fn editor_page(
    context: &PageContext,
    user: &SignedIn,
    unit: &HsaId,
    key: &TemplateKey,
    opened: &Opened,
    notice: Option<&str>,
    problems: &[InputProblem],
) -> Response {
    let l = context.lang;
    let template = &opened.template;
    let title = format!(
        "{} {} ({} {})",
        l.pick("Mall", "Template"),
        key.template_id,
        l.pick("version", "version"),
        key.template_version
    );
    let errors = opened.findings.iter().filter(|f| f.is_error()).count();
    let warnings = opened.findings.len() - errors;
    let shown_title = if errors > 0 || !problems.is_empty() {
        format!("{}: {title}", l.pick("Fel", "Errors"))
    } else {
        title.clone()
    };
    let path = version_path(unit, &key.template_id, key.template_version);
    let mut main = format!(
        r#"<p><a href="{}" id="back-to-list">{}</a></p><h1>{}</h1><p id="version-status">{}: <span class="status">{}</span>"#,
        esc(&list_path(unit)),
        l.pick("← Alla mallar", "← All templates"),
        esc(&title),
        l.pick("Status", "Status"),
        status_name(l, opened.status),
    );
    if let (Some(by), Some(at)) = (&opened.changed_by, opened.changed_at) {
        let _ = write!(
            main,
            " · {} {} {}",
            l.pick("ändrad av", "changed by"),
            esc(by),
            swedish_time(at)
        );
    }
    main.push_str("</p>");
    if let Some(notice) = notice.and_then(|n| notice_text(l, n)) {
        let _ = write!(
            main,
            r#"<div class="notice" role="status" id="notice"><p>{}</p></div>"#,
            esc(notice)
        );
    }
    summary(&mut main, l, &opened.findings, errors, warnings);
    tools::slot(&mut main, l, unit, key);
    let view = View {
        l,
        findings: &opened.findings,
        problems,
        questions: template
            .pages
            .iter()
            .flat_map(|r| {
                r.page
                    .question_blocks
                    .iter()
                    .flat_map(move |b| b.questions.iter().map(move |q| (r.page.page_number, q)))
            })
            .collect(),
    };
    if opened.editable {
        let _ = write!(
            main,
            r#"<form method="post" action="{}" id="editor" novalidate><input type="hidden" name="csrf_token" value="{}"><input type="hidden" name="revision" value="{}">
<p id="autosave-status" role="status" aria-live="polite" data-failed="{}" data-reload="{}"></p>"#,
            esc(&path),
            esc(&user.csrf_token),
            esc(opened.revision.as_deref().unwrap_or_default()),
            l.pick(
                "Kunde inte spara automatiskt; tryck Spara.",
                "Could not save automatically; press Save."
            ),
            l.pick(
                "Tryck Spara för att se fälten som hör till valet.",
                "Press Save to see the fields that go with the choice."
            ),
        );
        properties(&mut main, &view, template);
        for (p, routed) in template.pages.iter().enumerate() {
            page_section(&mut main, &view, template, p, routed);
        }
        let _ = write!(
            main,
            r#"<div class="toolbar" id="editor-actions"><button type="submit" name="action" value="add-page" id="add-page">{}</button><button type="submit" name="action" value="save" id="save">{}</button></div></form>"#,
            l.pick("Lägg till sida", "Add page"),
            l.pick("Spara", "Save"),
        );
    } else {
        read_only(&mut main, &view, template);
    }
    lifecycle(&mut main, l, user, &path, opened, errors);
    respond::render(
        StatusCode::OK,
        page(context, &shown_title, Some(user), &main),
    )
}

fn notice_text(l: Lang, notice: &str) -> Option<&'static str> {
    Some(match notice {
        "saved" => l.pick("Sparat.", "Saved."),
        "not-deletable" => l.pick(
            "Versionen kan inte raderas: formulär gjorda från den är inte avslutade än.",
            "The version cannot be deleted: forms made from it are not completed yet.",
        ),
        "conflict" => l.pick(
            "Inte sparat: någon annan har sparat utkastet under tiden. Här är deras version; gör din ändring igen.",
            "Not saved: someone else saved the draft meanwhile. Here is their version; make your change again.",
        ),
        "stale" => l.pick(
            "Fälten sparades, men ändringen kunde inte göras: elementet finns inte längre. Sidan är uppdaterad.",
            "The fields were saved, but the change could not be made: the element is no longer there. The page is up to date.",
        ),
        "not-draft" => l.pick("Versionen är inte ett utkast och kan inte ändras.", "The version is not a draft and cannot be changed."),
        "submitted" => l.pick("Skickad för granskning.", "Submitted for review."),
        "returned" => l.pick("Tillbaka som utkast.", "Back to draft."),
        "published" => l.pick("Publicerad.", "Published."),
        "archived" => l.pick("Arkiverad.", "Archived."),
        "new-version" => l.pick("Ny version skapad som utkast.", "New version made as a draft."),
        "refused" => l.pick(
            "Mallen har fel och kan inte skickas vidare. Rätta felen nedan först.",
            "The template has errors and cannot move on. Fix the errors below first.",
        ),
        "not-publisher" => l.pick("Bara en publicerare får göra det.", "Only a publisher may do that."),
        "wrong-status" => l.pick("Det går inte i versionens nuvarande status.", "That is not possible in the version's current status."),
        _ => return None,
    })
}

fn summary(main: &mut String, l: Lang, findings: &[Finding], errors: usize, warnings: usize) {
    let _ = write!(
        main,
        r#"<section id="findings-summary" aria-labelledby="findings-heading"><h2 id="findings-heading">{}</h2><p id="findings-count">{errors} {}, {warnings} {}</p>"#,
        l.pick("Kontroller", "Checks"),
        l.pick("fel", "errors"),
        l.pick("varningar", "warnings"),
    );
    if !findings.is_empty() {
        main.push_str("<ul>");
        for (i, f) in findings.iter().enumerate() {
            let class = if f.is_error() { "error" } else { "warning" };
            let _ = write!(
                main,
                r##"<li class="finding {class}" id="finding-{i}"><a href="#{}">{}</a></li>"##,
                finding_target(f),
                esc(&finding_text(l, f))
            );
        }
        main.push_str("</ul>");
    }
    main.push_str("</section>");
}

fn properties(out: &mut String, view: &View<'_>, t: &FormTemplate) {
    let l = view.l;
    let _ = write!(
        out,
        r#"<section id="form-properties" aria-labelledby="form-properties-heading"><h2 id="form-properties-heading">{}</h2>"#,
        l.pick("Formulärets egenskaper", "Form properties")
    );
    view.findings_at(out, None, None, None);
    out.push_str(r#"<div class="grid">"#);
    text_field(out, "formName", l.pick("Namn", "Name"), &t.form_name);
    text_field(
        out,
        "formTitle",
        l.pick("Rubrik", "Title"),
        t.form_title.as_deref().unwrap_or_default(),
    );
    text_field(
        out,
        "category",
        l.pick("Kategori", "Category"),
        t.category.as_deref().unwrap_or_default(),
    );
    text_field(
        out,
        "language",
        l.pick(
            "Språk (ISO 639-2, t.ex. swe)",
            "Language (ISO 639-2, e.g. swe)",
        ),
        &t.language,
    );
    text_field(
        out,
        "informationURL",
        l.pick("Länk till mer information", "Link to more information"),
        t.information_url.as_deref().unwrap_or_default(),
    );
    let days: Vec<String> = t
        .reminder_days_before
        .iter()
        .map(ToString::to_string)
        .collect();
    text_field(
        out,
        "reminderDaysBefore",
        l.pick(
            "Påminn dagar före sista dag (t.ex. 3, 1)",
            "Remind days before the last day (e.g. 3, 1)",
        ),
        &days.join(", "),
    );
    view.problem_at(out, "reminderDaysBefore");
    out.push_str("</div>");
    text_area(
        out,
        "description",
        l.pick("Beskrivning för invånaren", "Description for the citizen"),
        t.description.as_deref().unwrap_or_default(),
    );
    text_area(
        out,
        "descriptionInternal",
        l.pick(
            "Intern beskrivning (personal)",
            "Internal description (staff)",
        ),
        t.description_internal.as_deref().unwrap_or_default(),
    );
    text_area(
        out,
        "formCompleteText",
        l.pick(
            "Text när formuläret är skickat",
            "Text when the form is sent",
        ),
        t.form_complete_text.as_deref().unwrap_or_default(),
    );
    text_area(
        out,
        "term",
        l.pick("Villkor invånaren godkänner", "Terms the citizen accepts"),
        t.term.as_deref().unwrap_or_default(),
    );
    check_box(
        out,
        "mandatory",
        l.pick("Obligatoriskt att besvara", "Mandatory to answer"),
        t.mandatory,
    );
    check_box(
        out,
        "anonymousForm",
        l.pick("Anonymt formulär", "Anonymous form"),
        t.anonymous_form,
    );
    // Sharing with other care units (templatePropagate).
    let sharing = t.template_propagate.iter().find(|p| p.propagate);
    check_box(
        out,
        "propagate",
        l.pick(
            "Dela mallen med andra vårdenheter",
            "Share the template with other care units",
        ),
        sharing.is_some(),
    );
    text_field(
        out,
        "countycodes",
        l.pick(
            "Bara i dessa län (länskoder, t.ex. 01, 12; tomt = hela landet)",
            "Only in these counties (county codes, e.g. 01, 12; empty = all of Sweden)",
        ),
        &sharing.map(|p| p.countycode.join(", ")).unwrap_or_default(),
    );
    code_fields(
        out,
        l,
        "code",
        t.code.as_ref(),
        l.pick("Instrumentets kod", "The instrument's code"),
    );
    out.push_str("</section>");
}

/// The three fields of a code (codeValue, codeSystem, displayName), folded away.
fn code_fields(
    out: &mut String,
    l: Lang,
    prefix: &str,
    code: Option<&crate::domain::template::model::Code>,
    summary: &str,
) {
    let _ = write!(
        out,
        r#"<details><summary>{}</summary><div class="grid">"#,
        esc(summary)
    );
    text_field(
        out,
        &format!("{prefix}.codeValue"),
        l.pick("Kod", "Code"),
        code.map(|c| c.code_value.as_str()).unwrap_or_default(),
    );
    text_field(
        out,
        &format!("{prefix}.codeSystem"),
        l.pick("Kodsystem (OID eller URI)", "Code system (OID or URI)"),
        code.map(|c| c.code_system.as_str()).unwrap_or_default(),
    );
    text_field(
        out,
        &format!("{prefix}.displayName"),
        l.pick("Visningsnamn", "Display name"),
        code.and_then(|c| c.display_name.as_deref())
            .unwrap_or_default(),
    );
    out.push_str("</div></details>");
}

fn page_section(
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

fn block_section(
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

fn input_name(l: Lang, input: crate::domain::template::input::InputType) -> &'static str {
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

fn event_name(l: Lang, event: ValidationEventKind) -> &'static str {
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

fn question_label(l: Lang, q: &TemplateQuestion) -> String {
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
fn question_fieldset(
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

fn opt(value: Option<u32>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn alternatives(out: &mut String, view: &View<'_>, base: &str, coords: &str, q: &TemplateQuestion) {
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
fn condition(out: &mut String, view: &View<'_>, base: &str, q: &TemplateQuestion) {
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

fn alternative_label(l: Lang, number: u32, value: &str) -> String {
    if value.trim().is_empty() {
        format!("{} {number}", l.pick("Alternativ", "Alternative"))
    } else {
        format!("{number}. {value}")
    }
}

#[allow(clippy::many_single_char_names)]
fn routing_section(
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

fn operator_name(l: Lang, operator: crate::domain::template::model::RuleOperator) -> &'static str {
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

/// A version that is not a draft: what it holds, without fields.
fn read_only(out: &mut String, view: &View<'_>, t: &FormTemplate) {
    let l = view.l;
    let _ = write!(
        out,
        r#"<section id="form-properties" aria-labelledby="content-heading"><h2 id="content-heading">{}</h2><p>{}: {}</p>"#,
        l.pick("Innehåll", "Content"),
        l.pick("Namn", "Name"),
        esc(&t.form_name)
    );
    view.findings_at(out, None, None, None);
    for routed in &t.pages {
        let n = routed.page.page_number;
        let _ = write!(
            out,
            r#"<section class="page" id="page-{n}"><h3>{} {n}{}</h3><ol>"#,
            l.pick("Sida", "Page"),
            routed
                .page
                .subject
                .as_deref()
                .map(|s| format!(": {}", esc(s)))
                .unwrap_or_default()
        );
        for block in &routed.page.question_blocks {
            for q in &block.questions {
                let _ = write!(
                    out,
                    r#"<li id="question-{}">{} ({}{})</li>"#,
                    q.question_number,
                    esc(&question_label(l, q)),
                    q.input.as_str(),
                    if q.mandatory {
                        l.pick(", obligatorisk", ", mandatory")
                    } else {
                        ""
                    }
                );
            }
        }
        out.push_str("</ol>");
        if let Some(routing) = &routed.routing {
            out.push_str("<ul>");
            for route in &routing.routes {
                let _ = write!(
                    out,
                    "<li>{} {} ({} {})</li>",
                    l.pick("Vägval till sida", "Route to page"),
                    route.page_number,
                    route.rules.len(),
                    l.pick("regler", "rules")
                );
            }
            out.push_str("</ul>");
        }
        out.push_str("</section>");
    }
    out.push_str("</section>");
}

fn lifecycle(
    out: &mut String,
    l: Lang,
    user: &SignedIn,
    path: &str,
    opened: &Opened,
    errors: usize,
) {
    let _ = write!(
        out,
        r#"<section id="lifecycle" aria-labelledby="lifecycle-heading"><h2 id="lifecycle-heading">{}</h2><form method="post" action="{}/lifecycle" id="lifecycle-form"><input type="hidden" name="csrf_token" value="{}"><div class="toolbar">"#,
        l.pick("Granskning och publicering", "Review and publishing"),
        esc(path),
        esc(&user.csrf_token)
    );
    let publisher = user.member.may_publish();
    let mut button = |action: &str, text: &str| {
        let _ = write!(
            out,
            r#"<button type="submit" name="action" value="{action}" id="lifecycle-{action}">{}</button>"#,
            esc(text)
        );
    };
    match opened.status {
        PublishStatus::Unpublished => {
            button(
                "submit",
                l.pick("Skicka för granskning", "Submit for review"),
            );
            button("delete", l.pick("Ta bort utkastet", "Delete the draft"));
        }
        PublishStatus::Pending => {
            if publisher {
                button("publish", l.pick("Publicera", "Publish"));
            }
            button(
                "return",
                l.pick("Skicka tillbaka till utkast", "Return to draft"),
            );
        }
        PublishStatus::Published => {
            button("new-version", l.pick("Ny version", "New version"));
            if publisher {
                button("archive", l.pick("Arkivera", "Archive"));
            }
        }
        PublishStatus::Archived => {
            button("new-version", l.pick("Ny version", "New version"));
            if publisher {
                button("delete", l.pick("Radera", "Delete"));
            }
        }
    }
    out.push_str("</div></form>");
    if opened.status == PublishStatus::Unpublished && errors > 0 {
        let _ = write!(
            out,
            r#"<p class="muted" id="submit-blocked">{}</p>"#,
            l.pick(
                "Mallen kan inte skickas för granskning förrän felen är rättade.",
                "The template cannot be submitted for review until the errors are fixed."
            )
        );
    }
    if !publisher {
        let _ = write!(
            out,
            r#"<p class="muted">{}</p>"#,
            l.pick(
                "Publicering, arkivering och radering görs av en publicerare.",
                "Publishing, archiving and deleting are done by a publisher."
            )
        );
    }
    out.push_str("</section>");
}
