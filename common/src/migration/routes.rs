//! How a service serves its migration endpoints: the same wiring in every service, only the
//! handlers differ.

use axum::Router;
use axum::extract::FromRef;
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::Authenticator;
use crate::problem::Problem;

/// A service's migration endpoints, before they are given their state.
pub struct MigrationRoutes<S> {
    /// The batches and the digest: they authenticate their caller themselves (by the migration
    /// key, or for the digest by the key or as an admin), as the key is no bearer token.
    pub migration: OpenApiRouter<S>,
    /// The admin export, served behind the service's authenticator.
    pub export: OpenApiRouter<S>,
}

impl<S> MigrationRoutes<S>
where
    S: Clone + Send + Sync + 'static,
    Authenticator: FromRef<S>,
{
    /// The routes, the export behind the state's authenticator, and their document.
    pub fn into_router(self, state: S) -> (Router, OpenApiDocument) {
        let authenticator = Authenticator::from_ref(&state);
        let (migration, mut document) = self.migration.with_state(state.clone()).split_for_parts();
        let (export, export_document) = self.export.with_state(state).split_for_parts();
        document.merge(export_document);
        (migration.merge(authenticator.protect(export)), document)
    }

    /// The routes' document, for `/openapi.json`.
    pub fn into_openapi(self) -> OpenApiDocument {
        let mut document = self.migration.split_for_parts().1;
        document.merge(self.export.split_for_parts().1);
        document
    }
}

/// The problem for a failure that is no fault of the client's (a store that cannot be
/// reached, say); the cause is logged, not answered.
pub fn internal(error: &(impl std::error::Error + 'static)) -> Problem {
    tracing::error!(%error, "the migration failed");
    Problem::fault(error)
}
