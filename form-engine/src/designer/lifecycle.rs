//! The lifecycle buttons of a version: submit for review, return to draft, publish, archive,
//! new version, delete, each through the designer service (and so through the template
//! service's rules).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::editor::version_of;
use super::list::{list_path, version_path};
use super::post::{CheckedPost, field};
use super::{DesignerState, respond};
use crate::domain::designer::service::DesignerError;

/// `POST /designer/units/{unit}/templates/{templateId}/versions/{version}/lifecycle`.
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
    let service = &state.service;
    let member = &user.member;
    let here = version_path(&unit, &key.template_id, key.template_version);
    let done = |notice: &str| Redirect::to(&format!("{here}?notice={notice}")).into_response();
    let action = field(&fields, "action").unwrap_or_default();
    let outcome = match action {
        "submit" => service
            .submit(member, &unit, &key)
            .await
            .map(|()| done("submitted")),
        "return" => service
            .return_to_draft(member, &unit, &key)
            .await
            .map(|()| done("returned")),
        "publish" => service
            .publish(member, &unit, &key)
            .await
            .map(|()| done("published")),
        "archive" => service
            .archive(member, &unit, &key)
            .await
            .map(|()| done("archived")),
        "new-version" => service.new_version(member, &unit, &key).await.map(|new| {
            Redirect::to(&format!(
                "{}?notice=new-version",
                version_path(&unit, &new.template_id, new.template_version)
            ))
            .into_response()
        }),
        "delete" => service
            .delete(member, &unit, &key)
            .await
            .map(|()| Redirect::to(&format!("{}?deleted=1", list_path(&unit))).into_response()),
        _ => return respond::bad_form(&context, Some(&user)),
    };
    match outcome {
        Ok(response) => response,
        Err(DesignerError::NotFound) => respond::not_found(&context, Some(&user)),
        Err(DesignerError::Refused(_)) => done("refused"),
        Err(DesignerError::NotPublisher) => {
            let l = context.lang;
            respond::forbidden(
                &context,
                Some(&user),
                l.pick(
                    "Bara en publicerare får göra det.",
                    "Only a publisher may do that.",
                ),
            )
        }
        // Deleting is refused while unfinished forms use the version.
        Err(DesignerError::WrongStatus(_)) if action == "delete" => done("not-deletable"),
        Err(DesignerError::WrongStatus(_)) => done("wrong-status"),
        Err(error) => respond::internal(&context, Some(&user), &error),
    }
}
