//! The resume state, `migration-state.json` in the source directory: per source file the batch
//! size it was cut into and the batches the services acknowledged, and whether the file has been
//! read whole (seed 000's "marked as read"). A re-run after a crash or Ctrl-C skips the
//! acknowledged batches and sends the others; a batch sent but not acknowledged is sent again,
//! which the services' idempotent upserts answer as `unchanged`.
//!
//! The file is replaced atomically (written beside, then renamed) after every acknowledged
//! batch, so a kill at any moment leaves the previous or the next state, never half of one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const FILE_NAME: &str = "migration-state.json";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileState {
    /// Records per batch when the file was first cut; kept on resume so batch numbers name the
    /// same records.
    pub batch_size: usize,
    /// What the file was when first cut (the manifest's SHA-256, or its size): a changed file
    /// cannot be resumed, its batch numbers would name other records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Acknowledged batches as inclusive ranges of batch numbers (0-based).
    #[serde(with = "ranges")]
    pub acknowledged: BTreeSet<u64>,
    /// Every batch acknowledged: the file is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<DateTime<Utc>>,
    /// Records in the file, once read whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StateFile {
    files: BTreeMap<String, FileState>,
}

/// The state of one source directory.
#[derive(Debug)]
pub struct ResumeState {
    path: PathBuf,
    data: StateFile,
}

impl ResumeState {
    /// Reads the state of `dir`, empty when there is none yet.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(FILE_NAME);
        let data = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).with_context(|| {
                format!("{} is damaged; delete it to start over", path.display())
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => StateFile::default(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Ok(Self { path, data })
    }

    /// Starts (or resumes) `file`: the batch size it was first cut into, or `preferred` for a
    /// new file. Refuses a file that is not the one the state was written for.
    pub fn begin(
        &mut self,
        file: &str,
        preferred: usize,
        fingerprint: Option<String>,
    ) -> anyhow::Result<usize> {
        let entry = self.data.files.entry(file.to_owned()).or_default();
        if entry.batch_size == 0 {
            entry.batch_size = preferred;
            entry.fingerprint = fingerprint;
        } else if fingerprint.is_some()
            && entry.fingerprint.is_some()
            && entry.fingerprint != fingerprint
        {
            anyhow::bail!(
                "{file} is not the file {} was written for (it changed since); delete {} to start over",
                FILE_NAME,
                self.path.display()
            );
        }
        Ok(entry.batch_size)
    }

    pub fn is_acknowledged(&self, file: &str, batch: u64) -> bool {
        self.data
            .files
            .get(file)
            .is_some_and(|f| f.acknowledged.contains(&batch))
    }

    pub fn file(&self, file: &str) -> Option<&FileState> {
        self.data.files.get(file)
    }

    /// Records an acknowledged batch and saves.
    pub fn acknowledge(&mut self, file: &str, batch: u64) -> anyhow::Result<()> {
        self.data
            .files
            .entry(file.to_owned())
            .or_default()
            .acknowledged
            .insert(batch);
        self.save()
    }

    /// Marks `file` read: all its `records` are acknowledged.
    pub fn mark_read(&mut self, file: &str, records: u64, at: DateTime<Utc>) -> anyhow::Result<()> {
        let entry = self.data.files.entry(file.to_owned()).or_default();
        entry.records = Some(records);
        entry.read_at.get_or_insert(at);
        self.save()
    }

    fn save(&self) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(&self.data)?;
        let temporary = self.path.with_extension("json.partial");
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, &self.path))
            .with_context(|| format!("writing {}", self.path.display()))
    }
}

/// A set of batch numbers written as inclusive ranges: `[[0, 41], [43, 43]]`.
mod ranges {
    use std::collections::BTreeSet;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(set: &BTreeSet<u64>, s: S) -> Result<S::Ok, S::Error> {
        let mut out: Vec<[u64; 2]> = Vec::new();
        for &n in set {
            match out.last_mut() {
                Some(last) if last[1] + 1 == n => last[1] = n,
                _ => out.push([n, n]),
            }
        }
        out.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeSet<u64>, D::Error> {
        let ranges = Vec::<[u64; 2]>::deserialize(d)?;
        Ok(ranges.into_iter().flat_map(|[a, b]| a..=b).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledged_batches_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = ResumeState::open(dir.path()).unwrap();
        let begin = |state: &mut ResumeState, size| {
            state
                .begin("engagements.ndjson", size, Some("abc".into()))
                .unwrap()
        };
        assert_eq!(begin(&mut state, 10_000), 10_000);
        for batch in [0, 1, 2, 5, 7] {
            state.acknowledge("engagements.ndjson", batch).unwrap();
        }
        // A crash here: the next run reads the file anew.
        let mut again = ResumeState::open(dir.path()).unwrap();
        // The file keeps the batch size it was cut into, whatever this run prefers.
        assert_eq!(begin(&mut again, 500), 10_000);
        // Another file under the same name is not resumed.
        let changed = again
            .begin("engagements.ndjson", 500, Some("def".into()))
            .unwrap_err()
            .to_string();
        assert!(changed.contains("changed since"), "{changed}");
        let done: Vec<u64> = (0..9)
            .filter(|b| again.is_acknowledged("engagements.ndjson", *b))
            .collect();
        assert_eq!(done, vec![0, 1, 2, 5, 7]);
        assert!(!again.is_acknowledged("forms.ndjson", 0));
        // Stored as ranges.
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            json["files"]["engagements.ndjson"]["acknowledged"],
            serde_json::json!([[0, 2], [5, 5], [7, 7]])
        );
        assert!(!dir.path().join("migration-state.json.partial").exists());
    }

    #[test]
    fn a_file_read_whole_is_marked_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = ResumeState::open(dir.path()).unwrap();
        let first = Utc::now();
        state.mark_read("forms.ndjson", 1000, first).unwrap();
        state
            .mark_read("forms.ndjson", 1000, first + chrono::Duration::hours(1))
            .unwrap();
        let again = ResumeState::open(dir.path()).unwrap();
        let file = again.file("forms.ndjson").unwrap();
        assert_eq!(file.records, Some(1000));
        assert_eq!(file.read_at, Some(first));
    }

    #[test]
    fn a_damaged_state_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "{not json").unwrap();
        let error = ResumeState::open(dir.path()).unwrap_err().to_string();
        assert!(error.contains("delete it to start over"), "{error}");
    }
}
