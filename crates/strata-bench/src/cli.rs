//! The commands users run, timed end to end as processes on the bench schema: the release
//! `strata` binary, Drizzle Kit on the same schema in TypeScript, and the floor PostgreSQL sets
//! (`psql -1 -f` of the same DDL for the steps that apply it, `pg_dump --schema-only` for the
//! steps that read the catalog).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use strata::postgres::url::DbUrl;

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
            "{} is missing: build it first (`cargo build --release -p strata-pg-cli`; scripts/bench does)",
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

/// Drops the states strata keeps on `server` between runs (`strata_state_…`), so that a cold
/// run starts from nothing.
fn forget_states(server: &DbUrl) -> Result<(), String> {
    let listed = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-At",
            "-d",
            server.expose(),
            "-c",
            "SELECT quote_ident(datname) FROM pg_database WHERE datname LIKE 'strata\\_state\\_%'",
        ])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if !listed.status.success() {
        return Err(format!(
            "psql listing kept states: {}",
            String::from_utf8_lossy(&listed.stderr)
        ));
    }
    let names: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    drop_all(server, &names)
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
        forget_states(server)?;
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
    rows.extend(edit_loop(server, n, plan, &side, root, &mut fresh)?);
    drop_all(server, &databases)?;
    Ok((rows, check))
}

/// An edit of both schemas, made before each run of the everyday loop.
#[derive(Clone, Copy)]
enum Edit {
    /// A new column `extra_I` on `bench_0.t0`.
    AddColumn,
    /// A new table `bench_0.added_I`.
    AddTable,
    /// `bench_0.t0.name` renamed once more (`name` → `name_1` → `name_2` …).
    RenameColumn,
}

/// The `name` column of `bench_0.t0` after `renames` renames.
fn renamed(renames: usize) -> String {
    if renames == 0 {
        "name".into()
    } else {
        format!("name_{renames}")
    }
}

/// Makes edit number `i` of `kind` in strata's declared file of `bench_0` (under `sql`, a
/// strata project) or in Drizzle Kit's `schema/bench_0.ts` (under `ts`, a Drizzle project);
/// `renames` counts the renames made so far to that schema. Returns strata's extra arguments
/// (`--rename …`).
fn edit(
    root: &Path,
    drizzle: bool,
    kind: Edit,
    i: usize,
    renames: &mut usize,
) -> Result<Vec<String>, String> {
    let path = if drizzle {
        root.join("schema/bench_0.ts")
    } else {
        root.join("schemas/bench_0/schema.sql")
    };
    let mut text =
        std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (start, end) = if drizzle {
        ("export const t0 = ", "}, (t) =>")
    } else {
        ("CREATE TABLE bench_0.t0 (", "\n);")
    };
    let table = |text: &str| -> Result<(usize, usize), String> {
        let at = text.find(start).ok_or(format!("`{start}` not found"))?;
        Ok((
            at,
            at + text[at..].find(end).ok_or(format!("`{end}` not found"))?,
        ))
    };
    let mut args = Vec::new();
    match kind {
        Edit::AddColumn => {
            let (_, at) = table(&text)?;
            if drizzle {
                text.insert_str(at, &format!("  extra_{i}: integer(),\n"));
            } else {
                text.insert_str(at, &format!(",\n  extra_{i} integer"));
            }
        }
        Edit::AddTable => text.push_str(&if drizzle {
            format!(
                "export const added_{i} = bench_0.table(\"added_{i}\", {{\n  id: integer().primaryKey(),\n  name: varchar({{ length: 255 }}),\n}});\n"
            )
        } else {
            format!("CREATE TABLE bench_0.added_{i} (\n  id integer PRIMARY KEY,\n  name varchar(255)\n);\n")
        }),
        Edit::RenameColumn => {
            let (old, new) = (renamed(*renames), renamed(*renames + 1));
            *renames += 1;
            let (from, to) = table(&text)?;
            let definition = if drizzle {
                (format!("\n  {old}: varchar"), format!("\n  {new}: varchar"))
            } else {
                (format!("\n  {old} varchar"), format!("\n  {new} varchar"))
            };
            let edited = text[from..to].replacen(&definition.0, &definition.1, 1);
            text.replace_range(from..to, &edited);
            text = if drizzle {
                text.replacen(&format!(".on(t.{old})"), &format!(".on(t.{new})"), 1)
            } else {
                text.replacen(
                    &format!("t0_name_idx ON bench_0.t0 ({old});"),
                    &format!("t0_name_idx ON bench_0.t0 ({new});"),
                    1,
                )
            };
            args.push("--rename".into());
            args.push(format!("bench_0.t0.{old}={new}"));
        }
    }
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    Ok(args)
}

/// The everyday loop: an edit, then `generate` (or `push`), each run a new edit of both
/// schemas.
fn edit_loop(
    server: &DbUrl,
    n: usize,
    plan: &Plan,
    side: &Side,
    root: &Path,
    fresh: &mut impl FnMut(String) -> Result<DbUrl, String>,
) -> Result<Vec<Row>, String> {
    let targets = |n: usize| -> Vec<Target> {
        match n {
            1_000 => vec![
                Target::Time(Duration::from_secs(1)),
                Target::DrizzleRatio(0.5),
            ],
            10_000 => vec![Target::DrizzleRatio(1.0)],
            _ => vec![],
        }
    };
    let mut rows = Vec::new();
    let mut renames = 0;
    let mut serial = 0;
    for (what, kind) in [
        ("edit: add a column, generate", Edit::AddColumn),
        ("edit: add a table, generate", Edit::AddTable),
        ("edit: rename a column (flag), generate", Edit::RenameColumn),
    ] {
        // strata and Drizzle Kit each make the same edits; strata's runs first, then Drizzle's,
        // so that each tool's runs see each tool's own history.
        let mut strata_renames = renames;
        let strata_figure = crate::repeat(plan, true, |_| {
            serial += 1;
            let args = edit(root, false, kind, serial, &mut strata_renames)?;
            let mut all = vec!["generate".to_owned()];
            all.extend(args);
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            strata(root, server, &all)
        })?;
        let mut drizzle_renames = renames;
        let strata_runs = match &strata_figure {
            Figure::Time { runs, .. } => *runs,
            _ => 0,
        };
        let drizzle_figure = side.measure(plan, |tool, dir, i| {
            // The same edits as strata's, made to the TypeScript schema.
            let number = serial - strata_runs + 1 + i;
            edit(dir, true, kind, number, &mut drizzle_renames)?;
            match kind {
                Edit::RenameColumn => run::run_with_terminal_input(
                    &mut tool.command(dir, None, &["generate"]),
                    // Drizzle Kit asks whether the new column is created or renamed from one
                    // that went: down to "rename", then Enter.
                    "\x1b[B\r",
                    Some(plan.limit),
                ),
                _ => run::run(
                    &mut tool.command(dir, None, &["generate"]),
                    Some(plan.limit),
                ),
            }
        })?;
        renames = strata_renames.max(drizzle_renames);
        rows.push(Row {
            what: what.into(),
            n: Some(n),
            strata: strata_figure,
            drizzle: drizzle_figure,
            floor: None,
            targets: targets(n),
            note: "each run a new edit; strata: the edited units normalised again in the kept state, the plan verified on the kept history".into(),
        });
    }

    // push: each run a new column, onto a database each tool pushed once before.
    let strata_db = fresh(format!("bench_editpush_{n}"))?;
    strata(root, &strata_db, &["push", "--force"])?;
    let strata_figure = crate::repeat(plan, true, |_| {
        serial += 1;
        edit(root, false, Edit::AddColumn, serial, &mut 0)?;
        strata(root, &strata_db, &["push"])
    })?;
    let drizzle_db = fresh(format!("bench_deditpush_{n}"))?;
    let drizzle_figure = match side {
        Side::Ready(tool, dir) => {
            run::run(
                &mut tool.command(dir.path(), Some(&drizzle_db), &["push", "--force"]),
                Some(plan.limit),
            )?;
            let mut number = serial * 10;
            crate::repeat(plan, false, |_| {
                number += 1;
                edit(dir.path(), true, Edit::AddColumn, number, &mut 0)?;
                run::run(
                    &mut tool.command(dir.path(), Some(&drizzle_db), &["push", "--force"]),
                    Some(plan.limit),
                )
            })?
        }
        Side::Missing(why) => Figure::Missing(why.clone()),
    };
    rows.push(Row {
        what: "edit: add a column, push".into(),
        n: Some(n),
        strata: strata_figure,
        drizzle: drizzle_figure,
        floor: None,
        targets: targets(n),
        note: "each run a new column, pushed onto a database pushed before".into(),
    });
    Ok(rows)
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
