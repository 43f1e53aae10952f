//! A named check with its outcome, its evidence (the exchanges) and its timing, and the run
//! that performs checks one after the other.

use std::future::Future;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::exchange::{Exchange, Http, millis};
use crate::progress::Progress;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    /// Not run, because a check it needs failed (or it does not apply).
    Skipped,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Self::Passed => "PASSED",
            Self::Failed => "FAILED",
            Self::Skipped => "SKIPPED",
        }
    }
}

/// Where a check belongs in the report: a step of the connection flow, a contract check or
/// the clean-up.
#[derive(Clone, Debug, Serialize)]
pub struct CheckResult {
    /// Stable and unique within a run, e.g. `step-1-save-form-template`.
    pub id: String,
    /// What was checked, in words.
    pub name: String,
    /// The group: `Step 1: ...`, `Contract`, `Clean-up`, ...
    pub group: String,
    pub outcome: Outcome,
    /// What was seen: why it passed, or what went wrong.
    pub detail: String,
    /// Something worth knowing that does not fail the check.
    pub note: Option<String>,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub exchanges: Vec<Exchange>,
}

/// A check's result: on success what it produced and a sentence of evidence; on failure the
/// reason.
pub type Verdict<T> = Result<Passed<T>, String>;

pub struct Passed<T> {
    pub value: T,
    pub detail: String,
    pub note: Option<String>,
}

pub fn passed<T>(value: T, detail: impl Into<String>) -> Verdict<T> {
    Ok(Passed {
        value,
        detail: detail.into(),
        note: None,
    })
}

pub fn passed_with_note<T>(value: T, detail: impl Into<String>, note: String) -> Verdict<T> {
    Ok(Passed {
        value,
        detail: detail.into(),
        note: Some(note),
    })
}

/// Performs checks in order, records them and shows progress.
pub struct Run {
    pub checks: Vec<CheckResult>,
    progress: Progress,
    http: Http,
}

impl Run {
    pub fn new(http: Http, planned: usize, quiet: bool) -> Self {
        Self {
            checks: Vec::new(),
            progress: Progress::new(planned, quiet),
            http,
        }
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    /// Runs one check; its value when it passed.
    pub async fn check<T>(
        &mut self,
        group: &str,
        id: &str,
        name: &str,
        work: impl Future<Output = Verdict<T>>,
    ) -> Option<T> {
        self.progress.start(name);
        self.http.take_recorded();
        let started_at = Utc::now();
        let started = Instant::now();
        let verdict = work.await;
        let duration_ms = millis(started.elapsed());
        let exchanges = self.http.take_recorded();
        let (outcome, detail, note, value) = match verdict {
            Ok(passed) => (
                Outcome::Passed,
                passed.detail,
                passed.note,
                Some(passed.value),
            ),
            Err(reason) => (Outcome::Failed, reason, None, None),
        };
        self.record(CheckResult {
            id: id.to_owned(),
            name: name.to_owned(),
            group: group.to_owned(),
            outcome,
            detail,
            note,
            started_at,
            duration_ms,
            exchanges,
        });
        value
    }

    /// Records a check that was not run, and why.
    pub fn skip(&mut self, group: &str, id: &str, name: &str, reason: &str) {
        self.record(CheckResult {
            id: id.to_owned(),
            name: name.to_owned(),
            group: group.to_owned(),
            outcome: Outcome::Skipped,
            detail: reason.to_owned(),
            note: None,
            started_at: Utc::now(),
            duration_ms: 0,
            exchanges: Vec::new(),
        });
    }

    fn record(&mut self, result: CheckResult) {
        self.progress.finish(&result);
        self.checks.push(result);
    }

    /// The checks, with the progress bar cleared.
    pub fn finish(self) -> Vec<CheckResult> {
        self.progress.clear();
        self.checks
    }
}

/// Whether a set of checks is a pass: nothing failed, and no check the run depended on was
/// skipped for a failure.
pub fn all_passed(checks: &[CheckResult]) -> bool {
    !checks.is_empty() && checks.iter().all(|c| c.outcome != Outcome::Failed)
}
