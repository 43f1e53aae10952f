//! The form designer's working copies of template versions (docs/designer.md), beside the
//! templates: a draft is kept as the designer left it, errors and all, with who changed it
//! last. One trait, one implementation for both backends ([`sql`]).

pub(super) mod sql;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{StoreError, TemplateKey};
use crate::domain::template::FormTemplate;

/// One version's working copy and its last change.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredDraft {
    /// The draft; its `templateVersion` is always set.
    pub template: FormTemplate,
    /// The HSA-id of the staff member who changed it last.
    pub changed_by: String,
    pub changed_by_name: String,
    pub changed_at: DateTime<Utc>,
}

impl StoredDraft {
    pub fn key(&self) -> TemplateKey {
        TemplateKey {
            template_id: self.template.template_id.clone(),
            template_version: self.template.version(),
        }
    }
}

#[async_trait]
pub trait DraftStore: Send + Sync + 'static {
    /// The working copy of a version, if the designer has one.
    async fn draft(&self, key: &TemplateKey) -> Result<Option<StoredDraft>, StoreError>;

    /// Stores the working copy (replacing the version's earlier one).
    async fn put_draft(&self, draft: &StoredDraft) -> Result<(), StoreError>;

    /// Forgets a version's working copy (the version was deleted).
    async fn remove_draft(&self, key: &TemplateKey) -> Result<(), StoreError>;

    /// Every working copy of a care unit's templates, by template id then version.
    async fn drafts_of(&self, care_unit: &str) -> Result<Vec<StoredDraft>, StoreError>;
}
