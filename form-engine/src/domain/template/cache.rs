//! Compiled templates, kept per (templateId, templateVersion) so each version's schemas are
//! derived and compiled once per process.
//!
//! An entry remembers the row revision it was compiled from. A Published or Archived
//! version's content cannot change, so its entry is used as is; an Unpublished or Pending
//! one is used only while the stored revision is the same (another engine process may have
//! changed it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::TemplateKey;
use super::compiled::CompiledTemplate;
use super::model::PublishStatus;

/// Entries kept at most; the least recently used goes first.
pub const DEFAULT_CAPACITY: usize = 512;

struct Entry {
    revision: i64,
    compiled: Arc<CompiledTemplate>,
    last_used: u64,
}

pub struct SchemaCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<TemplateKey, Entry>,
    clock: u64,
}

impl Default for SchemaCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl SchemaCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The entry for `key` if its content is fixed, whatever the revision.
    pub fn get_fixed(&self, key: &TemplateKey) -> Option<Arc<CompiledTemplate>> {
        self.get_where(key, |entry| is_fixed(&entry.compiled))
    }

    /// The entry for `key` if it was compiled from `revision`, or its content is fixed.
    pub fn get(&self, key: &TemplateKey, revision: i64) -> Option<Arc<CompiledTemplate>> {
        self.get_where(key, |entry| {
            entry.revision == revision || is_fixed(&entry.compiled)
        })
    }

    fn get_where(
        &self,
        key: &TemplateKey,
        usable: impl Fn(&Entry) -> bool,
    ) -> Option<Arc<CompiledTemplate>> {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner.entries.get_mut(key).filter(|e| usable(e))?;
        entry.last_used = now;
        Some(Arc::clone(&entry.compiled))
    }

    pub fn insert(&self, key: TemplateKey, revision: i64, compiled: Arc<CompiledTemplate>) {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.clock += 1;
        let now = inner.clock;
        if inner.entries.len() >= self.capacity && !inner.entries.contains_key(&key) {
            let oldest = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                inner.entries.remove(&oldest);
            }
        }
        inner.entries.insert(
            key,
            Entry {
                revision,
                compiled,
                last_used: now,
            },
        );
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entries
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn is_fixed(compiled: &CompiledTemplate) -> bool {
    matches!(
        compiled.template().publish_status,
        PublishStatus::Published | PublishStatus::Archived
    )
}
