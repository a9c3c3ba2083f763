//! strata's benchmark harness.
//!
//! Every figure of strata is printed next to Drizzle Kit's and to the floor PostgreSQL's own
//! tools set, measured in the same run on the same machine, and as ratios against them, so that
//! the figures mean something on any machine. [`PROSE`] (the top of docs/benchmarks.md) says
//! what each column is.
//!
//! `cargo run --release -p strata-bench -- [--quick] [--profile] [--no-drizzle]
//! [--only introspect|commands|load] [--out docs/benchmarks.md]`

mod cli;
mod drizzle;
mod load;
mod run;
mod schema;

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use strata::config::Env;
use strata::dev::{Cluster, PgBin};
use strata::introspect::{Scope, introspect};
use strata::postgres::url::DbUrl;

struct Options {
    quick: bool,
    /// Leave Drizzle Kit out.
    no_drizzle: bool,
    profile: bool,
    out: Option<PathBuf>,
    /// Run one part only: `introspect`, `commands` or `load`.
    only: Option<String>,
}

fn main() -> ExitCode {
    let mut options = Options {
        quick: false,
        no_drizzle: false,
        profile: false,
        out: None,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // The data-load benchmark's own process: `--load-child DB_URL OBJECT_URL`.
            "--load-child" => {
                let (db, url) = (
                    args.next().unwrap_or_default(),
                    args.next().unwrap_or_default(),
                );
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                return match runtime.block_on(load::child(&db, &url)) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(message) => {
                        eprintln!("strata-bench: {message}");
                        ExitCode::from(2)
                    }
                };
            }
            // The bench schema as files, to read or to try by hand: `--write-schema N DIR`.
            "--write-schema" => {
                let n = args.next().and_then(|n| n.parse().ok()).unwrap_or(100);
                let dir = PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
                return match schema::write_all(n, &dir) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(message) => {
                        eprintln!("strata-bench: {message}");
                        ExitCode::from(2)
                    }
                };
            }
            // A command run by `run::run`: `--peak-child REPORT PROGRAM ARGS…`.
            "--peak-child" => {
                let report = args.next().unwrap_or_default();
                let program = args.next().unwrap_or_default();
                let rest: Vec<String> = args.collect();
                return run::child(&report, &program, &rest);
            }
            "--quick" => options.quick = true,
            "--profile" => options.profile = true,
            "--no-drizzle" => options.no_drizzle = true,
            "--out" => options.out = args.next().map(PathBuf::from),
            "--only" => options.only = args.next(),
            other => {
                eprintln!(
                    "strata-bench: unknown argument {other}; usage: strata-bench [--quick] [--profile] [--no-drizzle] [--only introspect|commands|load] [--out FILE]"
                );
                return ExitCode::from(2);
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(&options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("strata-bench: {message}");
            ExitCode::from(2)
        }
    }
}

/// One tool's figure in a row.
pub(crate) enum Figure {
    /// The median of `runs` runs, and the largest peak memory of those runs (KiB) when known.
    Time {
        time: Duration,
        peak_kib: Option<u64>,
        runs: usize,
    },
    /// Killed at its time limit.
    Stopped(Duration),
    /// Not measured, and why.
    Missing(String),
    /// The tool failed, and how.
    Failed(String),
}

impl Figure {
    fn time(&self) -> Option<Duration> {
        match self {
            Figure::Time { time, .. } => Some(*time),
            _ => None,
        }
    }

    fn peak_mib(&self) -> String {
        match self {
            Figure::Time {
                peak_kib: Some(kib),
                ..
            } => format!("{}", kib.div_ceil(1024)),
            _ => "—".into(),
        }
    }

    fn cell(&self) -> String {
        match self {
            Figure::Time { time, .. } => seconds(*time),
            Figure::Stopped(limit) => format!("> {} s (stopped)", limit.as_secs()),
            Figure::Missing(why) => why.clone(),
            Figure::Failed(how) => format!("failed: {how}"),
        }
    }
}

/// The floor a row is compared with: what PostgreSQL's own tools take for the same work.
#[derive(Clone)]
pub(crate) struct Floor {
    time: Duration,
    name: &'static str,
}

/// What strata promises for a row.
pub(crate) enum Target {
    /// At most this long.
    Time(Duration),
    /// At most this many times the floor.
    FloorRatio(f64),
    /// A peak memory of at most this many MiB.
    PeakMiB(u64),
    /// At most this many times Drizzle Kit's time in the same run.
    DrizzleRatio(f64),
}

/// One measured row: strata, Drizzle Kit and the floor on the same work.
pub(crate) struct Row {
    what: String,
    /// Number of tables, when the row is about the bench schema.
    n: Option<usize>,
    strata: Figure,
    drizzle: Figure,
    floor: Option<Floor>,
    targets: Vec<Target>,
    note: String,
}

/// How often to repeat a measurement: up to `repeats` runs, but no new run once the runs so far
/// took `budget` (slow steps are measured fewer times); a run taking longer than `limit` is
/// stopped (Drizzle Kit only).
pub(crate) struct Plan {
    repeats: usize,
    budget: Duration,
    limit: Duration,
}

/// Whether `runs` are enough under `plan`.
pub(crate) fn enough(plan: &Plan, runs: &[Duration]) -> bool {
    runs.len() >= plan.repeats || runs.iter().sum::<Duration>() >= plan.budget
}

/// Runs `once` (given the run's index) as `plan` says; the median. With `strict`, a failed run is
/// an error; otherwise it is the figure (as is a run stopped at its limit).
pub(crate) fn repeat(
    plan: &Plan,
    strict: bool,
    mut once: impl FnMut(usize) -> Result<run::Run, String>,
) -> Result<Figure, String> {
    let mut times = Vec::new();
    let mut peak = None;
    for i in 0..plan.repeats {
        let run = once(i)?;
        if run.stopped {
            return Ok(Figure::Stopped(plan.limit));
        }
        if !run.success {
            if strict {
                return Err(format!("a run failed: {}", run.complaint()));
            }
            return Ok(Figure::Failed(run.complaint()));
        }
        times.push(run.time);
        peak = peak.max(run.peak_kib);
        if enough(plan, &times) {
            break;
        }
    }
    let runs = times.len();
    Ok(Figure::Time {
        time: middle(times),
        peak_kib: peak,
        runs,
    })
}

/// A duration for the table: milliseconds' precision below 10 s.
fn seconds(time: Duration) -> String {
    let secs = time.as_secs_f64();
    if secs < 10.0 {
        format!("{secs:.3} s")
    } else {
        format!("{secs:.1} s")
    }
}

async fn run(options: &Options) -> Result<(), String> {
    let started = Instant::now();
    let env = Env::from_process();
    let bin = PgBin::find(&env).map_err(|e| e.to_string())?;
    let (cluster, port) = Cluster::throwaway("strata-bench", &env).map_err(|e| e.to_string())?;
    let server = Cluster::url(port);
    eprintln!(
        "strata-bench: PostgreSQL {} on 127.0.0.1:{port}",
        bin.version
    );
    let part = |name: &str| options.only.as_deref().is_none_or(|only| only == name);
    let drizzle = if options.no_drizzle {
        Err("skipped (--no-drizzle)".to_owned())
    } else if part("commands") {
        drizzle::setup()
    } else {
        Err("not run".to_owned())
    };
    match &drizzle {
        Ok(tool) => eprintln!("strata-bench: {}", tool.version),
        Err(why) => eprintln!("strata-bench: drizzle-kit not measured: {why}"),
    }

    let (introspect_sizes, command_sizes): (&[usize], &[usize]) = if options.quick {
        (&[1_000], &[100, 1_000])
    } else {
        (&[1_000, 10_000], &[100, 1_000, 10_000])
    };
    let plan = Plan {
        repeats: if options.quick { 3 } else { 5 },
        budget: Duration::from_secs(if options.quick { 20 } else { 60 }),
        limit: DRIZZLE_LIMIT,
    };
    let mut rows = Vec::new();
    let mut checks = Vec::new();
    for &n in introspect_sizes.iter().filter(|_| part("introspect")) {
        rows.push(introspection(&server, n, &plan, options.profile).await?);
    }
    if part("commands") {
        rows.push(cli::startup(
            &Plan {
                repeats: 10,
                ..plan
            },
            &drizzle,
        )?);
        for &n in command_sizes {
            eprintln!("strata-bench: commands at {n} tables");
            let (measured, check) = cli::measure(&server, n, &plan, &drizzle)?;
            rows.extend(measured);
            checks.push((n, check));
        }
    }
    if part("load") {
        rows.extend(load::measure_load(&server, 1_000_000, 3).await?);
    }

    let facts = Facts {
        pg_version: bin.version.clone(),
        drizzle: match &drizzle {
            Ok(tool) => tool.version.clone(),
            Err(why) => format!("not measured: {why}"),
        },
        node: node_version(),
        quick: options.quick,
        wall: started.elapsed(),
    };
    let report = report(&rows, &checks, &facts);
    print!("{report}");
    if let Some(out) = &options.out {
        std::fs::write(out, &report).map_err(|e| format!("writing {}: {e}", out.display()))?;
        eprintln!("strata-bench: wrote {}", out.display());
    }
    let _ = cluster.stop();
    Ok(())
}

/// The time limit of one Drizzle Kit run.
const DRIZZLE_LIMIT: Duration = Duration::from_secs(300);

/// strata's catalog read of the `n`-table schema, in process, vs. `pg_dump --schema-only`.
async fn introspection(
    server: &DbUrl,
    n: usize,
    plan: &Plan,
    profile: bool,
) -> Result<Row, String> {
    let admin = strata::postgres::connect(server)
        .await
        .map_err(|e| e.to_string())?;
    let url = fresh_database(&admin, server, &format!("bench_{n}")).await?;
    let started = Instant::now();
    load(&url, &schema::sql(n))?;
    eprintln!(
        "strata-bench: loaded the {n}-table schema in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let client = strata::postgres::connect(&url)
        .await
        .map_err(|e| e.to_string())?;
    let mut statements = 0;
    let mut objects = 0;
    let mut times = Vec::new();
    for _ in 0..plan.repeats {
        let started = Instant::now();
        let result = introspect(&client, &Scope::AllUserSchemas)
            .await
            .map_err(|e| e.to_string())?;
        times.push(started.elapsed());
        statements = result.statements;
        objects = result.catalog.object_count();
    }
    let runs = times.len();
    let strata_time = middle(times);
    if profile {
        self::profile(&client).await?;
    }
    let mut dumps = Vec::new();
    for _ in 0..plan.repeats {
        dumps.push(cli::pg_dump(&url)?.time);
    }
    drop(client);
    admin
        .batch_execute(&format!("DROP DATABASE bench_{n}"))
        .await
        .map_err(pg_error)?;
    Ok(Row {
        what: "introspect (in process)".into(),
        n: Some(n),
        strata: Figure::Time {
            time: strata_time,
            peak_kib: None,
            runs,
        },
        drizzle: Figure::Missing("—".into()),
        floor: Some(Floor {
            time: middle(dumps),
            name: "pg_dump --schema-only",
        }),
        targets: match n {
            1_000 => vec![Target::Time(Duration::from_millis(300))],
            10_000 => vec![Target::Time(Duration::from_secs(2))],
            _ => vec![],
        },
        note: format!("{statements} requests, {objects} objects"),
    })
}

/// `node --version`, or why there is none.
fn node_version() -> String {
    Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map_or_else(
            || "not found".into(),
            |out| String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        )
}

/// Drops and creates database `name` on `server`; its URL.
pub(crate) async fn fresh_database(
    admin: &tokio_postgres::Client,
    server: &DbUrl,
    name: &str,
) -> Result<DbUrl, String> {
    // Two requests: CREATE DATABASE cannot run inside the implicit transaction of a batch.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .await
        .map_err(pg_error)?;
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .map_err(pg_error)?;
    Ok(server.with_database(name))
}

pub(crate) fn pg_error(error: tokio_postgres::Error) -> String {
    error
        .as_db_error()
        .map_or_else(|| error.to_string(), |db| db.message().to_owned())
}

/// Times each catalog query on the server and the parse of its rows, one by one.
async fn profile(client: &tokio_postgres::Client) -> Result<(), String> {
    let none: Option<Vec<String>> = None;
    client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL search_path = pg_catalog; SET LOCAL jit = off").await.map_err(pg_error)?;
    for (name, sql) in strata::introspect::query_texts() {
        let started = Instant::now();
        let row = client.query_one(sql, &[&none]).await.map_err(pg_error)?;
        let json: &str = row.get(0);
        let fetched = started.elapsed();
        let _: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        eprintln!(
            "  {name:<20} {:>8.1} ms  {:>8} KiB  (+{:.1} ms parse)",
            fetched.as_secs_f64() * 1e3,
            json.len() / 1024,
            (started.elapsed() - fetched).as_secs_f64() * 1e3
        );
    }
    client.batch_execute("ROLLBACK").await.map_err(pg_error)?;
    Ok(())
}

/// Applies a script in one transaction through psql, as a user would.
fn load(url: &DbUrl, sql: &str) -> Result<(), String> {
    let file = std::env::temp_dir().join(format!("strata-bench-{}.sql", std::process::id()));
    std::fs::write(&file, sql).map_err(|e| e.to_string())?;
    let result = cli::psql_file(url, &file);
    let _ = std::fs::remove_file(&file);
    result.map(|_| ())
}

/// The median of measurements.
pub(crate) fn middle(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// What the report says about the run besides its rows.
struct Facts {
    pg_version: String,
    drizzle: String,
    node: String,
    quick: bool,
    wall: Duration,
}

/// strata's time over another figure's, as a table cell.
fn ratio(strata: &Figure, other: Option<&Figure>, floor: Option<&Floor>) -> String {
    let Some(mine) = strata.time() else {
        return "—".into();
    };
    let theirs = match (other, floor) {
        (Some(Figure::Time { time, .. }), _) => *time,
        (Some(Figure::Stopped(limit)), _) => {
            return format!("< {}", figure(mine.as_secs_f64() / limit.as_secs_f64()));
        }
        (None, Some(floor)) => floor.time,
        _ => return "—".into(),
    };
    figure(mine.as_secs_f64() / theirs.as_secs_f64())
}

/// A ratio with two significant digits (at least two decimals).
fn figure(ratio: f64) -> String {
    let decimals = if ratio >= 0.1 || ratio <= 0.0 {
        2
    } else {
        (2 - ratio.log10().floor() as i32 - 1).clamp(2, 6) as usize
    };
    format!("{ratio:.decimals$}")
}

/// Whether a row meets its targets, as a table cell.
fn verdict(row: &Row) -> String {
    let Some(time) = row.strata.time() else {
        return String::new();
    };
    row.targets
        .iter()
        .map(|target| {
            let (text, met) = match target {
                Target::Time(t) => (format!("≤ {:.1} s", t.as_secs_f64()), time <= *t),
                Target::FloorRatio(max) => {
                    let floor = row.floor.as_ref().map_or(Duration::MAX, |f| f.time);
                    (
                        format!("≤ {max} × floor"),
                        time.as_secs_f64() <= max * floor.as_secs_f64(),
                    )
                }
                Target::DrizzleRatio(max) => {
                    let theirs = match &row.drizzle {
                        Figure::Time { time, .. } => Some(*time),
                        Figure::Stopped(limit) => Some(*limit),
                        _ => None,
                    };
                    (
                        format!("≤ {max} × drizzle-kit"),
                        theirs.is_some_and(|t| time.as_secs_f64() <= max * t.as_secs_f64()),
                    )
                }
                Target::PeakMiB(max) => {
                    let peak = match &row.strata {
                        Figure::Time {
                            peak_kib: Some(kib),
                            ..
                        } => kib.div_ceil(1024),
                        _ => u64::MAX,
                    };
                    (format!("≤ {max} MiB"), peak <= *max)
                }
            };
            format!("{text}: {}", if met { "met" } else { "**missed**" })
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// docs/benchmarks.md: the prose, this run's facts, the table and the schema check.
fn report(rows: &[Row], checks: &[(usize, String)], facts: &Facts) -> String {
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or_else(String::new, |kib| {
            format!(", {} GiB of memory", (kib + 512 * 1024) / (1024 * 1024))
        });
    let mut out = String::new();
    out.push_str(PROSE);
    out.push_str(&format!(
        "\n## This run\n\n- date: {}\n- machine: {machine}, {cores} cores{memory}\n\
         - PostgreSQL {} (fsync off, one local server)\n- Drizzle Kit: {} (Node.js {})\n\
         - mode: {} ({}); {:.1} min in all\n\n",
        today(),
        facts.pg_version,
        facts.drizzle,
        facts.node,
        if facts.quick { "quick" } else { "full" },
        if facts.quick {
            "N = 100 and 1,000, introspection at 1,000, up to 3 runs each"
        } else {
            "N = 100, 1,000 and 10,000, introspection at 1,000 and 10,000, up to 5 runs each"
        },
        facts.wall.as_secs_f64() / 60.0
    ));
    out.push_str(
        "| what | N | strata | drizzle-kit | floor | strata/drizzle | strata/floor | peak MiB (strata / drizzle) | target | notes |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let runs = [("strata", &row.strata), ("drizzle-kit", &row.drizzle)]
            .iter()
            .filter_map(|(who, figure)| match figure {
                Figure::Time { runs, .. } => Some(format!("{who} {runs}")),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {} (runs: {runs}) |\n",
            row.what,
            row.n.map_or_else(|| "—".into(), group),
            row.strata.cell(),
            row.drizzle.cell(),
            row.floor.as_ref().map_or_else(
                || "—".into(),
                |f| format!("{} ({})", seconds(f.time), f.name)
            ),
            ratio(&row.strata, Some(&row.drizzle), None),
            ratio(&row.strata, None, row.floor.as_ref()),
            row.strata.peak_mib(),
            row.drizzle.peak_mib(),
            verdict(row),
            row.note,
        ));
    }
    if !checks.is_empty() {
        out.push_str(
            "\n## Does the TypeScript schema match the SQL one?\n\n\
             `drizzle-kit push --verbose` of the Drizzle schema onto the database that strata \
             migrated from the declared SQL files:\n\n",
        );
        for (n, check) in checks {
            out.push_str(&format!("- {} tables: {check}\n", group(*n)));
        }
    }
    out
}

/// A count with thousands separators.
fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The prose at the top of docs/benchmarks.md, written with every run.
const PROSE: &str = r#"# Benchmarks

Written by `scripts/bench` (the `strata-bench` crate); do not edit by hand. Each figure is the
median of several runs, measured in the same run as the figures it is compared with, on the
same machine and the same PostgreSQL server, so that the ratios carry over to other machines.

## How to run

- `scripts/bench`: the full run (N = 100, 1,000 and 10,000 tables).
- `scripts/bench --quick`: N = 100 and 1,000, fewer runs (under 10 minutes on 2 cores).
- `cargo run --release -p strata-bench -- --only introspect|commands|load`: one part;
  `--no-drizzle` leaves Drizzle Kit out; `--profile` times each catalog query;
  `--write-schema N DIR` writes the bench schema as one SQL script, as strata's declared files
  and as the Drizzle schema in TypeScript.

The harness starts its own throwaway PostgreSQL server and needs PostgreSQL's binaries. Drizzle
Kit is measured when Node.js and npm are present: `drizzle-kit`, `drizzle-orm` and `pg` are
installed from npm into `target/bench-npm` once and reused; without them its column says why.

## What is measured

- The bench schema: N tables over 10 schemas; per table a primary key that is in turn identity,
  serial, uuid and bigserial, a `parent_id` foreign key to an earlier table, `varchar(255)`,
  `numeric(12,2)`, `boolean`, the schema's enum, `timestamptz default now()`, `jsonb` and one
  index. strata reads it as declared SQL files (one per schema); Drizzle Kit reads the same
  schema in TypeScript (`pgSchema`, `.enum`, `.table`, one file per schema). The foreign keys
  are declared with `foreignKey({ name })` rather than `.references()`, so that they carry
  PostgreSQL's default names (`tN_parent_id_fkey`) and both describe the same database.
- **strata**: the release `strata` binary run as a process, as a user runs it (introspection
  alone times the library call in process).
- **drizzle-kit**: `node node_modules/drizzle-kit/bin.cjs` (no npx) with a `drizzle.config.ts`
  (dialect postgresql, the 10 bench schemas as `schemaFilter`): `generate`, `migrate`,
  `push --force` and `pull`. Every run has a time limit of 300 s: a run that reaches it is
  killed and shown as "> 300 s (stopped)", and its ratio as an upper bound.
- **floor**: what PostgreSQL's own tools take for the same work: `psql -1 -f` of strata's
  initial migration for the steps that apply the DDL (generate from nothing applies its plan to
  a scratch database to verify it), `pg_dump --schema-only` for the steps that read the catalog,
  `psql --version` for start-up, `psql \copy` of the same rows as local CSV for the data load.
- **peak MiB**: the peak resident memory of the command, from the `ru_maxrss` that `wait4(2)`
  reports for it (its largest process, as `/usr/bin/time -f %M` reports it), measured by a
  small process of the harness between it and the command (so about 5 MiB at the least); for
  the load, the loading process's own `VmHWM`; "—" for introspection, which runs in process.
- **target**: the targets the project set itself. The time targets of `generate` with no
  change (0.2 s), `push` with no change and `pull` (0.5 s each) were set for 1,000 tables and
  are judged there only; introspection has its own for 1,000 and 10,000 tables; the ratio
  targets hold at every size.
- **The everyday loop**: each run makes a new edit to the same table of both schemas (a new
  column, a new table, or the `name` column renamed once more) and runs the command; the edits
  pile up as a developer's do, so each run is a real change. strata gets renames as
  `--rename`; Drizzle Kit asks on a terminal, and is answered there ("rename") through a
  pseudo-terminal. Targets: at 1,000 tables under 1 s and at most half Drizzle Kit's time; at
  10,000 tables faster than Drizzle Kit.
- A measurement stops repeating once its runs took 20 s (quick) or 60 s (full), so slow steps
  are measured fewer times; the notes give the number of runs.
"#;

/// Today's date (UTC) as YYYY-MM-DD.
fn today() -> String {
    let stamp = strata::source::migrations::utc_timestamp();
    format!("{}-{}-{}", &stamp[..4], &stamp[4..6], &stamp[6..8])
}
