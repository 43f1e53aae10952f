//! Who may call what, and the audit rows of the citizens' data (docs/security.md).
//!
//! | Endpoint | Needs |
//! |---|---|
//! | AddMessageToPatientPortalInbox | `care_system` for the message's care unit |
//! | IsActiveUser | `care_system` for some care unit (the request names none) |
//! | `/admin/...` | `admin` |
//!
//! The citizen's pages are not behind this: citizens sign in there, and the portal calls the
//! form engine as the e-service on their behalf.

use common::audit::{AuditEvent, AuditLog, AuditOutcome};
use common::auth::Caller;
use common::permissions::{ANY_SCOPE, AllowedScopes, Permissions, Role};
use common::problem::Problem;

/// `Ok` when `caller` holds `care_system` for at least one care unit (IsActiveUser names
/// none); else the refusal for care unit `*`, logged and counted as every refusal is.
pub(super) async fn require_some_care_unit(
    permissions: &Permissions,
    caller: &Caller,
) -> Result<(), Problem> {
    match permissions.allowed_scopes(caller, Role::CareSystem).await? {
        AllowedScopes::Only(units) if units.is_empty() => Ok(permissions
            .require(caller, Role::CareSystem, ANY_SCOPE)
            .await?),
        _ => Ok(()),
    }
}

/// Records `event` as refused (with the outcome the refusal stands for), then hands the
/// refusal back.
pub(super) async fn refused(
    audit: &AuditLog,
    event: AuditEvent,
    refusal: impl Into<Problem>,
) -> Problem {
    let refusal = refusal.into();
    let outcome = AuditOutcome::of_problem(&refusal);
    match audit.record(event.outcome(outcome)).await {
        Ok(()) => refusal,
        Err(failure) => failure.into(),
    }
}
