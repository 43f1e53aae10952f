//! Who may reach a form, and the audit rows of every access (docs/security.md).
//!
//! | Contract | Roles | Scope |
//! |---|---|---|
//! | SaveFormTemplate, GetFormTemplate, DeleteFormTemplate, CreateFormRequest | `care_system` | the care unit of the template or request |
//! | GetFormTemplates, CreateForm | `eservice` | the care unit of the request |
//! | GetForms, GetForm, CancelForm | `care_system`, or `eservice` with `subjectOfCare` | the form's care unit |
//! | GetFormQuestionPage, SaveFormPage, SaveForm | `eservice` with `subjectOfCare` | the form's care unit |
//! | `/admin/...` | `admin` | `*` |
//!
//! A form is visible only to callers who may reach its care unit, and to the e-service only
//! for its own subject: any other form answers exactly like an unknown one (404
//! `FORM_NOT_FOUND`), so nobody learns which ids exist. A caller without any grant of the
//! contract's roles is refused before anything is read (403 with the role's code).
//!
//! Every access to a form is audited: a change in the transaction that makes it, a read
//! before the answer leaves, a refusal or a failure after the fact.

use common::audit::{AuditEvent, AuditLog, AuditOutcome};
use common::auth::Caller;
use common::identity::PersonalIdentityNumber;
use common::permissions::{ANY_SCOPE, AllowedScopes, Permissions, Refusal, Role};
use uuid::Uuid;

use crate::domain::form::model::Form;
use crate::domain::form::service::FormError;

/// One request's caller, the checks it needs and the audit log its accesses go to. Cheap to
/// clone.
#[derive(Clone)]
pub struct Access {
    caller: Caller,
    permissions: Permissions,
    audit: AuditLog,
    action: &'static str,
}

/// What became of the form a request named, for its audit row.
#[derive(Debug, Default)]
pub struct Trail {
    /// The row of the admitted (or hidden) access; its outcome is set when it is recorded.
    event: Option<AuditEvent>,
    /// The form was hidden from the caller (answered as unknown).
    hidden: bool,
    /// The row was written with the change.
    written: bool,
}

impl Trail {
    /// The row to write with a change (marks it written): one element, or none in a trail
    /// without an admitted access.
    pub fn for_change(&mut self) -> Vec<AuditEvent> {
        self.written = self.event.is_some();
        self.event.iter().cloned().collect()
    }
}

impl Access {
    pub fn new(
        caller: Caller,
        permissions: &Permissions,
        audit: &AuditLog,
        action: &'static str,
    ) -> Self {
        Self {
            caller,
            permissions: permissions.clone(),
            audit: audit.clone(),
            action,
        }
    }

    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    pub fn permissions(&self) -> &Permissions {
        &self.permissions
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub fn action(&self) -> &'static str {
        self.action
    }

    /// An audit row of this request's action.
    pub fn event(&self, outcome: AuditOutcome) -> AuditEvent {
        AuditEvent::new(&self.caller, self.action, outcome)
    }

    /// The audit row of an access to `form` as `role`.
    pub fn form_event(&self, form: &Form, role: Role, outcome: AuditOutcome) -> AuditEvent {
        let event = self
            .event(outcome)
            .role(role)
            .care_unit(&form.care_unit)
            .resource(form.id.to_string());
        match &form.subject_of_care {
            Some(subject) => event.patient(subject),
            None => event,
        }
    }

    /// Before anything is read: the caller holds one of `roles` for some scope; else refused
    /// as the first role (logged). Says nothing about which forms exist.
    pub async fn require_some(&self, roles: &[Role]) -> Result<(), Refusal> {
        for role in roles {
            match self.permissions.allowed_scopes(&self.caller, *role).await? {
                AllowedScopes::Only(scopes) if scopes.is_empty() => {}
                _ => return Ok(()),
            }
        }
        let first = *roles.first().expect("at least one role");
        self.permissions
            .require(&self.caller, first, ANY_SCOPE)
            .await
    }

    async fn granted(&self, role: Role, scope: &str) -> Result<bool, Refusal> {
        if !self.permissions.is_enforced() {
            return Ok(true);
        }
        let Some(hsa_id) = &self.caller.hsa_id else {
            return Ok(false);
        };
        self.permissions
            .store()
            .is_granted(hsa_id, role, scope)
            .await
            .map_err(|error| {
                tracing::error!(%error, "the permission check failed");
                Refusal::Unavailable(error)
            })
    }

    /// Whether the caller may reach `form` acting as one of `roles`, `subject` being the
    /// citizen it acts for (`subjectOfCare`). `Ok(role)` when it may; else the form is hidden:
    /// [`FormError::NotFound`], as for an unknown id, and `trail` remembers the refusal.
    ///
    /// In open mode every form is admitted (the service's own subject check still applies).
    pub async fn admit(
        &self,
        form: &Form,
        subject: Option<&PersonalIdentityNumber>,
        roles: &[Role],
        trail: &mut Trail,
    ) -> Result<Role, FormError> {
        let role = self.decide(form, subject, roles).await?;
        // A new attempt: nothing of it is written yet.
        trail.written = false;
        if let Some(role) = role {
            trail.event = Some(self.form_event(form, role, AuditOutcome::Success));
            trail.hidden = false;
            return Ok(role);
        }
        // The role the refused access was asked as: the e-service's when it named a citizen.
        let asked_as = if subject.is_some() && roles.contains(&Role::Eservice) {
            Role::Eservice
        } else {
            *roles.first().expect("at least one role")
        };
        tracing::warn!(
            caller = %self.caller,
            action = self.action,
            form_id = %form.id,
            "a form was asked for that is not the caller's to see; answered as unknown"
        );
        trail.event = Some(self.form_event(form, asked_as, AuditOutcome::Refused));
        trail.hidden = true;
        Err(FormError::NotFound(form.id))
    }

    async fn decide(
        &self,
        form: &Form,
        subject: Option<&PersonalIdentityNumber>,
        roles: &[Role],
    ) -> Result<Option<Role>, Refusal> {
        let unit = form.care_unit.as_str();
        if !self.permissions.is_enforced() {
            let role = if subject.is_some() && roles.contains(&Role::Eservice) {
                Role::Eservice
            } else {
                roles[0]
            };
            return Ok(Some(role));
        }
        if roles.contains(&Role::Eservice) && self.granted(Role::Eservice, unit).await? {
            let own = match (&form.subject_of_care, subject) {
                // The citizen's own form (an anonymous form is reached by its id alone; the
                // service refuses a subjectOfCare given for one).
                (Some(owner), Some(given)) => owner == given,
                (None, _) => true,
                // The e-service acts for a citizen: without one it sees no citizen's form.
                (Some(_), None) => false,
            };
            if own {
                return Ok(Some(Role::Eservice));
            }
        }
        if roles.contains(&Role::CareSystem) && self.granted(Role::CareSystem, unit).await? {
            return Ok(Some(Role::CareSystem));
        }
        Ok(None)
    }

    /// Records how a request about form `id` ended, unless its row went with the change:
    /// success or failure of an admitted access, a hidden form as refused, an unknown id as
    /// not found. A failure to write the audit log replaces the answer (500): nothing is
    /// handed out unrecorded.
    pub async fn settle<T>(
        &self,
        id: Uuid,
        trail: Trail,
        result: Result<T, FormError>,
    ) -> Result<T, FormError> {
        if trail.written && result.is_ok() {
            return result;
        }
        // A database that cannot serve now cannot take the audit row either, and trying would
        // wait out the pool a second time. Nothing was handed out; the log has the failure.
        if let Err(error) = &result
            && common::db::is_unavailable(error)
        {
            return result;
        }
        let event = match (&result, trail.event) {
            (_, Some(event)) if trail.hidden => event,
            (Ok(_), Some(event)) => event.outcome(AuditOutcome::Success),
            (Err(error), Some(event)) => event.outcome(outcome_of(error)),
            (Err(FormError::NotFound(_)), None) => {
                self.event(AuditOutcome::NotFound).resource(id.to_string())
            }
            // Refused before the form was read, or failed before it: nothing of a patient.
            (Err(FormError::Refused(_) | FormError::Unrecorded(_)), None) => {
                self.event(AuditOutcome::Refused).resource(id.to_string())
            }
            (_, None) => return result,
        };
        self.audit.record(event).await?;
        result
    }
}

/// The outcome an error after admission stands for.
fn outcome_of(error: &FormError) -> AuditOutcome {
    match error {
        FormError::NotFound(_) => AuditOutcome::NotFound,
        FormError::SubjectMismatch(_) | FormError::Refused(_) | FormError::Unrecorded(_) => {
            AuditOutcome::Refused
        }
        _ => AuditOutcome::Failed,
    }
}
