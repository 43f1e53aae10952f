//! `manifest.json` of an export directory (docs/migration.md, "File formats"): the format
//! version, the source installation, when it was written, and per file its entity, record
//! count, SHA-256 of the file and the entity digest.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const FILE_NAME: &str = "manifest.json";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format_version: u32,
    /// The installation ids of the services exported, `form-engine:<id>,engagement-index:<id>`.
    pub source_installation: String,
    pub created_at: DateTime<Utc>,
    /// Keyed by file name (`templates.ndjson`, ...); a BTreeMap keeps the JSON's order stable.
    pub files: BTreeMap<String, FileEntry>,
    /// Set when the data files are encrypted with age (`<file>.age`); the counts, hashes and
    /// digests are those of the plain files.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    pub entity: String,
    pub count: u64,
    /// Lowercase hex SHA-256 of the (plain) file.
    pub sha256: String,
    /// The entity digest of the file's records.
    pub digest: String,
}

impl Manifest {
    /// The parts two exports of the same data share: everything but when and from where.
    pub fn content(&self) -> &BTreeMap<String, FileEntry> {
        &self.files
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let manifest: Self = serde_json::from_str(text).context("manifest.json")?;
        anyhow::ensure!(
            manifest.format_version == FORMAT_VERSION,
            "manifest.json has formatVersion {}; this nordform reads {FORMAT_VERSION}",
            manifest.format_version
        );
        Ok(manifest)
    }
}
