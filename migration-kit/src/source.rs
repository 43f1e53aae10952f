//! Reading a source: the export format's NDJSON files (plain or age-encrypted) or skltp-ei's
//! engagement table as TSV, one record at a time, each with its ordinal (which batch it falls
//! in) and the line it starts on (what a reject names). Synchronous: run it on a blocking
//! thread.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::crypt::{Identity, open_source};
use crate::entity::Entity;
use crate::tsv::{self, TsvReader};

/// Where an entity's records come from.
#[derive(Clone, Debug)]
pub enum SourceFile {
    /// `<entity>.ndjson` (or `.ndjson.age`) in the source directory.
    Ndjson { dir: PathBuf, entity: Entity },
    /// skltp-ei's `engagement_index_table` exported as TSV.
    SkltpEiTsv { path: PathBuf },
}

/// One record of a source, or a line that is none.
#[derive(Clone, Debug)]
pub enum Item {
    Record {
        line: u64,
        record: Value,
        /// The line as it stands in the file, when the record is one (an export's line).
        text: Option<String>,
    },
    Unreadable {
        line: u64,
        reason: String,
        text: String,
    },
}

impl Item {
    pub fn line(&self) -> u64 {
        match self {
            Self::Record { line, .. } | Self::Unreadable { line, .. } => *line,
        }
    }
}

/// What a full read found.
#[derive(Clone, Debug, Default)]
pub struct ReadSummary {
    pub records: u64,
    /// SHA-256 of the (plain) file, for NDJSON sources.
    pub sha256: Option<String>,
}

impl SourceFile {
    /// The name the state, the rejects and the report use.
    pub fn name(&self) -> String {
        match self {
            Self::Ndjson { entity, .. } => entity.file_name(),
            Self::SkltpEiTsv { path } => path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
        }
    }

    pub fn entity(&self) -> Entity {
        match self {
            Self::Ndjson { entity, .. } => *entity,
            Self::SkltpEiTsv { .. } => Entity::Engagements,
        }
    }

    /// The files the source is made of (what `--delete-source-after-success` deletes).
    pub fn paths(&self) -> Vec<PathBuf> {
        match self {
            Self::Ndjson { dir, entity } => {
                let plain = dir.join(entity.file_name());
                vec![plain.clone(), plain.with_extension("ndjson.age")]
            }
            Self::SkltpEiTsv { path } => vec![path.clone()],
        }
    }

    /// True when the source has this file.
    pub fn exists(&self) -> bool {
        self.paths().iter().any(|p| p.exists())
    }

    /// Reads every record in order. `skip(ordinal)` true passes over a record without parsing
    /// it (an acknowledged batch); `each` gets the others with their ordinal and returns false
    /// to stop.
    pub fn read(
        &self,
        identity: Option<&Identity>,
        skip: &dyn Fn(u64) -> bool,
        each: &mut dyn FnMut(u64, Item) -> bool,
    ) -> anyhow::Result<ReadSummary> {
        match self {
            Self::Ndjson { dir, entity } => read_ndjson(dir, *entity, identity, skip, each),
            Self::SkltpEiTsv { path } => read_tsv(path, skip, each),
        }
    }
}

fn read_ndjson(
    dir: &Path,
    entity: Entity,
    identity: Option<&Identity>,
    skip: &dyn Fn(u64) -> bool,
    each: &mut dyn FnMut(u64, Item) -> bool,
) -> anyhow::Result<ReadSummary> {
    let name = entity.file_name();
    let Some(input) = open_source(dir, &name, identity)? else {
        return Ok(ReadSummary {
            records: 0,
            sha256: None,
        });
    };
    let mut input = Hashing::new(input);
    let mut text = String::new();
    let mut line = 0;
    let mut ordinal = 0;
    loop {
        text.clear();
        if input.read_line(&mut text)? == 0 {
            break;
        }
        line += 1;
        let trimmed = text.trim_end_matches(['\n', '\r']);
        if trimmed.trim().is_empty() {
            continue;
        }
        let current = ordinal;
        ordinal += 1;
        if skip(current) {
            continue;
        }
        let item = match serde_json::from_str::<Value>(trimmed) {
            Ok(record @ Value::Object(_)) => Item::Record {
                line,
                record,
                text: Some(trimmed.to_owned()),
            },
            Ok(_) => Item::Unreadable {
                line,
                reason: String::from("the line is JSON but not an object"),
                text: trimmed.to_owned(),
            },
            Err(e) => Item::Unreadable {
                line,
                reason: format!("the line is not JSON: {e}"),
                text: trimmed.to_owned(),
            },
        };
        if !each(current, item) {
            return Ok(ReadSummary {
                records: ordinal,
                sha256: None,
            });
        }
    }
    Ok(ReadSummary {
        records: ordinal,
        sha256: Some(input.finish()),
    })
}

fn read_tsv(
    path: &Path,
    skip: &dyn Fn(u64) -> bool,
    each: &mut dyn FnMut(u64, Item) -> bool,
) -> anyhow::Result<ReadSummary> {
    let file = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("opening {}: {e}", path.display()))?;
    let hashing = Hashing::new(std::io::BufReader::with_capacity(1 << 16, file));
    let mut rows = TsvReader::new(hashing);
    let mut ordinal = 0;
    let mut first = true;
    while let Some(row) = rows.next_row() {
        let item = match row {
            Ok(row) if first && tsv::is_header(&row) => {
                first = false;
                continue;
            }
            Ok(row) => match tsv::engagement(&row) {
                Ok(record) => Item::Record {
                    line: row.line,
                    record,
                    text: None,
                },
                Err(reason) => Item::Unreadable {
                    line: row.line,
                    text: row
                        .fields
                        .iter()
                        .map(|f| f.as_deref().unwrap_or("\\N"))
                        .collect::<Vec<_>>()
                        .join("\t"),
                    reason,
                },
            },
            Err(tsv::TsvError::Malformed { line, message }) => Item::Unreadable {
                line,
                reason: message,
                text: String::new(),
            },
            Err(tsv::TsvError::Io(e)) => return Err(e.into()),
        };
        first = false;
        let current = ordinal;
        ordinal += 1;
        if skip(current) {
            continue;
        }
        if !each(current, item) {
            break;
        }
    }
    Ok(ReadSummary {
        records: ordinal,
        sha256: None,
    })
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    sha: Sha256,
}

impl<R: BufRead> Hashing<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            sha: Sha256::new(),
        }
    }

    fn finish(self) -> String {
        hex::encode(self.sha.finalize())
    }
}

impl<R: BufRead> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Hashing<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if let Ok(buffer) = self.inner.fill_buf() {
            self.sha.update(&buffer[..amount.min(buffer.len())]);
        }
        self.inner.consume(amount);
    }
}
