//! The citizen's form pages, driven by the form engine's citizen contracts (api.md §3).
//!
//! | Page | Contract | What |
//! |---|---|---|
//! | `GET /forms/{formId}` | GetForm | the page the form is on (ONGOING), the summary (PENDING_COMPLETION), the receipt (COMPLETED), or that the time to answer has run out |
//! | `POST /forms/{formId}` | SaveFormPage | `action=next`: save and go on (the engine's routing picks the page); `save`: save for later without validation; `back`: save for later, then GetFormQuestionPage BACK |
//! | `POST /forms/{formId}/navigate` | GetFormQuestionPage | `from=N`, `direction=back\|forward`: the page before or after page N on the citizen's way (the summary's "change" buttons go BACK, which reopens the form; FORWARD never changes its status) |
//! | `POST /forms/{formId}/submit` | SaveForm | send the form, after the terms are accepted; the answer is the receipt, with SaveForm's `INFO` comment (the template's formCompleteText) |
//! | `GET/POST /forms/{formId}/cancel` | CancelForm | confirm, then cancel (a sent form: ask the clinic to withdraw the answers) |
//! | `GET /forms/{formId}/cancelled` | – | the form is cancelled |
//!
//! Every GET only reads (GetForm); every change is a POST with the session's CSRF token. A
//! POST that saves or moves redirects to the form's page (so reloading never saves twice),
//! except where the engine's answer is the page to show: a page it refused (shown with its
//! messages and what the citizen sent), a page saved for later, and the receipt of a form
//! just sent. A form of another citizen is unknown to the engine (404 FORM_NOT_FOUND), and
//! the portal shows its not-found page.

mod answers;
mod failure;
mod outcomes;
mod views;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use common::identity::PersonalIdentityNumber;
use http::StatusCode;
use serde::Deserialize;

use crate::api::AppState;
use crate::engine::EngineError;
use crate::engine::wire::{Direction, Form as EngineForm, FormStatus, ResultCode};
use crate::web::context::PageContext;
use crate::web::page;
use crate::web::post::{CheckedPost, Fields, PostedForm, field};
use crate::web::session::SignedIn;
use form_render::posted::{self, PostedQuestion};
use views::PageState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/forms/{form_id}", get(show).post(answer_page))
        .route("/forms/{form_id}/navigate", post(navigate))
        .route("/forms/{form_id}/submit", post(submit))
        .route("/forms/{form_id}/cancel", get(confirm_cancel).post(cancel))
        .route("/forms/{form_id}/cancelled", get(cancelled))
}

/// A form id as the engine makes them (a GUID); anything else is not asked about: it cannot
/// name a form, and it goes into the links the pages build.
fn form_id(raw: &str) -> Option<&str> {
    let ok = (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(raw)
}

fn citizen(signed_in: &SignedIn) -> &PersonalIdentityNumber {
    &signed_in.citizen.profile.personal_identity_number
}

/// A checked POST to `/forms/{formId}...` ([`CheckedPost`]) with the form's id; an id the
/// engine cannot have made gets the not-found page.
pub struct FormPost<T> {
    id: String,
    post: CheckedPost<T>,
}

impl<T: PostedForm> FromRequest<AppState> for FormPost<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let context = PageContext::from_parts(&parts);
        let signed_in = SignedIn::from_request_parts(&mut parts, state).await?;
        let raw_id = Path::<String>::from_request_parts(&mut parts, state).await;
        let Some(id) = raw_id
            .ok()
            .and_then(|Path(raw)| form_id(&raw).map(str::to_owned))
        else {
            return Err(page::not_found(&context, Some(&signed_in)));
        };
        let request = Request::from_parts(parts, body);
        let post = CheckedPost::check(request, state, context, signed_in).await?;
        Ok(Self { id, post })
    }
}

/// `GET /forms/{formId}`: where the form is.
pub async fn show(
    State(state): State<AppState>,
    context: PageContext,
    signed_in: SignedIn,
    Path(raw_id): Path<String>,
) -> Response {
    let Some(id) = form_id(&raw_id) else {
        return page::not_found(&context, Some(&signed_in));
    };
    match state.engine.get_form(citizen(&signed_in), id).await {
        Ok(form) => views::form(&state, &context, &signed_in, &form, PageState::default()).await,
        Err(error) => failure::page(&context, &signed_in, id, &error),
    }
}

#[derive(Deserialize)]
pub struct NavigateForm {
    from: Option<String>,
    direction: Option<String>,
}

impl PostedForm for NavigateForm {}

/// `POST /forms/{formId}/navigate` (`from`, `direction`): GetFormQuestionPage. A POST, not a
/// link: the engine moves the form to the page it answers with (and reopens a form waiting
/// on its summary), so moving is a change, and the form's own page then shows where it is.
pub async fn navigate(
    State(state): State<AppState>,
    FormPost { id, post }: FormPost<NavigateForm>,
) -> Response {
    let CheckedPost {
        context,
        signed_in,
        form,
    } = post;
    let id = id.as_str();
    let from = form
        .from
        .as_deref()
        .and_then(|from| from.parse::<u32>().ok());
    let direction = match form.direction.as_deref() {
        Some("back") => Some(Direction::Back),
        Some("forward") => Some(Direction::Forward),
        _ => None,
    };
    let (Some(from), Some(direction)) = (from, direction) else {
        return page::bad_form(&context, Some(&signed_in));
    };
    go(&state, &context, &signed_in, id, from, direction).await
}

/// Moves the form from page `from` and shows where it is.
async fn go(
    state: &AppState,
    context: &PageContext,
    signed_in: &SignedIn,
    id: &str,
    from: u32,
    direction: Direction,
) -> Response {
    match state
        .engine
        .get_form_question_page(citizen(signed_in), id, from, direction)
        .await
    {
        Ok(_) => Redirect::to(&format!("/forms/{id}")).into_response(),
        Err(error) => failure::page(context, signed_in, id, &error),
    }
}

/// What a question page's buttons ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Next,
    SaveForLater,
    Back,
}

impl Action {
    fn parse(value: Option<&str>) -> Self {
        match value {
            Some("save") => Self::SaveForLater,
            Some("back") => Self::Back,
            // Enter in a text field submits with the first button: next.
            _ => Self::Next,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::SaveForLater => "save",
            Self::Back => "back",
        }
    }
}

/// A question page's post: its answers (`answer-<i>`) may be free text, which its layout
/// decides (checked once the layout is read).
#[derive(Deserialize)]
#[serde(transparent)]
pub struct AnswerPage(Fields);

impl PostedForm for AnswerPage {
    fn free_text(name: &str) -> bool {
        name.starts_with("answer-")
    }
}

/// `POST /forms/{formId}`: SaveFormPage with the page's answers.
pub async fn answer_page(
    State(state): State<AppState>,
    FormPost { id, post }: FormPost<AnswerPage>,
) -> Response {
    let CheckedPost {
        context,
        signed_in,
        form: AnswerPage(fields),
    } = post;
    let id = id.as_str();
    let page_number = field(&fields, "page_number").and_then(|n| n.parse::<u32>().ok());
    let layout = field(&fields, "questions")
        .and_then(|json| serde_json::from_str::<Vec<PostedQuestion>>(json).ok());
    let (Some(page_number), Some(layout)) = (page_number, layout) else {
        return page::bad_form(&context, Some(&signed_in));
    };
    // Only the answers to text and textarea questions are free text (api.md §5).
    let free_text = |name: &str| {
        name.strip_prefix("answer-")
            .and_then(|index| index.parse::<usize>().ok())
            .and_then(|index| layout.get(index))
            .is_some_and(|question| matches!(question.input.as_str(), "text" | "textarea"))
    };
    let posted_fields = fields.iter().map(|(k, v)| (k.as_str(), Some(v.as_str())));
    if !page::control_free(posted_fields, free_text) {
        tracing::info!(
            form_id = id,
            "a form page refused: a control character in an answer"
        );
        return page::bad_form(&context, Some(&signed_in));
    }
    let action = Action::parse(field(&fields, "action"));
    let posted = posted::read(page_number, &layout, &fields);

    let saved = state
        .engine
        .save_form_page(
            citizen(&signed_in),
            id,
            &posted.answers,
            action != Action::Next,
        )
        .await;
    let outcome = match saved {
        Ok(outcome) => outcome,
        Err(error) => return failure::page(&context, &signed_in, id, &error),
    };
    // Which form, page and outcome; never the answers.
    tracing::info!(
        form_id = id,
        page = page_number,
        action = action.as_str(),
        result = ?outcome.result_code,
        "form page saved"
    );

    let page_state = if outcome.result_code == ResultCode::Error {
        PageState {
            sent: Some(posted.sent),
            comment: outcome.comment.filter(|c| !c.is_empty()),
            ..PageState::default()
        }
    } else {
        match action {
            Action::Next => return Redirect::to(&format!("/forms/{id}")).into_response(),
            Action::Back => {
                return go(
                    &state,
                    &context,
                    &signed_in,
                    id,
                    page_number,
                    Direction::Back,
                )
                .await;
            }
            Action::SaveForLater => PageState {
                sent: Some(posted.sent),
                saved: true,
                ..PageState::default()
            },
        }
    };
    // A refused page, or one saved for later, is shown as the citizen sent it.
    match with_page(&state, &signed_in, id, outcome.form).await {
        Ok(form) => views::form(&state, &context, &signed_in, &form, page_state).await,
        Err(error) => failure::page(&context, &signed_in, id, &error),
    }
}

/// The form the engine answered with when it carries a page, else the form as GetForm
/// gives it (an ERROR for an expired or already sent form comes without one).
async fn with_page(
    state: &AppState,
    signed_in: &SignedIn,
    id: &str,
    answered: Option<EngineForm>,
) -> Result<EngineForm, EngineError> {
    match answered.filter(|f| f.current_page.is_some()) {
        Some(form) => Ok(form),
        None => state.engine.get_form(citizen(signed_in), id).await,
    }
}

/// `POST /forms/{formId}/submit`: SaveForm, once the citizen has accepted the terms.
pub async fn submit(
    State(state): State<AppState>,
    FormPost { id, post }: FormPost<Fields>,
) -> Response {
    let CheckedPost {
        context,
        signed_in,
        form: fields,
    } = post;
    let id = id.as_str();
    let current = match state.engine.get_form(citizen(&signed_in), id).await {
        Ok(form) => form,
        Err(error) => return failure::page(&context, &signed_in, id, &error),
    };
    if current.form_status != FormStatus::PendingCompletion || views::is_expired(&current) {
        // Sent already, or not ready to send: the page for the form's state says so.
        return views::form(&state, &context, &signed_in, &current, PageState::default()).await;
    }
    let template = match views::template(&state, &signed_in, &current).await {
        Ok(template) => template,
        Err(error) => return failure::page(&context, &signed_in, id, &error),
    };
    let has_term = template.term.as_ref().is_some_and(|t| !t.is_empty());
    if has_term && field(&fields, "accept_term") != Some("yes") {
        return views::summary(&context, &signed_in, &current, Some(&template), None, true);
    }
    let outcome = match state.engine.save_form(citizen(&signed_in), id).await {
        Ok(outcome) => outcome,
        Err(error) => return failure::page(&context, &signed_in, id, &error),
    };
    tracing::info!(form_id = id, result = ?outcome.result_code, "form sent");
    if outcome.result_code == ResultCode::Error {
        let form = match state.engine.get_form(citizen(&signed_in), id).await {
            Ok(form) => form,
            Err(error) => return failure::page(&context, &signed_in, id, &error),
        };
        let page_state = PageState {
            comment: outcome.comment.filter(|c| !c.is_empty()),
            ..PageState::default()
        };
        return views::form(&state, &context, &signed_in, &form, page_state).await;
    }
    // The receipt is this answer, not a redirect: it shows what SaveForm said (INFO: the
    // template's formCompleteText), which GetForm does not repeat. Reloading posts again and
    // finds the form sent, which shows the receipt too.
    let sent = match state.engine.get_form(citizen(&signed_in), id).await {
        Ok(form) => form,
        Err(error) => return failure::page(&context, &signed_in, id, &error),
    };
    let page_state = PageState {
        sent_comment: outcome
            .comment
            .filter(|c| outcome.result_code == ResultCode::Info && !c.is_empty()),
        ..PageState::default()
    };
    views::form(&state, &context, &signed_in, &sent, page_state).await
}

/// `GET /forms/{formId}/cancel`: are you sure?
pub async fn confirm_cancel(
    State(state): State<AppState>,
    context: PageContext,
    signed_in: SignedIn,
    Path(raw_id): Path<String>,
) -> Response {
    let Some(id) = form_id(&raw_id) else {
        return page::not_found(&context, Some(&signed_in));
    };
    let form = match state.engine.get_form(citizen(&signed_in), id).await {
        Ok(form) => form,
        Err(error) => return failure::page(&context, &signed_in, id, &error),
    };
    if form.revocation_requested {
        return revocation_sent(&context, &signed_in, id);
    }
    // A sent form: the same question becomes a request to withdraw the answers, which the
    // engine records and puts on the care unit's alarm feed (CancelForm answers INFO).
    views::cancel_confirmation(&context, &signed_in, &form, None)
}

/// The clinic has the citizen's request to withdraw sent answers.
fn revocation_sent(context: &PageContext, signed_in: &SignedIn, id: &str) -> Response {
    let t = context.texts();
    let href = format!("/forms/{id}");
    page::message(
        context,
        Some(signed_in),
        StatusCode::OK,
        t.revocation_sent_title,
        t.revocation_sent_text,
        (&href, t.back_to_form),
    )
}

/// A sent form the engine would not take a request for.
fn cannot_cancel(context: &PageContext, signed_in: &SignedIn, id: &str) -> Response {
    let t = context.texts();
    let href = format!("/forms/{id}");
    page::message(
        context,
        Some(signed_in),
        StatusCode::CONFLICT,
        t.form_cancel_link,
        t.cancel_not_possible,
        (&href, t.back_to_form),
    )
}

/// `POST /forms/{formId}/cancel`: CancelForm.
pub async fn cancel(
    State(state): State<AppState>,
    FormPost { id, post }: FormPost<Fields>,
) -> Response {
    let CheckedPost {
        context, signed_in, ..
    } = post;
    let id = id.as_str();
    let outcome = match state.engine.cancel_form(citizen(&signed_in), id).await {
        Ok(outcome) => outcome,
        Err(error) => return failure::page(&context, &signed_in, id, &error),
    };
    tracing::info!(form_id = id, result = ?outcome.result_code, "form cancelled");
    if outcome.result_code == ResultCode::Info {
        // A sent form (perhaps sent meanwhile in another tab): the engine recorded a request
        // to withdraw the answers.
        return revocation_sent(&context, &signed_in, id);
    }
    if outcome.result_code == ResultCode::Error {
        return match state.engine.get_form(citizen(&signed_in), id).await {
            Ok(form) if form.form_status == FormStatus::Completed => {
                cannot_cancel(&context, &signed_in, id)
            }
            Ok(form) => views::cancel_confirmation(
                &context,
                &signed_in,
                &form,
                Some(
                    outcome
                        .comment
                        .filter(|c| !c.is_empty())
                        .unwrap_or_else(|| context.texts().form_refused_text.to_owned()),
                ),
            ),
            Err(error) => failure::page(&context, &signed_in, id, &error),
        };
    }
    Redirect::to(&format!("/forms/{id}/cancelled")).into_response()
}

/// `GET /forms/{formId}/cancelled`: the form is gone.
pub async fn cancelled(
    context: PageContext,
    signed_in: SignedIn,
    Path(raw_id): Path<String>,
) -> Response {
    if form_id(&raw_id).is_none() {
        return page::not_found(&context, Some(&signed_in));
    }
    let t = context.texts();
    page::message(
        &context,
        Some(&signed_in),
        StatusCode::OK,
        t.cancelled_title,
        t.cancelled_text,
        ("/inbox", t.back_to_inbox),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_engine_like_ids_name_forms() {
        assert_eq!(
            form_id("8d3f2c1e-4b7a-4f0e-9a51-2f1f7c9b0a11"),
            Some("8d3f2c1e-4b7a-4f0e-9a51-2f1f7c9b0a11")
        );
        for bad in ["", "a/b", "a b", "<x>", &"a".repeat(65)] {
            assert_eq!(form_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_button_names_its_action_and_enter_means_next() {
        assert_eq!(Action::parse(Some("save")), Action::SaveForLater);
        assert_eq!(Action::parse(Some("back")), Action::Back);
        assert_eq!(Action::parse(None), Action::Next);
        assert_eq!(Action::parse(Some("delete")), Action::Next);
    }
}
