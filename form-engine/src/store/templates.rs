//! What the store keeps of a template version, and how templates are looked up.

use chrono::{DateTime, Utc};

use crate::domain::template::{FormTemplate, PublishStatus};

/// A domain value the store's methods take; re-exported for the backends.
pub use crate::domain::template::TemplateKey;

/// A stored template version: the document (with its version set) and the row's bookkeeping.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredTemplate {
    pub template: FormTemplate,
    /// 1 when inserted, one more on every change.
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl StoredTemplate {
    pub fn key(&self) -> TemplateKey {
        TemplateKey {
            template_id: self.template.template_id.clone(),
            template_version: self.template.version(),
        }
    }

    pub fn status(&self) -> PublishStatus {
        self.template.publish_status
    }
}

/// What the versioning rules need of a stored version, without its document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateHead {
    pub template_version: u32,
    pub care_unit: String,
    pub publish_status: PublishStatus,
    pub revision: i64,
    pub deleted: bool,
}

/// A lookup of template versions; every given criterion must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TemplateQuery {
    pub care_unit: Option<String>,
    /// Any of these ids; empty = any id.
    pub template_ids: Vec<String>,
    pub template_version: Option<u32>,
    /// Any of these statuses; empty = any status.
    pub statuses: Vec<PublishStatus>,
    /// Only templates answered without identity.
    pub anonymous_only: bool,
    /// With `care_unit`: also the templates other care units share (a `templatePropagate`
    /// with `propagate: true`).
    pub with_shared: bool,
}
