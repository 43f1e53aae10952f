//! The preview: a version answered page by page exactly as a citizen would see it. The page
//! is the engine's own (the page view GetFormQuestionPage answers with) rendered by the same
//! code as the patient portal's form pages (the `form-render` crate, with its stylesheet);
//! answers are checked and routed by the engine's rules ([`crate::domain::form::preview`]).
//! Nothing is stored: the preview's progress travels in the page (`progress`), so reloading
//! the first page starts over.
//!
//! | Page | What |
//! |---|---|
//! | `GET …/versions/{v}/preview` | the first page (`?width=phone` for a phone-wide frame) |
//! | `POST …/versions/{v}/preview` | `action` = `next` (check and route), `back`, `phone` / `desktop` (the same page at that width) |
//! | `GET /designer/static/preview.css` | the form page's stylesheet and the preview's bar |
//!
//! Page structure: the bar `#preview-bar` (`#preview-width-phone`, `#preview-width-desktop`,
//! `#preview-restart`, `#preview-to-editor`), the frame `#preview-frame` (class `phone` or
//! `desktop`), the citizen's form `#preview-form` with `#preview-next` and `#preview-back`,
//! and at the end `#preview-finished` with `#preview-path` (the pages taken).

use std::fmt::Write as _;
use std::sync::LazyLock;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use common::identity::HsaId;
use form_render::markup::{self, Languages, PageInput};
use form_render::question::Sent;
use http::{HeaderValue, StatusCode, header};

use super::DesignerState;
use super::context::{Lang, PageContext};
use super::editor::version_of;
use super::html::esc;
use super::list::version_path;
use super::post::{CheckedPost, field};
use super::respond;
use super::session::SignedIn;
use crate::api::form_wire::{Audience, Content, form_view};
use crate::domain::designer::service::{DesignerError, Opened};
use crate::domain::form::answering::Given;
use crate::domain::form::model::Progress;
use crate::domain::form::preview::{self, PreviewError, PreviewStep};
use crate::domain::template::compiled::CompiledTemplate;
use crate::domain::template::{TemplateKey, normalize};

pub const STYLESHEET_PATH: &str = "/designer/static/preview.css";
const STYLESHEET_HREF: &str = concat!("/designer/static/preview.css?v=", env!("CARGO_PKG_VERSION"));

/// The preview's own rules, after the form page's: the bar above the citizen's page and the
/// frame that shows it phone-wide.
const PREVIEW_RULES: &str = r"
.preview-bar { background: var(--color-surface); border-bottom: 4px solid var(--color-primary); padding: 0.75rem 1rem; }
.preview-bar-inner { max-width: 56rem; margin: 0 auto; display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1.5rem; }
.preview-bar p { margin: 0; font-weight: 700; }
.preview-bar .preview-widths { display: flex; gap: 0.5rem; }
.preview-bar button[aria-pressed=true] { background: var(--color-primary); color: var(--color-on-primary); }
.preview-frame { display: block; max-width: 56rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
.preview-frame.phone { max-width: 24.375rem; margin: 1rem auto; border: 2px solid var(--color-border); border-radius: 1rem; }
.preview-frame.phone h1 { font-size: 1.625rem; }
.preview-path { padding-left: 1.25rem; }
.preview-footer { border-top: 1px solid var(--color-border); color: var(--color-muted); }
.preview-footer p { max-width: 56rem; margin: 0 auto; padding: 1rem; font-size: 0.9375rem; }
";

static STYLESHEET: LazyLock<String> =
    LazyLock::new(|| format!("{}\n{PREVIEW_RULES}", form_render::STYLESHEET));

pub async fn stylesheet() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        STYLESHEET.as_str(),
    )
        .into_response()
}

pub fn preview_path(unit: &HsaId, key: &TemplateKey) -> String {
    format!(
        "{}/preview",
        version_path(unit, &key.template_id, key.template_version)
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Width {
    Desktop,
    Phone,
}

impl Width {
    fn parse(value: Option<&str>) -> Self {
        if value == Some("phone") {
            Self::Phone
        } else {
            Self::Desktop
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Desktop => "desktop",
            Self::Phone => "phone",
        }
    }
}

/// The version to preview, compiled as the engine compiles a template it stores.
async fn compiled(
    state: &DesignerState,
    user: &SignedIn,
    unit: &HsaId,
    key: &TemplateKey,
) -> Result<(Opened, Result<CompiledTemplate, String>), DesignerError> {
    let opened = state.service.open(&user.member, unit, key).await?;
    let mut template = opened.template.clone();
    normalize::fill_in(&mut template);
    let compiled = CompiledTemplate::compile(template).map_err(|e| e.to_string());
    Ok((opened, compiled))
}

/// `GET …/preview`: the first page.
pub async fn show(
    State(state): State<DesignerState>,
    context: PageContext,
    user: SignedIn,
    Path((unit, template_id, version)): Path<(String, String, String)>,
) -> Response {
    let Some((unit, key)) = version_of(&user, &unit, template_id, &version) else {
        return respond::not_found(&context, Some(&user));
    };
    let width = Width::parse(context.query("width"));
    let (opened, compiled) = match compiled(&state, &user, &unit, &key).await {
        Ok(found) => found,
        Err(DesignerError::NotFound) => return respond::not_found(&context, Some(&user)),
        Err(error) => return respond::internal(&context, Some(&user), &error),
    };
    let view = View {
        context: &context,
        user: &user,
        unit: &unit,
        key: &key,
        opened: &opened,
        width,
    };
    let compiled = match compiled {
        Ok(compiled) => compiled,
        Err(reason) => return view.cannot_preview(&reason),
    };
    match preview::start(&compiled, Utc::now()) {
        Ok(step) => view.step(&compiled, step, None),
        Err(error) => view.cannot_preview(&error.to_string()),
    }
}

/// `POST …/preview`: the citizen's buttons.
pub async fn act(
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
    let (opened, compiled) = match compiled(&state, &user, &unit, &key).await {
        Ok(found) => found,
        Err(DesignerError::NotFound) => return respond::not_found(&context, Some(&user)),
        Err(error) => return respond::internal(&context, Some(&user), &error),
    };
    let action = field(&fields, "action").unwrap_or("next");
    let width = match action {
        "phone" | "desktop" => Width::parse(Some(action)),
        _ => Width::parse(field(&fields, "width")),
    };
    let view = View {
        context: &context,
        user: &user,
        unit: &unit,
        key: &key,
        opened: &opened,
        width,
    };
    let compiled = match compiled {
        Ok(compiled) => compiled,
        Err(reason) => return view.cannot_preview(&reason),
    };
    let progress: Option<Progress> =
        field(&fields, "progress").and_then(|p| serde_json::from_str(p).ok());
    let page: Option<u32> = field(&fields, "page_number").and_then(|p| p.parse().ok());
    let (Some(progress), Some(page)) = (progress, page) else {
        return respond::bad_form(&context, Some(&user));
    };
    let layout: Vec<form_render::posted::PostedQuestion> = field(&fields, "questions")
        .and_then(|q| serde_json::from_str(q).ok())
        .unwrap_or_default();
    let posted = form_render::posted::read(page, &layout, &fields);
    let now = Utc::now();
    // The width buttons show the same page again as it was filled in, without checking it.
    let keep_sent = matches!(action, "phone" | "desktop");
    let step = match action {
        "back" => preview::back(&compiled, progress, page, now),
        "phone" | "desktop" if page == 0 => Ok(preview::finished(&compiled, progress, now)),
        "phone" | "desktop" => Ok(preview::showing(&compiled, progress, page, now)),
        _ => {
            let given: Vec<Given> = posted
                .answers
                .question_answer_blocks
                .iter()
                .flat_map(|block| {
                    block.answers.iter().map(|answer| Given {
                        block: block.block_number,
                        value_id: answer.value_id.clone(),
                        value: answer.value.clone(),
                    })
                })
                .collect();
            preview::answer(&compiled, progress, page, &given, now)
        }
    };
    match step {
        Ok(step) => {
            let sent =
                (keep_sent || matches!(step, PreviewStep::Refused { .. })).then_some(&posted.sent);
            view.step(&compiled, step, sent)
        }
        Err(PreviewError::NoPages) => view.cannot_preview(&PreviewError::NoPages.to_string()),
        Err(error) => {
            tracing::info!(%error, "a preview post did not fit the draft");
            respond::bad_form(&context, Some(&user))
        }
    }
}

/// The template's language (ISO 639-2) as a `lang` attribute.
fn bcp47(language: &str) -> String {
    match language.to_ascii_lowercase().as_str() {
        "swe" => "sv".to_owned(),
        "eng" => "en".to_owned(),
        "fin" => "fi".to_owned(),
        other => other.to_owned(),
    }
}

struct View<'a> {
    context: &'a PageContext,
    user: &'a SignedIn,
    unit: &'a HsaId,
    key: &'a TemplateKey,
    opened: &'a Opened,
    width: Width,
}

impl View<'_> {
    fn lang(&self) -> Lang {
        self.context.lang
    }

    fn editor_path(&self) -> String {
        version_path(self.unit, &self.key.template_id, self.key.template_version)
    }

    fn step(
        &self,
        compiled: &CompiledTemplate,
        step: PreviewStep,
        sent: Option<&Sent>,
    ) -> Response {
        let form = step.form().clone();
        let (content, page) = match step {
            PreviewStep::Page { page, .. } => (Content::Page(page), page),
            PreviewStep::Refused {
                page,
                answers,
                problems,
                ..
            } => (
                Content::Checked {
                    page,
                    answers,
                    problems,
                },
                page,
            ),
            PreviewStep::Finished { .. } => return self.finished(&form),
        };
        let view = form_view(&form, compiled, content, Audience::SubjectOfCare);
        let page_json = view
            .current_page
            .as_ref()
            .and_then(|p| serde_json::to_value(p).ok());
        let Some(wire_page) =
            page_json.and_then(|p| serde_json::from_value::<form_render::wire::Page>(p).ok())
        else {
            return self.cannot_preview("the page could not be drawn");
        };
        let l = self.lang();
        let content_lang = bcp47(&compiled.template().language);
        let content_lang = (content_lang != l.code()).then_some(content_lang);
        let rendered = markup::render(&PageInput {
            page: &wire_page,
            form_name: &form.form_name,
            sent,
            comment: None,
            lang: Languages {
                page: l.code(),
                content: content_lang.as_deref(),
            },
            t: match l {
                Lang::Sv => &form_render::texts::SWEDISH,
                Lang::En => &form_render::texts::ENGLISH,
            },
        });
        let rendered = match rendered {
            Ok(rendered) => rendered,
            Err(error) => return respond::internal(self.context, Some(self.user), &error),
        };
        let mut main = String::new();
        main.push_str(&rendered.error_summary);
        main.push_str(&rendered.heading);
        let _ = write!(
            main,
            r#"<form method="post" action="{action}" novalidate class="form-page" id="preview-form">
<input type="hidden" name="csrf_token" value="{csrf}">
<input type="hidden" name="page_number" value="{page}">
<input type="hidden" name="questions" value="{questions}">
<input type="hidden" name="progress" value="{progress}">
<input type="hidden" name="width" value="{width}">
{body}
<div class="form-actions">
<button type="submit" name="action" value="next" class="button-primary" id="preview-next">{next}</button>
"#,
            action = esc(&preview_path(self.unit, self.key)),
            csrf = esc(&self.user.csrf_token),
            questions = esc(&rendered.questions_field),
            progress = esc(&serde_json::to_string(&form.progress).unwrap_or_default()),
            width = self.width.as_str(),
            body = rendered.body,
            next = if wire_page.last_page {
                l.pick("Till sammanfattningen", "Continue to the summary")
            } else {
                l.pick("Nästa", "Next")
            },
        );
        if form.progress.path.first() != Some(&page) {
            let _ = writeln!(
                main,
                r#"<button type="submit" name="action" value="back" class="button-outline" id="preview-back">{}</button>"#,
                l.pick("Föregående", "Previous")
            );
        }
        main.push_str("</div>\n</form>\n");
        let status = if rendered.has_errors {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        let title = format!("{} – {}", rendered.title, form.form_name);
        self.frame(
            status,
            &title,
            page,
            &form.progress,
            &main,
            rendered.has_errors,
        )
    }

    /// Every page on the way answered.
    fn finished(&self, form: &crate::domain::form::model::Form) -> Response {
        let l = self.lang();
        let mut main = format!(
            r#"<div id="preview-finished"><h1>{}</h1><p>{}</p><h2>{}</h2><ol class="preview-path" id="preview-path">"#,
            l.pick("Alla sidor är besvarade", "Every page is answered"),
            l.pick(
                "En invånare kommer nu till sammanfattningen och skickar formuläret. Förhandsgranskningen sparar inga svar.",
                "A citizen now comes to the summary and sends the form. The preview keeps no answers."
            ),
            l.pick("Sidorna på vägen", "The pages on the way"),
        );
        for page in &form.progress.path {
            let answers = form.progress.answers.get(page);
            let _ = write!(
                main,
                r#"<li data-page="{page}">{} {page}: {} {}</li>"#,
                l.pick("Sida", "Page"),
                answers.map_or(0, std::collections::BTreeMap::len),
                l.pick("svar", "answers"),
            );
        }
        let _ = write!(
            main,
            r#"</ol><form method="post" action="{}" id="preview-form"><input type="hidden" name="csrf_token" value="{}"><input type="hidden" name="page_number" value="0"><input type="hidden" name="progress" value="{}"><input type="hidden" name="width" value="{}"><div class="form-actions"><button type="submit" name="action" value="back" class="button-outline" id="preview-back">{}</button></div></form></div>"#,
            esc(&preview_path(self.unit, self.key)),
            esc(&self.user.csrf_token),
            esc(&serde_json::to_string(&form.progress).unwrap_or_default()),
            self.width.as_str(),
            l.pick("Föregående", "Previous"),
        );
        let title = l.pick("Förhandsgranskningen är klar", "The preview is done");
        self.frame(StatusCode::OK, title, 0, &form.progress, &main, false)
    }

    fn cannot_preview(&self, reason: &str) -> Response {
        let l = self.lang();
        let main = format!(
            "<h1>{}</h1><p>{}</p><p><code>{}</code></p>",
            l.pick(
                "Utkastet kan inte förhandsgranskas",
                "The draft cannot be previewed"
            ),
            l.pick(
                "Rätta felen som kontrollerna visar i redigeraren och försök igen.",
                "Fix the errors the checks show in the editor and try again."
            ),
            esc(reason)
        );
        let title = l.pick("Förhandsgranskning", "Preview");
        self.frame(
            StatusCode::CONFLICT,
            title,
            0,
            &Progress::default(),
            &main,
            false,
        )
    }

    /// The page: the preview bar (what this is, the widths, back to the editor) above the
    /// citizen's page in its frame.
    fn frame(
        &self,
        status: StatusCode,
        title: &str,
        page: u32,
        progress: &Progress,
        main: &str,
        error: bool,
    ) -> Response {
        let l = self.lang();
        let errors = self.opened.findings.iter().filter(|f| f.is_error()).count();
        let findings_note = if errors > 0 {
            format!(
                r#" <strong id="preview-findings">{} {errors}</strong>"#,
                l.pick("Kontrollerna hittar fel:", "Errors found by the checks:")
            )
        } else {
            String::new()
        };
        let pressed = |w: Width| if self.width == w { "true" } else { "false" };
        let html = format!(
            r##"<!DOCTYPE html>
<html lang="{code}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{error_prefix}{title} – {preview}</title>
<link rel="stylesheet" href="{STYLESHEET_HREF}">
</head>
<body>
<a class="visually-hidden" href="#preview-frame">{skip}</a>
<header class="preview-bar" id="preview-bar">
<div class="preview-bar-inner">
<p>{preview}: {name} {version_word} {version}.{findings_note} {nothing_kept}</p>
<div class="preview-widths" role="group" aria-label="{width_label}">
<button type="submit" form="preview-form" name="action" value="phone" class="button-outline" id="preview-width-phone" aria-pressed="{phone_pressed}">{phone}</button>
<button type="submit" form="preview-form" name="action" value="desktop" class="button-outline" id="preview-width-desktop" aria-pressed="{desktop_pressed}">{desktop}</button>
</div>
<a href="{restart}" id="preview-restart">{restart_text}</a>
<a href="{editor}" id="preview-to-editor">{editor_text}</a>
</div>
</header>
<main class="preview-frame {width}" id="preview-frame" tabindex="-1" data-page="{page}" data-path="{path}">
{main}
</main>
<footer class="preview-footer"><p>{footer}</p></footer>
</body>
</html>
"##,
            code = l.code(),
            error_prefix = if error {
                l.pick("Fel: ", "Error: ")
            } else {
                ""
            },
            title = esc(title),
            preview = l.pick("Förhandsgranskning", "Preview"),
            skip = l.pick("Till formuläret", "Skip to the form"),
            name = esc(&self.opened.template.form_name),
            version_word = l.pick("version", "version"),
            version = self.key.template_version,
            nothing_kept = l.pick("Svaren sparas inte.", "Answers are not kept."),
            width_label = l.pick("Bredd", "Width"),
            phone_pressed = pressed(Width::Phone),
            desktop_pressed = pressed(Width::Desktop),
            phone = l.pick("Mobil", "Phone"),
            desktop = l.pick("Dator", "Desktop"),
            restart = esc(&format!(
                "{}?width={}",
                preview_path(self.unit, self.key),
                self.width.as_str()
            )),
            restart_text = l.pick("Börja om", "Start over"),
            editor = esc(&self.editor_path()),
            editor_text = l.pick("Tillbaka till redigeraren", "Back to the editor"),
            footer = l.pick(
                "Formulärdesignerns förhandsgranskning: sidan visas som för invånaren, med formulärmotorns kontroller och vägval.",
                "The form designer's preview: the page as the citizen sees it, with the form engine's checks and routing."
            ),
            width = self.width.as_str(),
            path = progress
                .path
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        );
        respond::render(status, html)
    }
}
