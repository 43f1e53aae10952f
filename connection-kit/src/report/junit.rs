//! junit.xml: one test suite per group, one test case per check, the evidence in system-out.

use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};

use super::Report;
use crate::check::Outcome;

pub fn render(report: &Report) -> anyhow::Result<String> {
    let mut junit = Junit::new(format!("nordform verify {}", report.kind));
    junit.set_timestamp(report.started_at.fixed_offset());
    let mut suites: Vec<TestSuite> = Vec::new();
    for check in &report.checks {
        let status = match check.outcome {
            Outcome::Passed => TestCaseStatus::success(),
            Outcome::Failed => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(check.detail.clone());
                status
            }
            Outcome::Skipped => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(check.detail.clone());
                status
            }
        };
        let mut case = TestCase::new(format!("{}: {}", check.id, check.name), status);
        case.set_classname(format!("nordform.verify.{}", report.kind));
        case.set_time(Duration::from_millis(check.duration_ms));
        case.set_timestamp(check.started_at.fixed_offset());
        let mut out = format!("{}\n", check.detail);
        if let Some(note) = &check.note {
            let _ = writeln!(out, "Note: {note}");
        }
        for exchange in &check.exchanges {
            let _ = writeln!(
                out,
                "{} {} -> {} ({} ms)",
                exchange.method,
                exchange.url,
                exchange.status.map_or_else(
                    || exchange.error.clone().unwrap_or_default(),
                    |s| s.to_string()
                ),
                exchange.duration_ms
            );
        }
        case.set_system_out(out);
        if let Some(suite) = suites.iter_mut().find(|s| s.name.as_str() == check.group) {
            suite.add_test_case(case);
        } else {
            let mut suite = TestSuite::new(check.group.clone());
            suite.add_test_case(case);
            suites.push(suite);
        }
    }
    junit.add_test_suites(suites);
    Ok(junit.to_string()?)
}
