//! The approval report of a run, written three ways: `report.html` for the person who signs
//! off a go-live, `junit.xml` for CI systems and `report.json` for tools.

mod html;
mod junit;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::check::{CheckResult, Outcome, all_passed};

/// One line of "what was tested against what".
#[derive(Clone, Debug, Serialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

impl Fact {
    pub fn new(label: &str, value: impl Into<String>) -> Self {
        Self {
            label: label.to_owned(),
            value: value.into(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `deployment` or `subscriber`.
    pub kind: String,
    pub title: String,
    pub run_id: String,
    pub kit_version: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// The systems tested and the settings of the run.
    pub facts: Vec<Fact>,
    pub passed: bool,
    pub counts: Counts,
    pub checks: Vec<CheckResult>,
}

impl Report {
    pub fn new(
        kind: &str,
        title: &str,
        run_id: &str,
        started_at: DateTime<Utc>,
        facts: Vec<Fact>,
        checks: Vec<CheckResult>,
    ) -> Self {
        let mut counts = Counts::default();
        for check in &checks {
            match check.outcome {
                Outcome::Passed => counts.passed += 1,
                Outcome::Failed => counts.failed += 1,
                Outcome::Skipped => counts.skipped += 1,
            }
        }
        Self {
            kind: kind.to_owned(),
            title: title.to_owned(),
            run_id: run_id.to_owned(),
            kit_version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at,
            finished_at: Utc::now(),
            facts,
            passed: all_passed(&checks),
            counts,
            checks,
        }
    }

    /// The checks that failed, by id.
    pub fn failed(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|c| c.outcome == Outcome::Failed)
            .map(|c| c.id.as_str())
            .collect()
    }

    /// Writes report.html, junit.xml and report.json into `dir` (created when missing);
    /// returns the paths.
    pub fn write(&self, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the report folder {}", dir.display()))?;
        let files = [
            ("report.html", html::render(self)?),
            ("junit.xml", junit::render(self)?),
            ("report.json", serde_json::to_string_pretty(self)?),
        ];
        let mut written = Vec::new();
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            written.push(path);
        }
        Ok(written)
    }
}
