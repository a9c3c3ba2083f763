//! The command line, as clap definitions only.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// strata: PostgreSQL schema and data migrations from declared SQL.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Configuration file (default: strata.toml in this folder or a parent).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The embedded development database (used when no database URL is configured).
    Dev {
        #[command(subcommand)]
        action: DevAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevAction {
    /// Create (first time) and start the development database.
    Start,
    /// Stop the development database.
    Stop,
    /// Say whether the development database runs, where, and on which port (exit 1 when it does not run).
    Status,
    /// Print the development database's URL (starting it if needed): `psql "$(strata dev url)"`.
    Url,
    /// Create a scratch database and hold it until interrupted (for testing cleanup).
    #[command(hide = true)]
    HoldScratch,
}
