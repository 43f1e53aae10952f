//! `rejects.ndjson`: one line per refused record, naming the source file and line, the record's
//! key, the reason (and the service's problem document), and the record itself, so the data
//! owner can correct and send them again. Appended as batches are acknowledged; a batch sent
//! again after a resume does not repeat its lines.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const FILE_NAME: &str = "rejects.ndjson";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reject {
    pub file: String,
    /// The line of the source file the record starts on (1-based).
    pub line: u64,
    pub entity: String,
    #[serde(default)]
    pub key: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<Value>,
    /// The record as read (absent when the line is not a record at all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Value>,
    /// The raw text, when the line could not be read as a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

pub struct Rejects {
    path: PathBuf,
    seen: HashSet<(String, u64)>,
    writer: BufWriter<File>,
}

impl Rejects {
    /// Opens (or continues) the rejects file in `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(FILE_NAME);
        let seen = read_keys(&path)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Self {
            path,
            seen,
            writer: BufWriter::new(file),
        })
    }

    /// Writes the rejects of a batch and flushes, before the batch is recorded as acknowledged.
    pub fn write(&mut self, rejects: &[Reject]) -> anyhow::Result<()> {
        for reject in rejects {
            if self.seen.insert((reject.file.clone(), reject.line)) {
                serde_json::to_writer(&mut self.writer, reject)?;
                self.writer.write_all(b"\n")?;
            }
        }
        self.writer
            .flush()
            .with_context(|| format!("writing {}", self.path.display()))
    }

    /// How many distinct records are refused, per source file.
    pub fn count(&self, file: &str) -> u64 {
        self.seen.iter().filter(|(f, _)| f == file).count() as u64
    }

    pub fn lines(&self, file: &str) -> HashSet<u64> {
        self.seen
            .iter()
            .filter(|(f, _)| f == file)
            .map(|(_, line)| *line)
            .collect()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The (file, line) of every reject already written.
fn read_keys(path: &Path) -> anyhow::Result<HashSet<(String, u64)>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut seen = HashSet::new();
    for line in BufReader::new(file).lines() {
        let line = line?;
        // A line cut by a kill mid-write is ignored; the batch is sent again and rewrites it.
        if let Ok(reject) = serde_json::from_str::<Reject>(&line) {
            seen.insert((reject.file, reject.line));
        }
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reject(line: u64) -> Reject {
        Reject {
            file: "forms.ndjson".into(),
            line,
            entity: "forms".into(),
            key: format!("form-{line}"),
            reason: "status is not a form status".into(),
            problem: None,
            record: Some(serde_json::json!({"formId": format!("form-{line}")})),
            text: None,
        }
    }

    #[test]
    fn a_batch_sent_again_does_not_repeat_its_rejects() {
        let dir = tempfile::tempdir().unwrap();
        let mut rejects = Rejects::open(dir.path()).unwrap();
        rejects.write(&[reject(3), reject(9)]).unwrap();
        drop(rejects);
        let mut again = Rejects::open(dir.path()).unwrap();
        again.write(&[reject(9), reject(12)]).unwrap();
        assert_eq!(again.count("forms.ndjson"), 3);
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        let lines: Vec<u64> = text
            .lines()
            .map(|l| serde_json::from_str::<Reject>(l).unwrap().line)
            .collect();
        assert_eq!(lines, vec![3, 9, 12]);
    }
}
