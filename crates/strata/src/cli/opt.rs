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
    /// Create a new project: strata.toml, schemas/, schema-migrations/ and a data-migrations crate.
    Init(InitArgs),
    /// Write a new migration from the declared schema files (compared with the migration history).
    Generate(GenerateArgs),
    /// Apply pending migrations.
    Migrate(MigrateArgs),
    /// Undo applied migrations newest first with their down files (default: the last one).
    Rollback(RollbackArgs),
    /// What a deploy runs: pending schema migrations, then pending data migrations.
    Up(UpArgs),
    /// Sync the database with the declared schema files directly (development).
    Push(PushArgs),
    /// Write the declared schema files from a database, one folder per schema.
    Pull(PullArgs),
    /// Print the plan that takes one schema to another, as SQL that `psql -f` runs.
    Diff(DiffArgs),
    /// Check the migrations folder, the history against the declared files, and the database for drift (exit 1 on a finding).
    Check(CheckArgs),
    /// Applied, pending and failed migrations, drift, and whether the database matches the declared files.
    Status(StatusArgs),
    /// Rewrite schema-migrations/strata.sum after you reviewed the migration files.
    Sum,
    /// Data migrations: Rust or SQL, per PostgreSQL schema, tracked in data_migrations.
    Data {
        #[command(subcommand)]
        action: DataAction,
    },
    /// AWS login for data migrations that read from S3.
    Aws {
        #[command(subcommand)]
        action: AwsAction,
    },
    /// Print the catalog of a database's managed schemas (a summary, or JSON).
    Inspect(InspectArgs),
    /// Adopt a project another tool managed, keeping its history.
    Import {
        #[command(subcommand)]
        action: ImportAction,
    },
    /// The embedded development database (used when no database URL is configured).
    Dev {
        #[command(subcommand)]
        action: DevAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportAction {
    /// Convert a Drizzle Kit migrations folder and record what its database applied (by hash) as applied.
    Drizzle(ImportDrizzleArgs),
}

#[derive(Debug, Args)]
pub struct ImportDrizzleArgs {
    #[command(flatten)]
    pub target: Target,

    /// Drizzle Kit's migrations folder (default: `out` of drizzle.config.*, else drizzle/, else migrations.dir).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Drizzle Kit's history table.
    #[arg(long, value_name = "SCHEMA.TABLE", default_value = crate::drizzle::TABLE)]
    pub table: String,

    /// How to resolve mismatches: `applied` (the database is right: record them as applied) or
    /// `pending` (the files are right: leave them to `strata migrate`).
    #[arg(long, value_name = "WAY")]
    pub force: Option<Resolve>,

    /// Then write the declared schema files from the database (`strata pull`).
    #[arg(long)]
    pub pull: bool,

    /// Say what would be imported and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Which way `import --force` resolves mismatches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Resolve {
    /// Record edited and skipped migrations as applied.
    Applied,
    /// Leave edited and skipped migrations pending.
    Pending,
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

/// Which database to work on.
#[derive(Debug, Args)]
pub struct Target {
    /// Database URL (default: DATABASE_URL, then database.url in strata.toml, then the development database).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub target: Target,

    /// A schema to read (repeatable; default: schema.schemas in strata.toml, else every user schema).
    #[arg(long = "schema", value_name = "NAME")]
    pub schemas: Vec<String>,

    /// Print the catalog as JSON.
    #[arg(long)]
    pub json: bool,

    /// Fail (exit 2) when the schemas hold objects strata does not model, instead of warning.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The starting state: a database URL, a folder of declared schema files, or a migrations folder.
    #[arg(long, value_name = "SRC")]
    pub from: String,

    /// The wanted state: a database URL, a folder of declared schema files, or a migrations folder.
    #[arg(long, value_name = "SRC")]
    pub to: String,

    /// Plan a rename instead of a drop and a create: OLD=NEW, e.g. questions.batteries.label=name (repeatable).
    #[arg(long = "rename", value_name = "OLD=NEW")]
    pub renames: Vec<String>,

    /// A schema to compare (repeatable; default: schema.schemas in strata.toml, else every user schema).
    #[arg(long = "schema", value_name = "NAME")]
    pub schemas: Vec<String>,

    /// Skip checking the plan on a scratch copy before printing it.
    #[arg(long)]
    pub no_verify: bool,

    /// Exit with 1 when there are differences (as `git diff --exit-code`).
    #[arg(long)]
    pub exit_code: bool,

    /// Fail (exit 2) when the schemas hold objects strata does not model, instead of warning.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub target: Target,

    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Apply steps that lose data, and treat undecided renames as drop and create, without asking.
    #[arg(long)]
    pub force: bool,

    /// Plan a rename instead of a drop and a create: OLD=NEW, e.g. questions.batteries.label=name (repeatable).
    #[arg(long = "rename", value_name = "OLD=NEW")]
    pub renames: Vec<String>,

    /// Fail (exit 2) when the schemas hold objects strata does not model, instead of warning.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    #[command(flatten)]
    pub target: Target,

    /// Folder to write (default: schema.dir in strata.toml, `schemas`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,

    /// Overwrite files that differ from what pull would write (local edits are lost).
    #[arg(long)]
    pub force: bool,

    /// Fail (exit 2) when the schemas hold objects strata does not model, instead of warning.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The migration's description, in its file name (default: from what changes).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Write an empty migration (and an empty down file) for hand-written SQL.
    #[arg(long)]
    pub custom: bool,

    /// Write the down file of an existing migration (imported or hand-written) from the replayed history.
    #[arg(long, value_name = "VERSION", conflicts_with_all = ["custom", "name", "renames"])]
    pub down_for: Option<String>,

    /// Plan a rename instead of a drop and a create: OLD=NEW, e.g. questions.batteries.label=name (repeatable).
    #[arg(long = "rename", value_name = "OLD=NEW")]
    pub renames: Vec<String>,

    /// Treat undecided renames as drop and create without asking.
    #[arg(long)]
    pub force: bool,

    /// Fail (exit 2) when the schemas hold objects strata does not model, instead of warning.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub target: Target,

    /// Apply migrations up to and including this number.
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,

    /// Say what would be applied and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Apply pending migrations older than the newest applied one (merged from another branch).
    #[arg(long)]
    pub allow_out_of_order: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: Target,

    /// Undo every migration newer than this number, newest first (`--to 0`: all of them).
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,

    /// Say what would run (the down files and the rows they delete) and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Run down files that delete data without asking (needed off a terminal); on a production database, needed together with --to.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub target: Target,

    /// Print the findings as JSON.
    #[arg(long)]
    pub json: bool,

    /// Fail (exit 2) when the schemas hold objects strata does not model, instead of warning.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: Target,

    /// Print the status as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum DataAction {
    /// Run pending data migrations (all, or one schema's), each in a transaction with its tracking row.
    Migrate {
        /// Only this PostgreSQL schema's migrations.
        schema: Option<String>,
        #[command(flatten)]
        target: Target,
        /// Run them in a transaction, report the rows they change per table, and roll back.
        #[arg(long)]
        dry_run: bool,
    },
    /// Undo applied data migrations (all, or one schema's), newest first.
    Reset {
        /// Only this PostgreSQL schema's migrations.
        schema: Option<String>,
        #[command(flatten)]
        target: Target,
        /// Do not ask for confirmation (needed off a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Applied and pending data migrations (exit 1 when some are pending).
    Status {
        /// Only this PostgreSQL schema's migrations.
        schema: Option<String>,
        #[command(flatten)]
        target: Target,
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write the next numbered data migration of a schema.
    New {
        /// The PostgreSQL schema.
        schema: String,
        /// What it does, in a few words (becomes part of its name).
        description: String,
        /// Write a Rust migration into src/data_migrations/<schema>/ instead of SQL files.
        #[arg(long)]
        rust: bool,
    },
    /// Show or set the environment the database is marked as (`production` refuses `data reset`).
    Env {
        /// The environment to mark the database as: production, staging, development, …
        env: Option<String>,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Debug, Subcommand)]
pub enum AwsAction {
    /// Resolve AWS credentials as data migrations will; say who you are and when they expire, or how to log in (exit 2).
    Check,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub target: Target,

    /// Say what would be applied and change nothing (data migrations run and roll back).
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The folder (default: this one). Existing files are never overwritten.
    pub dir: Option<PathBuf>,
}
