//! The one error of the contracts and admin endpoints: a problem document the edge already
//! decided on (validation, permissions, audit), or a domain failure, mapped here to its
//! problem document. A storage failure is an opaque 500 (503 `DATABASE_UNAVAILABLE` when the
//! database cannot serve now) with its cause logged here, once.

use axum::response::{IntoResponse, Response};
use common::audit::Unrecorded;
use common::permissions::Refusal;
use common::problem::Problem;

use crate::domain::PortalError;

pub enum ApiError {
    Problem(Problem),
    Portal(PortalError),
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

impl From<Unrecorded> for ApiError {
    fn from(unrecorded: Unrecorded) -> Self {
        Self::Problem(unrecorded.into())
    }
}

impl From<PortalError> for ApiError {
    fn from(error: PortalError) -> Self {
        Self::Portal(error)
    }
}

impl ApiError {
    fn problem(self) -> Problem {
        match self {
            Self::Problem(problem) => problem,
            Self::Portal(PortalError::CitizenNotFound) => citizen_not_found(),
            Self::Portal(PortalError::CitizenExists) => Problem::conflict(
                "CITIZEN_EXISTS",
                "A test citizen has this personal identity number; change it with PUT /admin/citizens/{citizenId}.",
            ),
            Self::Portal(PortalError::PersonalIdentityNumberFixed) => Problem::conflict(
                "PERSONAL_IDENTITY_NUMBER_FIXED",
                "A test citizen's personal identity number cannot change; delete the citizen and create a new one.",
            ),
            Self::Portal(PortalError::Store(error)) => {
                tracing::error!(%error, "storage failed");
                Problem::fault(&error)
            }
        }
    }
}

/// What an unknown citizen, or a path id that names none, answers.
pub fn citizen_not_found() -> Problem {
    Problem::not_found("CITIZEN_NOT_FOUND", "No test citizen has this citizenId.")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.problem().into_response()
    }
}
