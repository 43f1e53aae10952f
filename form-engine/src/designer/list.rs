//! The template list of a care unit (status, versions, last change, forms made from each
//! version; search and filter) and creating a template.

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use common::identity::HsaId;
use http::StatusCode;

use super::context::{Lang, PageContext};
use super::html::{esc, page, select, text_field};
use super::post::{CheckedPost, field};
use super::session::SignedIn;
use super::{DesignerState, respond, status_name, swedish_time};
use crate::domain::designer::service::{DesignerError, ListFilter, TemplateSummary};
use crate::domain::template::PublishStatus;

/// The path of a care unit's list.
pub fn list_path(unit: &HsaId) -> String {
    format!("/designer/units/{unit}/templates")
}

/// The path of one version in the editor.
pub fn version_path(unit: &HsaId, template_id: &str, version: u32) -> String {
    format!(
        "/designer/units/{unit}/templates/{}/versions/{version}",
        encode_segment(template_id)
    )
}

/// Template ids are letters, digits, `-`, `_` and `.`: nothing to encode, but be safe.
fn encode_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `GET /designer/`: the first care unit's list, or the sign-in.
pub async fn home(signed_in: Result<SignedIn, Response>) -> Response {
    match signed_in {
        Ok(user) => match user.member.care_units.first() {
            Some(unit) => Redirect::to(&list_path(unit)).into_response(),
            None => Redirect::to("/designer/sign-in").into_response(),
        },
        Err(_) => Redirect::to("/designer/sign-in").into_response(),
    }
}

pub fn parse_unit(unit: &str) -> Option<HsaId> {
    HsaId::parse(unit).ok()
}

/// `GET /designer/units/{unit}/templates`.
pub async fn show(
    State(state): State<DesignerState>,
    context: PageContext,
    user: SignedIn,
    Path(unit): Path<String>,
) -> Response {
    let Some(unit) = parse_unit(&unit).filter(|u| user.member.works_for(u)) else {
        return respond::not_found(&context, Some(&user));
    };
    let filter = ListFilter {
        search: context.query("q").map(str::to_owned),
        status: context.query("status").and_then(PublishStatus::parse),
    };
    match state.service.list(&user.member, &unit, &filter).await {
        Ok(templates) => list_page(&context, &user, &unit, &filter, &templates, None),
        Err(DesignerError::NotFound) => respond::not_found(&context, Some(&user)),
        Err(error) => respond::internal(&context, Some(&user), &error),
    }
}

fn list_page(
    context: &PageContext,
    user: &SignedIn,
    unit: &HsaId,
    filter: &ListFilter,
    templates: &[TemplateSummary],
    error: Option<&str>,
) -> Response {
    let l = context.lang;
    let title = format!("{} – {unit}", l.pick("Formulärmallar", "Form templates"));
    let mut main = format!("<h1>{}</h1>", esc(&title));
    if user.member.care_units.len() > 1 {
        let _ = write!(
            main,
            r#"<nav aria-label="{}" id="care-units"><ul>"#,
            l.pick("Vårdenheter", "Care units")
        );
        for other in &user.member.care_units {
            let current = if other == unit {
                r#" aria-current="page""#
            } else {
                ""
            };
            let _ = write!(
                main,
                r#"<li><a href="{}"{current}>{}</a></li>"#,
                esc(&list_path(other)),
                esc(other.as_str())
            );
        }
        main.push_str("</ul></nav>");
    }
    // Search and filter.
    let _ = write!(
        main,
        r#"<form method="get" action="{}" id="search-form" role="search"><h2>{}</h2><div class="grid">"#,
        esc(&list_path(unit)),
        l.pick("Sök", "Search")
    );
    text_field(
        &mut main,
        "q",
        l.pick(
            "Mall-id eller namn innehåller",
            "Template id or name contains",
        ),
        filter.search.as_deref().unwrap_or_default(),
    );
    let mut statuses = vec![(String::new(), l.pick("Alla", "All").to_owned())];
    statuses.extend(
        PublishStatus::ALL
            .into_iter()
            .map(|s| (s.as_str().to_owned(), status_name(l, s).to_owned())),
    );
    select(
        &mut main,
        "status",
        l.pick("Status", "Status"),
        &statuses,
        filter.status.map(PublishStatus::as_str).unwrap_or_default(),
    );
    let _ = write!(
        main,
        r#"</div><button type="submit" id="search">{}</button></form>"#,
        l.pick("Sök", "Search")
    );
    // The list.
    let _ = write!(main, "<h2>{}</h2>", l.pick("Mallar", "Templates"));
    if templates.is_empty() {
        let _ = write!(
            main,
            r#"<p id="no-templates">{}</p>"#,
            l.pick("Inga mallar hittades.", "No templates found.")
        );
    } else {
        list_table(&mut main, l, unit, templates);
    }
    // Creating one.
    let _ = write!(
        main,
        r#"<h2>{}</h2><form method="post" action="{}" id="create-form"><input type="hidden" name="csrf_token" value="{}">"#,
        l.pick("Ny mall", "New template"),
        esc(&list_path(unit)),
        esc(&user.csrf_token)
    );
    if let Some(error) = error {
        let _ = write!(
            main,
            r#"<div class="notice error" role="alert" id="create-error"><p>{}</p></div>"#,
            esc(error)
        );
    }
    text_field(
        &mut main,
        "templateId",
        l.pick("Mall-id (t.ex. HALSA-2)", "Template id (e.g. HALSA-2)"),
        "",
    );
    text_field(
        &mut main,
        "formName",
        l.pick("Formulärets namn", "Form name"),
        "",
    );
    let _ = write!(
        main,
        r#"<button type="submit" id="create">{}</button></form>"#,
        l.pick("Skapa mall", "Create template")
    );
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    respond::render(status, page(context, &title, Some(user), &main))
}

fn list_table(main: &mut String, l: Lang, unit: &HsaId, templates: &[TemplateSummary]) {
    let _ = write!(
        main,
        r#"<div class="table-wrap"><table id="templates"><caption class="muted">{}</caption><thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>"#,
        l.pick(
            "Varje mall med dess versioner, nyaste först",
            "Each template with its versions, newest first"
        ),
        l.pick("Mall", "Template"),
        l.pick("Version", "Version"),
        l.pick("Status", "Status"),
        l.pick("Ändrad av", "Changed by"),
        l.pick("Ändrad", "Changed"),
        l.pick("Formulär", "Forms"),
    );
    for summary in templates {
        for (i, version) in summary.versions.iter().enumerate() {
            let name = if i == 0 {
                format!(
                    "<strong>{}</strong><br>{}",
                    esc(&summary.template_id),
                    esc(&version.form_name)
                )
            } else {
                String::new()
            };
            let draft_note = if version.only_draft {
                format!(
                    " <span class=\"muted\">({})</span>",
                    l.pick("utkast med fel", "draft with errors")
                )
            } else {
                String::new()
            };
            let _ = write!(
                main,
                r#"<tr id="template-{id}-{v}"><td>{name}</td><td><a href="{href}">{open} {v}</a></td><td class="status">{status}{draft_note}</td><td>{by}</td><td>{at}</td><td>{forms}</td></tr>"#,
                id = esc(&summary.template_id),
                v = version.version,
                href = esc(&version_path(unit, &summary.template_id, version.version)),
                open = l.pick("Öppna version", "Open version"),
                status = status_name(l, version.status),
                by = esc(version.changed_by.as_deref().unwrap_or("–")),
                at = version.changed_at.map(swedish_time).unwrap_or_default(),
                forms = version.forms,
            );
        }
    }
    main.push_str("</tbody></table></div>");
}

/// `POST /designer/units/{unit}/templates`: a new template, opened in the editor.
pub async fn create(
    State(state): State<DesignerState>,
    Path(unit): Path<String>,
    post: CheckedPost,
) -> Response {
    let CheckedPost {
        context,
        signed_in: user,
        fields,
    } = post;
    let Some(unit) = parse_unit(&unit).filter(|u| user.member.works_for(u)) else {
        return respond::not_found(&context, Some(&user));
    };
    let l = context.lang;
    let template_id = field(&fields, "templateId").unwrap_or_default();
    let form_name = field(&fields, "formName").unwrap_or_default();
    match state
        .service
        .create(&user.member, &unit, template_id, form_name)
        .await
    {
        Ok(key) => Redirect::to(&version_path(&unit, &key.template_id, key.template_version))
            .into_response(),
        Err(DesignerError::InvalidId) => {
            refused(
                &state,
                &context,
                &user,
                &unit,
                l.pick(
                    "Mall-id: 1–64 bokstäver (a–z), siffror, '-', '_' eller '.'.",
                    "Template id: 1 to 64 letters (a-z), digits, '-', '_' or '.'.",
                )
                .to_owned(),
            )
            .await
        }
        Err(DesignerError::IdTaken(id)) => {
            refused(
                &state,
                &context,
                &user,
                &unit,
                format!(
                    "{} `{id}`",
                    l.pick("Mall-id:t är upptaget:", "The template id is taken:")
                ),
            )
            .await
        }
        Err(DesignerError::NotFound) => respond::not_found(&context, Some(&user)),
        Err(error) => respond::internal(&context, Some(&user), &error),
    }
}

/// The list again, with why the template could not be created.
async fn refused(
    state: &DesignerState,
    context: &PageContext,
    user: &SignedIn,
    unit: &HsaId,
    text: String,
) -> Response {
    let filter = ListFilter::default();
    match state.service.list(&user.member, unit, &filter).await {
        Ok(templates) => list_page(context, user, unit, &filter, &templates, Some(&text)),
        Err(error) => respond::internal(context, Some(user), &error),
    }
}
