//! Who may call what, and the audit rows of patient data (docs/security.md).
//!
//! | Contract | Role | Scope |
//! |---|---|---|
//! | Update | `source_system` | every transaction's sourceSystem |
//! | ProcessNotification | `source_system` | every transaction's owner (the index that recorded the post) |
//! | FindContent, GetUpdates | `reader` | the request's serviceDomain |
//! | `/admin/...` | `admin` | `*` |
//! | the pull point | the subscriber itself (caller = logicalAddress), or `admin` | |
//!
//! Every read and write of engagements is audited with one row per patient (and service
//! domain) of the request: inside the store transaction for Update and ProcessNotification,
//! after the read for the others. Refused attempts are audited too.

use std::collections::BTreeSet;

use common::audit::{AuditEvent, AuditLog, AuditOutcome};
use common::auth::Caller;
use common::identity::PersonalIdentityNumber;
use common::permissions::{Permissions, Refusal, Role};
use common::problem::Problem;

use crate::domain::{Engagement, ValidTransaction};

/// The audit rows of an access to these patients: one per distinct (patient, resource), in
/// the order they first appear. The resource is the serviceDomain for the contracts, the
/// subscriber for the notification queues.
pub(super) fn patient_events<'a>(
    caller: &Caller,
    action: &str,
    role: Option<Role>,
    outcome: AuditOutcome,
    touched: impl IntoIterator<Item = (&'a PersonalIdentityNumber, &'a str)>,
) -> Vec<AuditEvent> {
    let mut seen = BTreeSet::new();
    let mut events = Vec::new();
    for (patient, domain) in touched {
        if seen.insert((patient.as_str(), domain)) {
            let mut event = AuditEvent::new(caller, action, outcome)
                .patient(patient)
                .resource(domain);
            event.role = role;
            events.push(event);
        }
    }
    events
}

/// The patients and domains of validated transactions.
pub(super) fn of_transactions<'a>(
    transactions: impl IntoIterator<Item = &'a ValidTransaction>,
) -> impl Iterator<Item = (&'a PersonalIdentityNumber, &'a str)> {
    transactions.into_iter().map(|t| {
        (
            &t.key.registered_resident_identification,
            t.key.service_domain.as_str(),
        )
    })
}

/// The patients and domains of engagements.
pub(super) fn of_engagements<'a>(
    engagements: impl IntoIterator<Item = &'a Engagement>,
) -> impl Iterator<Item = (&'a PersonalIdentityNumber, &'a str)> {
    engagements.into_iter().map(|e| {
        (
            &e.key.registered_resident_identification,
            e.key.service_domain.as_str(),
        )
    })
}

/// `Ok` when `caller` holds `role` for every one of `scopes` (one lookup of its grants);
/// else the 403 of the first scope it lacks, logged.
pub(super) async fn require_every(
    permissions: &Permissions,
    caller: &Caller,
    role: Role,
    scopes: &BTreeSet<&str>,
) -> Result<(), Problem> {
    let allowed = permissions.allowed_scopes(caller, role).await?;
    for scope in scopes {
        if !allowed.contains(scope) {
            // Refuses (and logs and counts) as every other check does.
            permissions.require(caller, role, scope).await?;
        }
    }
    Ok(())
}

/// Records a refusal of an access to these patients, then hands the refusal back.
pub(super) async fn refused(
    audit: &AuditLog,
    events: Vec<AuditEvent>,
    refusal: impl Into<Problem>,
) -> Problem {
    let refusal = refusal.into();
    let outcome = AuditOutcome::of_problem(&refusal);
    let events: Vec<AuditEvent> = events.into_iter().map(|e| e.outcome(outcome)).collect();
    match audit.record_all(&events).await {
        Ok(()) => refusal,
        Err(failure) => failure.into(),
    }
}

/// `/admin/...`: the caller must hold `admin`.
pub(super) async fn require_admin(
    permissions: &Permissions,
    caller: &Caller,
) -> Result<(), Problem> {
    Ok(permissions.require_admin(caller).await?)
}

/// The pull point: a subscriber fetches its own notifications; an admin may fetch anyone's.
/// Returns the role the access was allowed as (`None`: as the subscriber itself).
pub(super) async fn require_subscriber_or_admin(
    permissions: &Permissions,
    caller: &Caller,
    logical_address: &str,
) -> Result<Option<Role>, Problem> {
    if !permissions.is_enforced() {
        return Ok(None);
    }
    if caller
        .hsa_id
        .as_ref()
        .is_some_and(|id| id.as_str() == logical_address)
    {
        return Ok(None);
    }
    match permissions.require_admin(caller).await {
        Ok(()) => Ok(Some(Role::Admin)),
        Err(Refusal::Forbidden { .. }) => {
            let logical_address = shown(logical_address);
            tracing::warn!(
                caller = %caller,
                subscriber = %logical_address,
                "refused: only the subscriber itself or an admin may fetch its notifications"
            );
            Err(Problem::forbidden(
                "FORBIDDEN_SUBSCRIBER",
                format!(
                    "The caller {} may not fetch the notifications of {logical_address}: only the \
                     subscriber itself or an admin may.",
                    caller.name()
                ),
            ))
        }
        Err(other) => Err(other.into()),
    }
}

/// A value from a URL as it may appear in a log or a problem: masked should it be an identity
/// number.
fn shown(value: &str) -> String {
    if common::identity::is_personal_identity_number(value) {
        common::identity::mask(value)
    } else {
        value.chars().take(64).collect()
    }
}

/// The patients and domains of notification payloads (`{"engagementTransaction": [...]}`).
pub(super) fn of_payloads<'a>(
    payloads: impl IntoIterator<Item = &'a serde_json::Value>,
) -> Vec<(PersonalIdentityNumber, String)> {
    payloads
        .into_iter()
        .filter_map(|payload| payload.get("engagementTransaction")?.as_array())
        .flatten()
        .filter_map(|transaction| {
            let engagement = transaction.get("engagement")?;
            let patient = engagement
                .get("registeredResidentIdentification")?
                .as_str()
                .and_then(|v| PersonalIdentityNumber::parse(v).ok())?;
            let domain = engagement.get("serviceDomain")?.as_str()?.to_owned();
            Some((patient, domain))
        })
        .collect()
}
