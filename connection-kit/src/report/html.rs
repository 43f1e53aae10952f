//! report.html: one self-contained page (no scripts, styles inline) that a person signing off
//! a go-live can read and print: the verdict, what was tested against what and when, every
//! check with its evidence and timing.

use askama::Template;

use super::{Fact, Report};
use crate::check::Outcome;
use crate::exchange::Exchange;

struct Group<'a> {
    name: &'a str,
    checks: Vec<Row<'a>>,
}

struct Row<'a> {
    id: &'a str,
    name: &'a str,
    class: &'static str,
    label: &'static str,
    detail: &'a str,
    note: Option<&'a str>,
    started: String,
    duration_ms: u64,
    exchanges: &'a [Exchange],
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    title: &'a str,
    passed: bool,
    run_id: &'a str,
    kit_version: &'a str,
    started: String,
    finished: String,
    duration_secs: f64,
    facts: &'a [Fact],
    passed_count: usize,
    failed_count: usize,
    skipped_count: usize,
    groups: Vec<Group<'a>>,
    failed: Vec<Row<'a>>,
}

fn row(check: &crate::check::CheckResult) -> Row<'_> {
    let (class, label) = match check.outcome {
        Outcome::Passed => ("passed", "Passed"),
        Outcome::Failed => ("failed", "Failed"),
        Outcome::Skipped => ("skipped", "Skipped"),
    };
    Row {
        id: &check.id,
        name: &check.name,
        class,
        label,
        detail: &check.detail,
        note: check.note.as_deref(),
        started: check.started_at.format("%H:%M:%S%.3f").to_string(),
        duration_ms: check.duration_ms,
        exchanges: &check.exchanges,
    }
}

pub fn render(report: &Report) -> anyhow::Result<String> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    for check in &report.checks {
        match groups.iter_mut().find(|g| g.name == check.group) {
            Some(group) => group.checks.push(row(check)),
            None => groups.push(Group {
                name: &check.group,
                checks: vec![row(check)],
            }),
        }
    }
    let took = report.finished_at - report.started_at;
    #[allow(clippy::cast_precision_loss)]
    let duration_secs = took.num_milliseconds() as f64 / 1000.0;
    let page = Page {
        title: &report.title,
        passed: report.passed,
        run_id: &report.run_id,
        kit_version: &report.kit_version,
        started: report
            .started_at
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        finished: report
            .finished_at
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        duration_secs,
        facts: &report.facts,
        passed_count: report.counts.passed,
        failed_count: report.counts.failed,
        skipped_count: report.counts.skipped,
        groups,
        failed: report
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Failed)
            .map(row)
            .collect(),
    };
    Ok(page.render()?)
}
