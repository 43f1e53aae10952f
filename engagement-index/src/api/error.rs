//! The one error type of the engagement index contracts at the edge: validation failures are
//! 400 problem documents with their EI code; refusals (401, 403) are problem documents as the
//! permission check made them; a database that cannot serve now is 503 `DATABASE_UNAVAILABLE`;
//! anything else is an opaque 500 whose cause goes to the log.

use axum::response::{IntoResponse, Response};
use common::audit::Unrecorded;
use common::permissions::Refusal;
use common::problem::Problem;

use crate::domain::ValidationError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Refused (or the audit log failed): already the answer to give.
    #[error("{}", .0.detail)]
    Refused(Problem),
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        Self::Refused(problem)
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal.into())
    }
}

impl From<Unrecorded> for ApiError {
    fn from(unrecorded: Unrecorded) -> Self {
        Self::Refused(unrecorded.into())
    }
}

/// The problem document of a refused Update or ProcessNotification (also what a refused
/// migration record carries).
pub(super) fn validation_problem(error: &ValidationError) -> Problem {
    Problem::bad_request(error.code(), error.to_string())
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Invalid(error) => {
                tracing::info!(code = error.code(), "request refused");
                validation_problem(&error).into_response()
            }
            Self::Refused(problem) => problem.into_response(),
            Self::Store(StoreError::Contention(attempts)) => {
                tracing::warn!(
                    attempts,
                    "concurrent requests kept changing the same engagements"
                );
                Problem::unavailable(
                    "CONTENTION",
                    "Concurrent requests changed the same engagements; nothing was stored. Retry.",
                )
                .into_response()
            }
            Self::Store(error) => {
                // Store errors never carry request values, so no identity number is logged.
                tracing::error!(%error, "engagement store failed");
                Problem::fault(&error).into_response()
            }
        }
    }
}
