//! The one error type of the HTTP edge: every failure becomes a problem document; a failure
//! that is not the caller's is logged with its cause and answered with an opaque 500.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::problem::Problem;

use crate::domain::template::service::TemplateError;

#[derive(Debug)]
pub enum ApiError {
    /// The caller's problem: shown as is.
    Problem(Problem),
    /// Ours: logged, answered with an opaque 500.
    Internal(String),
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

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        Self::Problem(problem)
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Problem(problem) => problem.into_response(),
            Self::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                Problem::internal().into_response()
            }
        }
    }
}
