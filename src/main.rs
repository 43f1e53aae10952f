//! `nordform`: the form engine, the engagement index and the patient portal stub in one
//! process, each on its own port, for trying the whole flow on one machine; and
//! `nordform verify`, the integrator's connection kit (the `connection-kit` crate); and
//! `nordform migrate` / `nordform export` (the `migration-kit` crate).

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use common::config::{HttpConfig, LogConfig, LogFormat};
use common::shutdown::Shutdown;
use demo_care_system::{DemoCareSystem, DemoCareSystemConfig};

/// Runs the form engine, the engagement index and the patient portal stub in one process.
///
/// Each service reads its own configuration as when run alone (an optional TOML file, then
/// environment variables `FORM_ENGINE__...`, `ENGAGEMENT_INDEX__...`, `PATIENT_PORTAL_STUB__...`);
/// the options below win over both. With no database URL configured each service keeps a
/// SQLite file under the data directory.
#[derive(Debug, Parser)]
#[command(name = "nordform", version, args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
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
    /// Start the demo care system (on --care-system-port) with the example template: the other
    /// party of the flow, to walk it end to end in a browser. `--demo false` leaves it out.
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    demo: bool,
    /// Port of the demo care system [default: 8084].
    #[arg(long, value_name = "PORT", default_value_t = 8084)]
    care_system_port: u16,
    /// Log output: `pretty` for a terminal, `json` for a log collector.
    #[arg(long, value_name = "FORMAT", default_value = "pretty", value_parser = parse_log_format)]
    log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Tests a deployment or a care system end to end and writes the approval report
    /// (report.html, junit.xml, report.json); exits 0 only when every check passed.
    Verify(connection_kit::VerifyArgs),
    /// Moves a region's data into staging installations (the export format, or skltp-ei's
    /// engagement table as TSV), verifies it and switches them to operational
    /// (docs/migration.md); exits 0 only when the verification passed.
    Migrate(migration_kit::MigrateArgs),
    /// Writes an installation's data into a directory `nordform migrate` reads (manifest.json
    /// and one NDJSON file per entity), optionally encrypted with age.
    Export(migration_kit::ExportArgs),
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
    connect(&mut form_engine, &engagement_index, &mut portal);
    Ok(Configs {
        form_engine,
        engagement_index,
        portal,
    })
}

/// The URL another local service reaches a service at: https when its `[auth.tls]` is set,
/// and a wildcard listen address replaced by loopback.
fn reachable(http: &HttpConfig, tls: bool) -> String {
    let host = if http.host.is_unspecified() {
        IpAddr::from([127, 0, 0, 1])
    } else {
        http.host
    };
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{}", std::net::SocketAddr::new(host, http.port))
}

/// Points the services at each other where their configuration still has the defaults, so
/// changed ports keep the flow working; an explicitly configured address is kept.
fn connect(
    form_engine: &mut form_engine::Config,
    engagement_index: &engagement_index::Config,
    portal: &mut patient_portal_stub::Config,
) {
    let defaults = (
        form_engine::Config::default(),
        patient_portal_stub::Config::default(),
    );
    if form_engine.engagement_index_url == defaults.0.engagement_index_url {
        form_engine.engagement_index_url =
            reachable(&engagement_index.http, engagement_index.auth.tls.is_some());
    }
    if form_engine.engagement_index_hsa_id.is_none() {
        form_engine.engagement_index_hsa_id = Some(engagement_index.hsa_id.clone());
    }
    if portal.form_engine_url == defaults.1.form_engine_url {
        portal.form_engine_url = reachable(&form_engine.http, form_engine.auth.tls.is_some());
    }
    // The citizens' reminders go to the portal in this process (docs/follow-up.md).
    if form_engine.patient_portal_url.is_none() {
        form_engine.patient_portal_url = Some(reachable(&portal.http, portal.auth.tls.is_some()));
    }
}

#[global_allocator]
static ALLOCATOR: common::allocator::Allocator = common::allocator::Allocator;

fn main() -> ExitCode {
    common::allocator::configure();
    common::cli::runtime().block_on(launch())
}

async fn launch() -> ExitCode {
    let mut args = Args::parse();
    match args.command.take() {
        Some(Command::Verify(verify)) => {
            return match connection_kit::run(verify).await {
                Ok(outcome) if outcome.passed() => ExitCode::SUCCESS,
                Ok(_) => ExitCode::FAILURE,
                Err(error) => {
                    eprintln!("nordform verify: {error:#}");
                    ExitCode::from(2)
                }
            };
        }
        Some(Command::Migrate(migrate)) => {
            return match migration_kit::migrate(migrate).await {
                Ok(outcome) if outcome.passed() => ExitCode::SUCCESS,
                Ok(_) => ExitCode::FAILURE,
                Err(error) => {
                    eprintln!("nordform migrate: {error:#}");
                    ExitCode::from(2)
                }
            };
        }
        Some(Command::Export(export)) => {
            return match migration_kit::export(export).await {
                Ok(_) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("nordform export: {error:#}");
                    ExitCode::from(2)
                }
            };
        }
        None => {}
    }
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
    common::open_files::raise_limit();
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
    let mut configs = configs(args)?;
    if args.demo && configs.form_engine.instruments.care_unit.is_none() {
        // The demo's care unit (the example template's owner) gets the instrument library,
        // so a PHQ-9, GAD-7 or AUDIT-C can be requested from the first start.
        configs.form_engine.instruments.care_unit =
            Some(form_engine::demo::health_declaration().health_care_facility_unit);
    }
    if args.demo && configs.form_engine.designer.staff.is_empty() {
        // Staff for the form designer's sign-in stand-in (docs/designer.md).
        configs.form_engine.designer.staff = form_engine::demo::designer_staff();
    }
    let designer = designer_sign_in(&configs.form_engine);
    let urls = (
        reachable(
            &configs.form_engine.http,
            configs.form_engine.auth.tls.is_some(),
        ),
        reachable(
            &configs.engagement_index.http,
            configs.engagement_index.auth.tls.is_some(),
        ),
        reachable(&configs.portal.http, configs.portal.auth.tls.is_some()),
    );
    let care_system = args.demo.then(|| {
        let mut config = DemoCareSystemConfig::new(
            &urls.0,
            &urls.1,
            &urls.2,
            form_engine::demo::health_declaration_json(),
        );
        config.http = HttpConfig {
            port: args.care_system_port,
            ..config.http
        };
        if let Some(host) = args.host {
            config.http.host = host;
        }
        notify_demo_directly(&mut configs.form_engine, &config);
        config
    });
    let engagement_index = engagement_index::Application::build(configs.engagement_index).await?;
    let form_engine = form_engine::Application::build(configs.form_engine).await?;
    let portal = patient_portal_stub::Application::build(configs.portal).await?;
    let care_system = match care_system {
        Some(config) => Some(DemoCareSystem::build(config).await?),
        None => None,
    };

    let shutdown = Shutdown::new();
    common::shutdown::cancel_on_signal(shutdown.clone());
    let mut services = tokio::task::JoinSet::new();
    let addresses = (
        format!(
            "{}://{}",
            engagement_index.scheme(),
            engagement_index.local_addr()
        ),
        format!("{}://{}", form_engine.scheme(), form_engine.local_addr()),
        format!("{}://{}", portal.scheme(), portal.local_addr()),
    );
    services.spawn(engagement_index.run_until_stopped(shutdown.clone()));
    services.spawn(form_engine.run_until_stopped(shutdown.clone()));
    services.spawn(portal.run_until_stopped(shutdown.clone()));

    println!();
    println!("nordform is running.");
    if let Some(care_system) = care_system {
        let address = care_system.local_addr();
        set_up_demo(&care_system).await?;
        services.spawn(care_system.run_until_stopped(shutdown.clone()));
        println!();
        println!("Walk the flow (details in the README):");
        println!("  1. Care system: request a form for 191212121212   http://{address}/");
        println!("  2. Citizen: sign in as Tolvan Tolvansson, open the message, answer the form");
        println!(
            "                                                    {}/sign-in",
            urls.2
        );
        println!("  3. Care system: see FormComplete and read the answers   http://{address}/");
    }
    if let Some(staff) = designer {
        println!();
        println!("Design a form (details in the README):");
        println!("  Form designer: {}/designer/", addresses.1);
        println!("  sign in as {staff} (a stand-in for SITHS)");
    }
    println!();
    println!("API documentation and health:");
    for (name, address) in [
        ("form engine        ", addresses.1),
        ("engagement index   ", addresses.0),
        ("patient portal stub", addresses.2),
    ] {
        println!("  {name}  {address}/docs   (health: {address}/health/ready)");
    }
    println!(
        "Data is kept under {}. Press Ctrl-C to stop.",
        args.data_dir.display()
    );
    println!();

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

/// Who can sign in to the form designer's stand-in, when it is served and offered.
fn designer_sign_in(form_engine: &form_engine::Config) -> Option<String> {
    let designer = &form_engine.designer;
    if !designer.enabled
        || designer.staff.is_empty()
        || !designer.stand_in_allowed(form_engine.auth.mode)
    {
        return None;
    }
    let names: Vec<String> = designer
        .staff
        .iter()
        .map(|s| format!("{} ({})", s.name, s.role.as_str()))
        .collect();
    Some(names.join(", "))
}

/// The form engine notifies the demo care system of its care unit's forms itself (the
/// `direct` route, TKB 2.1.1 §2.6), unless `[notification]` routes that care unit already.
fn notify_demo_directly(form_engine: &mut form_engine::Config, care_system: &DemoCareSystemConfig) {
    let (Ok(care_unit), Ok(logical_address)) = (
        common::identity::HsaId::parse(&care_system.care_unit),
        common::identity::HsaId::parse(&care_system.hsa_id),
    ) else {
        return;
    };
    let routes = &mut form_engine.notification.routes;
    if routes
        .iter()
        .any(|r| r.care_unit.as_ref() == Some(&care_unit))
    {
        return;
    }
    routes.push(form_engine::config::RouteConfig {
        care_unit: Some(care_unit),
        source_system: None,
        route: form_engine::domain::notification::Route::Direct,
        url: Some(format!(
            "{}/notifications",
            reachable(&care_system.http, false)
        )),
        logical_address: Some(logical_address),
    });
}

/// Saves the example template and subscribes the demo care system, once the services answer.
async fn set_up_demo(care_system: &DemoCareSystem) -> anyhow::Result<()> {
    let mut attempts = 0;
    loop {
        match care_system.set_up().await {
            Ok(()) => return Ok(()),
            Err(error) if attempts < 20 => {
                attempts += 1;
                tracing::debug!("the demo care system waits for the services: {error:#}");
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            Err(error) => return Err(error.context("the demo care system could not set itself up")),
        }
    }
}
