//! The editor's page: the frame, the checks' summary, the form's properties, the read-only
//! view of a version that is not a draft, and the lifecycle buttons.

#![allow(clippy::wildcard_imports)] // the editor's parts share its imports

use super::*;

/// A finding for the page: in Swedish its kind first, then the checks' own (English) message.
pub(super) fn finding_text(l: Lang, finding: &Finding) -> String {
    match l {
        Lang::Sv => format!(
            "{}. {}",
            super::super::finding_texts::swedish(finding.code),
            finding.message
        ),
        Lang::En => finding.message.clone(),
    }
}

/// The id of the element a finding names (the summary links to it).
pub(super) fn finding_target(finding: &Finding) -> String {
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

pub(super) struct View<'a> {
    pub(super) l: Lang,
    pub(super) findings: &'a [Finding],
    pub(super) problems: &'a [InputProblem],
    /// Every question with its page number, in order (for the condition and rule lists).
    pub(super) questions: Vec<(u32, &'a TemplateQuestion)>,
}

impl View<'_> {
    /// The findings that name exactly this element, as a list next to it.
    pub(super) fn findings_at(
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

    pub(super) fn problem_at(&self, out: &mut String, name: &str) {
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

pub(super) fn editor_page(
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

pub(super) fn notice_text(l: Lang, notice: &str) -> Option<&'static str> {
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

pub(super) fn summary(
    main: &mut String,
    l: Lang,
    findings: &[Finding],
    errors: usize,
    warnings: usize,
) {
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

pub(super) fn properties(out: &mut String, view: &View<'_>, t: &FormTemplate) {
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
pub(super) fn code_fields(
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

/// A version that is not a draft: what it holds, without fields.
pub(super) fn read_only(out: &mut String, view: &View<'_>, t: &FormTemplate) {
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

pub(super) fn lifecycle(
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
