//! `migration-report.json` and the readable summary printed at the end (and kept beside it as
//! `migration-summary.txt`).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::load::LoadOutcome;
use crate::verify::Verification;

pub const FILE_NAME: &str = "migration-report.json";
pub const SUMMARY_FILE_NAME: &str = "migration-summary.txt";

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub service: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installation_id: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Switch {
    pub requested: bool,
    pub forced: bool,
    /// The services switched to operational by this run.
    pub switched: Vec<String>,
    /// Why the switch was not made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationReport {
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub source: String,
    pub targets: Vec<Target>,
    pub workers: usize,
    pub verify_only: bool,
    /// What this run wrote, per source file (empty with --verify-only).
    pub loads: Vec<LoadOutcome>,
    pub verification: Verification,
    /// `rejects.ndjson`, when anything was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejects_file: Option<String>,
    pub switch: Switch,
    /// After the switch: sampled records read back through the public contracts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contract_checks: Vec<crate::contracts::ContractCheck>,
    pub source_deleted: bool,
    /// The verification passed (and the switch, when asked for, was made).
    pub passed: bool,
}

impl MigrationReport {
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let path = dir.join(FILE_NAME);
        std::fs::write(&path, serde_json::to_string_pretty(self)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        let path = dir.join(SUMMARY_FILE_NAME);
        std::fs::write(&path, self.summary()).with_context(|| format!("writing {}", path.display()))
    }

    /// The summary for a person: what was written, what matched, what was refused.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Migration from {}", self.source);
        for target in &self.targets {
            let _ = writeln!(
                out,
                "  into the {} at {}{}",
                target.service,
                target.url,
                target
                    .installation_id
                    .as_ref()
                    .map(|id| format!(" (installation {id})"))
                    .unwrap_or_default()
            );
        }
        if !self.loads.is_empty() {
            let _ = writeln!(out, "\nWritten ({} workers):", self.workers);
            let _ = writeln!(
                out,
                "  {:<32} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9} {:>10}",
                "file",
                "records",
                "resumed",
                "accepted",
                "unchanged",
                "refused",
                "seconds",
                "per second"
            );
            for load in &self.loads {
                let _ = writeln!(
                    out,
                    "  {:<32} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9.1} {:>10.0}",
                    load.file,
                    load.records,
                    load.resumed,
                    load.accepted,
                    load.unchanged,
                    load.rejected,
                    load.seconds,
                    per_second(load.records.saturating_sub(load.resumed), load.seconds)
                );
            }
        }
        let _ = writeln!(
            out,
            "\nVerification ({:.1} seconds):",
            self.verification.seconds
        );
        for file in &self.verification.files {
            let manifest = match &file.manifest {
                Some(_) if file.passed => "matches manifest.json",
                Some(_) => "DIFFERS from manifest.json",
                None => "no manifest entry",
            };
            let _ = writeln!(
                out,
                "  {:<32} {:>10} records, {} refused, {manifest}",
                file.file, file.records, file.rejected
            );
        }
        let _ = writeln!(
            out,
            "  {:<12} {:<17} {:>10} {:>10} {:>7} {:>12} result",
            "entity", "service", "source", "target", "digest", "spot checks"
        );
        for entity in &self.verification.entities {
            let spot = &entity.spot_checks;
            let _ = writeln!(
                out,
                "  {:<12} {:<17} {:>10} {:>10} {:>7} {:>12} {}",
                entity.entity,
                entity.service,
                entity.source_count,
                entity.target_count,
                if entity.digests_match {
                    "same"
                } else {
                    "DIFFERS"
                },
                format!("{}/{}", spot.matched, spot.checked),
                if entity.passed { "ok" } else { "FAILED" }
            );
            for key in spot.missing.iter().take(5) {
                let _ = writeln!(out, "      missing in the target: {key}");
            }
            for mismatch in spot.mismatches.iter().take(5) {
                let _ = writeln!(
                    out,
                    "      {}: {}",
                    mismatch.key,
                    mismatch.differences.join("; ")
                );
            }
        }
        if self.verification.rejected > 0 {
            let _ = writeln!(
                out,
                "\n{} records were refused; each is in {} with its file, line and reason.",
                self.verification.rejected,
                self.rejects_file.as_deref().unwrap_or("rejects.ndjson")
            );
        }
        let _ = writeln!(
            out,
            "\nVerification {}.",
            if self.verification.passed {
                "PASSED"
            } else {
                "FAILED"
            }
        );
        if self.switch.requested {
            if let Some(reason) = &self.switch.refused {
                let _ = writeln!(out, "Not switched to operational: {reason}");
            } else {
                let _ = writeln!(
                    out,
                    "Switched to operational{}: {}",
                    if self.switch.forced { " (forced)" } else { "" },
                    self.switch.switched.join(", ")
                );
            }
        }
        for check in &self.contract_checks {
            let _ = writeln!(
                out,
                "{} sampled {} read back through {}: {}/{} the same{}",
                check.checked,
                check.entity,
                check.contract,
                check.matched,
                check.checked,
                check
                    .error
                    .as_ref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            );
            for key in check.missing.iter().take(5) {
                let _ = writeln!(out, "      not found: {key}");
            }
            for mismatch in check.mismatches.iter().take(5) {
                let _ = writeln!(
                    out,
                    "      {}: {}",
                    mismatch.key,
                    mismatch.differences.join("; ")
                );
            }
        }
        if self.source_deleted {
            let _ = writeln!(out, "The source files were deleted.");
        }
        out
    }
}

/// Records per second, for showing.
#[allow(clippy::cast_precision_loss)] // a rate shown to the operator, not a count
fn per_second(records: u64, seconds: f64) -> f64 {
    records as f64 / seconds.max(0.001)
}
