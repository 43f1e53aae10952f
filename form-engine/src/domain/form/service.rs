//! The form contracts as operations: list and read forms, move between pages, save pages,
//! send and cancel (making forms is in `creation`). Every change is written with its
//! engagement-index posts in one transaction, and retried when another engine process
//! changed the same form in between.

use std::sync::Arc;

use chrono::Utc;
use common::audit::{AuditLog, Unrecorded};
use common::auth::Caller;
use common::identity::PersonalIdentityNumber;
use common::permissions::{Permissions, Refusal, Role};
use tokio::sync::Notify;
use uuid::Uuid;

use super::answering::{self, Given, PageSave, SaveError, first_invalid_page};
pub use super::creation::{CitizenStart, FormOrder, Idempotency, ItemOutcome, Started};
use super::engagement::Poster;
use super::model::{Actor, Form, FormStatus};
use super::navigation::{self, Direction, NavigationError};
use super::paging::{decode_token, encode_token};
use super::rules::FormRules;
use crate::domain::access::{Access, Trail};
use crate::domain::fhir::ResponseError;
use crate::domain::template::compiled::{CompileError, CompiledTemplate};
use crate::domain::template::service::{TemplateError, TemplateService};
use crate::store::follow_up::{AlarmKind, NewAlarm};
use crate::store::{FormQuery, FormStore, StoreError};

/// How often a change is tried when other processes change the same form in between.
const ATTEMPTS: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error("there is no form {0}")]
    NotFound(Uuid),
    #[error("there is no template {0}")]
    TemplateNotFound(String),
    /// Answered exactly as [`Self::NotFound`] (api.md §5): nobody learns that the id exists.
    #[error("form {0} belongs to another citizen than subjectOfCare")]
    SubjectMismatch(Uuid),
    #[error("subjectOfCare is mandatory: the form is not anonymous")]
    SubjectRequired,
    #[error("subjectOfCare must be left out: the form is anonymous")]
    SubjectNotAllowed,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Navigation(#[from] NavigationError),
    #[error(transparent)]
    Save(#[from] SaveError),
    #[error("the Idempotency-Key was used before for a different request")]
    IdempotencyKeyReused,
    #[error("the form kept changing while it was being saved; try again")]
    Busy,
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// Refused by a permission check before the form was read, or the grants could not be
    /// read.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The audit log could not be written: nothing is handed out unrecorded.
    #[error(transparent)]
    Unrecorded(#[from] Unrecorded),
    /// Only a sent form has a QuestionnaireResponse.
    #[error(transparent)]
    NoResponse(#[from] ResponseError),
}

/// A form with the template version it is pinned to.
#[derive(Debug, Clone)]
pub struct Viewed {
    pub form: Form,
    pub template: Arc<CompiledTemplate>,
}

/// SaveFormPage's outcome.
#[derive(Debug, Clone)]
pub enum PageSaved {
    /// Saved or checked; `form` is the form as it now is (unchanged when the answers were
    /// refused).
    Done {
        outcome: PageSave,
        form: Box<Form>,
        template: Arc<CompiledTemplate>,
    },
    /// Not allowed now (wrong status, expired): why, and the form as it is.
    Refused(String, Viewed),
}

/// SaveForm's outcome.
#[derive(Debug, Clone)]
pub enum Sent {
    Completed(Viewed),
    Refused(String, Viewed),
}

/// CancelForm's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancelled {
    Deleted,
    /// The form was completed: a request to revoke it is recorded (`first`: just now).
    RevocationRequested {
        first: bool,
    },
}

/// GetForms' criteria.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub query: FormQuery,
    pub page_token: Option<String>,
}

pub struct FormService {
    pub(super) store: Arc<dyn FormStore>,
    pub(super) templates: Arc<TemplateService>,
    pub(super) poster: Poster,
    pub(super) rules: FormRules,
    pub(super) outbox: Arc<Notify>,
}

impl FormService {
    pub fn new(
        store: Arc<dyn FormStore>,
        templates: Arc<TemplateService>,
        poster: Poster,
        rules: FormRules,
        outbox: Arc<Notify>,
    ) -> Self {
        Self {
            store,
            templates,
            poster,
            rules,
            outbox,
        }
    }

    pub fn poster(&self) -> &Poster {
        &self.poster
    }

    /// An anonymous open-mode caller: for tools and tests that use the service directly.
    /// Every permission check passes; accesses are audited as `anonymous`.
    pub fn open_access(&self, action: &'static str) -> Access {
        Access::new(
            Caller::anonymous(),
            &Permissions::with_enforcement(self.store.permission_store(), false),
            &AuditLog::new(self.store.audit_store()),
            action,
        )
    }

    /// GetForm as an anonymous open-mode caller ([`Self::get_as`]).
    pub async fn get(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
    ) -> Result<Viewed, FormError> {
        self.get_as(id, subject, &self.open_access("GetForm")).await
    }

    /// GetFormQuestionPage as an anonymous open-mode caller ([`Self::navigate_as`]).
    pub async fn navigate(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
        page: u32,
        direction: Direction,
    ) -> Result<(u32, Viewed), FormError> {
        let access = self.open_access("GetFormQuestionPage");
        self.navigate_as(id, subject, page, direction, &access)
            .await
    }

    /// SaveFormPage as an anonymous open-mode caller ([`Self::save_page_as`]).
    pub async fn save_page(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
        page: u32,
        given: &[Given],
        temporary: bool,
        actor: Option<Actor>,
    ) -> Result<PageSaved, FormError> {
        let access = self.open_access("SaveFormPage");
        self.save_page_as(id, subject, page, given, temporary, actor, &access)
            .await
    }

    /// SaveForm as an anonymous open-mode caller ([`Self::send_as`]).
    pub async fn send(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
        actor: Option<Actor>,
    ) -> Result<Sent, FormError> {
        self.send_as(id, subject, actor, &self.open_access("SaveForm"))
            .await
    }

    /// CancelForm as an anonymous open-mode caller ([`Self::cancel_as`]).
    pub async fn cancel(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
    ) -> Result<Cancelled, FormError> {
        self.cancel_as(id, subject, &self.open_access("CancelForm"))
            .await
    }

    /// GetForms: newest first, a page at a time.
    pub async fn list(&self, listing: Listing) -> Result<(Vec<Form>, Option<String>), FormError> {
        let mut query = listing.query;
        if query.care_unit.is_none() && query.subject_of_care.is_none() {
            return Err(FormError::Invalid(String::from(
                "give healthcare_facility_CareUnit or subjectOfCare (or both)",
            )));
        }
        if let Some(token) = &listing.page_token {
            query.after = Some(decode_token(token).ok_or_else(|| {
                FormError::Invalid(String::from(
                    "pageToken is not a token this engine gave; start again without it",
                ))
            })?);
        }
        let limit = query.limit;
        query.limit = limit + 1;
        let mut forms = self.store.find_forms(&query).await?;
        let more = forms.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        forms.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next = if more {
            forms.last().map(|f| encode_token(f.created_at, f.id))
        } else {
            None
        };
        Ok((forms, next))
    }

    /// GetForm: for a care system of the form's care unit, or the e-service for the form's
    /// citizen (`access`, audited).
    pub async fn get_as(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
        access: &Access,
    ) -> Result<Viewed, FormError> {
        self.get_with_role(id, subject, access)
            .await
            .map(|(viewed, _)| viewed)
    }

    /// GetForm as [`Self::get_as`], with the role the caller was admitted as (what it may
    /// see of the form: the e-service only the calculations approved for the citizen).
    pub async fn get_with_role(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
        access: &Access,
    ) -> Result<(Viewed, Role), FormError> {
        let mut trail = Trail::default();
        let result = self.get_in(id, subject, access, &mut trail).await;
        access.settle(id, trail, result).await
    }

    async fn get_in(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
        access: &Access,
        trail: &mut Trail,
    ) -> Result<(Viewed, Role), FormError> {
        const ROLES: &[Role] = &[Role::CareSystem, Role::Eservice];
        access.require_some(ROLES).await?;
        let form = self.load(id).await?;
        let role = access.admit(&form, subject, ROLES, trail).await?;
        check_subject(&form, subject, false)?;
        Ok((self.view(form).await?, role))
    }

    async fn view(&self, form: Form) -> Result<Viewed, FormError> {
        let template = self.templates.compiled_for_form(&form.template).await?;
        Ok(Viewed { form, template })
    }

    pub(super) async fn load(&self, id: Uuid) -> Result<Form, FormError> {
        self.store.form(id).await?.ok_or(FormError::NotFound(id))
    }

    /// GetFormQuestionPage: for the e-service, for the form's citizen (`access`, audited).
    /// The page to show, and the form (reopened when it went BACK from the summary).
    pub async fn navigate_as(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
        page: u32,
        direction: Direction,
        access: &Access,
    ) -> Result<(u32, Viewed), FormError> {
        let mut trail = Trail::default();
        let result = self
            .navigate_in(id, subject, page, direction, access, &mut trail)
            .await;
        access.settle(id, trail, result).await
    }

    async fn navigate_in(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
        page: u32,
        direction: Direction,
        access: &Access,
        trail: &mut Trail,
    ) -> Result<(u32, Viewed), FormError> {
        const ROLES: &[Role] = &[Role::Eservice];
        access.require_some(ROLES).await?;
        for _ in 0..ATTEMPTS {
            let form = self.load(id).await?;
            access.admit(&form, subject, ROLES, trail).await?;
            check_subject(&form, subject, true)?;
            let template = self.templates.compiled_for_form(&form.template).await?;
            let (target, mut moved) = navigation::navigate(&form, page, direction, |p| {
                template.next_page(p, &form.answers_through(p)).is_none()
            })?;
            if moved.status == form.status && moved.current_page == form.current_page {
                return Ok((
                    target,
                    Viewed {
                        form: moved,
                        template,
                    },
                ));
            }
            moved.revision += 1;
            match self
                .store
                .update_form_audited(&moved, None, &trail.for_change())
                .await
            {
                Ok(()) => {
                    return Ok((
                        target,
                        Viewed {
                            form: moved,
                            template,
                        },
                    ));
                }
                Err(StoreError::Conflict) => {}
                Err(other) => return Err(other.into()),
            }
        }
        Err(FormError::Busy)
    }

    /// SaveFormPage: for the e-service, for the form's citizen (`access`, audited).
    #[allow(clippy::too_many_arguments)] // the contract's fields, and who asks
    pub async fn save_page_as(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
        page: u32,
        given: &[Given],
        temporary: bool,
        actor: Option<Actor>,
        access: &Access,
    ) -> Result<PageSaved, FormError> {
        let mut trail = Trail::default();
        let result = self
            .save_page_in(
                id, subject, page, given, temporary, actor, access, &mut trail,
            )
            .await;
        access.settle(id, trail, result).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn save_page_in(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
        page: u32,
        given: &[Given],
        temporary: bool,
        actor: Option<Actor>,
        access: &Access,
        trail: &mut Trail,
    ) -> Result<PageSaved, FormError> {
        const ROLES: &[Role] = &[Role::Eservice];
        access.require_some(ROLES).await?;
        for _ in 0..ATTEMPTS {
            let form = self.load(id).await?;
            access.admit(&form, subject, ROLES, trail).await?;
            check_subject(&form, subject, true)?;
            let template = self.templates.compiled_for_form(&form.template).await?;
            if let Some(reason) = refusal_to_answer(&form, &template) {
                return Ok(PageSaved::Refused(reason, Viewed { form, template }));
            }
            let answers = answering::by_question(&template, given)?;
            let outcome = answering::save_page(
                &form,
                &template,
                page,
                &answers,
                temporary,
                Utc::now(),
                actor.clone(),
            )?;
            let changed = match &outcome {
                PageSave::Next { form, .. }
                | PageSave::Complete { form }
                | PageSave::Temporary { form, .. }
                | PageSave::EarlierPageInvalid { form, .. } => form,
                PageSave::Invalid { .. } => {
                    return Ok(PageSaved::Done {
                        outcome,
                        form: Box::new(form),
                        template,
                    });
                }
            };
            let mut changed = changed.clone();
            changed.revision += 1;
            match self
                .store
                .update_form_audited(&changed, None, &trail.for_change())
                .await
            {
                Ok(()) => {
                    tracing::info!(form_id = %id, page, temporary, status = %changed.status, "form page saved");
                    return Ok(PageSaved::Done {
                        outcome: with_revision(outcome, changed.revision),
                        form: Box::new(changed),
                        template,
                    });
                }
                Err(StoreError::Conflict) => {}
                Err(other) => return Err(other.into()),
            }
        }
        Err(FormError::Busy)
    }

    /// SaveForm: a form waiting to be sent becomes COMPLETED and read-only; its FormCreated
    /// post is replaced by a FormComplete post.
    pub async fn send_as(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
        actor: Option<Actor>,
        access: &Access,
    ) -> Result<Sent, FormError> {
        let mut trail = Trail::default();
        let result = self.send_in(id, subject, actor, access, &mut trail).await;
        access.settle(id, trail, result).await
    }

    async fn send_in(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
        actor: Option<Actor>,
        access: &Access,
        trail: &mut Trail,
    ) -> Result<Sent, FormError> {
        const ROLES: &[Role] = &[Role::Eservice];
        access.require_some(ROLES).await?;
        for _ in 0..ATTEMPTS {
            let form = self.load(id).await?;
            access.admit(&form, subject, ROLES, trail).await?;
            check_subject(&form, subject, true)?;
            let template = self.templates.compiled_for_form(&form.template).await?;
            let swedish = template.template().language == "swe";
            let refusal = match form.status {
                FormStatus::Completed => Some(if swedish {
                    "Formuläret är redan skickat."
                } else {
                    "The form has already been sent."
                }),
                FormStatus::Ongoing => Some(if swedish {
                    "Formuläret kan skickas först när alla sidor är besvarade."
                } else {
                    "The form can be sent once every page is answered."
                }),
                FormStatus::PendingCompletion => None,
            };
            if let Some(reason) = refusal {
                return Ok(Sent::Refused(reason.to_owned(), Viewed { form, template }));
            }
            if let Some(reason) = expiry_refusal(&form, &template) {
                return Ok(Sent::Refused(reason, Viewed { form, template }));
            }
            if let Some((page, _)) = first_invalid_page(&form, &template) {
                // Cannot happen for a form that reached PENDING_COMPLETION through
                // SaveFormPage; a last guard that nothing invalid is ever completed.
                return Ok(Sent::Refused(
                    format!("Page {page} needs changes before the form can be sent."),
                    Viewed { form, template },
                ));
            }
            let now = Utc::now();
            let mut completed = form.clone();
            completed.status = FormStatus::Completed;
            completed.completed_at = Some(now);
            // The outcomes sent are the ones on the answers sent.
            completed.evaluate_calculations(&template);
            completed.last_saved_at = Some(now);
            if actor.is_some() {
                completed.progress.actor.clone_from(&actor);
            }
            completed.revision += 1;
            let deliveries = self
                .poster
                .outbox_of(&completed, self.poster.completed(&completed));
            match self
                .store
                .update_form_notifying(&completed, &deliveries, &trail.for_change())
                .await
            {
                Ok(()) => {
                    if !deliveries.is_empty() {
                        self.outbox.notify_one();
                    }
                    tracing::info!(form_id = %id, "form completed");
                    return Ok(Sent::Completed(Viewed {
                        form: completed,
                        template,
                    }));
                }
                Err(StoreError::Conflict) => {}
                Err(other) => return Err(other.into()),
            }
        }
        Err(FormError::Busy)
    }

    /// CancelForm: deletes a form that is not completed (and its post); a completed form
    /// gets a request for revocation recorded.
    pub async fn cancel_as(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
        access: &Access,
    ) -> Result<Cancelled, FormError> {
        let mut trail = Trail::default();
        let result = self.cancel_in(id, subject, access, &mut trail).await;
        access.settle(id, trail, result).await
    }

    async fn cancel_in(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
        access: &Access,
        trail: &mut Trail,
    ) -> Result<Cancelled, FormError> {
        const ROLES: &[Role] = &[Role::CareSystem, Role::Eservice];
        access.require_some(ROLES).await?;
        for _ in 0..ATTEMPTS {
            let form = self.load(id).await?;
            access.admit(&form, subject, ROLES, trail).await?;
            check_subject(&form, subject, false)?;
            let written = if form.status == FormStatus::Completed {
                if form.revocation_requested_at.is_some() {
                    return Ok(Cancelled::RevocationRequested { first: false });
                }
                let now = Utc::now();
                let mut revoked = form.clone();
                revoked.revocation_requested_at = Some(now);
                revoked.revision += 1;
                // The care unit learns of it from its alarm feed (docs/follow-up.md).
                let alarm = NewAlarm::about(&form, AlarmKind::RevocationRequested, now);
                self.store
                    .follow_up()
                    .update_form_raising(&revoked, &[], &trail.for_change(), &alarm)
                    .await
                    .map(|()| Cancelled::RevocationRequested { first: true })
            } else {
                let deliveries = self.poster.outbox_of(&form, self.poster.removed(&form));
                let deleted = self
                    .store
                    .delete_form_notifying(id, form.revision, &deliveries, &trail.for_change())
                    .await;
                if deleted.is_ok() && !deliveries.is_empty() {
                    self.outbox.notify_one();
                }
                deleted.map(|()| Cancelled::Deleted)
            };
            match written {
                Ok(outcome) => {
                    tracing::info!(form_id = %id, outcome = ?outcome, "form cancelled");
                    return Ok(outcome);
                }
                Err(StoreError::Conflict) => {}
                Err(other) => return Err(other.into()),
            }
        }
        Err(FormError::Busy)
    }
}

/// The outcome with its form carrying the revision it was stored with.
fn with_revision(outcome: PageSave, revision: i64) -> PageSave {
    match outcome {
        PageSave::Next { mut form, page } => {
            form.revision = revision;
            PageSave::Next { form, page }
        }
        PageSave::Complete { mut form } => {
            form.revision = revision;
            PageSave::Complete { form }
        }
        PageSave::Temporary { mut form, page } => {
            form.revision = revision;
            PageSave::Temporary { form, page }
        }
        PageSave::EarlierPageInvalid {
            mut form,
            page,
            problems,
        } => {
            form.revision = revision;
            PageSave::EarlierPageInvalid {
                form,
                page,
                problems,
            }
        }
        other @ PageSave::Invalid { .. } => other,
    }
}

/// Why an expired form cannot be answered or sent, in the template's language.
fn expiry_refusal(form: &Form, template: &CompiledTemplate) -> Option<String> {
    if !form.has_expired(common::riv_time::today_in_sweden()) {
        return None;
    }
    let last = form
        .expire_date
        .map(common::riv_time::format_date)
        .unwrap_or_default();
    Some(if template.template().language == "swe" {
        format!(
            "Formuläret har gått ut (sista dag att svara var {last}) och kan inte längre besvaras."
        )
    } else {
        format!(
            "The form has expired (the last day to answer was {last}) and can no longer be answered."
        )
    })
}

/// Why a page of the form cannot be saved now, in the template's language; `None` when it can.
fn refusal_to_answer(form: &Form, template: &CompiledTemplate) -> Option<String> {
    let swedish = template.template().language == "swe";
    if let Some(expired) = expiry_refusal(form, template) {
        return Some(expired);
    }
    match form.status {
        FormStatus::Ongoing => None,
        FormStatus::PendingCompletion => Some(String::from(if swedish {
            "Alla sidor är besvarade och formuläret väntar på att skickas. Gå tillbaka för att ändra svar."
        } else {
            "Every page is answered and the form waits to be sent. Go back to change an answer."
        })),
        FormStatus::Completed => Some(String::from(if swedish {
            "Formuläret är skickat och kan inte ändras."
        } else {
            "The form has been sent and cannot be changed."
        })),
    }
}

/// Calls on behalf of a citizen carry subjectOfCare; a form is shown or changed only for
/// its own citizen. An anonymous form is reached by its id alone. `required`: the call is
/// the citizen's own (answering), not a care system's.
fn check_subject(
    form: &Form,
    given: Option<&PersonalIdentityNumber>,
    required: bool,
) -> Result<(), FormError> {
    match (&form.subject_of_care, given) {
        (None, Some(_)) => Err(FormError::SubjectNotAllowed),
        (Some(owner), Some(given)) if owner != given => {
            tracing::warn!(form_id = %form.id, subject_of_care = %given.masked(),
                "a form was asked for on behalf of another citizen");
            Err(FormError::SubjectMismatch(form.id))
        }
        (Some(_), None) if required => Err(FormError::SubjectRequired),
        _ => Ok(()),
    }
}
