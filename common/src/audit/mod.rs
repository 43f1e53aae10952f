//! The audit log of patient-data access: one append-only row for every read or write of
//! patient data, saying who (the effective caller, and the gateway that relayed it), as what
//! role, what (contract or action), which patient, which care unit, when, under which
//! correlation id, and with what outcome.
//!
//! The patient's full personal identity number is stored (finding every access to one
//! patient's data is the point of the log) but never logged or used as a metric label:
//! [`AuditEvent`]'s `Debug` masks it. Rows are never changed or removed through this crate: the
//! store has no update or delete, and triggers in the migrations refuse UPDATE and DELETE (and
//! TRUNCATE on PostgreSQL).
//!
//! Storage: `common/migrations/security/{sqlite,postgres}/` (`*_audit.sql` and, on SQLite,
//! `*_security_times_as_text.sql`), applied by each service's migrator ([`crate::schema`]);
//! [`SqlAuditStore`] on either backend, or [`append_sqlite`] /
//! [`append_postgres`] to write the row inside the caller's transaction.

mod admin;
mod group;
mod store;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use admin::{AuditPage, ByPatientQuery, admin_routes};
pub use store::{
    AuditBackend, PgAuditStore, SqlAuditStore, SqliteAuditStore, append, append_all_postgres,
    append_all_sqlite, append_postgres, append_sqlite, bind_postgres_rows, postgres_insert,
};

use crate::auth::{AuthMethod, Caller};
use crate::identity::{HsaId, PersonalIdentityNumber};
use crate::permissions::Role;
use crate::problem::Problem;

/// Most rows one query returns.
pub const MAX_PAGE: i64 = 1000;

/// What came of the access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// Done: the data was read or written.
    Success,
    /// Refused by a permission check (403) or a subject check.
    Refused,
    /// Nothing matched (unknown id).
    NotFound,
    /// Failed after the permission check (validation, conflict, internal error).
    Failed,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Refused => "refused",
            Self::NotFound => "not_found",
            Self::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Self {
        match value {
            "success" => Self::Success,
            "refused" => Self::Refused,
            "not_found" => Self::NotFound,
            _ => Self::Failed,
        }
    }

    /// The outcome a problem answer stands for.
    pub fn of_problem(problem: &Problem) -> Self {
        match problem.status {
            401 | 403 => Self::Refused,
            404 => Self::NotFound,
            _ => Self::Failed,
        }
    }
}

/// One access to record. Build it with [`AuditEvent::new`] and the setters.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// The effective caller's HSA-id, or `anonymous` (open mode).
    pub caller: String,
    /// The gateway that relayed the call on behalf of `caller`.
    pub gateway: Option<String>,
    pub auth_method: AuthMethod,
    /// The role the access was allowed (or refused) as.
    pub role: Option<Role>,
    /// The contract or action: `GetForm`, `FindContent`, `AuditQueryByPatient`...
    pub action: String,
    /// The patient whose data was touched (absent for anonymous forms).
    pub patient: Option<PersonalIdentityNumber>,
    pub care_unit: Option<String>,
    /// The object touched, e.g. a formId (never an identity number).
    pub resource: Option<String>,
    pub correlation_id: Option<String>,
    pub outcome: AuditOutcome,
}

impl AuditEvent {
    /// An event for `caller` doing `action`, with the current request's correlation id.
    pub fn new(caller: &Caller, action: impl Into<String>, outcome: AuditOutcome) -> Self {
        Self {
            caller: caller.name().to_owned(),
            gateway: caller.gateway.as_ref().map(ToString::to_string),
            auth_method: caller.method,
            role: None,
            action: action.into(),
            patient: None,
            care_unit: None,
            resource: None,
            correlation_id: crate::correlation::current().map(|id| id.as_str().to_owned()),
            outcome,
        }
    }

    #[must_use]
    pub fn patient(mut self, patient: &PersonalIdentityNumber) -> Self {
        self.patient = Some(patient.clone());
        self
    }

    #[must_use]
    pub fn care_unit(mut self, care_unit: &HsaId) -> Self {
        self.care_unit = Some(care_unit.to_string());
        self
    }

    #[must_use]
    pub fn role(mut self, role: Role) -> Self {
        self.role = Some(role);
        self
    }

    #[must_use]
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    #[must_use]
    pub fn outcome(mut self, outcome: AuditOutcome) -> Self {
        self.outcome = outcome;
        self
    }
}

/// Masks the patient: an event may end up in a log line through `{:?}`.
impl std::fmt::Debug for AuditEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditEvent")
            .field("caller", &self.caller)
            .field("gateway", &self.gateway)
            .field("auth_method", &self.auth_method)
            .field("role", &self.role)
            .field("action", &self.action)
            .field(
                "patient",
                &self.patient.as_ref().map(PersonalIdentityNumber::masked),
            )
            .field("care_unit", &self.care_unit)
            .field("resource", &self.resource)
            .field("correlation_id", &self.correlation_id)
            .field("outcome", &self.outcome)
            .finish()
    }
}

/// A stored event, as the admin query answers it (with the full identity number: only in a
/// response body, to an admin).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub caller: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    pub auth_method: AuthMethod,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "191212121212")]
    pub patient: Option<PersonalIdentityNumber>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub care_unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    pub outcome: AuditOutcome,
}

/// Whose events a query asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditSubject {
    Patient(PersonalIdentityNumber),
    /// The effective caller (`anonymous` for open-mode calls without an HSA-id).
    Caller(String),
}

/// A page of events of one subject, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditQuery {
    pub subject: AuditSubject,
    /// Events at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Events before this time.
    pub to: Option<DateTime<Utc>>,
    /// Events after this id (the previous page's last id).
    pub after: Option<i64>,
    /// At most this many (clamped to 1..=[`MAX_PAGE`]).
    pub limit: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("a stored audit row is invalid: {0}")]
    Corrupt(String),
    #[error("the audit log's writer has stopped")]
    Stopped,
    /// Written with others whose shared write met a database that cannot serve now.
    #[error("audit log: {0}")]
    Unavailable(#[from] crate::db::Unavailable),
}

/// The audit log could not be written (logged where it failed). Patient data must not be
/// handed out unrecorded: `From<Unrecorded> for Problem` answers an opaque 500 (503
/// `DATABASE_UNAVAILABLE` when the database cannot serve now).
#[derive(Debug, thiserror::Error)]
#[error("the audit log could not be written: {0}")]
pub struct Unrecorded(#[source] pub AuditError);

impl From<Unrecorded> for Problem {
    fn from(unrecorded: Unrecorded) -> Self {
        Problem::fault(&unrecorded)
    }
}

/// The audit log in a service's database: append and query, nothing else.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Appends `event` at `at`; returns its id.
    async fn append(&self, event: &AuditEvent, at: DateTime<Utc>) -> Result<i64, AuditError>;
    /// Appends `events` at `at`, in order (the SQLite and PostgreSQL stores do it in one
    /// statement: a request touching many patients writes one row per patient).
    async fn append_all(&self, events: &[AuditEvent], at: DateTime<Utc>) -> Result<(), AuditError> {
        for event in events {
            self.append(event, at).await?;
        }
        Ok(())
    }
    /// Appends several requests' events, each request's at its own time, in one transaction
    /// (one commit): what the grouped audit log writes. The SQLite and PostgreSQL stores do
    /// so in one statement (one round trip whatever the group's size); this default writes
    /// them one request at a time.
    async fn append_groups(
        &self,
        groups: &[(&[AuditEvent], DateTime<Utc>)],
    ) -> Result<(), AuditError> {
        for (events, at) in groups {
            self.append_all(events, *at).await?;
        }
        Ok(())
    }
    async fn query(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, AuditError>;
}

/// The audit log handlers write to; cheap to clone. Put it in the service's state (with
/// `FromRef`) for the admin routes.
#[derive(Clone)]
pub struct AuditLog {
    store: Arc<dyn AuditStore>,
    /// Present when concurrent requests' rows share commits ([`Self::grouped`]).
    group: Option<group::GroupCommit>,
}

impl AuditLog {
    /// Each request's rows written in a transaction of their own.
    pub fn new(store: Arc<dyn AuditStore>) -> Self {
        Self { store, group: None }
    }

    /// Rows of requests arriving together written in one transaction and one flush, each
    /// request answered once its rows are durable (`group.rs`). Must be called inside the
    /// Tokio runtime: it starts the writer. A write not answered within `limit` is given up
    /// and its requests answered unavailable (`database.response_timeout_secs`).
    pub fn grouped(store: Arc<dyn AuditStore>, limit: crate::db::ResponseTimeout) -> Self {
        let group = Some(group::GroupCommit::start(&store, limit));
        Self { store, group }
    }

    async fn write(&self, events: Vec<AuditEvent>) -> Result<(), AuditError> {
        let at = Utc::now();
        match &self.group {
            Some(group) => group.append(events, at).await,
            None => self.store.append_all(&events, at).await,
        }
    }

    pub fn store(&self) -> &Arc<dyn AuditStore> {
        &self.store
    }

    /// Appends `event`. A failure is logged (without the patient): [`Unrecorded`].
    pub async fn record(&self, event: AuditEvent) -> Result<(), Unrecorded> {
        let (action, caller) = (event.action.clone(), event.caller.clone());
        match self.write(vec![event]).await {
            Ok(()) => Ok(()),
            Err(error) => {
                tracing::error!(%error, %action, %caller, "cannot write the audit log");
                Err(Unrecorded(error))
            }
        }
    }

    /// Appends `events` (one per patient of a request), as [`Self::record`] does one.
    pub async fn record_all(&self, events: &[AuditEvent]) -> Result<(), Unrecorded> {
        if events.is_empty() {
            return Ok(());
        }
        match self.write(events.to_vec()).await {
            Ok(()) => Ok(()),
            Err(error) => {
                tracing::error!(%error, action = %events[0].action, caller = %events[0].caller, events = events.len(), "cannot write the audit log");
                Err(Unrecorded(error))
            }
        }
    }

    pub async fn query(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, AuditError> {
        self.store.query(query).await
    }
}

fn clamp_limit(limit: i64) -> i64 {
    limit.clamp(1, MAX_PAGE)
}

fn parse_role(value: Option<String>) -> Result<Option<Role>, AuditError> {
    value
        .map(|v| Role::parse(&v).ok_or_else(|| AuditError::Corrupt(format!("role `{v}`"))))
        .transpose()
}

fn parse_method(value: &str) -> Result<AuthMethod, AuditError> {
    AuthMethod::parse(value).ok_or_else(|| AuditError::Corrupt(format!("auth method `{value}`")))
}

fn parse_patient(value: Option<String>) -> Result<Option<PersonalIdentityNumber>, AuditError> {
    value
        .map(|v| {
            PersonalIdentityNumber::try_from(v)
                .map_err(|_| AuditError::Corrupt(String::from("a patient identity number")))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_the_patient() {
        let pin = PersonalIdentityNumber::parse("191212121212").unwrap();
        let event =
            AuditEvent::new(&Caller::anonymous(), "GetForm", AuditOutcome::Success).patient(&pin);
        let shown = format!("{event:?}");
        assert!(shown.contains("19121212****"), "{shown}");
        assert!(!shown.contains("191212121212"), "{shown}");
    }

    #[test]
    fn problems_map_to_outcomes() {
        assert_eq!(
            AuditOutcome::of_problem(&Problem::forbidden("X", "y")),
            AuditOutcome::Refused
        );
        assert_eq!(
            AuditOutcome::of_problem(&Problem::not_found("X", "y")),
            AuditOutcome::NotFound
        );
        assert_eq!(
            AuditOutcome::of_problem(&Problem::internal()),
            AuditOutcome::Failed
        );
        for outcome in [
            AuditOutcome::Success,
            AuditOutcome::Refused,
            AuditOutcome::NotFound,
            AuditOutcome::Failed,
        ] {
            assert_eq!(AuditOutcome::parse(outcome.as_str()), outcome);
        }
    }
}
