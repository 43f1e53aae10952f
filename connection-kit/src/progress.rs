//! Progress on the terminal while the checks run (indicatif), and the summary table at the end.

use comfy_table::{Cell, Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::check::{CheckResult, Outcome};

pub struct Progress {
    bar: ProgressBar,
    quiet: bool,
}

impl Progress {
    pub fn new(planned: usize, quiet: bool) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(planned as u64),
            if quiet {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stderr()
            },
        );
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{pos}/{len}] {wide_msg} {elapsed}")
                .expect("a static template"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Self { bar, quiet }
    }

    pub fn start(&self, name: &str) {
        self.bar.set_message(name.to_owned());
    }

    pub fn finish(&self, result: &CheckResult) {
        let mark = match result.outcome {
            Outcome::Passed => "PASS",
            Outcome::Failed => "FAIL",
            Outcome::Skipped => "SKIP",
        };
        let line = format!("{mark} {} ({} ms)", result.name, result.duration_ms);
        // A hidden bar (not a terminal) prints nothing: the lines still go to stderr, for CI logs.
        if self.bar.is_hidden() {
            if !self.quiet {
                eprintln!("{line}");
            }
        } else {
            self.bar.println(line);
        }
        self.bar.inc(1);
    }

    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }
}

/// The summary table printed at the end: one row per check.
pub fn summary_table(checks: &[CheckResult]) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    // Ids rather than names keep the table within a terminal; the report has the names.
    table.set_header(vec!["Result", "Check", "Time", "Detail"]);
    for check in checks {
        let mut detail: String = check.detail.chars().take(80).collect();
        if detail.len() < check.detail.len() {
            detail.push('…');
        }
        table.add_row(vec![
            Cell::new(check.outcome.label()),
            Cell::new(&check.id),
            Cell::new(format!("{} ms", check.duration_ms)),
            Cell::new(detail),
        ]);
    }
    table.to_string()
}
