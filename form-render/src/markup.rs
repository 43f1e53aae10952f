//! The markup of a question page: the error summary, the heading, and the body inside the
//! page's `<form>` (description, questions by block). Each is rendered to a string that the
//! caller's own page template includes unescaped; the caller adds the frame, the form element
//! with its hidden fields, and the buttons.

use askama::Template;

use crate::question::{self, BlockView, PageView, Sent};
use crate::texts::Texts;
use crate::wire::Page;

/// A link in the error summary to the control that needs changing.
pub struct ErrorLink {
    pub target: String,
    pub text: String,
}

/// Languages of a page: the page's own, and the form's texts' when they differ (a Swedish
/// form on English pages), so screen readers pronounce both right (WCAG 3.1.2).
#[derive(Clone, Copy)]
pub struct Languages<'a> {
    /// The `lang` of the page (the caller's texts).
    pub page: &'a str,
    /// The `lang` of the form's own texts, when it is not the page's.
    pub content: Option<&'a str>,
}

/// A question page, rendered.
pub struct RenderedPage {
    /// The page's title: its subject, else "Page N".
    pub title: String,
    /// Empty when there is nothing to report.
    pub error_summary: String,
    pub heading: String,
    pub body: String,
    /// The hidden `questions` field's value (the page's layout, for reading the post back).
    pub questions_field: String,
    /// An answer was refused or the engine commented: the page is answered 400.
    pub has_errors: bool,
}

#[derive(Template)]
#[template(path = "error_summary.html")]
struct ErrorSummary<'a> {
    t: &'a Texts,
    lang: Languages<'a>,
    errors: &'a [ErrorLink],
    comment: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "page_heading.html")]
struct Heading<'a> {
    lang: Languages<'a>,
    form_name: &'a str,
    title: &'a str,
}

#[derive(Template)]
#[template(path = "page_body.html")]
struct Body<'a> {
    t: &'a Texts,
    lang: Languages<'a>,
    description: Option<&'a str>,
    information_url: Option<&'a str>,
    blocks: &'a [BlockView],
}

/// What to render: the engine's page, what was just sent (shown instead of the saved
/// answers), and the engine's comment on a refused page.
pub struct PageInput<'a> {
    pub page: &'a Page,
    pub form_name: &'a str,
    pub sent: Option<&'a Sent>,
    pub comment: Option<&'a str>,
    pub lang: Languages<'a>,
    pub t: &'a Texts,
}

pub fn page_title(page: &Page, t: &Texts) -> String {
    page.subject
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("{} {}", t.form_page, page.page_number))
}

/// The error summary's links: one per refused answer, to its control.
pub fn error_links(view: &PageView) -> Vec<ErrorLink> {
    view.blocks
        .iter()
        .flat_map(|b| b.questions.iter())
        .filter_map(|q| {
            q.error.as_ref().map(|text| ErrorLink {
                target: q.focus_id.clone(),
                text: text.clone(),
            })
        })
        .collect()
}

/// Renders a question page.
pub fn render(input: &PageInput<'_>) -> Result<RenderedPage, askama::Error> {
    let t = input.t;
    let view = question::page_view(input.page, input.sent, t);
    let errors = error_links(&view);
    let has_errors = !errors.is_empty() || input.comment.is_some();
    let error_summary = if has_errors {
        ErrorSummary {
            t,
            lang: input.lang,
            errors: &errors,
            comment: input.comment,
        }
        .render()?
    } else {
        String::new()
    };
    let title = page_title(input.page, t);
    let heading = Heading {
        lang: input.lang,
        form_name: input.form_name,
        title: &title,
    }
    .render()?;
    let body = Body {
        t,
        lang: input.lang,
        description: input.page.description.as_deref().filter(|d| !d.is_empty()),
        information_url: input
            .page
            .information_url
            .as_deref()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
        blocks: &view.blocks,
    }
    .render()?;
    Ok(RenderedPage {
        title,
        error_summary,
        heading,
        body,
        questions_field: serde_json::to_string(&view.layout).unwrap_or_default(),
        has_errors,
    })
}
