use std::process::ExitCode;

use clap::Parser;
use common::cli::ServiceArgs;
use patient_portal_stub::{Application, Config};

#[tokio::main]
async fn main() -> ExitCode {
    let args = ServiceArgs::parse();
    let config = match Config::load(args.config.as_deref(), args.data_dir) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("patient-portal-stub: {error}");
            return ExitCode::FAILURE;
        }
    };
    let _telemetry = match common::telemetry::init(patient_portal_stub::SERVICE_NAME, &config.log) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("patient-portal-stub: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = common::shutdown::Shutdown::new();
    common::shutdown::cancel_on_signal(shutdown.clone());
    let outcome = match Application::build(config).await {
        Ok(app) => app.run_until_stopped(shutdown).await,
        Err(error) => Err(error),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("patient-portal-stub stopped: {error:#}");
            eprintln!("patient-portal-stub: {error:#}");
            ExitCode::FAILURE
        }
    }
}
