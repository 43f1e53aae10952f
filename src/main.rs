//! `nordform`: the form engine, the engagement index and the patient portal stub in one
//! process, each on its own port, for trying the whole flow on one machine.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use common::config::{LogConfig, LogFormat};
use common::shutdown::Shutdown;

/// Runs the form engine, the engagement index and the patient portal stub in one process.
///
/// Each service reads its own configuration as when run alone (an optional TOML file, then
/// environment variables `FORM_ENGINE__...`, `ENGAGEMENT_INDEX__...`, `PATIENT_PORTAL_STUB__...`);
/// the options below win over both. With no database URL configured each service keeps a
/// SQLite file under the data directory.
#[derive(Debug, Parser)]
#[command(name = "nordform", version)]
struct Args {
    /// Directory for the services' SQLite files (created on first start).
    #[arg(long, value_name = "DIR", default_value = "data")]
    data_dir: PathBuf,
    /// Address the three services listen on.
    #[arg(long, value_name = "IP")]
    host: Option<IpAddr>,
    /// Port of the form engine [default: 8081].
    #[arg(long, value_name = "PORT")]
    form_engine_port: Option<u16>,
    /// Port of the engagement index [default: 8082].
    #[arg(long, value_name = "PORT")]
    engagement_index_port: Option<u16>,
    /// Port of the patient portal stub [default: 8083].
    #[arg(long, value_name = "PORT")]
    portal_port: Option<u16>,
    /// TOML configuration file of the form engine.
    #[arg(long, value_name = "FILE")]
    form_engine_config: Option<PathBuf>,
    /// TOML configuration file of the engagement index.
    #[arg(long, value_name = "FILE")]
    engagement_index_config: Option<PathBuf>,
    /// TOML configuration file of the patient portal stub.
    #[arg(long, value_name = "FILE")]
    portal_config: Option<PathBuf>,
    /// Log output: `pretty` for a terminal, `json` for a log collector.
    #[arg(long, value_name = "FORMAT", default_value = "pretty", value_parser = parse_log_format)]
    log_format: LogFormat,
}

fn parse_log_format(value: &str) -> Result<LogFormat, String> {
    match value {
        "pretty" => Ok(LogFormat::Pretty),
        "json" => Ok(LogFormat::Json),
        other => Err(format!("`{other}` is not a log format; use pretty or json")),
    }
}

struct Configs {
    form_engine: form_engine::Config,
    engagement_index: engagement_index::Config,
    portal: patient_portal_stub::Config,
}

fn configs(args: &Args) -> anyhow::Result<Configs> {
    let data_dir = Some(args.data_dir.clone());
    let mut form_engine =
        form_engine::Config::load(args.form_engine_config.as_deref(), data_dir.clone())
            .context("form engine")?;
    let mut engagement_index =
        engagement_index::Config::load(args.engagement_index_config.as_deref(), data_dir.clone())
            .context("engagement index")?;
    let mut portal = patient_portal_stub::Config::load(args.portal_config.as_deref(), data_dir)
        .context("patient portal stub")?;
    if let Some(host) = args.host {
        form_engine.http.host = host;
        engagement_index.http.host = host;
        portal.http.host = host;
    }
    if let Some(port) = args.form_engine_port {
        form_engine.http.port = port;
    }
    if let Some(port) = args.engagement_index_port {
        engagement_index.http.port = port;
    }
    if let Some(port) = args.portal_port {
        portal.http.port = port;
    }
    Ok(Configs {
        form_engine,
        engagement_index,
        portal,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let log = LogConfig {
        format: args.log_format,
        ..LogConfig::default()
    };
    let _telemetry = match common::telemetry::init("nordform", &log) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("nordform: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("nordform stopped: {error:#}");
            eprintln!("nordform: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let configs = configs(args)?;
    let engagement_index = engagement_index::Application::build(configs.engagement_index).await?;
    let form_engine = form_engine::Application::build(configs.form_engine).await?;
    let portal = patient_portal_stub::Application::build(configs.portal).await?;

    println!();
    println!("nordform is running. Open:");
    for (name, addr) in [
        ("form engine        ", form_engine.local_addr()),
        ("engagement index   ", engagement_index.local_addr()),
        ("patient portal stub", portal.local_addr()),
    ] {
        println!("  {name}  http://{addr}/docs   (health: http://{addr}/health/ready)");
    }
    println!(
        "Data is kept under {}. Press Ctrl-C to stop.",
        args.data_dir.display()
    );
    println!();

    let shutdown = Shutdown::new();
    common::shutdown::cancel_on_signal(shutdown.clone());
    let mut services = tokio::task::JoinSet::new();
    services.spawn(engagement_index.run_until_stopped(shutdown.clone()));
    services.spawn(form_engine.run_until_stopped(shutdown.clone()));
    services.spawn(portal.run_until_stopped(shutdown.clone()));
    let mut outcome = Ok(());
    while let Some(joined) = services.join_next().await {
        let result = joined.map_err(anyhow::Error::from).and_then(|r| r);
        if let Err(error) = result {
            // One service failing stops the others: a half-running system misleads.
            shutdown.cancel();
            if outcome.is_ok() {
                outcome = Err(error);
            }
        }
    }
    outcome
}
