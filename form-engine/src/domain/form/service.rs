//! The form contracts as operations: request and start forms, list and read them, move
//! between pages, save pages, send and cancel. Every change is written with its
//! engagement-index posts in one transaction, and retried when another engine process
//! changed the same form in between.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use common::identity::{HsaId, PersonalIdentityNumber};
use serde_json::Value;
use tokio::sync::Notify;
use uuid::Uuid;

use super::answering::{self, Given, PageSave, SaveError, first_invalid_page};
use super::engagement::{self, Poster};
use super::model::{Actor, Form, FormStatus, Origin, Progress};
use super::navigation::{self, Direction, NavigationError};
use super::paging::{decode_token, encode_token};
use crate::config::FormsConfig;
use crate::domain::template::PublishStatus;
use crate::domain::template::compiled::{CompileError, CompiledTemplate};
use crate::domain::template::service::{TemplateError, TemplateService};
use crate::store::{
    Created, FormQuery, FormStore, IdempotentAnswer, NewForms, StoreError, TemplateKey,
};

/// How often a change is tried when other processes change the same form in between.
const ATTEMPTS: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error("there is no form {0}")]
    NotFound(Uuid),
    #[error("there is no template {0}")]
    TemplateNotFound(String),
    #[error("the form belongs to another citizen than subjectOfCare")]
    SubjectMismatch,
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
}

/// A request made with an `Idempotency-Key`.
#[derive(Debug, Clone)]
pub struct Idempotency {
    /// The contract and the caller.
    pub scope: String,
    pub key: String,
    /// The request body, to tell a retry from a different request with the same key.
    pub request: Value,
}

/// One validated item of CreateFormRequest.
#[derive(Debug, Clone)]
pub struct FormOrder {
    pub care_unit: HsaId,
    pub care_unit_name: Option<String>,
    pub care_giver: Option<HsaId>,
    pub med_unit: Option<HsaId>,
    pub system_id: Option<HsaId>,
    pub subject_of_care: Option<PersonalIdentityNumber>,
    pub template_id: String,
    pub template_version: Option<u32>,
    pub clinical_process_interest_id: Option<String>,
    pub form_text: Option<String>,
    pub expire_date: Option<NaiveDate>,
    pub keep_until: Option<NaiveDate>,
}

/// What became of one item of CreateFormRequest.
#[derive(Debug, Clone)]
pub enum ItemOutcome {
    Created(Box<Form>),
    Refused(String),
}

/// CreateForm's request.
#[derive(Debug, Clone)]
pub struct CitizenStart {
    pub care_unit: HsaId,
    pub clinical_process_interest_id: Option<String>,
    pub subject_of_care: Option<PersonalIdentityNumber>,
    pub template_id: String,
    pub template_version: Option<u32>,
    pub actor: Option<Actor>,
}

/// CreateForm's outcome.
#[derive(Debug, Clone)]
pub enum Started {
    Created(Box<Form>, Arc<CompiledTemplate>),
    Refused(String),
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
    store: Arc<dyn FormStore>,
    templates: Arc<TemplateService>,
    poster: Poster,
    rules: FormsConfig,
    outbox: Arc<Notify>,
}

impl FormService {
    pub fn new(
        store: Arc<dyn FormStore>,
        templates: Arc<TemplateService>,
        poster: Poster,
        rules: FormsConfig,
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

    /// CreateFormRequest: creates the forms of the items that can be served; the others are
    /// refused with a reason. `render` makes the response, kept for retries with the same key.
    pub async fn request_forms(
        &self,
        orders: Vec<Result<FormOrder, String>>,
        idempotency: Option<Idempotency>,
        render: impl Fn(&[ItemOutcome]) -> Value,
    ) -> Result<Value, FormError> {
        if let Some(earlier) = self.earlier_answer(idempotency.as_ref()).await? {
            return Ok(earlier);
        }
        let today = common::riv_time::today_in_sweden();
        let now = Utc::now();
        let mut resolved = HashMap::new();
        let mut outcomes = Vec::with_capacity(orders.len());
        let mut forms = Vec::new();
        for order in orders {
            let outcome = match order {
                Err(reason) => ItemOutcome::Refused(reason),
                Ok(order) => match self.plan(order, today, now, &mut resolved).await? {
                    Ok(form) => {
                        forms.push(form.clone());
                        ItemOutcome::Created(Box::new(form))
                    }
                    Err(reason) => ItemOutcome::Refused(reason),
                },
            };
            outcomes.push(outcome);
        }
        let response = render(&outcomes);
        let transactions = forms.iter().flat_map(|f| self.poster.created(f)).collect();
        let new = NewForms {
            delivery: engagement::update(transactions),
            forms,
            idempotency: idempotency.map(|i| IdempotentAnswer {
                scope: i.scope,
                key: i.key,
                request: i.request,
                response: response.clone(),
            }),
        };
        self.store_new(&new, response).await
    }

    /// CreateForm: a citizen starts a form from a Published template.
    pub async fn start(
        &self,
        start: CitizenStart,
        idempotency: Option<Idempotency>,
        render: impl Fn(&Started) -> Value,
    ) -> Result<Value, FormError> {
        if let Some(earlier) = self.earlier_answer(idempotency.as_ref()).await? {
            return Ok(earlier);
        }
        let template = match self
            .resolve(&start.template_id, start.template_version)
            .await?
        {
            Resolved::Found(template) => template,
            Resolved::Unknown => return Err(FormError::TemplateNotFound(start.template_id)),
            Resolved::Refused(reason) => {
                return Ok(render(&Started::Refused(reason)));
            }
        };
        let info = template.template();
        match (info.anonymous_form, &start.subject_of_care) {
            (true, Some(_)) => return Err(FormError::SubjectNotAllowed),
            (false, None) => return Err(FormError::SubjectRequired),
            _ => {}
        }
        if let Err(reason) = may_use(&template, &start.care_unit) {
            return Ok(render(&Started::Refused(reason)));
        }
        let now = Utc::now();
        let today = common::riv_time::today_in_sweden();
        let days = |n: Option<u32>| {
            n.and_then(|n| today.checked_add_days(chrono::Days::new(u64::from(n))))
        };
        let mut form = new_form(
            &template,
            FormOrder {
                care_unit: start.care_unit,
                care_unit_name: None,
                care_giver: None,
                med_unit: None,
                system_id: None,
                subject_of_care: start.subject_of_care,
                template_id: start.template_id,
                template_version: start.template_version,
                clinical_process_interest_id: start.clinical_process_interest_id,
                form_text: None,
                expire_date: days(self.rules.citizen_expire_days),
                keep_until: days(self.rules.citizen_keep_days),
            },
            Origin::Citizen,
            now,
        );
        form.progress.actor = start.actor;
        let started = Started::Created(Box::new(form.clone()), Arc::clone(&template));
        let response = render(&started);
        let new = NewForms {
            delivery: engagement::update(self.poster.created(&form)),
            forms: vec![form],
            idempotency: idempotency.map(|i| IdempotentAnswer {
                scope: i.scope,
                key: i.key,
                request: i.request,
                response: response.clone(),
            }),
        };
        self.store_new(&new, response).await
    }

    async fn earlier_answer(
        &self,
        idempotency: Option<&Idempotency>,
    ) -> Result<Option<Value>, FormError> {
        let Some(idempotency) = idempotency else {
            return Ok(None);
        };
        match self
            .store
            .idempotent_answer(&idempotency.scope, &idempotency.key)
            .await?
        {
            Some(earlier) if earlier.request == idempotency.request => Ok(Some(earlier.response)),
            Some(_) => Err(FormError::IdempotencyKeyReused),
            None => Ok(None),
        }
    }

    async fn store_new(&self, new: &NewForms, response: Value) -> Result<Value, FormError> {
        match self.store.create_forms(new).await? {
            Created::Stored => {
                if new.delivery.is_some() {
                    self.outbox.notify_one();
                }
                for form in &new.forms {
                    tracing::info!(form_id = %form.id, template_id = %form.template.template_id,
                        template_version = form.template.template_version, origin = form.origin.as_str(),
                        "form created");
                }
                Ok(response)
            }
            Created::AlreadyAnswered { request, response } => {
                let asked = new.idempotency.as_ref().map(|i| &i.request);
                if asked == Some(&request) {
                    Ok(response)
                } else {
                    Err(FormError::IdempotencyKeyReused)
                }
            }
        }
    }

    /// The form an item asks for, or why it cannot be made.
    async fn plan(
        &self,
        order: FormOrder,
        today: NaiveDate,
        now: DateTime<Utc>,
        resolved: &mut HashMap<(String, Option<u32>), Resolved>,
    ) -> Result<Result<Form, String>, FormError> {
        let wanted = (order.template_id.clone(), order.template_version);
        if !resolved.contains_key(&wanted) {
            let found = self
                .resolve(&order.template_id, order.template_version)
                .await?;
            resolved.insert(wanted.clone(), found);
        }
        let template = match &resolved[&wanted] {
            Resolved::Found(template) => Arc::clone(template),
            Resolved::Unknown => {
                return Ok(Err(format!("there is no template {}", order.template_id)));
            }
            Resolved::Refused(reason) => return Ok(Err(reason.clone())),
        };
        let info = template.template();
        match (info.anonymous_form, &order.subject_of_care) {
            (true, Some(_)) => {
                return Ok(Err(format!(
                    "subjectOfCare must be left out: template {} is anonymous",
                    info.template_id
                )));
            }
            (false, None) => {
                return Ok(Err(format!(
                    "subjectOfCare is mandatory: template {} is not anonymous",
                    info.template_id
                )));
            }
            _ => {}
        }
        if let Err(reason) = may_use(&template, &order.care_unit) {
            return Ok(Err(reason));
        }
        let Some(expire) = order.expire_date else {
            return Ok(Err(String::from(
                "expireDate is missing: give the last day the patient can answer (YYYYMMDD)",
            )));
        };
        if expire < today {
            return Ok(Err(format!(
                "expireDate {} has passed",
                common::riv_time::format_date(expire)
            )));
        }
        if let Some(keep) = order.keep_until
            && keep < expire
        {
            return Ok(Err(format!(
                "keepUntil {} is before expireDate {}: the form would be deleted while it can still be answered",
                common::riv_time::format_date(keep),
                common::riv_time::format_date(expire)
            )));
        }
        Ok(Ok(new_form(&template, order, Origin::Request, now)))
    }

    /// The template version a new form is made from: the one named, or the newest Published.
    async fn resolve(
        &self,
        template_id: &str,
        version: Option<u32>,
    ) -> Result<Resolved, FormError> {
        let heads = self.store.template_versions(template_id).await?;
        let live: Vec<_> = heads.iter().filter(|h| !h.deleted).collect();
        if live.is_empty() {
            return Ok(Resolved::Unknown);
        }
        let head = match version {
            Some(version) => match live.iter().find(|h| h.template_version == version) {
                Some(head) => *head,
                None => {
                    return Ok(Resolved::Refused(format!(
                        "template {template_id} has no version {version}"
                    )));
                }
            },
            None => match live
                .iter()
                .rev()
                .find(|h| h.publish_status == PublishStatus::Published)
            {
                Some(head) => *head,
                None => {
                    return Ok(Resolved::Refused(format!(
                        "template {template_id} has no Published version"
                    )));
                }
            },
        };
        if head.publish_status != PublishStatus::Published {
            return Ok(Resolved::Refused(format!(
                "version {} of template {template_id} is {}; forms can only be made from a Published version",
                head.template_version, head.publish_status
            )));
        }
        let key = TemplateKey {
            template_id: template_id.to_owned(),
            template_version: head.template_version,
        };
        Ok(Resolved::Found(
            self.templates.compiled_for_form(&key).await?,
        ))
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

    /// GetForm.
    pub async fn get(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
    ) -> Result<Viewed, FormError> {
        let form = self.load(id).await?;
        check_subject(&form, subject, false)?;
        self.view(form).await
    }

    async fn view(&self, form: Form) -> Result<Viewed, FormError> {
        let template = self.templates.compiled_for_form(&form.template).await?;
        Ok(Viewed { form, template })
    }

    async fn load(&self, id: Uuid) -> Result<Form, FormError> {
        self.store.form(id).await?.ok_or(FormError::NotFound(id))
    }

    /// GetFormQuestionPage.
    pub async fn navigate(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
        page: u32,
        direction: Direction,
    ) -> Result<Viewed, FormError> {
        for _ in 0..ATTEMPTS {
            let form = self.load(id).await?;
            check_subject(&form, subject, true)?;
            let template = self.templates.compiled_for_form(&form.template).await?;
            let (_, mut moved) = navigation::navigate(&form, page, direction, |p| {
                template.next_page(p, &form.answers_through(p)).is_none()
            })?;
            if moved.status == form.status && moved.current_page == form.current_page {
                return Ok(Viewed {
                    form: moved,
                    template,
                });
            }
            moved.revision += 1;
            match self.store.update_form(&moved, None).await {
                Ok(()) => {
                    return Ok(Viewed {
                        form: moved,
                        template,
                    });
                }
                Err(StoreError::Conflict) => {}
                Err(other) => return Err(other.into()),
            }
        }
        Err(FormError::Busy)
    }

    /// SaveFormPage.
    pub async fn save_page(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
        page: u32,
        given: &[Given],
        temporary: bool,
        actor: Option<Actor>,
    ) -> Result<PageSaved, FormError> {
        for _ in 0..ATTEMPTS {
            let form = self.load(id).await?;
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
            match self.store.update_form(&changed, None).await {
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
    pub async fn send(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
        actor: Option<Actor>,
    ) -> Result<Sent, FormError> {
        for _ in 0..ATTEMPTS {
            let form = self.load(id).await?;
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
            completed.last_saved_at = Some(now);
            if actor.is_some() {
                completed.progress.actor.clone_from(&actor);
            }
            completed.revision += 1;
            let delivery = engagement::update(self.poster.completed(&completed));
            match self.store.update_form(&completed, delivery.as_ref()).await {
                Ok(()) => {
                    if delivery.is_some() {
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
    pub async fn cancel(
        &self,
        id: Uuid,
        subject: Option<&PersonalIdentityNumber>,
    ) -> Result<Cancelled, FormError> {
        for _ in 0..ATTEMPTS {
            let form = self.load(id).await?;
            check_subject(&form, subject, false)?;
            let written = if form.status == FormStatus::Completed {
                if form.revocation_requested_at.is_some() {
                    return Ok(Cancelled::RevocationRequested { first: false });
                }
                let mut revoked = form.clone();
                revoked.revocation_requested_at = Some(Utc::now());
                revoked.revision += 1;
                self.store
                    .update_form(&revoked, None)
                    .await
                    .map(|()| Cancelled::RevocationRequested { first: true })
            } else {
                let delivery = engagement::update(self.poster.removed(&form));
                let deleted = self
                    .store
                    .delete_form(id, form.revision, delivery.as_ref())
                    .await;
                if deleted.is_ok() && delivery.is_some() {
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
            Err(FormError::SubjectMismatch)
        }
        (Some(_), None) if required => Err(FormError::SubjectRequired),
        _ => Ok(()),
    }
}

/// Whether `care_unit` may make forms from `template`: its own, or one it shares.
fn may_use(template: &CompiledTemplate, care_unit: &HsaId) -> Result<(), String> {
    let info = template.template();
    let shared = info.template_propagate.iter().any(|p| p.propagate);
    if &info.health_care_facility_unit == care_unit || shared {
        Ok(())
    } else {
        Err(format!(
            "template {} belongs to care unit {} and is not shared with {care_unit}",
            info.template_id, info.health_care_facility_unit
        ))
    }
}

/// How a template id and version resolved.
#[derive(Debug, Clone)]
enum Resolved {
    Found(Arc<CompiledTemplate>),
    Unknown,
    Refused(String),
}

fn new_form(
    template: &CompiledTemplate,
    order: FormOrder,
    origin: Origin,
    now: DateTime<Utc>,
) -> Form {
    let info = template.template();
    let first = template.first_page().unwrap_or(1);
    Form {
        id: Uuid::new_v4(),
        status: FormStatus::Ongoing,
        subject_of_care: order.subject_of_care,
        care_unit: order.care_unit,
        care_unit_name: order.care_unit_name,
        care_giver: order.care_giver,
        med_unit: order.med_unit,
        system_id: order.system_id,
        template: TemplateKey {
            template_id: info.template_id.clone(),
            template_version: info.version(),
        },
        form_name: info.form_name.clone(),
        clinical_process_interest_id: order.clinical_process_interest_id,
        form_text: order.form_text,
        expire_date: order.expire_date,
        keep_until: order.keep_until,
        origin,
        created_at: now,
        last_saved_at: None,
        completed_at: None,
        expired_at: None,
        revocation_requested_at: None,
        current_page: Some(first),
        progress: Progress {
            path: vec![first],
            ..Progress::default()
        },
        revision: 1,
    }
}
