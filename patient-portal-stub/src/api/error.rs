//! Storage failures as the caller sees them: an opaque 500, the cause in the log.

use common::problem::Problem;

use crate::store::StoreError;

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "storage failed");
        Problem::internal()
    }
}
