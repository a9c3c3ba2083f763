//! The command line, as a library: `strata::cli::run(registry)` is the `main` of the `strata`
//! binary and of every project's data-migrations crate.
//!
//! Exit codes: 0 success; 1 the command ran and found something (pending, drift, not running);
//! 2 error; 130 interrupted (after cleanup).

mod aws;
mod baseline;
mod census;
mod check;
mod codegen;
mod data;
mod dev;
mod diff;
mod generate;
mod import;
mod init;
mod inspect;
mod json;
mod lint;
mod migrate;
mod opt;
mod pull;
mod push;
mod renames;
mod rollback;
mod status;
mod up;

use std::ffi::OsString;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, OnceLock};

use crate::config::{Env, Project};
use crate::data::Registry;
use crate::dev::{Cluster, ClusterOptions, Started};
use crate::normalise::scratch::ScratchServer;
use crate::postgres::url::DbUrl;
use crate::{Error, Result};

/// Runs the command line with the process arguments and returns the exit code.
pub fn run(registry: Registry) -> ExitCode {
    run_with_args(registry, std::env::args_os())
}

/// Runs the command line with the given arguments (the first is the program name).
pub fn run_with_args<I, T>(registry: Registry, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let program = program_of(args.first().map(OsString::as_os_str));
    let _ = PROGRAM.set(program);
    let cli = {
        use clap::{CommandFactory as _, FromArgMatches as _};
        opt::Cli::command()
            .bin_name(program)
            .try_get_matches_from(&args)
            .and_then(|matches| opt::Cli::from_arg_matches(&matches))
    };
    let cli = match cli {
        Ok(cli) => cli,
        Err(e) => {
            // `--json` asked for a document even when the arguments are wrong.
            if e.use_stderr() && args.iter().any(|a| a == "--json") {
                json::set(true);
                json::emit(json::usage(&e.render().to_string()));
            } else if program == STRATA {
                let _ = e.print();
            } else {
                // Help, examples and hints name the command the user runs.
                let text = named(&e.render().to_string()).into_owned();
                if e.use_stderr() {
                    let _ = write!(std::io::stderr().lock(), "{text}");
                } else {
                    let _ = write!(std::io::stdout().lock(), "{text}");
                }
            }
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    json::set(cli.global.json);
    QUIET.store(
        cli.global.quiet || cli.global.json,
        std::sync::atomic::Ordering::Relaxed,
    );
    crate::progress::set_quiet(cli.global.quiet || cli.global.json);
    crate::progress::set_debug(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return report(&Error::io("starting the async runtime", e)),
    };
    let context = Context {
        outside_project: cli.command.outside_project(),
        registry: Mutex::new(registry),
        env: Env::from_process(),
        scratch: Mutex::default(),
        fixpoint: OnceLock::new(),
    };
    let result = runtime.block_on(async {
        let outcome = tokio::select! {
            outcome = dispatch(&context, cli) => outcome,
            _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
        };
        // Whatever happened, no scratch database outlives the command.
        context.drop_scratch().await;
        if let Some(fixpoint) = context.fixpoint.get() {
            fixpoint.save();
        }
        outcome
    });
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Found) => ExitCode::from(1),
        Err(e) => report(&e),
    }
}

/// How a command that ran went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Nothing to report: exit 0.
    Done,
    /// The command found something the caller should act on: exit 1.
    Found,
}

/// What every command has at hand.
struct Context {
    /// Whether the command may run without a `strata.toml`: it needs no project, or it was
    /// given a database URL on the command line.
    outside_project: bool,
    /// The data migrations the project's crate registered (taken by the data commands).
    registry: Mutex<Registry>,
    env: Env,
    scratch: Mutex<Vec<Arc<ScratchServer>>>,
    /// Fixed points of deparsed text found so far (see [`crate::normalise::fixpoint`]), kept in the
    /// project's cache.
    fixpoint: OnceLock<crate::normalise::fixpoint::Fixpoint>,
}

impl Context {
    /// The project of the working folder. Outside one (no `strata.toml` here or above), only a
    /// database URL (`--url`, `DATABASE_URL`) lets a command that needs a project go on:
    /// otherwise it stops before it starts or writes anything.
    fn project(&self, global: &opt::Global) -> Result<Project> {
        let cwd =
            std::env::current_dir().map_err(|e| Error::io("reading the working directory", e))?;
        let project = Project::load(&cwd, global.config.as_deref(), self.env.clone())?;
        if project.config_path.is_none()
            && !self.outside_project
            && project.env.get("DATABASE_URL").is_none()
        {
            return Err(Error::NoProject);
        }
        Ok(project)
    }

    /// The fixed points of deparsed text, cached in the project's `.strata/cache`.
    fn fixpoint(&self, project: &Project) -> &crate::normalise::fixpoint::Fixpoint {
        self.fixpoint.get_or_init(|| {
            crate::normalise::fixpoint::Fixpoint::new(Some(
                &project.root.join(".strata").join("cache"),
            ))
        })
    }

    fn cluster(&self, project: &Project) -> Result<Cluster> {
        // The development database lives in a project's folder: never in whatever folder a
        // command happened to run in.
        if project.config_path.is_none() {
            return Err(Error::NoProject);
        }
        Cluster::new(
            ClusterOptions {
                data_dir: project.dev_data_dir(),
                durable: true,
            },
            &project.env,
        )
    }

    /// The development cluster, started if it is not running, and whether strata started it.
    fn running_cluster(&self, project: &Project) -> Result<(Cluster, Started)> {
        let cluster = self.cluster(project)?;
        let started = cluster.start()?;
        if let Started::Started { port, .. } = started {
            note(format!(
                "started the development database on 127.0.0.1:{port}"
            ));
        }
        Ok((cluster, started))
    }

    /// The server for scratch databases: the user's own (`STRATA_DEV_URL`, `database.dev_url`),
    /// or the development cluster. Registered so that Ctrl-C drops what it created.
    async fn scratch_server(&self, project: &Project) -> Result<Arc<ScratchServer>> {
        let url = match project.dev_url()? {
            Some(url) => url,
            None => Cluster::url(self.running_cluster(project)?.1.port()),
        };
        let server = Arc::new(ScratchServer::connect(&url).await?);
        // Kept states of projects whose folder is gone are of no use to anyone.
        let _ = crate::normalise::state::sweep(&server).await;
        self.scratch
            .lock()
            .expect("scratch list poisoned")
            .push(server.clone());
        Ok(server)
    }

    /// The schemas a command works on: `--schema` flags, else `schema.schemas`, else all.
    fn scope(&self, project: &Project, flags: &[String]) -> crate::introspect::Scope {
        use crate::introspect::Scope;
        if !flags.is_empty() {
            Scope::Schemas(flags.to_vec())
        } else if !project.config.schema.schemas.is_empty() {
            Scope::Schemas(project.config.schema.schemas.clone())
        } else {
            Scope::AllUserSchemas
        }
    }

    /// Connects to the database the command works on: `--url`, `DATABASE_URL`, `database.url`,
    /// or the development database (started if needed).
    async fn connect_target(
        &self,
        project: &Project,
        target: &opt::Target,
    ) -> Result<(tokio_postgres::Client, DbUrl)> {
        let url = match project.target(target.url.as_deref())? {
            crate::config::Target::Url { url, .. } => url,
            crate::config::Target::Dev => Cluster::url(self.running_cluster(project)?.1.port()),
        };
        Ok((
            crate::postgres::connect_with(&url, &project.env).await?,
            url,
        ))
    }

    /// The declared schema files of the project.
    fn declared(&self, project: &Project) -> Result<crate::source::declared::Declared> {
        crate::source::declared::Declared::load(
            &project.root.join(&project.config.schema.dir),
            &project.config.schema.schemas,
        )
    }

    /// The declared schema files, or `None` when the project has none: the folder does not
    /// exist and `strata.toml` does not name it. A file that cannot be read is an error, never
    /// "no declared files".
    fn declared_if_any(
        &self,
        project: &Project,
    ) -> Result<Option<crate::source::declared::Declared>> {
        let dir = project.root.join(&project.config.schema.dir);
        if !dir.exists() && !project.config.schema.named {
            return Ok(None);
        }
        if !dir.is_dir() {
            return Err(Error::Invalid(format!(
                "{}: no such folder of declared schema files, but {} names it in [schema]; restore it, \
                 write it from a database with `strata pull`, or change [schema]",
                dir.display(),
                project.config_path.as_deref().map_or_else(
                    || crate::config::FILE_NAME.into(),
                    |p| p.display().to_string()
                )
            )));
        }
        self.declared(project).map(Some)
    }

    /// The migrations folder of the project.
    fn migrations(&self, project: &Project) -> Result<crate::source::migrations::MigrationsDir> {
        crate::source::migrations::MigrationsDir::load(
            &project.root.join(&project.config.migrations.dir),
        )
    }

    /// The schemas strata manages in a database: `schema.schemas`, else the declared folders,
    /// else every user schema (a deploy may ship without the declared files).
    fn managed_scope(&self, project: &Project) -> crate::introspect::Scope {
        use crate::introspect::Scope;
        if !project.config.schema.schemas.is_empty() {
            return Scope::Schemas(project.config.schema.schemas.clone());
        }
        // Only the folder names matter here, not the files' text.
        let dir = project.root.join(&project.config.schema.dir);
        match crate::source::files::schema_folders(&dir) {
            Ok(schemas) if !schemas.is_empty() => Scope::Schemas(schemas),
            _ => Scope::AllUserSchemas,
        }
    }

    /// The history table of the project.
    fn history(&self, project: &Project) -> Result<crate::apply::history::History> {
        Ok(crate::apply::history::History::new(
            crate::config::table_name("migrations.table", &project.config.migrations.table)?,
        ))
    }

    /// The catalog of a live database's managed schemas, without strata's tracking tables.
    async fn live_catalog(
        &self,
        project: &Project,
        client: &tokio_postgres::Client,
        scope: &crate::introspect::Scope,
    ) -> Result<strata_core::catalog::Catalog> {
        let tracking = project.tracking_tables()?;
        Ok(
            crate::introspect::introspect_without(client, scope, &tracking)
                .await?
                .catalog,
        )
    }

    async fn drop_scratch(&self) {
        let servers: Vec<_> = self
            .scratch
            .lock()
            .expect("scratch list poisoned")
            .drain(..)
            .collect();
        for server in servers {
            if let Err(e) = server.drop_all().await {
                eprintln!("strata: warning: {e}");
            }
        }
    }
}

async fn dispatch(context: &Context, cli: opt::Cli) -> Result<Outcome> {
    match cli.command {
        opt::Command::Dev { action } => dev::run(context, &cli.global, action).await,
        opt::Command::Data { action } => data::run(context, &cli.global, action).await,
        opt::Command::Aws {
            action: opt::AwsAction::Check,
        } => aws::check(context, &cli.global).await,
        opt::Command::Diff(args) => diff::run(context, &cli.global, args).await,
        opt::Command::Inspect(args) => inspect::run(context, &cli.global, args).await,
        opt::Command::Import { action } => match action {
            opt::ImportAction::Drizzle(args) => import::drizzle(context, &cli.global, args).await,
            opt::ImportAction::Prisma(args) => {
                import::foreign(
                    context,
                    &cli.global,
                    args,
                    crate::import::foreign::Tool::Prisma,
                )
                .await
            }
            opt::ImportAction::Sqlx(args) => {
                import::foreign(
                    context,
                    &cli.global,
                    args,
                    crate::import::foreign::Tool::Sqlx,
                )
                .await
            }
        },
        opt::Command::Pull(args) => pull::run(context, &cli.global, args).await,
        opt::Command::Push(args) => push::run(context, &cli.global, args).await,
        opt::Command::Generate(args) => generate::run(context, &cli.global, args).await,
        opt::Command::Init(args) => init::run(args),
        opt::Command::Migrate(args) => migrate::run(context, &cli.global, args).await,
        opt::Command::Rollback(args) => rollback::run(context, &cli.global, args).await,
        opt::Command::Lint(args) => lint::run(context, &cli.global, args).await,
        opt::Command::Baseline(args) => baseline::run(context, &cli.global, args).await,
        opt::Command::Up(args) => up::run(context, &cli.global, args).await,
        opt::Command::Check(args) => check::run(context, &cli.global, args).await,
        opt::Command::Status(args) => status::run(context, &cli.global, args).await,
        opt::Command::Codegen(args) => codegen::run(context, &cli.global, args).await,
        opt::Command::Sum => generate::sum(context, &cli.global),
        opt::Command::Completions { shell } => {
            use clap::CommandFactory as _;
            // Written whole: clap_complete panics on a closed pipe (`… | head`).
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut opt::Cli::command(), "strata", &mut text);
            let _ = std::io::stdout().lock().write_all(&text);
            Ok(Outcome::Done)
        }
        opt::Command::Man => {
            use clap::CommandFactory as _;
            let mut text = Vec::new();
            clap_mangen::Man::new(opt::Cli::command())
                .render(&mut text)
                .map_err(|e| Error::io("rendering the manual page", e))?;
            let _ = std::io::stdout().lock().write_all(&text);
            Ok(Outcome::Done)
        }
    }
}

/// Whether a person can answer questions (standard input and error are terminals).
fn interactive() -> bool {
    use std::io::IsTerminal as _;
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks a yes/no question on standard error; anything but yes is no.
fn ask(question: &str) -> Result<bool> {
    use std::io::BufRead as _;
    eprint!("{}", named(question));
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io("reading the answer", e))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Writes a new file (and its folder), never over an existing one.
fn write_new(path: &std::path::Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

const STRATA: &str = "strata";

/// How the user runs strata: `strata`, or `cargo db` through a project's own binary (the alias
/// `strata init` writes).
static PROGRAM: OnceLock<&'static str> = OnceLock::new();

fn program_of(arg0: Option<&std::ffi::OsStr>) -> &'static str {
    let stem = arg0
        .map(std::path::Path::new)
        .and_then(std::path::Path::file_stem)
        .and_then(|s| s.to_str());
    match stem {
        Some(STRATA) | None => STRATA,
        Some(_) => "cargo db",
    }
}

/// `text` with every `` `strata … `` command written as the user runs it (`` `cargo db … ``
/// under a project's binary). Messages are written with `strata`; this is the one place that
/// renames them.
fn named(text: &str) -> std::borrow::Cow<'_, str> {
    let program = PROGRAM.get().copied().unwrap_or(STRATA);
    if program == STRATA {
        return text.into();
    }
    text.replace("`strata ", &format!("`{program} "))
        .replace("\n  strata ", &format!("\n  {program} "))
        .into()
}

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A note on standard error about what happens (not a warning, not an error): `-q` and `--json`
/// leave it out.
fn note(text: impl std::fmt::Display) {
    if !QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        let _ = writeln!(
            std::io::stderr().lock(),
            "strata: {}",
            named(&text.to_string())
        );
    }
}

/// Prints a line to standard output. A closed pipe (`strata … | head`) is not an error. With
/// `--json` the command's document takes the place of these lines.
fn say(text: impl std::fmt::Display) {
    if json::on() {
        return;
    }
    let _ = writeln!(std::io::stdout().lock(), "{}", named(&text.to_string()));
}

fn report(error: &Error) -> ExitCode {
    if json::on() {
        json::emit(json::error(error));
    } else {
        let _ = writeln!(
            std::io::stderr().lock(),
            "error: {}",
            named(&error.to_string())
        );
    }
    // 128 + SIGINT, as shells report an interrupted command.
    ExitCode::from(if matches!(error, Error::Interrupted) {
        130
    } else {
        2
    })
}
