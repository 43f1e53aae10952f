//! The one error type of the HTTP edge: every failure becomes a problem document; a failure
//! that is not the caller's is logged with its cause and answered with an opaque 500, or 503
//! `DATABASE_UNAVAILABLE` when the database cannot serve now.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::audit::Unrecorded;
use common::permissions::Refusal;
use common::problem::Problem;

use crate::domain::fhir::ResponseError;
use crate::domain::form::answering::SaveError;
use crate::domain::form::navigation::NavigationError;
use crate::domain::form::service::FormError;
use crate::domain::template::service::TemplateError;

#[derive(Debug)]
pub enum ApiError {
    /// The caller's problem: shown as is.
    Problem(Problem),
    /// Ours: the cause is logged; the answer an opaque 500, or 503 `DATABASE_UNAVAILABLE`
    /// when the database cannot serve now ([`Problem::fault`]).
    Internal { cause: String, unavailable: bool },
}

impl ApiError {
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::Problem(Problem::bad_request("INVALID_REQUEST", detail))
    }

    pub fn not_found(code: &str, detail: impl Into<String>) -> Self {
        Self::Problem(Problem::not_found(code, detail))
    }

    pub fn forbidden(code: &str, detail: impl Into<String>) -> Self {
        Self::Problem(Problem::forbidden(code, detail))
    }

    pub fn conflict(code: &str, detail: impl Into<String>) -> Self {
        Self::Problem(Problem::conflict(code, detail))
    }

    pub fn internal(cause: impl std::error::Error + 'static) -> Self {
        Self::Internal {
            unavailable: common::db::is_unavailable(&cause),
            cause: cause.to_string(),
        }
    }
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        Self::Problem(problem)
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        Self::Problem(refusal.into())
    }
}

/// Logged where it failed; an opaque 500, or 503 when the database cannot serve now.
impl From<Unrecorded> for ApiError {
    fn from(unrecorded: Unrecorded) -> Self {
        Self::Problem(unrecorded.into())
    }
}

impl From<TemplateError> for ApiError {
    fn from(error: TemplateError) -> Self {
        match error {
            TemplateError::NotFound(detail) => Self::not_found("TEMPLATE_NOT_FOUND", detail),
            TemplateError::MissingCriteria => Self::invalid(format!("{error}.")),
            TemplateError::CareUnitMismatch { .. } => {
                Self::forbidden("CARE_UNIT_MISMATCH", format!("{error}."))
            }
            TemplateError::Busy(_) => Self::Problem(Problem::new(
                StatusCode::CONFLICT,
                "CONCURRENT_CHANGE",
                format!("{error}."),
            )),
            TemplateError::Store(_) | TemplateError::Compile(_) => Self::internal(error),
        }
    }
}

impl From<FormError> for ApiError {
    fn from(error: FormError) -> Self {
        let detail = format!("{error}.");
        match error {
            FormError::NotFound(_) => Self::not_found("FORM_NOT_FOUND", capitalized(&detail)),
            // Another citizen's form: the very answer of an unknown id (api.md §5).
            FormError::SubjectMismatch(id) => Self::from(FormError::NotFound(id)),
            FormError::TemplateNotFound(_) => {
                Self::not_found("TEMPLATE_NOT_FOUND", capitalized(&detail))
            }
            FormError::SubjectRequired | FormError::SubjectNotAllowed | FormError::Invalid(_) => {
                Self::invalid(detail)
            }
            FormError::Navigation(NavigationError::Completed) => {
                Self::conflict("FORM_COMPLETED", capitalized(&detail))
            }
            FormError::Navigation(_) => Self::Problem(Problem::bad_request(
                "NAVIGATION_NOT_ALLOWED",
                capitalized(&detail),
            )),
            FormError::Save(SaveError::NotReached { .. }) => Self::Problem(Problem::bad_request(
                "PAGE_NOT_REACHED",
                capitalized(&detail),
            )),
            FormError::Save(_) => Self::Problem(Problem::bad_request(
                "ANSWERS_DO_NOT_FIT_PAGE",
                format!("pageAnswers: {detail}"),
            )),
            FormError::IdempotencyKeyReused => Self::conflict(
                "IDEMPOTENCY_KEY_REUSED",
                "The Idempotency-Key was used before for a different request; use a new key for a new request.",
            ),
            FormError::Busy => Self::conflict("CONCURRENT_CHANGE", capitalized(&detail)),
            FormError::Template(inner) => inner.into(),
            FormError::NoResponse(ResponseError::NotCompleted(..)) => {
                Self::conflict("FORM_NOT_COMPLETED", capitalized(&detail))
            }
            FormError::Refused(refusal) => refusal.into(),
            FormError::Unrecorded(unrecorded) => unrecorded.into(),
            FormError::Store(_) | FormError::Compile(_) => Self::internal(error),
        }
    }
}

/// The answer to a failure of the engine's own.
pub fn internal_problem(unavailable: bool) -> Problem {
    if unavailable {
        Problem::database_unavailable()
    } else {
        Problem::internal()
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Problem(problem) => problem.into_response(),
            Self::Internal { cause, unavailable } => {
                tracing::error!(%cause, "request failed");
                internal_problem(unavailable).into_response()
            }
        }
    }
}
