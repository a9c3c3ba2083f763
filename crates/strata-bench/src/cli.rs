//! The commands users run, timed end to end as processes of the release `strata` binary on the
//! bench schema, each next to the floor PostgreSQL sets (`psql -1 -f` of the same DDL) or the
//! figure recorded for Drizzle Kit.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use strata::url::DbUrl;

use crate::{Row, middle, schema};

/// Drizzle Kit 0.31 on the 1,000-table bench schema on this kind of machine, as recorded when
/// the targets were set (issue "Declared schema files, push and pull" and "Versioned
/// migrations"); the drizzle benchmark measures it in the same run.
const DRIZZLE_PUSH_OR_PULL: Duration = Duration::from_secs(34);
const DRIZZLE_GENERATE_NO_CHANGE: Duration = Duration::from_millis(1_900);

/// The `strata` binary next to this one (`cargo build --release` builds both).
fn strata_bin() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let bin = exe.with_file_name("strata");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "{} is missing: build it first (`cargo build --release -p strata-cli`; scripts/bench does)",
            bin.display()
        ))
    }
}

/// A project folder with the bench schema declared, one folder per schema.
fn project(n: usize, scratch: &DbUrl) -> Result<tempfile::TempDir, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    for (schema, sql) in schema::per_schema(n) {
        let folder = dir.path().join("schemas").join(&schema);
        std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
        std::fs::write(folder.join("schema.sql"), sql).map_err(|e| e.to_string())?;
    }
    std::fs::write(
        dir.path().join("strata.toml"),
        format!("[database]\ndev_url = \"{}\"\n", scratch.expose()),
    )
    .map_err(|e| e.to_string())?;
    Ok(dir)
}

/// Runs `strata` in `dir` against `target`; the time it took.
fn strata(dir: &Path, target: &DbUrl, args: &[&str]) -> Result<Duration, String> {
    let started = Instant::now();
    let out = Command::new(strata_bin()?)
        .current_dir(dir)
        .args(args)
        .env("DATABASE_URL", target.expose())
        .env_remove("STRATA_DEV_URL")
        .output()
        .map_err(|e| format!("running strata: {e}"))?;
    let elapsed = started.elapsed();
    if !out.status.success() {
        return Err(format!(
            "strata {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(elapsed)
}

/// `psql -1 -f` of a file: the floor for applying DDL.
pub(crate) fn psql_file(target: &DbUrl, file: &Path) -> Result<Duration, String> {
    let started = Instant::now();
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-1",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            target.expose(),
            "-f",
        ])
        .arg(file)
        .output()
        .map_err(|e| format!("running psql: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(started.elapsed())
}

/// Times the commands on the `n`-table schema.
pub async fn measure(server: &DbUrl, n: usize, repeats: usize) -> Result<Vec<Row>, String> {
    let admin = strata::pg::connect(server)
        .await
        .map_err(|e| e.to_string())?;
    let dir = project(n, server)?;
    let root = dir.path();
    let mut rows = Vec::new();

    // generate from nothing (cold: no cache), then with no change (warm).
    let mut cold = Vec::new();
    for _ in 0..repeats {
        let _ = std::fs::remove_dir_all(root.join("schema-migrations"));
        let _ = std::fs::remove_dir_all(root.join(".strata/cache"));
        cold.push(strata(root, server, &["generate", "--name", "init"])?);
    }
    let init = root.join("schema-migrations/0001_init.sql");
    let floor_db = crate::fresh_database(&admin, server, &format!("bench_floor_{n}")).await?;
    let floor = psql_file(&floor_db, &init)?;
    rows.push(Row {
        what: format!("generate from nothing, {n} tables (cold cache)"),
        target: None,
        strata: middle(cold),
        baseline: floor,
        baseline_name: "psql -1 -f of the migration".into(),
        max_ratio: None,
        note: "normalise the declared files + verify the plan on a scratch copy".into(),
    });
    let warm = (0..repeats)
        .map(|_| strata(root, server, &["generate"]))
        .collect::<Result<Vec<_>, _>>()?;
    rows.push(Row {
        what: format!("generate with no change, {n} tables"),
        target: Some(Duration::from_millis(200)),
        strata: middle(warm),
        baseline: DRIZZLE_GENERATE_NO_CHANGE,
        baseline_name: "drizzle-kit generate, recorded".into(),
        max_ratio: None,
        note: "cached catalogs: no scratch database".into(),
    });

    // migrate of the initial migration vs. psql -1 -f of the same file.
    let mut migrate = Vec::new();
    let mut psql = Vec::new();
    for i in 0..repeats {
        let target =
            crate::fresh_database(&admin, server, &format!("bench_migrate_{n}_{i}")).await?;
        migrate.push(strata(root, &target, &["migrate"])?);
        let target = crate::fresh_database(&admin, server, &format!("bench_psql_{n}_{i}")).await?;
        psql.push(psql_file(&target, &init)?);
    }
    let migrated = server.with_database(&format!("bench_migrate_{n}_0"));
    rows.push(Row {
        what: format!("migrate the initial migration, {n} tables"),
        target: None,
        strata: middle(migrate),
        baseline: middle(psql.clone()),
        baseline_name: "psql -1 -f".into(),
        max_ratio: Some(1.1),
        note: "each migration in a transaction with its history row".into(),
    });

    // push into an empty database, then with no change; pull.
    let mut push = Vec::new();
    for i in 0..repeats {
        let target = crate::fresh_database(&admin, server, &format!("bench_push_{n}_{i}")).await?;
        push.push(strata(root, &target, &["push"])?);
    }
    rows.push(Row {
        what: format!("push into an empty database, {n} tables"),
        target: None,
        strata: middle(push),
        baseline: middle(psql),
        baseline_name: "psql -1 -f".into(),
        max_ratio: None,
        note: "plan, then apply and check in one transaction".into(),
    });
    let unchanged = (0..repeats)
        .map(|_| strata(root, &migrated, &["push"]))
        .collect::<Result<Vec<_>, _>>()?;
    rows.push(Row {
        what: format!("push with no change, {n} tables (warm cache)"),
        target: Some(Duration::from_millis(500)),
        strata: middle(unchanged),
        baseline: DRIZZLE_PUSH_OR_PULL,
        baseline_name: "drizzle-kit push, recorded".into(),
        max_ratio: None,
        note: "one introspection of the target".into(),
    });
    let pull_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::copy(
        root.join("strata.toml"),
        pull_dir.path().join("strata.toml"),
    )
    .map_err(|e| e.to_string())?;
    let pulls = (0..repeats)
        .map(|_| {
            let _ = std::fs::remove_dir_all(pull_dir.path().join("schemas"));
            strata(pull_dir.path(), &migrated, &["pull"])
        })
        .collect::<Result<Vec<_>, _>>()?;
    rows.push(Row {
        what: format!("pull, {n} tables"),
        target: Some(Duration::from_millis(500)),
        strata: middle(pulls),
        baseline: DRIZZLE_PUSH_OR_PULL,
        baseline_name: "drizzle-kit pull, recorded".into(),
        max_ratio: None,
        note: "one introspection + rendering".into(),
    });
    Ok(rows)
}
