//! The form-engine binary: the form engine on its own.

use std::process::ExitCode;

use form_engine::{Application, Config, SERVICE_NAME};

#[tokio::main]
async fn main() -> ExitCode {
    common::cli::run_service(
        SERVICE_NAME,
        Config::load,
        |config| &config.log,
        |config, shutdown| async move {
            Application::build(config)
                .await?
                .run_until_stopped(shutdown)
                .await
        },
    )
    .await
}
