//! A template as JSON in and out of the designer, in the SaveFormTemplate shape (the
//! template format of docs/templates.md).
//!
//! | Page | What |
//! |---|---|
//! | `GET …/versions/{v}/export` | the version as a JSON download |
//! | `GET /designer/units/{unit}/import` | paste a template's JSON (`#import-form`: `template`, `templateId`, button `#import`) |
//! | `POST /designer/units/{unit}/import` | a new draft (version 1) from it, checked by the engine's checks; the editor then shows the findings |
//!
//! An import never changes an existing template: it makes a new draft under the id given (or
//! the JSON's own), owned by this care unit whatever the JSON says, and JSON the format does
//! not take is shown with the place of the fault (`#import-error`).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use common::identity::HsaId;
use http::{HeaderValue, StatusCode, header};

use super::DesignerState;
use super::context::PageContext;
use super::editor::version_of;
use super::html::{esc, page};
use super::list::{parse_unit, version_path};
use super::post::{CheckedPost, field};
use super::respond;
use super::session::SignedIn;
use crate::domain::designer::service::DesignerError;
use crate::domain::template::{FormTemplate, PublishStatus, TemplateKey};

/// The largest template the import takes, in bytes of JSON.
const MAX_IMPORT_BYTES: usize = 1_000_000;

pub fn export_path(unit: &HsaId, key: &TemplateKey) -> String {
    format!(
        "{}/export",
        version_path(unit, &key.template_id, key.template_version)
    )
}

pub fn import_path(unit: &HsaId) -> String {
    format!("/designer/units/{unit}/import")
}

/// `GET …/versions/{v}/export`.
pub async fn export(
    State(state): State<DesignerState>,
    context: PageContext,
    user: SignedIn,
    Path((unit, template_id, version)): Path<(String, String, String)>,
) -> Response {
    let Some((unit, key)) = version_of(&user, &unit, template_id, &version) else {
        return respond::not_found(&context, Some(&user));
    };
    let opened = match state.service.open(&user.member, &unit, &key).await {
        Ok(opened) => opened,
        Err(DesignerError::NotFound) => return respond::not_found(&context, Some(&user)),
        Err(error) => return respond::internal(&context, Some(&user), &error),
    };
    let json = match serde_json::to_string_pretty(&opened.template) {
        Ok(json) => json,
        Err(error) => return respond::internal(&context, Some(&user), &error),
    };
    // Template ids are letters, digits, '-', '_' and '.', so the name needs no quoting rules.
    let file_name = format!("{}-{}.json", key.template_id, key.template_version);
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        json,
    )
        .into_response()
}

/// `GET /designer/units/{unit}/import`.
pub async fn show(context: PageContext, user: SignedIn, Path(unit): Path<String>) -> Response {
    let Some(unit) = parse_unit(&unit).filter(|u| user.member.works_for(u)) else {
        return respond::not_found(&context, Some(&user));
    };
    import_page(&context, &user, &unit, "", "", None)
}

/// `POST /designer/units/{unit}/import`.
pub async fn import(
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
    let json = field(&fields, "template").unwrap_or_default();
    let wanted_id = field(&fields, "templateId").unwrap_or_default().trim();
    let refused = |text: &str| import_page(&context, &user, &unit, json, wanted_id, Some(text));
    if json.len() > MAX_IMPORT_BYTES {
        return refused(l.pick(
            "Mallen är för stor för importen (högst 1 MB).",
            "The template is too large to import (at most 1 MB).",
        ));
    }
    // JSON first (a syntax error has a line and column), then the template's shape (a path).
    let mut value: serde_json::Value = match serde_json::from_str(json) {
        Ok(value) => value,
        Err(error) => {
            let text = format!(
                "{} {} {}, {} {}: {error}",
                l.pick("JSON-texten kan inte läsas:", "The JSON cannot be read:"),
                l.pick("rad", "line"),
                error.line(),
                l.pick("tecken", "column"),
                error.column(),
            );
            return refused(&text);
        }
    };
    // The care unit is this one's whatever the JSON says, so it need not say.
    if let Some(object) = value.as_object_mut() {
        object.insert(
            String::from("healthCareFacilityUnit"),
            serde_json::Value::from(unit.to_string()),
        );
    }
    let mut template: FormTemplate = match serde_path_to_error::deserialize(value) {
        Ok(template) => template,
        Err(error) => {
            let text = format!(
                "{} {} ({} {})",
                l.pick(
                    "JSON-texten är inte en mall:",
                    "The JSON is not a template:"
                ),
                error.inner(),
                l.pick("vid", "at"),
                error.path(),
            );
            return refused(&text);
        }
    };
    let template_id = if wanted_id.is_empty() {
        template.template_id.clone()
    } else {
        wanted_id.to_owned()
    };
    let service = &state.service;
    let key = match service
        .create(&user.member, &unit, &template_id, &template.form_name)
        .await
    {
        Ok(key) => key,
        Err(DesignerError::IdTaken(id)) => {
            let text = format!(
                "{} {id} {}",
                l.pick("Mall-id", "Template id"),
                l.pick(
                    "finns redan. Ange ett nytt id för den importerade mallen.",
                    "is taken. Give the imported template a new id."
                )
            );
            return refused(&text);
        }
        Err(DesignerError::InvalidId) => {
            return refused(l.pick(
                "Ett mall-id är 1 till 64 bokstäver, siffror, '-', '_' eller '.'.",
                "A template id is 1 to 64 letters, digits, '-', '_' or '.'.",
            ));
        }
        Err(DesignerError::NotFound) => return respond::not_found(&context, Some(&user)),
        Err(error) => return respond::internal(&context, Some(&user), &error),
    };
    // A new draft of this unit's, whatever the JSON says it was.
    template.template_id.clone_from(&key.template_id);
    template.template_version = Some(key.template_version);
    template.health_care_facility_unit = unit.clone();
    template.publish_status = PublishStatus::Unpublished;
    // A draft just created: no one else has saved it since.
    match service
        .save(&user.member, &unit, &key, template, None)
        .await
    {
        Ok(_) => {
            let path = version_path(&unit, &key.template_id, key.template_version);
            Redirect::to(&format!("{path}?notice=saved")).into_response()
        }
        Err(error) => respond::internal(&context, Some(&user), &error),
    }
}

fn import_page(
    context: &PageContext,
    user: &SignedIn,
    unit: &HsaId,
    json: &str,
    template_id: &str,
    error: Option<&str>,
) -> Response {
    let l = context.lang;
    let title = l.pick("Importera en mall", "Import a template");
    let error_html = error.map_or_else(String::new, |text| {
        format!(
            r##"<div class="error-summary" role="alert" id="import-error"><h2>{}</h2><p><a href="#import-json">{}</a></p></div>"##,
            l.pick("Det finns ett problem", "There is a problem"),
            esc(text)
        )
    });
    let main = format!(
        r#"<p><a href="/designer/units/{unit}/templates" id="import-to-list">{back}</a></p>
{error_html}<h1>{title}</h1>
<p>{intro}</p>
<form method="post" action="{action}" id="import-form">
<input type="hidden" name="csrf_token" value="{csrf}">
<div class="field"><label for="import-template-id">{id_label}</label><input type="text" id="import-template-id" name="templateId" value="{template_id}"></div>
<div class="field"><label for="import-json">{json_label}</label><textarea id="import-json" name="template" rows="16"{invalid}>{json}</textarea></div>
<button type="submit" id="import">{button}</button>
</form>"#,
        back = l.pick("Till mallarna", "To the templates"),
        intro = l.pick(
            "Klistra in mallens JSON (samma form som SaveFormTemplate och exporten). Den blir ett nytt utkast, version 1, för din vårdenhet och kontrolleras som varje utkast.",
            "Paste the template's JSON (the shape of SaveFormTemplate and of the export). It becomes a new draft, version 1, of your care unit, and is checked like every draft."
        ),
        action = esc(&import_path(unit)),
        csrf = esc(&user.csrf_token),
        id_label = l.pick(
            "Nytt mall-id (tomt: mallens eget)",
            "New template id (empty: the template's own)"
        ),
        template_id = esc(template_id),
        json_label = l.pick("Mallens JSON", "The template's JSON"),
        invalid = if error.is_some() {
            r#" aria-invalid="true" aria-describedby="import-error""#
        } else {
            ""
        },
        json = esc(json),
        button = l.pick("Importera", "Import"),
    );
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    respond::render(status, page(context, title, Some(user), &main))
}
