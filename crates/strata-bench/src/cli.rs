//! The commands users run, timed end to end as processes on the bench schema: the release
//! `strata` binary, Drizzle Kit on the same schema in TypeScript, and the floor PostgreSQL sets
//! (`psql -1 -f` of the same DDL for the steps that apply it, `pg_dump --schema-only` for the
//! steps that read the catalog).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use strata::url::DbUrl;

use crate::drizzle::{self, Drizzle};
use crate::run::{self, Run};
use crate::{Figure, Floor, Plan, Row, Target, schema};

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

/// `strata ARGS` in `dir` against `target`.
fn strata(dir: &Path, target: &DbUrl, args: &[&str]) -> Result<Run, String> {
    run::run_ok(
        Command::new(strata_bin()?)
            .current_dir(dir)
            .args(args)
            .env("DATABASE_URL", target.expose())
            .env_remove("STRATA_DEV_URL"),
    )
}

/// `psql -1 -f` of a file: the floor for applying DDL.
pub(crate) fn psql_file(target: &DbUrl, file: &Path) -> Result<Run, String> {
    run::run_ok(
        Command::new("psql")
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
            .arg(file),
    )
}

/// `pg_dump --schema-only`: the floor for reading a schema.
pub(crate) fn pg_dump(target: &DbUrl) -> Result<Run, String> {
    run::run_ok(Command::new("pg_dump").args([
        "--schema-only",
        "-d",
        target.expose(),
        "-f",
        "/dev/null",
    ]))
}

/// A time target of the earlier issues, which set them for the 1,000-table schema only; other
/// sizes show the figure without one.
fn set_at_1k(n: usize, limit: Duration) -> Vec<Target> {
    if n == 1_000 {
        vec![Target::Time(limit)]
    } else {
        vec![]
    }
}

/// Drops and creates database `name` on `server` (through psql, outside the measured time).
fn fresh(server: &DbUrl, name: &str) -> Result<DbUrl, String> {
    run::run_ok(Command::new("psql").args([
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        server.expose(),
        "-c",
        &format!("DROP DATABASE IF EXISTS {name}"),
        "-c",
        &format!("CREATE DATABASE {name}"),
    ]))?;
    Ok(server.with_database(name))
}

/// Drops databases of `server` (to keep the disk small between sizes).
fn drop_all(server: &DbUrl, names: &[String]) -> Result<(), String> {
    let mut command = Command::new("psql");
    command.args(["-X", "-q", "-d", server.expose()]);
    for name in names {
        command.args(["-c", &format!("DROP DATABASE IF EXISTS {name}")]);
    }
    run::run_ok(&mut command).map(|_| ())
}

/// What the Drizzle side of a size has: the tool and its project, or why it is not measured.
enum Side<'a> {
    Ready(&'a Drizzle, tempfile::TempDir),
    Missing(String),
}

impl Side<'_> {
    /// Measures a Drizzle Kit step with `once` (which is given the tool, the project folder and
    /// the run's index), or says why it isn't measured.
    fn measure(
        &self,
        plan: &Plan,
        mut once: impl FnMut(&Drizzle, &Path, usize) -> Result<Run, String>,
    ) -> Result<Figure, String> {
        match self {
            Side::Ready(tool, dir) => crate::repeat(plan, false, |i| once(tool, dir.path(), i)),
            Side::Missing(why) => Ok(Figure::Missing(why.clone())),
        }
    }
}

/// Times the commands on the `n`-table schema: the rows, and what the check of the TypeScript
/// schema against the SQL one found.
pub fn measure(
    server: &DbUrl,
    n: usize,
    plan: &Plan,
    drizzle: &Result<Drizzle, String>,
) -> Result<(Vec<Row>, String), String> {
    let drizzle_plan = plan;
    let dir = project(n, server)?;
    let root = dir.path();
    let side = match drizzle {
        Err(why) => Side::Missing(format!("not measured: {why}")),
        Ok(tool) => Side::Ready(tool, tool.project(n)?),
    };
    let mut databases = Vec::new();
    let mut fresh = |name: String| {
        let url = fresh(server, &name);
        databases.push(name);
        url
    };
    let mut rows = Vec::new();
    let row = |what: &str, strata, drizzle, floor, targets, note: &str| Row {
        what: what.into(),
        n: Some(n),
        strata,
        drizzle,
        floor,
        targets,
        note: note.into(),
    };

    // generate from nothing (cold: no cache), then with no change (warm).
    let strata_cold = crate::repeat(plan, true, |_| {
        let _ = std::fs::remove_dir_all(root.join("schema-migrations"));
        let _ = std::fs::remove_dir_all(root.join(".strata/cache"));
        strata(root, server, &["generate", "--name", "init"])
    })?;
    let drizzle_cold = side.measure(drizzle_plan, |tool, dir, _| {
        let _ = std::fs::remove_dir_all(dir.join("migrations"));
        run::run(
            &mut tool.command(dir, None, &["generate", "--name", "init"]),
            Some(drizzle_plan.limit),
        )
    })?;
    let init = root.join("schema-migrations/0001_init.sql");
    let mut floor_runs = Vec::new();
    for i in 0..plan.repeats {
        let target = fresh(format!("bench_floor_{n}_{i}"))?;
        floor_runs.push(psql_file(&target, &init)?.time);
        if crate::enough(plan, &floor_runs) {
            break;
        }
    }
    let apply_floor = Floor {
        time: crate::middle(floor_runs),
        name: "psql -1 -f",
    };
    rows.push(row(
        "generate from nothing (cold cache)",
        strata_cold,
        drizzle_cold,
        Some(apply_floor.clone()),
        vec![],
        "strata: normalise the declared files, verify the plan on a scratch copy",
    ));
    let strata_warm = crate::repeat(plan, true, |_| strata(root, server, &["generate"]))?;
    let drizzle_warm = side.measure(drizzle_plan, |tool, dir, _| {
        run::run(
            &mut tool.command(dir, None, &["generate"]),
            Some(drizzle_plan.limit),
        )
    })?;
    rows.push(row(
        "generate with no change",
        strata_warm,
        drizzle_warm,
        None,
        set_at_1k(n, Duration::from_millis(200)),
        "strata: cached catalogs, no scratch database",
    ));

    // migrate of the initial migration on an empty database.
    let strata_migrate = crate::repeat(plan, true, |i| {
        let target = fresh(format!("bench_migrate_{n}_{i}"))?;
        strata(root, &target, &["migrate"])
    })?;
    let migrated = server.with_database(&format!("bench_migrate_{n}_0"));
    let drizzle_migrate = side.measure(drizzle_plan, |tool, dir, i| {
        let target = fresh(format!("bench_dmigrate_{n}_{i}"))?;
        run::run(
            &mut tool.command(dir, Some(&target), &["migrate"]),
            Some(drizzle_plan.limit),
        )
    })?;
    rows.push(row(
        "migrate the initial migration",
        strata_migrate,
        drizzle_migrate,
        Some(apply_floor.clone()),
        vec![Target::FloorRatio(1.1)],
        "each tool's own initial migration; strata: one transaction with its history row",
    ));

    // push into an empty database.
    let strata_push = crate::repeat(plan, true, |i| {
        let target = fresh(format!("bench_push_{n}_{i}"))?;
        strata(root, &target, &["push"])
    })?;
    let drizzle_push = side.measure(drizzle_plan, |tool, dir, i| {
        let target = fresh(format!("bench_dpush_{n}_{i}"))?;
        run::run(
            &mut tool.command(dir, Some(&target), &["push", "--force"]),
            Some(drizzle_plan.limit),
        )
    })?;
    rows.push(row(
        "push into an empty database",
        strata_push,
        drizzle_push,
        Some(apply_floor),
        vec![],
        "strata: plan, then apply and check in one transaction",
    ));

    // push with no change and pull, on the database strata migrated; strata first, as
    // drizzle-kit's first push there applies whatever differences it sees.
    let strata_unchanged = crate::repeat(plan, true, |_| strata(root, &migrated, &["push"]))?;
    let pull_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::copy(
        root.join("strata.toml"),
        pull_dir.path().join("strata.toml"),
    )
    .map_err(|e| e.to_string())?;
    let strata_pull = crate::repeat(plan, true, |_| {
        let _ = std::fs::remove_dir_all(pull_dir.path().join("schemas"));
        strata(pull_dir.path(), &migrated, &["pull"])
    })?;
    let mut dump_runs = Vec::new();
    for _ in 0..plan.repeats {
        dump_runs.push(pg_dump(&migrated)?.time);
        if crate::enough(plan, &dump_runs) {
            break;
        }
    }
    let read_floor = Floor {
        time: crate::middle(dump_runs),
        name: "pg_dump --schema-only",
    };

    let mut check = match &side {
        Side::Ready(..) => String::new(),
        Side::Missing(why) => why.clone(),
    };
    let drizzle_unchanged = side.measure(drizzle_plan, |tool, dir, _| {
        let push = || {
            run::run(
                &mut tool.command(dir, Some(&migrated), &["push", "--force", "--verbose"]),
                Some(drizzle_plan.limit),
            )
        };
        let first = check.is_empty();
        let run = push()?;
        if !first || !run.success {
            if first {
                check = if run.stopped {
                    format!(
                        "not known: drizzle-kit push did not finish within {} s",
                        drizzle_plan.limit.as_secs()
                    )
                } else {
                    format!("not known: drizzle-kit push failed: {}", run.complaint())
                };
            }
            return Ok(run);
        }
        let statements = drizzle::pushed_statements(&run.stdout);
        if statements.is_empty() {
            check = "drizzle-kit push reports no changes".into();
            return Ok(run);
        }
        check = format!(
            "drizzle-kit push wants {} statement(s), e.g. `{}`",
            statements.len(),
            statements[0]
        );
        // That run applied the differences; the figure is that of a push with no change.
        push()
    })?;
    rows.push(row(
        "push with no change",
        strata_unchanged,
        drizzle_unchanged,
        Some(read_floor.clone()),
        set_at_1k(n, Duration::from_millis(500)),
        "on the database strata migrated; strata: one introspection of the target (warm cache)",
    ));
    let drizzle_pull = side.measure(drizzle_plan, |tool, dir, _| {
        let _ = std::fs::remove_dir_all(dir.join("pulled"));
        run::run(
            &mut tool.command(
                dir,
                Some(&migrated),
                &["pull", "--config", "drizzle.pull.config.ts"],
            ),
            Some(drizzle_plan.limit),
        )
    })?;
    rows.push(row(
        "pull",
        strata_pull,
        drizzle_pull,
        Some(read_floor),
        set_at_1k(n, Duration::from_millis(500)),
        "strata: one introspection + rendering; drizzle-kit: schema.ts and relations.ts",
    ));
    drop_all(server, &databases)?;
    Ok((rows, check))
}

/// Start-up: `strata --version` vs. `drizzle-kit --version` vs. `psql --version`.
pub fn startup(plan: &Plan, drizzle: &Result<Drizzle, String>) -> Result<Row, String> {
    let bin = strata_bin()?;
    let strata = crate::repeat(plan, true, |_| {
        run::run_ok(Command::new(&bin).arg("--version"))
    })?;
    let drizzle = match drizzle {
        Ok(tool) => crate::repeat(plan, false, |_| {
            run::run(
                &mut tool.command(Path::new("."), None, &["--version"]),
                Some(plan.limit),
            )
        })?,
        Err(why) => Figure::Missing(format!("not measured: {why}")),
    };
    let mut floor = Vec::new();
    for _ in 0..plan.repeats {
        floor.push(run::run_ok(Command::new("psql").arg("--version"))?.time);
    }
    Ok(Row {
        what: "start-up (`--version`)".into(),
        n: None,
        strata,
        drizzle,
        floor: Some(Floor {
            time: crate::middle(floor),
            name: "psql --version",
        }),
        targets: vec![],
        note: "a process that starts, prints its version and exits".into(),
    })
}
