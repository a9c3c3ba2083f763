//! strata's benchmark harness.
//!
//! Every figure is printed next to a baseline measured in the same run on the same machine, and
//! as a ratio against it, so that the figures mean something on any machine:
//!
//! - introspection: strata's catalog read vs. `pg_dump --schema-only` of the same database
//!   (PostgreSQL's own tool that reads every object of a schema).
//!
//! `cargo run --release -p strata-bench -- [--quick] [--profile] [--out docs/benchmarks.md]`
//! (`--profile` also times each catalog query on its own).

mod cli;
mod load;
mod schema;

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use strata::config::Env;
use strata::dev::{Cluster, PgBin};
use strata::introspect::{Scope, introspect};
use strata::url::DbUrl;

struct Options {
    quick: bool,
    profile: bool,
    out: Option<PathBuf>,
    /// Run one part only: `introspect`, `commands` or `load`.
    only: Option<String>,
}

fn main() -> ExitCode {
    let mut options = Options {
        quick: false,
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
            "--quick" => options.quick = true,
            "--profile" => options.profile = true,
            "--out" => options.out = args.next().map(PathBuf::from),
            "--only" => options.only = args.next(),
            other => {
                eprintln!(
                    "strata-bench: unknown argument {other}; usage: strata-bench [--quick] [--profile] [--only introspect|commands|load] [--out FILE]"
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

/// One measured figure.
struct Row {
    what: String,
    /// The figure strata promises for this measurement, when there is one.
    target: Option<Duration>,
    strata: Duration,
    baseline: Duration,
    baseline_name: String,
    /// The ratio strata promises against the baseline, when there is one.
    max_ratio: Option<f64>,
    note: String,
}

async fn run(options: &Options) -> Result<(), String> {
    let env = Env::from_process();
    let bin = PgBin::find(&env).map_err(|e| e.to_string())?;
    let (cluster, port) = Cluster::throwaway("strata-bench", &env).map_err(|e| e.to_string())?;
    let server = Cluster::url(port);
    eprintln!(
        "strata-bench: PostgreSQL {} on 127.0.0.1:{port}",
        bin.version
    );

    let sizes: &[usize] = if options.quick {
        &[1_000]
    } else {
        &[1_000, 10_000]
    };
    let repeats = if options.quick { 3 } else { 5 };
    let mut rows = Vec::new();
    let part = |name: &str| options.only.as_deref().is_none_or(|only| only == name);
    for &n in sizes.iter().filter(|_| part("introspect")) {
        let admin = strata::pg::connect(&server)
            .await
            .map_err(|e| e.to_string())?;
        let url = fresh_database(&admin, &server, &format!("bench_{n}")).await?;
        let started = Instant::now();
        load(&url, &schema::sql(n))?;
        eprintln!(
            "strata-bench: loaded the {n}-table schema in {:.1} s",
            started.elapsed().as_secs_f64()
        );

        let client = strata::pg::connect(&url).await.map_err(|e| e.to_string())?;
        let mut statements = 0;
        let mut objects = 0;
        let mut times = Vec::new();
        for _ in 0..repeats {
            let started = Instant::now();
            let result = introspect(&client, &Scope::AllUserSchemas)
                .await
                .map_err(|e| e.to_string())?;
            times.push(started.elapsed());
            statements = result.statements;
            objects = result.catalog.object_count();
        }
        let strata_time = middle(times);
        if options.profile {
            profile(&client).await?;
        }
        let pg_dump = middle(
            (0..repeats)
                .map(|_| pg_dump(&url))
                .collect::<Result<Vec<_>, _>>()?,
        );
        rows.push(Row {
            what: format!("introspect {n} tables"),
            target: match n {
                1_000 => Some(Duration::from_millis(300)),
                10_000 => Some(Duration::from_secs(2)),
                _ => None,
            },
            strata: strata_time,
            baseline: pg_dump,
            baseline_name: "pg_dump --schema-only".into(),
            max_ratio: None,
            note: format!("{statements} requests, {objects} objects"),
        });
    }

    if part("commands") {
        rows.extend(cli::measure(&server, 1_000, repeats).await?);
    }
    if part("load") {
        rows.extend(load::measure_load(&server, 1_000_000, 3).await?);
    }

    let report = report(&rows, &bin.version, options.quick);
    print!("{report}");
    if let Some(out) = &options.out {
        std::fs::write(out, &report).map_err(|e| format!("writing {}: {e}", out.display()))?;
        eprintln!("strata-bench: wrote {}", out.display());
    }
    let _ = cluster.stop();
    Ok(())
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

fn pg_dump(url: &DbUrl) -> Result<Duration, String> {
    let started = Instant::now();
    let out = Command::new("pg_dump")
        .args(["--schema-only", "-d", url.expose(), "-f", "/dev/null"])
        .output()
        .map_err(|e| format!("running pg_dump: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "pg_dump failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(started.elapsed())
}

/// The median of measurements.
pub(crate) fn middle(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn report(rows: &[Row], version: &str, quick: bool) -> String {
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut out = String::new();
    out.push_str("# Benchmarks\n\n");
    out.push_str("Written by `scripts/bench` (the `strata-bench` crate). Every figure is the median of several runs,\n");
    out.push_str("measured in the same run as its baseline, on the same machine and server; the ratio is what\n");
    out.push_str("carries over to other machines.\n\n");
    out.push_str(&format!(
        "- date: {}\n- machine: {machine}, {cores} cores\n- PostgreSQL {version} (fsync off, one local server)\n- mode: {}\n\n",
        today(),
        if quick { "quick" } else { "full" }
    ));
    out.push_str(
        "| what | strata | baseline | ratio | target | notes |\n|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let ratio = row.strata.as_secs_f64() / row.baseline.as_secs_f64();
        let target = match (row.target, row.max_ratio) {
            (Some(t), _) if row.strata <= t => format!("≤ {:.1} s: met", t.as_secs_f64()),
            (Some(t), _) => format!("≤ {:.1} s: **missed**", t.as_secs_f64()),
            (None, Some(max)) if ratio <= max => format!("≤ {max} ×: met"),
            (None, Some(max)) => format!("≤ {max} ×: **missed**"),
            (None, None) => String::new(),
        };
        out.push_str(&format!(
            "| {} | {:.3} s | {:.3} s ({}) | {:.2} | {target} | {} |\n",
            row.what,
            row.strata.as_secs_f64(),
            row.baseline.as_secs_f64(),
            row.baseline_name,
            ratio,
            row.note
        ));
    }
    out
}

/// Today's date (UTC) as YYYY-MM-DD.
fn today() -> String {
    let stamp = strata::migrations::utc_timestamp();
    format!("{}-{}-{}", &stamp[..4], &stamp[4..6], &stamp[6..8])
}
