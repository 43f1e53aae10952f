//! `nordform verify ...`: the command line of the kit, and what a run does from the options
//! to the written report and the exit status.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use clap::{Args, Subcommand};

use crate::auth::Credentials;
use crate::deployment::{self, Delivery, ReceiverSettings};
use crate::exchange::Http;
use crate::progress::summary_table;
use crate::report::{Fact, Report};
use crate::subscriber;

/// Tests a deployment or a care system end to end and writes the approval report
/// (report.html, junit.xml, report.json). Exits 0 only when every check passed.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(subcommand)]
    pub target: VerifyTarget,
}

#[derive(Debug, Subcommand)]
pub enum VerifyTarget {
    /// Walks the eight connection steps against a deployment (form engine, engagement index,
    /// patient portal) as a care system and the e-service would, then cleans up.
    Deployment(DeploymentArgs),
    /// Plays the engagement index towards a care system's ProcessNotification endpoint.
    Subscriber(SubscriberArgs),
}

#[derive(Debug, Args)]
pub struct Common {
    /// Folder the report is written to (created when missing).
    #[arg(long, value_name = "DIR")]
    pub report: PathBuf,
    #[command(flatten)]
    pub credentials: Credentials,
    /// Seconds a single request may take before it counts as failed.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub request_timeout: u64,
    /// No progress on the terminal (the summary table is still printed).
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct DeploymentArgs {
    /// Base URL of the form engine (`.../forminteraction/v2/...` below it).
    #[arg(long, value_name = "URL")]
    pub form_engine: String,
    /// Base URL of the engagement index (`.../engagementindex/v1/...` below it).
    #[arg(long, value_name = "URL")]
    pub engagement_index: String,
    /// Base URL of the patient portal (`.../patientportal/v1/...` below it).
    #[arg(long, value_name = "URL")]
    pub portal: String,
    /// The care unit the test template and form belong to.
    #[arg(long, value_name = "HSA-ID", default_value = "SE0000000001-CU01")]
    pub care_unit: String,
    /// The test citizen the form is requested for (a test personal identity number the
    /// portal knows as active).
    #[arg(long, value_name = "PERSONAL-ID", default_value = "191212121212")]
    pub test_subject: String,
    /// Address the kit's notification receiver listens on (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// The URL the engagement index pushes to, when it reaches the kit by another address
    /// than the one it listens on (a tunnel, a proxy).
    #[arg(long, value_name = "URL", conflicts_with = "pull")]
    pub callback_url: Option<String>,
    /// Subscribe as a pull subscriber instead, when the deployment cannot reach the kit.
    #[arg(long)]
    pub pull: bool,
    /// The logical address the kit subscribes as [default: NORDFORM-KIT-<run id>].
    #[arg(long, value_name = "ADDRESS")]
    pub subscriber_address: Option<String>,
    /// Seconds to wait for what the deployment does on its own (index posts, the
    /// notification).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub wait: u64,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct SubscriberArgs {
    /// The care system's ProcessNotification URL.
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// The care system's logical address (sent as x-rivta-logical-address).
    #[arg(long, value_name = "HSA-ID", default_value = "SE0000000001-CS01")]
    pub logical_address: String,
    /// The HSA-id of the engagement index the notifications come from (their owner).
    #[arg(long, value_name = "HSA-ID", default_value = "SE0000000001-EI01")]
    pub index_hsa_id: String,
    /// The test citizen the notifications name.
    #[arg(long, value_name = "PERSONAL-ID", default_value = "191212121212")]
    pub test_subject: String,
    /// Transactions in the batch check.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub batch_size: u16,
    /// An answer slower than this fails (the index's delivery timeout is 10 000 ms by default).
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub max_latency_ms: u64,
    #[command(flatten)]
    pub common: Common,
}

/// A run id: short, unique enough for one test environment, safe in ids and URLs.
fn run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_uppercase()
}

/// The outcome of a run.
pub struct Outcome {
    pub report: Report,
    pub files: Vec<PathBuf>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.report.passed
    }
}

fn trimmed(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

/// Runs the verification, writes the report and prints the summary table. An `Err` is a run
/// that could not start (unreadable credentials, an unwritable report folder).
pub async fn run(args: VerifyArgs) -> anyhow::Result<Outcome> {
    let run_id = run_id();
    let started_at = Utc::now();
    let (common, report) = match args.target {
        VerifyTarget::Deployment(args) => {
            let clients = args
                .common
                .credentials
                .clients(Duration::from_secs(args.common.request_timeout))?;
            let mode = clients.mode;
            let hsa_id = clients.hsa_id.clone();
            let http = Http::new(clients, &run_id);
            let delivery = if args.pull {
                Delivery::Pull
            } else {
                Delivery::Push(ReceiverSettings {
                    listen: args.listen,
                    callback_url: args.callback_url.clone(),
                })
            };
            let target = deployment::Target {
                form_engine: trimmed(&args.form_engine),
                engagement_index: trimmed(&args.engagement_index),
                portal: trimmed(&args.portal),
                care_unit: args.care_unit.clone(),
                test_subject: args.test_subject.clone(),
                wait: Duration::from_secs(args.wait),
                delivery,
                subscriber_address: args
                    .subscriber_address
                    .clone()
                    .unwrap_or_else(|| format!("NORDFORM-KIT-{run_id}")),
            };
            let walk = deployment::walk(&target, http, &run_id, args.common.quiet).await;
            let notification = match (&target.delivery, &walk.callback_url) {
                (Delivery::Pull, _) => {
                    String::from("pull subscriber (the kit fetches from the index)")
                }
                (Delivery::Push(_), Some(url)) => format!("push to the kit's receiver at {url}"),
                (Delivery::Push(_), None) => String::from("push (the subscription failed)"),
            };
            let facts = vec![
                Fact::new("Form engine", &target.form_engine),
                Fact::new("Engagement index", &target.engagement_index),
                Fact::new("Patient portal", &target.portal),
                Fact::new("Authentication", mode.describe()),
                Fact::new("Caller (the kit's HSA-id)", hsa_id),
                Fact::new("Care unit", &target.care_unit),
                Fact::new("Test citizen", &target.test_subject),
                Fact::new(
                    "Test template",
                    format!("{} (archived and deleted at the end)", walk.template_id),
                ),
                Fact::new(
                    "Subscriber for the run",
                    format!("{} — {notification}", target.subscriber_address),
                ),
                Fact::new(
                    "Flow",
                    "Seed 003 \"Översikt flöde (domän 2.0)\", steps 1–8, step 4 (SMS/e-mail) being the portal's own",
                ),
            ];
            let report = Report::new(
                "deployment",
                "Connection test of a deployment",
                &run_id,
                started_at,
                facts,
                walk.checks,
            );
            (args.common, report)
        }
        VerifyTarget::Subscriber(args) => {
            let clients = args
                .common
                .credentials
                .clients(Duration::from_secs(args.common.request_timeout))?;
            let mode = clients.mode;
            let http = Http::new(clients, &run_id);
            let target = subscriber::Target {
                url: args.url.clone(),
                logical_address: args.logical_address.clone(),
                index_hsa_id: args.index_hsa_id.clone(),
                test_subject: args.test_subject.clone(),
                batch_size: usize::from(args.batch_size),
                max_latency: Duration::from_millis(args.max_latency_ms),
            };
            let checks = subscriber::verify(&target, http, args.common.quiet).await;
            let facts = vec![
                Fact::new("ProcessNotification URL", &target.url),
                Fact::new("Logical address", &target.logical_address),
                Fact::new("Notifications from (owner)", &target.index_hsa_id),
                Fact::new("Authentication", mode.describe()),
                Fact::new("Test citizen", &target.test_subject),
                Fact::new(
                    "Largest answer time allowed",
                    format!("{} ms", args.max_latency_ms),
                ),
            ];
            let report = Report::new(
                "subscriber",
                "Connection test of a care system's ProcessNotification",
                &run_id,
                started_at,
                facts,
                checks,
            );
            (args.common, report)
        }
    };
    let files = report.write(&common.report)?;
    println!("{}", summary_table(&report.checks));
    println!(
        "{}: {} passed, {} failed, {} skipped. Report: {}",
        if report.passed { "PASSED" } else { "FAILED" },
        report.counts.passed,
        report.counts.failed,
        report.counts.skipped,
        common.report.join("report.html").display()
    );
    Ok(Outcome { report, files })
}
