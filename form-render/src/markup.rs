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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::texts::{ENGLISH, SWEDISH};

    /// A radio and a follow-up number asked for its first answer; the number was refused.
    fn page() -> Page {
        serde_json::from_value(json!({
            "pageNumber": 1, "lastPage": false, "questionBlocks": [{"blockNumber": 1, "questions": [
                {"questionNumber": 1, "questionId": "smoker", "subject": "Röker du?",
                 "input": "radio", "mandatory": true, "answerAlternatives": [
                    {"answerAlternativeNumber": 1, "alternativeValue": "Ja"},
                    {"answerAlternativeNumber": 2, "alternativeValue": "Nej"}],
                 "answers": [{"valueID": "smoker", "value": 1}]},
                {"questionNumber": 2, "questionId": "cigarettes", "subject": "Hur många?",
                 "input": "number", "mandatory": true, "answerMax": 60, "inputUnit": "st",
                 "questionSuperior": {"superiorQuestionNumber": 1,
                                      "superiorAnswerAlternativeNumbers": [1]},
                 "answers": [{"valueID": "cigarettes", "value": 99, "answerStatus":
                    {"resultCode": "ERROR", "resultCodeText": "Högst 60."}}]}
            ]}]
        }))
        .unwrap()
    }

    fn input<'a>(page: &'a Page, t: &'a Texts, content: Option<&'a str>) -> PageInput<'a> {
        PageInput {
            page,
            form_name: "Rökvanor",
            sent: None,
            comment: None,
            lang: Languages {
                page: "sv",
                content,
            },
            t,
        }
    }

    #[test]
    fn a_refused_answer_is_summarised_and_shown_at_its_question() {
        let page = page();
        let rendered = render(&input(&page, &SWEDISH, None)).unwrap();
        assert!(rendered.has_errors);
        assert_eq!(rendered.title, "Sida 1");
        assert!(
            rendered
                .error_summary
                .contains(r##"<a href="#q2">Högst 60.</a>"##),
            "{}",
            rendered.error_summary
        );
        let body = &rendered.body;
        assert!(body.contains(r#"<fieldset id="q1""#), "{body}");
        assert!(body.contains(r#"value="1" checked"#), "the saved answer");
        assert!(body.contains(r#"class="question field-with-error conditional""#));
        assert!(body.contains("Svara bara om du svarade ”Ja” på frågan ”Röker du?”."));
        assert!(body.contains(r#"aria-describedby="q2-hint q2-unit q2-error""#));
        assert!(body.contains(r#"value="99""#));
        let layout: Vec<crate::posted::PostedQuestion> =
            serde_json::from_str(&rendered.questions_field).unwrap();
        assert_eq!(layout.len(), 2);
        assert_eq!(layout[1].superior, Some((1, vec![1])));
    }

    #[test]
    fn the_forms_own_texts_carry_their_language_when_the_page_speaks_another() {
        let page = page();
        let rendered = render(&input(&page, &ENGLISH, Some("sv"))).unwrap();
        assert!(
            rendered
                .heading
                .contains(r#"<div class="form-title" lang="sv">"#)
        );
        assert!(
            rendered
                .body
                .contains(r#"<section class="question-block" lang="sv">"#)
        );
        assert!(rendered.body.contains("Answer only if you answered"));
        assert_eq!(rendered.title, "Page 1");
    }

    #[test]
    fn a_page_without_errors_has_no_summary() {
        let mut page = page();
        page.question_blocks[0].questions[1].answers.clear();
        let rendered = render(&input(&page, &SWEDISH, None)).unwrap();
        assert!(!rendered.has_errors);
        assert!(rendered.error_summary.is_empty());
    }
}
