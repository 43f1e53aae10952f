//! The command line every service binary takes.

use std::path::PathBuf;

use clap::Parser;

#[derive(Debug, Clone, Parser)]
pub struct ServiceArgs {
    /// A TOML configuration file; environment variables override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for the SQLite database file when no database URL is configured.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// The `main` of a service binary (`common::service_main!(form_engine);`), for a crate that
/// exports `Application` (`build`, then `run_until_stopped`), `Config` (`load`, field `log`)
/// and `SERVICE_NAME`. A macro because `main` must be defined in the binary itself; the work
/// is [`run_service`].
#[macro_export]
macro_rules! service_main {
    ($service:ident) => {
        #[global_allocator]
        static ALLOCATOR: $crate::allocator::Allocator = $crate::allocator::Allocator;

        fn main() -> std::process::ExitCode {
            $crate::allocator::configure();
            $crate::cli::runtime().block_on($crate::cli::run_service(
                $service::SERVICE_NAME,
                $service::Config::load,
                |config| &config.log,
                |config, shutdown| async move {
                    $service::Application::build(config)
                        .await?
                        .run_until_stopped(shutdown)
                        .await
                },
            ))
        }
    };
}

/// The multi-threaded runtime `#[tokio::main]` would build; the binaries build it themselves so
/// that [`crate::allocator::configure`] runs before its threads.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the async runtime starts")
}

/// The whole `main` of a service binary: reads the command line and the configuration, starts
/// telemetry, runs the service until SIGTERM or Ctrl-C, and turns any failure into a message
/// on stderr (and the log) and a failing exit code.
pub async fn run_service<C, Run, Fut>(
    name: &'static str,
    load: fn(Option<&std::path::Path>, Option<PathBuf>) -> Result<C, crate::config::ConfigError>,
    log: fn(&C) -> &crate::config::LogConfig,
    run: Run,
) -> std::process::ExitCode
where
    Run: FnOnce(C, crate::shutdown::Shutdown) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let args = ServiceArgs::parse();
    let config = match load(args.config.as_deref(), args.data_dir) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{name}: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let _telemetry = match crate::telemetry::init(name, log(&config)) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("{name}: {error:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    crate::open_files::raise_limit();
    let shutdown = crate::shutdown::Shutdown::new();
    crate::shutdown::cancel_on_signal(shutdown.clone());
    match run(config, shutdown).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{name} stopped: {error:#}");
            eprintln!("{name}: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
