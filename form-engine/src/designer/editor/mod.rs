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

mod page;
mod question;
mod routing;

use page::{View, code_fields, editor_page};
use question::{alternative_label, block_section, question_label};
use routing::page_section;

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
