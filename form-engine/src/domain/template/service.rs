//! The template contracts as operations: save (check, version, store, compile), look up,
//! list for a citizen, delete, and the compiled schemas of a version.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::Utc;
use common::identity::{HsaId, PersonalIdentityNumber};

use super::TemplateKey;
use super::cache::SchemaCache;
use super::compiled::{CompileError, CompiledTemplate};
use super::finding::Finding;
use super::info::FormTemplateInfo;
use super::lifecycle::{self, SaveDecision};
use super::model::{FormTemplate, PublishStatus};
use super::{check, normalize};
use crate::store::{FormQuery, FormStore, StoreError, StoredTemplate, TemplateQuery};

/// How often a save or delete is tried when other processes change the same template between
/// the read and the write.
const ATTEMPTS: usize = 20;

async fn conflict_pause() {
    use rand::Rng as _;
    let millis = rand::rng().random_range(1..=20);
    tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{0}")]
    NotFound(String),
    #[error("give healthcare_facility_CareUnit or templateId (or both)")]
    MissingCriteria,
    #[error("template {key} belongs to care unit {owner}, not {given}")]
    CareUnitMismatch {
        key: TemplateKey,
        owner: HsaId,
        given: HsaId,
    },
    #[error("template {0} kept changing while it was being saved; try again")]
    Busy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Compile(#[from] CompileError),
}

/// The outcome of SaveFormTemplate.
#[derive(Debug)]
pub enum SaveOutcome {
    /// Stored; the template as stored (version, question ids and counts filled in), and any
    /// warnings.
    Saved {
        template: Box<FormTemplate>,
        warnings: Vec<Finding>,
    },
    /// Already stored with this content and status; nothing was written.
    Unchanged {
        template: Box<FormTemplate>,
        warnings: Vec<Finding>,
    },
    /// Not stored: every finding (errors and warnings).
    Refused(Vec<Finding>),
}

/// The outcome of DeleteFormTemplate when the version exists and belongs to the caller.
#[derive(Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    Refused(String),
}

/// GetFormTemplate's criteria.
#[derive(Debug, Clone, Default)]
pub struct TemplateLookup {
    pub care_unit: Option<HsaId>,
    pub template_id: Option<String>,
    pub template_version: Option<u32>,
}

/// GetFormTemplates' criteria: the templates a citizen can start at a care unit.
#[derive(Debug, Clone)]
pub struct CitizenLookup {
    pub care_unit: HsaId,
    /// Empty: Published.
    pub statuses: Vec<PublishStatus>,
    /// The identified citizen (subjectOfCare); without one only anonymous templates are
    /// available.
    pub subject_of_care: Option<PersonalIdentityNumber>,
    /// Empty: every template id.
    pub template_ids: Vec<String>,
    /// Empty: any. Else only the templates of forms in these health matters: the citizen's
    /// forms, or the care unit's for an anonymous lookup (templates carry no such id).
    pub clinical_process_interest_ids: Vec<String>,
}

/// How many forms of a citizen (or care unit) are read to find the templates of its health
/// matters.
const INTEREST_FORMS: u32 = 10_000;

/// SaveFormTemplate's checks of a template, before its version is decided (a migrated
/// version is checked so too): fills in what the engine computes (question ids, the page and
/// question counts), runs the template checks and compiles its schemas. `Ok(warnings)`, or
/// `Err(findings)` when one of them is an error; a template whose schemas do not compile is
/// the service's error.
pub fn checked(
    template: &mut FormTemplate,
) -> Result<Result<Vec<Finding>, Vec<Finding>>, CompileError> {
    normalize::fill_in(template);
    let findings = check::check(template);
    if findings.iter().any(Finding::is_error) {
        return Ok(Err(findings));
    }
    normalize::count_paths(template);
    // Compiled before anything is stored: a template whose schemas do not compile is never
    // kept. (The compilation is cached on first use, once the version number is known.)
    CompiledTemplate::compile(template.clone())?;
    Ok(Ok(findings))
}

pub struct TemplateService {
    store: Arc<dyn FormStore>,
    cache: SchemaCache,
}

impl TemplateService {
    pub fn new(store: Arc<dyn FormStore>) -> Self {
        Self {
            store,
            cache: SchemaCache::default(),
        }
    }

    pub fn store(&self) -> &Arc<dyn FormStore> {
        &self.store
    }

    /// SaveFormTemplate: checks the template and stores it as a new or changed version.
    pub async fn save(&self, mut template: FormTemplate) -> Result<SaveOutcome, TemplateError> {
        let findings = match checked(&mut template)? {
            Ok(warnings) => warnings,
            Err(findings) => return Ok(SaveOutcome::Refused(findings)),
        };
        let requested = template.template_version;
        for _ in 0..ATTEMPTS {
            template.template_version = requested;
            let heads = self.store.template_versions(&template.template_id).await?;
            let named = match template.template_version {
                Some(version) if heads.iter().any(|h| h.template_version == version) => {
                    self.store
                        .template(&TemplateKey {
                            template_id: template.template_id.clone(),
                            template_version: version,
                        })
                        .await?
                }
                _ => None,
            };
            let decision = match lifecycle::decide(&template, &heads, named.as_ref()) {
                Ok(decision) => decision,
                Err(refusal) => {
                    let mut all = findings.clone();
                    all.insert(0, refusal);
                    return Ok(SaveOutcome::Refused(all));
                }
            };
            let now = Utc::now();
            let stored = match decision {
                SaveDecision::Reread => continue,
                SaveDecision::Unchanged => {
                    return Ok(SaveOutcome::Unchanged {
                        template: Box::new(template),
                        warnings: findings,
                    });
                }
                SaveDecision::Insert { version } => {
                    template.template_version = Some(version);
                    StoredTemplate {
                        template: template.clone(),
                        revision: 1,
                        created_at: now,
                        updated_at: now,
                        deleted_at: None,
                    }
                }
                SaveDecision::Update {
                    revision,
                    created_at,
                } => StoredTemplate {
                    template: template.clone(),
                    revision: revision + 1,
                    created_at,
                    updated_at: now,
                    deleted_at: None,
                },
            };
            let written = if stored.revision == 1 {
                self.store.insert_template(&stored).await
            } else {
                self.store.update_template(&stored).await
            };
            match written {
                Ok(()) => {
                    tracing::info!(
                        template_id = %stored.template.template_id,
                        template_version = stored.template.version(),
                        publish_status = %stored.status(),
                        "form template saved"
                    );
                    return Ok(SaveOutcome::Saved {
                        template: Box::new(stored.template),
                        warnings: findings,
                    });
                }
                // Someone else stored or changed a version meanwhile: decide again, after a
                // short random pause so that racing savers spread out.
                Err(StoreError::Conflict) => conflict_pause().await,
                Err(other) => return Err(other.into()),
            }
        }
        Err(TemplateError::Busy(template.template_id))
    }

    /// GetFormTemplate: by care unit and/or id; without a version, Archived versions are
    /// left out.
    pub async fn lookup(
        &self,
        lookup: &TemplateLookup,
    ) -> Result<Vec<FormTemplate>, TemplateError> {
        if lookup.care_unit.is_none() && lookup.template_id.is_none() {
            return Err(TemplateError::MissingCriteria);
        }
        let statuses = if lookup.template_version.is_some() {
            Vec::new()
        } else {
            vec![
                PublishStatus::Unpublished,
                PublishStatus::Pending,
                PublishStatus::Published,
            ]
        };
        let query = TemplateQuery {
            care_unit: lookup.care_unit.as_ref().map(ToString::to_string),
            template_ids: lookup.template_id.iter().cloned().collect(),
            template_version: lookup.template_version,
            statuses,
            anonymous_only: false,
            with_shared: false,
        };
        let found = self.store.find_templates(&query).await?;
        if found.is_empty()
            && let Some(id) = &lookup.template_id
        {
            let any = self
                .store
                .find_templates(&TemplateQuery {
                    template_ids: vec![id.clone()],
                    ..TemplateQuery::default()
                })
                .await?;
            if any.is_empty() {
                return Err(TemplateError::NotFound(format!(
                    "There is no template {id}."
                )));
            }
            if let Some(version) = lookup.template_version {
                return Err(TemplateError::NotFound(format!(
                    "Template {id} has no version {version}."
                )));
            }
        }
        Ok(found.into_iter().map(|t| t.template).collect())
    }

    /// GetFormTemplates: the newest version of each template a citizen can use at a care unit
    /// (its own, and those other care units share by templatePropagate), in the citizen-facing
    /// view.
    pub async fn for_citizen(
        &self,
        lookup: &CitizenLookup,
    ) -> Result<Vec<FormTemplateInfo>, TemplateError> {
        let statuses = if lookup.statuses.is_empty() {
            vec![PublishStatus::Published]
        } else {
            lookup.statuses.clone()
        };
        // The care unit's own and the shared ones. A county list does not narrow the
        // sharing: the engine knows no care unit's county.
        let available = self
            .store
            .find_templates(&TemplateQuery {
                care_unit: Some(lookup.care_unit.to_string()),
                template_ids: lookup.template_ids.clone(),
                template_version: None,
                statuses,
                anonymous_only: lookup.subject_of_care.is_none(),
                with_shared: true,
            })
            .await?;
        let interests = self.interest_templates(lookup).await?;
        let mut newest: BTreeMap<String, FormTemplate> = BTreeMap::new();
        for stored in available {
            let template = stored.template;
            if interests
                .as_ref()
                .is_some_and(|ids| !ids.contains(&template.template_id))
            {
                continue;
            }
            match newest.get(&template.template_id) {
                Some(kept) if kept.template_version >= template.template_version => {}
                _ => {
                    newest.insert(template.template_id.clone(), template);
                }
            }
        }
        Ok(newest.into_values().map(FormTemplateInfo::from).collect())
    }

    /// The template ids of the forms in the lookup's health matters; `None` when it names
    /// none.
    async fn interest_templates(
        &self,
        lookup: &CitizenLookup,
    ) -> Result<Option<BTreeSet<String>>, TemplateError> {
        let ids: Vec<String> = lookup
            .clinical_process_interest_ids
            .iter()
            .filter(|id| !id.trim().is_empty())
            .cloned()
            .collect();
        if ids.is_empty() {
            return Ok(None);
        }
        let forms = self
            .store
            .find_forms(&FormQuery {
                subject_of_care: lookup
                    .subject_of_care
                    .as_ref()
                    .map(|s| s.as_str().to_owned()),
                care_unit: lookup
                    .subject_of_care
                    .is_none()
                    .then(|| lookup.care_unit.to_string()),
                clinical_process_interest_ids: ids,
                include_expired: true,
                limit: INTEREST_FORMS,
                ..FormQuery::default()
            })
            .await?;
        Ok(Some(
            forms.into_iter().map(|f| f.template.template_id).collect(),
        ))
    }

    /// DeleteFormTemplate: only an Archived version that no active form uses.
    pub async fn delete(
        &self,
        key: &TemplateKey,
        care_unit: &HsaId,
    ) -> Result<DeleteOutcome, TemplateError> {
        for _ in 0..ATTEMPTS {
            let stored = self.existing(key).await?;
            let owner = &stored.template.health_care_facility_unit;
            if owner != care_unit {
                return Err(TemplateError::CareUnitMismatch {
                    key: key.clone(),
                    owner: owner.clone(),
                    given: care_unit.clone(),
                });
            }
            if stored.status() != PublishStatus::Archived {
                return Ok(DeleteOutcome::Refused(format!(
                    "Template {key} is {}; only an Archived template can be deleted. \
                     Archive it first (SaveFormTemplate with publishStatus Archived).",
                    stored.status()
                )));
            }
            let in_use = self.store.active_forms(key).await?;
            if in_use > 0 {
                return Ok(DeleteOutcome::Refused(format!(
                    "Template {key} cannot be deleted: {in_use} form(s) made from it are not completed yet."
                )));
            }
            match self.store.delete_template(key, stored.revision).await {
                Ok(()) => {
                    tracing::info!(template_id = %key.template_id, template_version = key.template_version, "form template deleted");
                    return Ok(DeleteOutcome::Deleted);
                }
                Err(StoreError::Conflict) => conflict_pause().await,
                Err(other) => return Err(other.into()),
            }
        }
        Err(TemplateError::Busy(key.template_id.clone()))
    }

    /// A version that exists and is not deleted.
    async fn existing(&self, key: &TemplateKey) -> Result<StoredTemplate, TemplateError> {
        match self.store.template(key).await? {
            Some(stored) if stored.deleted_at.is_none() => Ok(stored),
            _ => Err(TemplateError::NotFound(format!(
                "There is no template {key}."
            ))),
        }
    }

    /// The compiled schemas of a version that exists and is not deleted (GetFormTemplateSchema).
    pub async fn compiled(
        &self,
        key: &TemplateKey,
    ) -> Result<Arc<CompiledTemplate>, TemplateError> {
        let stored = self.existing(key).await?;
        self.compile_cached(stored)
    }

    /// The compiled version a form is pinned to: Published or later, so its content is
    /// fixed; a deleted version still serves the forms made from it.
    pub async fn compiled_for_form(
        &self,
        key: &TemplateKey,
    ) -> Result<Arc<CompiledTemplate>, TemplateError> {
        if let Some(hit) = self.cache.get_fixed(key) {
            return Ok(hit);
        }
        let stored = self
            .store
            .template(key)
            .await?
            .ok_or_else(|| TemplateError::NotFound(format!("There is no template {key}.")))?;
        self.compile_cached(stored)
    }

    /// The newest Published version of a template id.
    pub async fn newest_published(
        &self,
        template_id: &str,
    ) -> Result<Option<StoredTemplate>, TemplateError> {
        let found = self
            .store
            .find_templates(&TemplateQuery {
                template_ids: vec![template_id.to_owned()],
                statuses: vec![PublishStatus::Published],
                ..TemplateQuery::default()
            })
            .await?;
        Ok(found.into_iter().last())
    }

    fn compile_cached(
        &self,
        stored: StoredTemplate,
    ) -> Result<Arc<CompiledTemplate>, TemplateError> {
        let key = stored.key();
        if let Some(hit) = self.cache.get(&key, stored.revision) {
            return Ok(hit);
        }
        let compiled = Arc::new(CompiledTemplate::compile(stored.template)?);
        self.cache
            .insert(key, stored.revision, Arc::clone(&compiled));
        Ok(compiled)
    }

    /// How many compiled versions are cached (for tests and metrics).
    pub fn cached_versions(&self) -> usize {
        self.cache.len()
    }
}
