//! The command line, as clap definitions only.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// strata: PostgreSQL schema and data migrations from declared SQL.
#[derive(Debug, Parser)]
#[command(
    name = "strata",
    version,
    about = "PostgreSQL schema and data migrations: declare the schema in SQL, generate reviewed migrations, apply them safely",
    long_about = None,
    propagate_version = true,
    after_help = "Examples:\n  \
        strata init                       start a project here\n  \
        strata generate --name reports    write a migration from schemas/\n  \
        strata migrate                    apply pending migrations\n  \
        strata up                         what a deploy runs: schema, then data migrations\n  \
        strata status --json              where the database stands, for a script\n\n\
        Exit codes: 0 done, 1 found something (pending, drift, refused), 2 error.\n\
        Output for scripts: --json (docs/json.md). Shell completions: strata completions SHELL."
)]
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

    /// Print one JSON document on standard output (errors too; shapes in docs/json.md).
    #[arg(long, global = true)]
    pub json: bool,

    /// Print only results and errors: no progress, no notes on standard error.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print what each phase does and how long it takes, on standard error (as STRATA_LOG=debug).
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new project: strata.toml, schemas/, schema-migrations/ and a data-migrations crate.
    #[command(
        after_help = "Examples:\n  strata init                  a new project in this folder, or strata added to this crate or workspace\n  strata init survey-db        a new project in survey-db/"
    )]
    Init(InitArgs),
    /// Write a new migration from the declared schema files (compared with the migration history).
    #[command(
        after_help = "Examples:\n  strata generate --name reports                          compare schemas/ with the history, write the migration\n  strata generate --rename questions.batteries.label=name   a rename, not a drop and an add\n  strata generate --custom --name backfill                an empty migration for hand-written SQL"
    )]
    Generate(GenerateArgs),
    /// Apply pending migrations.
    #[command(
        after_help = "Examples:\n  strata migrate                       apply every pending migration\n  strata migrate --dry-run             say what would be applied\n  strata migrate --to 0003 --url \"$PROD_URL\""
    )]
    Migrate(MigrateArgs),
    /// Undo applied migrations newest first with their down files (default: the last one).
    #[command(
        after_help = "Examples:\n  strata rollback --dry-run            say which down file would run and what it deletes\n  strata rollback                      undo the newest applied migration\n  strata rollback --to 0003 --force    undo everything after 0003, without asking"
    )]
    Rollback(RollbackArgs),
    /// Record migrations as applied without running them, once a scratch replay proves the database holds what they give.
    #[command(
        after_help = "Examples:\n  strata baseline --dry-run            compare the database with the replayed migrations, record nothing\n  strata baseline                      record every migration as applied (the database was built by push, by hand, by another tool)\n  strata baseline --to 0003            record 0001 to 0003; `strata migrate` applies the rest"
    )]
    Baseline(BaselineArgs),
    /// What a deploy runs: pending schema migrations, then pending data migrations.
    #[command(
        after_help = "Examples:\n  strata up                            schema migrations, then data migrations\n  DATABASE_URL=postgres://… strata up --dry-run"
    )]
    Up(UpArgs),
    /// Sync the database with the declared schema files directly (development).
    #[command(
        after_help = "Examples:\n  strata push --dry-run                print the plan, change nothing\n  strata push                          apply it (asks before steps that affect rows)\n  strata push --force                  off a terminal: apply them without asking"
    )]
    Push(PushArgs),
    /// Write the declared schema files from a database, one folder per schema.
    #[command(
        after_help = "Examples:\n  strata pull --url postgres://me@localhost/app   write schemas/<schema>/schema.sql\n  strata pull --out /tmp/schemas                   somewhere else"
    )]
    Pull(PullArgs),
    /// Print the plan that takes one schema to another, as SQL that `psql -f` runs.
    #[command(
        after_help = "Examples:\n  strata diff --from schema-migrations --to schemas        what generate would write\n  strata diff --from \"$PROD_URL\" --to schemas --exit-code   exit 1 when they differ\n  strata diff --from postgres://…/a --to postgres://…/b"
    )]
    Diff(DiffArgs),
    /// Check the migrations folder, the history against the declared files, and the database for drift (exit 1 on a finding).
    #[command(
        after_help = "Examples:\n  strata check                         exit 1 on any finding\n  strata check --json                  findings with kind, object, statement, file"
    )]
    Check(CheckArgs),
    /// Judge migration files for blocking locks and data loss (exit 1 on an error-level finding).
    #[command(
        after_help = "Examples:\n  strata lint                                every migration in the folder\n  strata lint --url \"$PROD_URL\"               the pending ones, ranked by table size\n  strata lint schema-migrations/0007_x.sql --format github\n  strata lint --deny rename-breaks-code --allow drops-data\n\nRules:\n  blocking-index-build, unique-without-index, set-not-null-scan, constraint-without-not-valid,\n  validate-in-transaction, column-type-change, volatile-default, drops-data, rename-breaks-code,\n  missing-lock-timeout, concurrently-in-transaction, transaction-control\nA file acknowledges a finding with `-- strata:allow RULE reason` before the statement (before\nthe first statement: the whole file)."
    )]
    Lint(LintArgs),
    /// Applied, pending and failed migrations, drift, and whether the database matches the declared files.
    #[command(
        after_help = "Examples:\n  strata status\n  strata status --url \"$STAGING_URL\" --json"
    )]
    Status(StatusArgs),
    /// Write the Rust types of the declared schema for typed data migrations ([codegen] rust in strata.toml).
    #[command(
        after_help = "Examples:\n  strata codegen                       write src/schema.rs (as [codegen] rust names it)\n  strata codegen --check               exit 1 when the file is not what codegen would write"
    )]
    Codegen(CodegenArgs),
    /// Rewrite schema-migrations/strata.sum after you reviewed the migration files.
    #[command(
        after_help = "Examples:\n  strata sum                           after reviewing an edited migration"
    )]
    Sum,
    /// Data migrations: Rust or SQL, per PostgreSQL schema, tracked in data_migrations.
    #[command(
        after_help = "Examples:\n  strata data new questions dem_characteristics   SQL files for the next migration\n  strata data migrate questions                    one schema's pending migrations\n  strata data migrate --dry-run                    run, count rows, roll back\n  strata data reset questions --yes                down, newest first\n  strata data status --json"
    )]
    Data {
        #[command(subcommand)]
        action: DataAction,
    },
    /// AWS login for data migrations that read from S3.
    #[command(
        after_help = "Examples:\n  aws sso login --profile survey && AWS_PROFILE=survey strata aws check"
    )]
    Aws {
        #[command(subcommand)]
        action: AwsAction,
    },
    /// Print the catalog of a database's managed schemas (a summary, or JSON).
    #[command(
        after_help = "Examples:\n  strata inspect --schema questions    a summary with the catalog hash\n  strata inspect --json                the catalog as JSON"
    )]
    Inspect(InspectArgs),
    /// Adopt a project another tool managed, keeping its history.
    #[command(
        after_help = "Examples:\n  strata import drizzle --dry-run          show how the journal and the database match\n  strata import drizzle --pull             import, then write schemas/ from the database\n  strata import prisma                     prisma/migrations and _prisma_migrations, proven by replay\n  strata import sqlx                       migrations/ and _sqlx_migrations, proven by replay"
    )]
    Import {
        #[command(subcommand)]
        action: ImportAction,
    },
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  strata completions bash > ~/.local/share/bash-completion/completions/strata\n  strata completions zsh > \"${fpath[1]}/_strata\"\n  strata completions fish > ~/.config/fish/completions/strata.fish"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `strata man | man -l -`.
    #[command(
        after_help = "Examples:\n  strata man | man -l -\n  strata man > /usr/local/share/man/man1/strata.1"
    )]
    Man,
    /// The embedded development database (used when no database URL is configured).
    #[command(
        after_help = "Examples:\n  strata dev start\n  psql \"$(strata dev url)\"\n  strata dev stop"
    )]
    Dev {
        #[command(subcommand)]
        action: DevAction,
    },
}

impl Command {
    /// Whether the command may run outside a project: it needs none (`init`, `aws check`), or
    /// it names a database on the command line.
    pub fn outside_project(&self) -> bool {
        let url = |target: &Target| target.url.as_deref().is_some_and(|u| !u.is_empty());
        match self {
            Command::Init(_) | Command::Aws { .. } | Command::Completions { .. } | Command::Man => {
                true
            }
            Command::Dev {
                action: DevAction::HoldScratch,
            } => true,
            Command::Migrate(a) => url(&a.target),
            Command::Rollback(a) => url(&a.target),
            Command::Baseline(a) => url(&a.target),
            Command::Up(a) => url(&a.target),
            Command::Push(a) => url(&a.target),
            Command::Pull(a) => url(&a.target),
            Command::Check(a) => url(&a.target),
            Command::Lint(a) => !a.files.is_empty(),
            Command::Status(a) => url(&a.target),
            Command::Inspect(a) => url(&a.target),
            Command::Import { action } => match action {
                ImportAction::Drizzle(a) => url(&a.target),
                ImportAction::Prisma(a) | ImportAction::Sqlx(a) => url(&a.target),
            },
            Command::Diff(a) => [&a.from, &a.to].iter().any(|s| {
                let s = s.to_ascii_lowercase();
                s.starts_with("postgres://") || s.starts_with("postgresql://") || s.contains('=')
            }),
            Command::Data { action } => match action {
                DataAction::Migrate { target, .. }
                | DataAction::Reset { target, .. }
                | DataAction::Status { target, .. }
                | DataAction::Env { target, .. } => url(target),
                DataAction::New { .. } => false,
            },
            Command::Generate(_) | Command::Codegen(_) | Command::Sum | Command::Dev { .. } => {
                false
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ImportAction {
    #[command(
        after_help = "Examples:\n  strata import drizzle --dry-run\n  strata import drizzle --dir drizzle --url \"$DATABASE_URL\" --force pending"
    )]
    /// Convert a Drizzle Kit migrations folder and record what its database applied (by hash) as applied.
    Drizzle(ImportDrizzleArgs),
    #[command(
        after_help = "Examples:\n  strata import prisma --dry-run\n  strata import prisma --dir prisma/migrations --url \"$DATABASE_URL\""
    )]
    /// Convert Prisma Migrate's migrations and record those _prisma_migrations applied, once a replay proves the database holds them.
    Prisma(ImportForeignArgs),
    #[command(
        after_help = "Examples:\n  strata import sqlx --dry-run\n  strata import sqlx --dir migrations --url \"$DATABASE_URL\""
    )]
    /// Convert sqlx's migrations and record those _sqlx_migrations applied, once a replay proves the database holds them.
    Sqlx(ImportForeignArgs),
}

#[derive(Debug, Args)]
pub struct ImportForeignArgs {
    #[command(flatten)]
    pub target: Target,

    /// The tool's migrations folder (default: prisma/migrations for Prisma, migrations for sqlx).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Say what would be imported and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ImportDrizzleArgs {
    #[command(flatten)]
    pub target: Target,

    /// Drizzle Kit's migrations folder (default: `out` of drizzle.config.*, else drizzle/, else migrations.dir).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Drizzle Kit's history table (default: `migrations` of drizzle.config.*, else migrations.drizzle_table, drizzle.__drizzle_migrations); kept out of every catalog.
    #[arg(long, value_name = "SCHEMA.TABLE")]
    pub table: Option<String>,

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
    #[command(after_help = "Examples:\n  strata dev start")]
    /// Create (first time) and start the development database.
    Start,
    #[command(after_help = "Examples:\n  strata dev stop")]
    /// Stop the development database.
    Stop,
    #[command(after_help = "Examples:\n  strata dev status --json")]
    /// Say whether the development database runs, where, and on which port (exit 1 when it does not run).
    Status,
    #[command(after_help = "Examples:\n  psql \"$(strata dev url)\"")]
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
    // The value is never shown in help: it may hold a password.
    #[arg(long, value_name = "URL", env = "DATABASE_URL", hide_env_values = true)]
    pub url: Option<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub target: Target,

    /// A schema to read (repeatable; default: schema.schemas in strata.toml, else every user schema).
    #[arg(long = "schema", value_name = "NAME")]
    pub schemas: Vec<String>,

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
pub struct BaselineArgs {
    #[command(flatten)]
    pub target: Target,

    /// Record migrations up to and including this number (default: all of them).
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,

    /// Compare and say what would be recorded; record nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub target: Target,

    /// Fail (exit 2) when the schemas hold objects strata does not model, instead of warning.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Migration files to judge (default: the pending migrations with --url, else every migration of the folder).
    #[arg(value_name = "FILE")]
    pub files: Vec<std::path::PathBuf>,

    /// Read the catalog and table sizes from this database: findings on small tables are warnings, partitioned tables are known.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// How findings are printed: text, json, or github (workflow annotations).
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    pub format: LintFormat,

    /// Make this rule's findings errors (repeatable).
    #[arg(long, value_name = "RULE")]
    pub deny: Vec<String>,

    /// Leave this rule out (repeatable).
    #[arg(long, value_name = "RULE")]
    pub allow: Vec<String>,
}

/// How `strata lint` prints its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LintFormat {
    /// `file:line:col: level[rule]: message`, with the reason and the gentler form.
    Text,
    /// One JSON document.
    Json,
    /// GitHub Actions workflow commands (`::error file=…`), shown on the pull request.
    Github,
}

#[derive(Debug, Args)]
pub struct CodegenArgs {
    /// Write nothing; exit 1 when the file is missing or stale.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: Target,
}

#[derive(Debug, Subcommand)]
pub enum DataAction {
    #[command(
        after_help = "Examples:\n  strata data migrate                      every schema's pending migrations\n  strata data migrate questions            one schema's\n  strata data migrate --dry-run            run, count rows per table, roll back\n  strata data migrate --ignore-missing     run even though applied migrations are missing from the registry"
    )]
    /// Run pending data migrations (all, or one schema's), each in a transaction with its tracking row.
    Migrate {
        /// Only this PostgreSQL schema's migrations.
        schema: Option<String>,
        #[command(flatten)]
        target: Target,
        /// Run them in a transaction, report the rows they change per table, and roll back.
        #[arg(long)]
        dry_run: bool,
        /// Run pending migrations even though the database has applied ones of the same schema that the registry lacks (they are listed and left as they are).
        #[arg(long)]
        ignore_missing: bool,
    },
    #[command(
        after_help = "Examples:\n  strata data reset questions --yes        one schema's, newest first, without asking\n  strata data reset                        every schema's (asks on a terminal)"
    )]
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
    #[command(
        after_help = "Examples:\n  strata data status\n  strata data status questions --json"
    )]
    /// Applied and pending data migrations (exit 1 when some are pending).
    Status {
        /// Only this PostgreSQL schema's migrations.
        schema: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    #[command(
        after_help = "Examples:\n  strata data new questions fix_codes              SQL: data-migrations/questions/NNNN_fix_codes.up.sql and .down.sql\n  strata data new questions pilot_battery --rust   Rust: src/data_migrations/questions/mNNNN_pilot_battery.rs"
    )]
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
    #[command(
        after_help = "Examples:\n  strata data env                          how the database is marked\n  strata data env production --url \"$PROD_URL\""
    )]
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
    #[command(
        after_help = "Examples:\n  strata aws check\n  AWS_PROFILE=survey strata aws check --json"
    )]
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
