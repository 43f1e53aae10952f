//! Making forms: CreateFormRequest (a care system asks patients to answer) and CreateForm
//! (a citizen starts one), each pinned to a Published template version, stored with its
//! FormCreated post and, with an Idempotency-Key, with its answer for retries.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use common::audit::AuditOutcome;
use common::identity::{HsaId, PersonalIdentityNumber};
use common::permissions::Role;
use serde_json::Value;
use uuid::Uuid;

use super::model::{Actor, Form, FormStatus, Origin, Progress};
use super::service::{FormError, FormService};
use crate::domain::access::Access;
use crate::domain::template::PublishStatus;
use crate::domain::template::TemplateKey;
use crate::domain::template::compiled::CompiledTemplate;
use crate::store::{Created, IdempotentAnswer, NewForms};

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
    /// reminderDaysBefore (an extension): days before expireDate the citizen is reminded;
    /// None = the template's policy (docs/follow-up.md).
    pub reminder_days_before: Option<Vec<u32>>,
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

impl FormService {
    /// CreateFormRequest as an anonymous open-mode caller ([`Self::request_forms_as`]).
    pub async fn request_forms(
        &self,
        orders: Vec<Result<FormOrder, String>>,
        idempotency: Option<Idempotency>,
        render: impl Fn(&[ItemOutcome]) -> Value,
    ) -> Result<Value, FormError> {
        let access = self.open_access("CreateFormRequest");
        self.request_forms_as(orders, idempotency, render, &access)
            .await
    }

    /// CreateForm as an anonymous open-mode caller ([`Self::start_as`]).
    pub async fn start(
        &self,
        start: CitizenStart,
        idempotency: Option<Idempotency>,
        render: impl Fn(&Started) -> Value,
    ) -> Result<Value, FormError> {
        let access = self.open_access("CreateForm");
        self.start_as(start, idempotency, render, &access).await
    }

    /// CreateFormRequest: creates the forms of the items that can be served; the others are
    /// refused with a reason. `render` makes the response, kept for retries with the same key.
    /// The created forms are audited, as made by a care system, in their transaction.
    pub async fn request_forms_as(
        &self,
        orders: Vec<Result<FormOrder, String>>,
        idempotency: Option<Idempotency>,
        render: impl Fn(&[ItemOutcome]) -> Value,
        access: &Access,
    ) -> Result<Value, FormError> {
        if let Some(earlier) = self.earlier_answer(idempotency.as_ref()).await? {
            return Ok(earlier);
        }
        let today = common::riv_time::today_in_sweden();
        let now = Utc::now();
        let mut resolved = HashMap::new();
        let mut outcomes = Vec::with_capacity(orders.len());
        let mut forms = Vec::new();
        let mut reminder_days = Vec::new();
        for order in orders {
            let outcome = match order {
                Err(reason) => ItemOutcome::Refused(reason),
                Ok(order) => match self.plan(order.clone(), today, now, &mut resolved).await? {
                    Ok(form) => {
                        if let Some(days) = order.reminder_days_before {
                            reminder_days.push((form.id, days));
                        }
                        forms.push(form.clone());
                        ItemOutcome::Created(Box::new(form))
                    }
                    Err(reason) => ItemOutcome::Refused(reason),
                },
            };
            outcomes.push(outcome);
        }
        let response = render(&outcomes);
        let changes: Vec<_> = forms.iter().map(|f| (f, self.poster.created(f))).collect();
        let new = NewForms {
            deliveries: self.poster.outbox(&changes),
            forms,
            idempotency: idempotency.map(|i| IdempotentAnswer {
                scope: i.scope,
                key: i.key,
                request: i.request,
                response: response.clone(),
            }),
            reminder_days,
        };
        self.store_new(&new, response, access, Role::CareSystem)
            .await
    }

    /// CreateForm: a citizen starts a form from a Published template. The form is audited,
    /// as made by the e-service, in its transaction.
    pub async fn start_as(
        &self,
        start: CitizenStart,
        idempotency: Option<Idempotency>,
        render: impl Fn(&Started) -> Value,
        access: &Access,
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
                reminder_days_before: None,
            },
            Origin::Citizen,
            now,
        );
        form.progress.actor = start.actor;
        let started = Started::Created(Box::new(form.clone()), Arc::clone(&template));
        let response = render(&started);
        let new = NewForms {
            deliveries: self.poster.outbox_of(&form, self.poster.created(&form)),
            forms: vec![form],
            idempotency: idempotency.map(|i| IdempotentAnswer {
                scope: i.scope,
                key: i.key,
                request: i.request,
                response: response.clone(),
            }),
            reminder_days: Vec::new(),
        };
        self.store_new(&new, response, access, Role::Eservice).await
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

    async fn store_new(
        &self,
        new: &NewForms,
        response: Value,
        access: &Access,
        role: Role,
    ) -> Result<Value, FormError> {
        let audit: Vec<_> = new
            .forms
            .iter()
            .map(|form| access.form_event(form, role, AuditOutcome::Success))
            .collect();
        match self.store.create_forms_audited(new, &audit).await? {
            Created::Stored => {
                if !new.deliveries.is_empty() {
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

/// A form's id: a UUIDv7 of its creation time, so that on PostgreSQL it falls in the month
/// partition of that time (`common::partitions`) and ids sort by creation.
fn time_ordered_id(now: DateTime<Utc>) -> Uuid {
    let seconds = u64::try_from(now.timestamp()).unwrap_or(0);
    Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        seconds,
        now.timestamp_subsec_nanos(),
    ))
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
        id: time_ordered_id(now),
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
