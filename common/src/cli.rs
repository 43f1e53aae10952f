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
