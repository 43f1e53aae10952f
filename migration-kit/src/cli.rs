//! The command lines, as docs/migration.md gives them (an operator's runbook and the
//! integrators' scripts use them):
//!
//! ```text
//! nordform export  --form-engine URL --engagement-index URL --out DIR [--encrypt-to RECIPIENT]
//! nordform migrate --source DIR [--form-engine URL --form-engine-key KEY]
//!                  [--engagement-index URL --engagement-index-key KEY] [--workers N] [--identity FILE]
//!                  [--skltp-ei-tsv FILE] [--verify-only] [--switch-to-operational] [--force]
//! ```
//!
//! plus connection-kit's credential options for the admin endpoints (export, the switch).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use clap::Args;
use connection_kit::auth::Credentials;
use serde_json::{Value, json};

use crate::client::ServiceClient;
use crate::crypt::{Identity, Recipient};
use crate::entity::{Entity, Service};
use crate::load::{LoadContext, LoadOutcome};
use crate::manifest::Manifest;
use crate::rejects::Rejects;
use crate::report::{MigrationReport, Switch, Target};
use crate::source::SourceFile;
use crate::state::ResumeState;
use crate::verify::Verification;

/// Writes an installation's data (templates, forms, engagements, subscribers, grants) into a
/// directory that `nordform migrate` reads: manifest.json and one NDJSON file per entity.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Base URL of the form engine to export from.
    #[arg(long, value_name = "URL")]
    pub form_engine: String,
    /// Base URL of the engagement index to export from.
    #[arg(long, value_name = "URL")]
    pub engagement_index: String,
    /// The directory to write into (created when missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Encrypt the data files to this age public key (`age1...`); `migrate --identity`
    /// decrypts them.
    #[arg(long, value_name = "RECIPIENT")]
    pub encrypt_to: Option<Recipient>,
    #[command(flatten)]
    pub credentials: Credentials,
    /// Seconds a single request may take (an export streams for as long as it needs).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub request_timeout: u64,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// Migrates a source directory (the export format, or skltp-ei's engagement table as TSV) into
/// staging installations, verifies, and switches them to operational when asked.
#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// The exchange directory: manifest.json and the NDJSON files; the run's state, rejects and
    /// report are written here too.
    #[arg(long, value_name = "DIR")]
    pub source: PathBuf,
    /// Base URL of the form engine to migrate into (templates, forms, its grants).
    #[arg(long, value_name = "URL")]
    pub form_engine: Option<String>,
    /// The form engine's migration key (POST /admin/installation/migration-keys).
    #[arg(
        long,
        value_name = "KEY",
        env = "NORDFORM_FORM_ENGINE_KEY",
        hide_env_values = true
    )]
    pub form_engine_key: Option<String>,
    /// Base URL of the engagement index to migrate into (engagements, subscribers, its grants).
    #[arg(long, value_name = "URL")]
    pub engagement_index: Option<String>,
    /// The engagement index's migration key.
    #[arg(
        long,
        value_name = "KEY",
        env = "NORDFORM_ENGAGEMENT_INDEX_KEY",
        hide_env_values = true
    )]
    pub engagement_index_key: Option<String>,
    /// Batches sent at once (seed 000: 10, 100 or 1000).
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub workers: u16,
    /// The age identity (private key file) an encrypted export is decrypted with.
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// skltp-ei's engagement table, exported with `SELECT * FROM engagement_index_table INTO
    /// OUTFILE ... FIELDS TERMINATED BY '\t' OPTIONALLY ENCLOSED BY '"'`.
    #[arg(long, value_name = "FILE")]
    pub skltp_ei_tsv: Option<PathBuf>,
    /// Only verify what the services hold against the source; write nothing.
    #[arg(long)]
    pub verify_only: bool,
    /// Switch the services to operational once the verification passed.
    #[arg(long)]
    pub switch_to_operational: bool,
    /// Switch even though the verification failed or records were refused (audited by the
    /// services as a forced switch).
    #[arg(long, requires = "switch_to_operational")]
    pub force: bool,
    /// Delete the source files once the verification passed (and the switch, when asked for,
    /// was made). Never without this option.
    #[arg(long)]
    pub delete_source_after_success: bool,
    /// Records per entity read back from the services and compared field by field.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub spot_checks: usize,
    /// Records per batch [default: the most an endpoint takes: 1000, engagements 10000].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub batch_size: Option<u32>,
    #[command(flatten)]
    pub credentials: Credentials,
    /// Seconds a single request may take.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub request_timeout: u64,
    /// No progress bars (the summary is still printed).
    #[arg(long)]
    pub quiet: bool,
}

/// How a migration ended.
pub struct MigrateOutcome {
    pub report: MigrationReport,
    /// Stopped by Ctrl-C: run again to continue.
    pub interrupted: bool,
}

impl MigrateOutcome {
    pub fn passed(&self) -> bool {
        !self.interrupted && self.report.passed
    }
}

fn clients(
    credentials: &Credentials,
    timeout: u64,
) -> anyhow::Result<connection_kit::auth::Clients> {
    credentials.clients(Duration::from_secs(timeout))
}

/// Runs `nordform export`.
pub async fn export(args: ExportArgs) -> anyhow::Result<Manifest> {
    let clients = clients(&args.credentials, args.request_timeout)?;
    let sources: BTreeMap<Service, ServiceClient> = [
        (Service::FormEngine, &args.form_engine),
        (Service::EngagementIndex, &args.engagement_index),
    ]
    .into_iter()
    .map(|(service, url)| {
        (
            service,
            ServiceClient::new(service, url, None, clients.clone()),
        )
    })
    .collect();
    let progress = crate::progress::multi(args.quiet);
    let manifest =
        crate::export::export(&sources, &args.out, args.encrypt_to.as_ref(), &progress).await?;
    if !args.quiet {
        for (file, entry) in &manifest.files {
            eprintln!(
                "{file:<22} {:>10} records  sha256 {}",
                entry.count, entry.sha256
            );
        }
        eprintln!("Exported into {}", args.out.display());
    }
    Ok(manifest)
}

/// The services to migrate into, from the options.
fn targets(args: &MigrateArgs) -> anyhow::Result<BTreeMap<Service, ServiceClient>> {
    let clients = clients(&args.credentials, args.request_timeout)?;
    let mut targets = BTreeMap::new();
    for (service, url, key) in [
        (
            Service::FormEngine,
            &args.form_engine,
            &args.form_engine_key,
        ),
        (
            Service::EngagementIndex,
            &args.engagement_index,
            &args.engagement_index_key,
        ),
    ] {
        if let Some(url) = url {
            anyhow::ensure!(
                key.is_some() || args.verify_only,
                "--{0} needs --{0}-key KEY (the {0}'s migration key)",
                service.name()
            );
            targets.insert(
                service,
                ServiceClient::new(service, url, key.clone(), clients.clone()),
            );
        }
    }
    anyhow::ensure!(
        !targets.is_empty(),
        "nothing to migrate into: give --form-engine URL and/or --engagement-index URL"
    );
    Ok(targets)
}

/// The source files, in the order they are written: seed 000's order of entities; with
/// `--skltp-ei-tsv` the table's engagements after the export's.
fn sources(
    args: &MigrateArgs,
    targets: &BTreeMap<Service, ServiceClient>,
) -> anyhow::Result<Vec<SourceFile>> {
    let mut sources = Vec::new();
    for entity in Entity::ORDER {
        let file = SourceFile::Ndjson {
            dir: args.source.clone(),
            entity,
        };
        if file.exists() {
            // A file for a service not given is left alone, and said so.
            if entity.services().iter().any(|s| targets.contains_key(s)) {
                sources.push(file);
            } else {
                eprintln!(
                    "{} is left out: no --{} given",
                    file.name(),
                    entity.services()[0].name()
                );
            }
        }
        if entity == Entity::Engagements
            && let Some(path) = &args.skltp_ei_tsv
        {
            anyhow::ensure!(path.is_file(), "{} is not a file", path.display());
            anyhow::ensure!(
                targets.contains_key(&Service::EngagementIndex),
                "--skltp-ei-tsv needs --engagement-index URL"
            );
            sources.push(SourceFile::SkltpEiTsv { path: path.clone() });
        }
    }
    anyhow::ensure!(
        !sources.is_empty(),
        "{} holds no export files (templates.ndjson, ...) and no --skltp-ei-tsv was given",
        args.source.display()
    );
    Ok(sources)
}

/// Runs `nordform migrate`. An `Err` is a run that could not go on (unreadable source, a refused
/// key, a service that does not answer); what it acknowledged is kept for the next run.
pub async fn migrate(args: MigrateArgs) -> anyhow::Result<MigrateOutcome> {
    let started_at = Utc::now();
    anyhow::ensure!(
        args.source.is_dir(),
        "--source {} is not a directory",
        args.source.display()
    );
    let targets = targets(&args)?;
    let identity = args
        .identity
        .as_deref()
        .map(Identity::read)
        .transpose()?
        .map(Arc::new);
    let manifest = match std::fs::read_to_string(args.source.join(crate::manifest::FILE_NAME)) {
        Ok(text) => Some(Manifest::parse(&text)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).context("reading manifest.json"),
    };
    let sources = sources(&args, &targets)?;
    let mut report_targets = Vec::new();
    let mut services: Vec<_> = targets.values().collect();
    services.sort_by_key(|c| c.service);
    for client in services {
        // Seed 000's steps 11–13: the key is checked before anything is read.
        let installation_id = if args.verify_only {
            None
        } else {
            let session = client.check_key().await?;
            session
                .get("installationId")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        report_targets.push(Target {
            service: client.service.name().to_owned(),
            url: client.base.clone(),
            installation_id,
        });
    }
    let rejects = Arc::new(Mutex::new(Rejects::open(&args.source)?));
    let mut loads = Vec::new();
    let mut interrupted = false;
    if !args.verify_only {
        let context = LoadContext {
            identity: identity.clone(),
            targets: targets.clone(),
            workers: usize::from(args.workers),
            batch_size: args.batch_size.map(|n| n as usize),
            state: Arc::new(Mutex::new(ResumeState::open(&args.source)?)),
            rejects: Arc::clone(&rejects),
            manifest_hashes: manifest
                .iter()
                .flat_map(|m| &m.files)
                .map(|(name, entry)| (name.clone(), entry.sha256.clone()))
                .collect(),
        };
        let progress = crate::progress::multi(args.quiet);
        let bars: Vec<_> = sources
            .iter()
            .map(|source| {
                let total = manifest
                    .as_ref()
                    .and_then(|m| m.files.get(&source.name()))
                    .map(|entry| entry.count);
                progress.add(crate::progress::bar(&source.name(), total))
            })
            .collect();
        let all = async {
            for (source, bar) in sources.iter().zip(&bars) {
                let outcome = crate::load::load(&context, source, bar).await?;
                bar.finish();
                loads.push(outcome);
            }
            Ok::<(), anyhow::Error>(())
        };
        tokio::select! {
            result = all => result?,
            _ = tokio::signal::ctrl_c() => {
                // Acknowledged batches are recorded; unacknowledged ones go again next run.
                interrupted = true;
            }
        }
        if interrupted {
            eprintln!(
                "Interrupted. What the services acknowledged is recorded in {}; run the same command again to continue.",
                args.source.join(crate::state::FILE_NAME).display()
            );
        }
    }
    let rejected_lines: HashMap<String, HashSet<u64>> = {
        let rejects = rejects.lock().expect("rejects lock");
        sources
            .iter()
            .map(|s| (s.name(), rejects.lines(&s.name())))
            .collect()
    };
    let verification = if interrupted {
        Verification::default()
    } else {
        crate::verify::verify(
            &sources,
            manifest.as_ref(),
            identity,
            &targets,
            &rejected_lines,
            args.spot_checks,
        )
        .await?
    };
    let switch = if args.switch_to_operational && !interrupted {
        switch(&args, &targets, &verification).await?
    } else {
        Switch::default()
    };
    let mut contract_checks = Vec::new();
    if !switch.switched.is_empty()
        && !verification.engagement_sample.is_empty()
        && let Some(index) = targets.get(&Service::EngagementIndex)
    {
        contract_checks
            .push(crate::contracts::find_content(index, &verification.engagement_sample).await);
    }
    let passed = !interrupted
        && verification.passed
        && (!args.switch_to_operational || switch.refused.is_none())
        && contract_checks
            .iter()
            .all(crate::contracts::ContractCheck::passed);
    let source_deleted = if args.delete_source_after_success && passed {
        delete_source(&args.source, &sources)?
    } else {
        false
    };
    let rejects_file = (verification.rejected > 0
        || loads.iter().any(|l: &LoadOutcome| l.rejected > 0))
    .then(|| {
        args.source
            .join(crate::rejects::FILE_NAME)
            .display()
            .to_string()
    });
    let report = MigrationReport {
        started_at,
        finished_at: Utc::now(),
        source: args.source.display().to_string(),
        targets: report_targets,
        workers: usize::from(args.workers),
        verify_only: args.verify_only,
        loads,
        verification,
        rejects_file,
        switch,
        contract_checks,
        source_deleted,
        passed,
    };
    report.write(&args.source)?;
    if !args.quiet {
        println!("{}", report.summary());
    }
    Ok(MigrateOutcome {
        report,
        interrupted,
    })
}

/// Switches every target to operational when the verification passed and nothing was refused,
/// or when forced (the services audit the switch either way).
async fn switch(
    args: &MigrateArgs,
    targets: &BTreeMap<Service, ServiceClient>,
    verification: &Verification,
) -> anyhow::Result<Switch> {
    let mut outcome = Switch {
        requested: true,
        forced: args.force,
        ..Switch::default()
    };
    let clean = verification.passed && verification.rejected == 0;
    if !clean && !args.force {
        outcome.refused = Some(if verification.passed {
            format!(
                "{} records were refused (see rejects.ndjson); correct and migrate them, or switch with --force",
                verification.rejected
            )
        } else {
            String::from("the verification failed; see the report, or switch with --force")
        });
        return Ok(outcome);
    }
    let body = json!({
        "verificationPassed": verification.passed,
        "rejected": verification.rejected,
        "forced": args.force && !clean,
    });
    let mut services: Vec<_> = targets.values().collect();
    services.sort_by_key(|c| c.service);
    for client in services {
        client.switch_to_operational(&body).await?;
        outcome.switched.push(client.service.name().to_owned());
    }
    Ok(outcome)
}

/// Deletes the source's files (seed 000's step 19: after a successful migration); the report,
/// the rejects and the state stay.
fn delete_source(dir: &Path, sources: &[SourceFile]) -> anyhow::Result<bool> {
    let mut paths: Vec<PathBuf> = sources.iter().flat_map(SourceFile::paths).collect();
    paths.push(dir.join(crate::manifest::FILE_NAME));
    for path in paths {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("deleting {}", path.display())),
        }
    }
    Ok(true)
}
