//! The initial load's writes and the export's reads of templates and forms (docs/migration.md):
//! a batch is upserted by natural key in one transaction, every version and status as given
//! (no lifecycle rule, no outbox row: nothing is posted to the index or notified), and the
//! export reads in pages of key order.

pub(crate) mod sql;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::{StoreError, StoredTemplate, TemplateKey};
use crate::domain::form::model::Form;

/// The first answer to a request made with an Idempotency-Key, as kept.
#[derive(Clone, Debug, PartialEq)]
pub struct IdempotencyRecord {
    pub scope: String,
    pub key: String,
    pub request: Value,
    pub response: Value,
    pub created_at: DateTime<Utc>,
}

/// A form with the idempotent answers that name it.
#[derive(Clone, Debug, PartialEq)]
pub struct MigratedForm {
    pub form: Form,
    pub idempotency: Vec<IdempotencyRecord>,
}

#[async_trait]
pub trait FormMigrationStore: Send + Sync + 'static {
    /// Upserts template versions (distinct keys) in one transaction, with their times and
    /// deletion as given; returns how many were written (the others were held as they are).
    async fn upsert_templates(&self, templates: &[StoredTemplate]) -> Result<u64, StoreError>;

    /// Up to `limit` versions after `after`, deleted ones included, by template id (bytes) and
    /// version.
    async fn templates_after(
        &self,
        after: Option<&TemplateKey>,
        limit: u32,
    ) -> Result<Vec<StoredTemplate>, StoreError>;

    /// Upserts forms (distinct ids) and their idempotent answers in one transaction; returns
    /// how many forms were written.
    async fn upsert_forms(&self, forms: &[MigratedForm]) -> Result<u64, StoreError>;

    /// Up to `limit` forms after `after` by id, each with the idempotent answers whose response
    /// names it.
    async fn forms_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<MigratedForm>, StoreError>;
}

/// The same version, revision aside (a count of changes, not part of what is migrated).
pub(crate) fn same_template(held: &StoredTemplate, given: &StoredTemplate) -> bool {
    held.template == given.template
        && held.created_at == given.created_at
        && held.updated_at == given.updated_at
        && held.deleted_at == given.deleted_at
}

/// The same form, revision aside.
pub(crate) fn same_form(held: &Form, given: &Form) -> bool {
    let mut given = given.clone();
    given.revision = held.revision;
    *held == given
}

/// The idempotent answers among `all` whose response names the form.
pub(crate) fn naming(all: &[IdempotencyRecord], form: Uuid) -> Vec<IdempotencyRecord> {
    let id = form.to_string();
    let mut named: Vec<IdempotencyRecord> = all
        .iter()
        .filter(|record| record.response.to_string().contains(&id))
        .cloned()
        .collect();
    named.sort_by(|a, b| {
        (a.scope.as_bytes(), a.key.as_bytes()).cmp(&(b.scope.as_bytes(), b.key.as_bytes()))
    });
    named
}
