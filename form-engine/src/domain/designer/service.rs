//! The designer's operations on a care unit's templates: the list, drafts (kept with their
//! findings even while they have errors), and the lifecycle through the template service
//! (the same checks, versioning and status rules as SaveFormTemplate and DeleteFormTemplate).
//! Every change is audited with the staff member and the care unit.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use common::audit::{AuditEvent, AuditLog, AuditOutcome};
use common::auth::{AuthMethod, Caller};
use common::identity::HsaId;

use super::staff::StaffMember;
use crate::domain::template::finding::Finding;
use crate::domain::template::service::{
    DeleteOutcome, SaveOutcome, TemplateError, TemplateService,
};
use crate::domain::template::{FormTemplate, PublishStatus, TemplateKey, check, normalize};
use crate::store::designer::{DraftStore, StoredDraft};
use crate::store::{FormQuery, FormStore, StoreError, TemplateQuery};

/// How many forms of a template are counted in the list.
const COUNTED_FORMS: u32 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum DesignerError {
    /// Unknown, or of a care unit the member does not work for: the same answer, so a
    /// template of another unit cannot be told from one that does not exist.
    #[error("there is no such template")]
    NotFound,
    #[error("only a publisher may do this")]
    NotPublisher,
    #[error("template id `{0}` is taken; choose another")]
    IdTaken(String),
    #[error("a template id is 1 to 64 letters, digits, '-', '_' or '.'")]
    InvalidId,
    /// The version is not a draft (Unpublished) any more, or not in the state the action
    /// needs; the text says what it is.
    #[error("{0}")]
    WrongStatus(String),
    /// The template service refused: every finding.
    #[error("the template has errors")]
    Refused(Vec<Finding>),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Someone else saved the draft since the editor's page was loaded; nothing was saved.
    #[error("{0} saved the draft meanwhile")]
    Conflict(String),
    #[error("the change could not be audited, so it was not made: {0}")]
    Audit(String),
}

/// One version of a template in the list.
#[derive(Clone, Debug)]
pub struct VersionSummary {
    pub version: u32,
    pub status: PublishStatus,
    pub form_name: String,
    /// Who changed it last (name), when known.
    pub changed_by: Option<String>,
    pub changed_at: Option<DateTime<Utc>>,
    /// Forms made from this version.
    pub forms: usize,
    /// A draft the engine has not stored yet (it still has errors).
    pub only_draft: bool,
}

/// A template id with its versions, newest first.
#[derive(Clone, Debug)]
pub struct TemplateSummary {
    pub template_id: String,
    pub versions: Vec<VersionSummary>,
}

impl TemplateSummary {
    pub fn newest(&self) -> &VersionSummary {
        &self.versions[0]
    }
}

/// What the list shows: text in the id or name, and a status.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub search: Option<String>,
    pub status: Option<PublishStatus>,
}

/// A draft as saved: the checks' findings and its new revision.
#[derive(Clone, Debug)]
pub struct SavedDraft {
    pub findings: Vec<Finding>,
    pub revision: String,
}

/// A version opened in the designer.
#[derive(Clone, Debug)]
pub struct Opened {
    pub template: FormTemplate,
    pub status: PublishStatus,
    /// Whether it can be edited (an Unpublished draft).
    pub editable: bool,
    /// The checks' findings on the template as it is now.
    pub findings: Vec<Finding>,
    pub changed_by: Option<String>,
    pub changed_at: Option<DateTime<Utc>>,
    /// Names the draft's last save; a save that started from an older one is refused
    /// ([`DesignerError::Conflict`]).
    pub revision: Option<String>,
}

/// The revision token of a draft saved at `at`.
fn revision_of(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Now, to the microsecond both databases keep, so a revision reads back as it was made.
fn now() -> DateTime<Utc> {
    use chrono::Timelike as _;
    let now = Utc::now();
    now.with_nanosecond(now.nanosecond() / 1000 * 1000)
        .unwrap_or(now)
}

pub struct DesignerService {
    templates: Arc<TemplateService>,
    store: Arc<dyn FormStore>,
    drafts: Arc<dyn DraftStore>,
    audit: AuditLog,
}

/// The findings of the engine's checks on `template` as it would be saved.
pub fn findings_of(template: &FormTemplate) -> Vec<Finding> {
    let mut normalized = template.clone();
    normalize::fill_in(&mut normalized);
    check::check(&normalized)
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl DesignerService {
    pub fn new(
        templates: Arc<TemplateService>,
        store: Arc<dyn FormStore>,
        audit: AuditLog,
    ) -> Self {
        Self {
            templates,
            drafts: store.designer_drafts(),
            store,
            audit,
        }
    }

    fn allowed(member: &StaffMember, care_unit: &HsaId) -> Result<(), DesignerError> {
        if member.works_for(care_unit) {
            Ok(())
        } else {
            Err(DesignerError::NotFound)
        }
    }

    async fn audit(
        &self,
        member: &StaffMember,
        care_unit: &HsaId,
        action: &str,
        resource: &TemplateKey,
        outcome: AuditOutcome,
    ) -> Result<(), DesignerError> {
        let caller = Caller {
            hsa_id: Some(member.hsa_id.clone()),
            method: AuthMethod::Open,
            gateway: None,
        };
        let event = AuditEvent::new(&caller, action, outcome)
            .care_unit(care_unit)
            .resource(resource.to_string());
        self.audit
            .record(event)
            .await
            .map_err(|e| DesignerError::Audit(e.to_string()))
    }

    /// The care unit's templates matching `filter`, by template id.
    pub async fn list(
        &self,
        member: &StaffMember,
        care_unit: &HsaId,
        filter: &ListFilter,
    ) -> Result<Vec<TemplateSummary>, DesignerError> {
        Self::allowed(member, care_unit)?;
        let unit = care_unit.to_string();
        let stored = self
            .store
            .find_templates(&TemplateQuery {
                care_unit: Some(unit.clone()),
                ..TemplateQuery::default()
            })
            .await?;
        let drafts = self.drafts.drafts_of(&unit).await?;
        let forms = self
            .store
            .find_forms(&FormQuery {
                care_unit: Some(unit.clone()),
                include_expired: true,
                limit: COUNTED_FORMS,
                ..FormQuery::default()
            })
            .await?;
        let mut counts: BTreeMap<(String, u32), usize> = BTreeMap::new();
        for form in forms {
            *counts
                .entry((form.template.template_id, form.template.template_version))
                .or_default() += 1;
        }
        let mut by_id: BTreeMap<String, BTreeMap<u32, VersionSummary>> = BTreeMap::new();
        for s in stored {
            let t = &s.template;
            let key = (t.template_id.clone(), t.version());
            by_id.entry(t.template_id.clone()).or_default().insert(
                t.version(),
                VersionSummary {
                    version: t.version(),
                    status: t.publish_status,
                    form_name: t.form_name.clone(),
                    changed_by: None,
                    changed_at: Some(s.updated_at),
                    forms: counts.get(&key).copied().unwrap_or(0),
                    only_draft: false,
                },
            );
        }
        for d in drafts {
            let versions = by_id.entry(d.template.template_id.clone()).or_default();
            match versions.get_mut(&d.template.version()) {
                Some(summary) => {
                    if summary.status == PublishStatus::Unpublished {
                        summary.form_name.clone_from(&d.template.form_name);
                    }
                    if summary.changed_at.is_none_or(|at| at <= d.changed_at) {
                        summary.changed_at = Some(d.changed_at);
                    }
                    summary.changed_by = Some(d.changed_by_name.clone());
                }
                None => {
                    versions.insert(
                        d.template.version(),
                        VersionSummary {
                            version: d.template.version(),
                            status: PublishStatus::Unpublished,
                            form_name: d.template.form_name.clone(),
                            changed_by: Some(d.changed_by_name.clone()),
                            changed_at: Some(d.changed_at),
                            forms: 0,
                            only_draft: true,
                        },
                    );
                }
            }
        }
        let search = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        Ok(by_id
            .into_iter()
            .filter(|(_, versions)| !versions.is_empty())
            .map(|(template_id, versions)| TemplateSummary {
                template_id,
                versions: versions.into_values().rev().collect(),
            })
            .filter(|summary| {
                search.as_ref().is_none_or(|s| {
                    summary.template_id.to_lowercase().contains(s)
                        || summary
                            .versions
                            .iter()
                            .any(|v| v.form_name.to_lowercase().contains(s))
                })
            })
            .filter(|summary| {
                filter
                    .status
                    .is_none_or(|status| summary.versions.iter().any(|v| v.status == status))
            })
            .collect())
    }

    /// A new template: version 1, an empty draft with one page.
    pub async fn create(
        &self,
        member: &StaffMember,
        care_unit: &HsaId,
        template_id: &str,
        form_name: &str,
    ) -> Result<TemplateKey, DesignerError> {
        Self::allowed(member, care_unit)?;
        let template_id = template_id.trim();
        if !valid_id(template_id) {
            return Err(DesignerError::InvalidId);
        }
        let key = TemplateKey {
            template_id: template_id.to_owned(),
            template_version: 1,
        };
        let taken = !self.store.template_versions(template_id).await?.is_empty()
            || self.drafts.draft(&key).await?.is_some();
        if taken {
            return Err(DesignerError::IdTaken(template_id.to_owned()));
        }
        let mut template = super::blank(template_id, form_name, care_unit.clone());
        template.template_version = Some(1);
        super::edit::apply(&mut template, &super::edit::EditAction::AddPage)
            .expect("adding a page always works");
        self.audit(
            member,
            care_unit,
            "DesignerCreateTemplate",
            &key,
            AuditOutcome::Success,
        )
        .await?;
        self.keep(member, template).await?;
        Ok(key)
    }

    /// A version of the care unit's: its draft when it is one, else the stored template.
    pub async fn open(
        &self,
        member: &StaffMember,
        care_unit: &HsaId,
        key: &TemplateKey,
    ) -> Result<Opened, DesignerError> {
        Self::allowed(member, care_unit)?;
        let stored = self
            .store
            .template(key)
            .await?
            .filter(|s| s.deleted_at.is_none());
        let draft = self.drafts.draft(key).await?;
        let (template, status, changed_at) = match (&stored, &draft) {
            (Some(s), Some(d)) if s.status() == PublishStatus::Unpublished => {
                (d.template.clone(), s.status(), Some(d.changed_at))
            }
            (Some(s), _) => (s.template.clone(), s.status(), Some(s.updated_at)),
            (None, Some(d)) => (
                d.template.clone(),
                PublishStatus::Unpublished,
                Some(d.changed_at),
            ),
            (None, None) => return Err(DesignerError::NotFound),
        };
        if &template.health_care_facility_unit != care_unit {
            return Err(DesignerError::NotFound);
        }
        let findings = findings_of(&template);
        Ok(Opened {
            template,
            status,
            editable: status == PublishStatus::Unpublished,
            findings,
            revision: draft.as_ref().map(|d| revision_of(d.changed_at)),
            changed_by: draft.map(|d| d.changed_by_name),
            changed_at,
        })
    }

    /// Saves an edited draft: kept as it is, and stored by the template service too when
    /// the checks find no error (so the care system's contracts see it). `expected` is the
    /// revision the edit started from, when known: a draft saved since by someone else is not
    /// overwritten ([`DesignerError::Conflict`]).
    pub async fn save(
        &self,
        member: &StaffMember,
        care_unit: &HsaId,
        key: &TemplateKey,
        mut template: FormTemplate,
        expected: Option<&str>,
    ) -> Result<SavedDraft, DesignerError> {
        let opened = self.open(member, care_unit, key).await?;
        if !opened.editable {
            return Err(DesignerError::WrongStatus(format!(
                "{key} is {}; only an Unpublished draft can be changed",
                opened.status
            )));
        }
        if let (Some(expected), Some(current)) = (expected, &opened.revision)
            && expected != current
        {
            self.audit(
                member,
                care_unit,
                "DesignerSaveDraft",
                key,
                AuditOutcome::Refused,
            )
            .await?;
            return Err(DesignerError::Conflict(
                opened.changed_by.unwrap_or_default(),
            ));
        }
        // What identifies the version is not the designer's to change here.
        template.template_id.clone_from(&key.template_id);
        template.template_version = Some(key.template_version);
        template.health_care_facility_unit = care_unit.clone();
        template.publish_status = PublishStatus::Unpublished;
        self.audit(
            member,
            care_unit,
            "DesignerSaveDraft",
            key,
            AuditOutcome::Success,
        )
        .await?;
        self.keep(member, template).await
    }

    /// Keeps the draft and, without errors, stores it through the template service.
    async fn keep(
        &self,
        member: &StaffMember,
        template: FormTemplate,
    ) -> Result<SavedDraft, DesignerError> {
        let findings = findings_of(&template);
        let changed_at = now();
        self.drafts
            .put_draft(&StoredDraft {
                template: template.clone(),
                changed_by: member.hsa_id.to_string(),
                changed_by_name: member.name.clone(),
                changed_at,
            })
            .await?;
        let revision = revision_of(changed_at);
        if findings.iter().any(Finding::is_error) {
            return Ok(SavedDraft { findings, revision });
        }
        let findings = match self.templates.save(template).await? {
            SaveOutcome::Saved { warnings, .. } | SaveOutcome::Unchanged { warnings, .. } => {
                warnings
            }
            SaveOutcome::Refused(all) => all,
        };
        Ok(SavedDraft { findings, revision })
    }

    /// Moves the version to `to` through the template service.
    async fn transition(
        &self,
        member: &StaffMember,
        care_unit: &HsaId,
        key: &TemplateKey,
        from: &[PublishStatus],
        to: PublishStatus,
        action: &str,
    ) -> Result<(), DesignerError> {
        let opened = self.open(member, care_unit, key).await?;
        if !from.contains(&opened.status) {
            return Err(DesignerError::WrongStatus(format!(
                "{key} is {}; it cannot become {to} here",
                opened.status
            )));
        }
        if opened.findings.iter().any(Finding::is_error) {
            self.audit(member, care_unit, action, key, AuditOutcome::Refused)
                .await?;
            return Err(DesignerError::Refused(opened.findings));
        }
        let mut template = opened.template;
        template.publish_status = to;
        match self.templates.save(template.clone()).await? {
            SaveOutcome::Refused(findings) => {
                self.audit(member, care_unit, action, key, AuditOutcome::Refused)
                    .await?;
                Err(DesignerError::Refused(findings))
            }
            SaveOutcome::Saved { .. } | SaveOutcome::Unchanged { .. } => {
                self.audit(member, care_unit, action, key, AuditOutcome::Success)
                    .await?;
                self.note_change(member, template).await?;
                Ok(())
            }
        }
    }

    /// Records who made the last change of a version.
    async fn note_change(
        &self,
        member: &StaffMember,
        template: FormTemplate,
    ) -> Result<(), DesignerError> {
        self.drafts
            .put_draft(&StoredDraft {
                template,
                changed_by: member.hsa_id.to_string(),
                changed_by_name: member.name.clone(),
                changed_at: now(),
            })
            .await?;
        Ok(())
    }

    /// Submits a draft without errors for review (Pending).
    pub async fn submit(
        &self,
        member: &StaffMember,
        care_unit: &HsaId,
        key: &TemplateKey,
    ) -> Result<(), DesignerError> {
        let from = [PublishStatus::Unpublished];
        self.transition(
            member,
            care_unit,
            key,
            &from,
            PublishStatus::Pending,
            "DesignerSubmitForReview",
        )
        .await
    }

    /// Sends a version under review back to draft.
    pub async fn return_to_draft(
        &self,
        member: &StaffMember,
        care_unit: &HsaId,
        key: &TemplateKey,
    ) -> Result<(), DesignerError> {
        let from = [PublishStatus::Pending];
        self.transition(
            member,
            care_unit,
            key,
            &from,
            PublishStatus::Unpublished,
            "DesignerReturnToDraft",
        )
        .await
    }

    /// Publishes a reviewed version (publishers only).
    pub async fn publish(
        &self,
        member: &StaffMember,
        care_unit: &HsaId,
        key: &TemplateKey,
    ) -> Result<(), DesignerError> {
        self.publisher(member, care_unit, key, "DesignerPublish")
            .await?;
        let from = [PublishStatus::Pending];
        self.transition(
            member,
            care_unit,
            key,
            &from,
            PublishStatus::Published,
            "DesignerPublish",
        )
        .await
    }

    /// Archives a published version (publishers only).
    pub async fn archive(
        &self,
        member: &StaffMember,
        care_unit: &HsaId,
        key: &TemplateKey,
    ) -> Result<(), DesignerError> {
        self.publisher(member, care_unit, key, "DesignerArchive")
            .await?;
        let from = [PublishStatus::Published];
        self.transition(
            member,
            care_unit,
            key,
            &from,
            PublishStatus::Archived,
            "DesignerArchive",
        )
        .await
    }

    async fn publisher(
        &self,
        member: &StaffMember,
        care_unit: &HsaId,
        key: &TemplateKey,
        action: &str,
    ) -> Result<(), DesignerError> {
        Self::allowed(member, care_unit)?;
        if member.may_publish() {
            return Ok(());
        }
        self.audit(member, care_unit, action, key, AuditOutcome::Refused)
            .await?;
        Err(DesignerError::NotPublisher)
    }

    /// Deletes an archived version no unfinished form uses (publishers only).
    pub async fn delete(
        &self,
        member: &StaffMember,
        care_unit: &HsaId,
        key: &TemplateKey,
    ) -> Result<(), DesignerError> {
        self.publisher(member, care_unit, key, "DesignerDelete")
            .await?;
        self.open(member, care_unit, key).await?;
        match self.templates.delete(key, care_unit).await {
            Ok(DeleteOutcome::Deleted) => {
                self.audit(
                    member,
                    care_unit,
                    "DesignerDelete",
                    key,
                    AuditOutcome::Success,
                )
                .await?;
                self.drafts.remove_draft(key).await?;
                Ok(())
            }
            Ok(DeleteOutcome::Refused(text)) => {
                self.audit(
                    member,
                    care_unit,
                    "DesignerDelete",
                    key,
                    AuditOutcome::Refused,
                )
                .await?;
                Err(DesignerError::WrongStatus(text))
            }
            Err(TemplateError::NotFound(_)) => {
                // A draft the engine never stored (it had errors): only the draft goes.
                let draft = self
                    .drafts
                    .draft(key)
                    .await?
                    .ok_or(DesignerError::NotFound)?;
                if draft.template.publish_status != PublishStatus::Unpublished {
                    return Err(DesignerError::NotFound);
                }
                self.audit(
                    member,
                    care_unit,
                    "DesignerDelete",
                    key,
                    AuditOutcome::Success,
                )
                .await?;
                self.drafts.remove_draft(key).await?;
                Ok(())
            }
            Err(other) => Err(other.into()),
        }
    }

    /// A new draft version from a published (or archived) one, which stays as it is.
    pub async fn new_version(
        &self,
        member: &StaffMember,
        care_unit: &HsaId,
        key: &TemplateKey,
    ) -> Result<TemplateKey, DesignerError> {
        let opened = self.open(member, care_unit, key).await?;
        if !matches!(
            opened.status,
            PublishStatus::Published | PublishStatus::Archived
        ) {
            return Err(DesignerError::WrongStatus(format!(
                "{key} is {}; a new version is made from a Published one",
                opened.status
            )));
        }
        let stored = self.store.template_versions(&key.template_id).await?;
        let drafts = self.drafts.drafts_of(care_unit.as_str()).await?;
        let next = stored
            .iter()
            .map(|h| h.template_version)
            .chain(
                drafts
                    .iter()
                    .filter(|d| d.template.template_id == key.template_id)
                    .map(|d| d.template.version()),
            )
            .max()
            .unwrap_or(0)
            + 1;
        let new_key = TemplateKey {
            template_id: key.template_id.clone(),
            template_version: next,
        };
        let mut template = opened.template;
        template.template_version = Some(next);
        template.publish_status = PublishStatus::Unpublished;
        template.min_number_of_pages = None;
        template.max_number_of_pages = None;
        template.min_number_of_question = None;
        template.max_number_of_question = None;
        self.audit(
            member,
            care_unit,
            "DesignerNewVersion",
            &new_key,
            AuditOutcome::Success,
        )
        .await?;
        self.keep(member, template).await?;
        Ok(new_key)
    }
}
