//! The diff fixture suite: `tests/fixtures/diff/<case>/{from.sql,to.sql,expected.sql}`, a
//! trial per case.
//!
//! For each case: build `from` and `to` in databases of their own, plan `from → to`, compare the
//! SQL with `expected.sql` (`STRATA_UPDATE_EXPECT=1` rewrites it), apply the plan to `from`,
//! re-introspect and require an empty re-diff, compare `pg_dump --schema-only` of both databases,
//! then plan `to → from`, apply it to `to` and require that to converge as well.
//!
//! `expected.sql` holds the plan on PostgreSQL 15; `expected.pgNN.sql`, where present, the plan
//! on major version NN when PostgreSQL's deparsed text differs there.
//!
//! Optional files: `renames.txt` (one rename per line, see [`parse_rename`]) and
//! `requires.txt` (what the case needs of the server, a line each: the lowest
//! `server_version_num`, e.g. `150000`, or `icu` for a server built with ICU).

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};

use strata::introspect::{Scope, introspect};
use strata::normalise::fixpoint::{Fixpoint, Probes};
use strata_core::catalog::{Catalog, QualName};
use strata_core::diff::Rename;
use strata_testkit::TestDb;
use strata_testkit::requires::Capabilities;

/// The PostgreSQL major version `expected.sql` is written for (the system version of CI).
const BASE_MAJOR: u32 = 15;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/diff")
}

/// `table s.old new` · `column s.t old new` · `schema old new` · `index s.t old new` ·
/// `constraint s.t old new` · `enum-value s.e old new`
fn parse_rename(line: &str) -> Rename {
    let words: Vec<&str> = line.split_whitespace().collect();
    let q = |s: &str| s.parse::<QualName>().unwrap();
    match words.as_slice() {
        ["table", from, to] => Rename::Relation {
            from: q(from),
            to: to.to_string(),
        },
        ["column", table, from, to] => Rename::Column {
            table: q(table),
            from: from.to_string(),
            to: to.to_string(),
        },
        ["schema", from, to] => Rename::Schema {
            from: from.to_string(),
            to: to.to_string(),
        },
        ["index", table, from, to] => Rename::Index {
            table: q(table),
            from: from.to_string(),
            to: to.to_string(),
        },
        ["constraint", table, from, to] => Rename::Constraint {
            table: q(table),
            from: from.to_string(),
            to: to.to_string(),
        },
        ["enum-value", ty, from, to] => Rename::EnumValue {
            type_name: q(ty),
            from: from.to_string(),
            to: to.to_string(),
        },
        _ => panic!("bad rename line: {line}"),
    }
}

/// The same renames, backwards (for the reverse plan).
fn reverse(renames: &[Rename]) -> Vec<Rename> {
    Rename::reversed(renames)
}

/// Roles the fixtures grant to (roles are shared by every database of the server).
async fn create_roles() {
    let db = TestDb::new().await;
    let client = db.client().await;
    for role in ["strata_r1", "strata_r2"] {
        // Another test binary may create it at the same moment.
        let _ = client
            .batch_execute(&format!(
                "DO $$ BEGIN CREATE ROLE {role}; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            ))
            .await;
    }
}

async fn build(sql: &str) -> Result<(TestDb, Catalog), String> {
    let db = TestDb::new().await;
    let client = db.client().await;
    client
        .batch_execute(sql)
        .await
        .map_err(|e| format!("setup SQL failed: {e:?}"))?;
    let catalog = introspect(&client, &Scope::AllUserSchemas)
        .await
        .map_err(|e| e.to_string())?
        .catalog;
    Ok((db, catalog))
}

/// The plan from `from` to `to`, texts compared at their fixed point on `db` (which holds
/// `from`).
async fn plan(
    db: &TestDb,
    from: &Catalog,
    to: &Catalog,
    renames: &[Rename],
    version: u32,
) -> Result<strata_core::plan::Plan, String> {
    let client = db.client().await;
    Fixpoint::new(None)
        .diff(from, to, renames, &Probes::on(&client, version))
        .await
        .map_err(|e| e.to_string())
}

async fn apply_and_check(
    db: &TestDb,
    plan: &strata_core::plan::Plan,
    want: &Catalog,
    what: &str,
    version: u32,
) -> Result<(), String> {
    let client = db.client().await;
    strata::apply::apply(&client, plan)
        .await
        .map_err(|f| format!("{what}: the plan failed: {f}\n{}", plan.to_sql()))?;
    let got = introspect(&client, &Scope::AllUserSchemas)
        .await
        .map_err(|e| e.to_string())?
        .catalog;
    let left = self::plan(db, &got, want, &[], version).await?;
    if !left.is_empty() {
        return Err(format!(
            "{what}: does not converge; a second diff finds:\n{}\nplan was:\n{}",
            left.to_sql(),
            plan.to_sql()
        ));
    }
    Ok(())
}

/// `strata lint` finds nothing in the plan that a gentler form would have avoided (drops and
/// type changes have none: they may be found).
fn gentle(plan: &strata_core::plan::Plan, from: &Catalog, what: &str) -> Result<(), String> {
    let findings = strata::lint::lint_plan(plan, from).map_err(|e| e.to_string())?;
    let avoidable: Vec<String> = findings
        .iter()
        .filter(|f| f.help.is_some())
        .map(|f| format!("{}:{}: {}: {}", f.file, f.line, f.rule, f.message))
        .collect();
    if avoidable.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{what}: lint finds forms with a gentler alternative:\n{}\nplan:\n{}",
            avoidable.join("\n"),
            plan.to_sql()
        ))
    }
}

async fn run_case(dir: PathBuf, server: Capabilities, update: bool) -> Result<(), String> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name));
    let version = server.version;
    let from_sql = read("from.sql").unwrap_or_default();
    let to_sql = read("to.sql").unwrap_or_default();
    let renames: Vec<Rename> = read("renames.txt")
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_rename)
        .collect();
    let (from_db, from) = build(&from_sql)
        .await
        .map_err(|e| format!("from.sql: {e}"))?;
    let (to_db, to) = build(&to_sql).await.map_err(|e| format!("to.sql: {e}"))?;

    let plan = plan(&from_db, &from, &to, &renames, version).await?;
    let sql = plan.to_sql();
    // PostgreSQL's deparsed text (views above all) differs between major versions: expected.sql
    // is the plan on PostgreSQL BASE_MAJOR, expected.pgNN.sql the plan on NN where it differs.
    let major = version / 10_000;
    let base = dir.join("expected.sql");
    let versioned = dir.join(format!("expected.pg{major}.sql"));
    if update {
        if major == BASE_MAJOR || !base.exists() {
            std::fs::write(&base, &sql).unwrap();
        } else if std::fs::read_to_string(&base).unwrap() != sql {
            std::fs::write(&versioned, &sql).unwrap();
        } else {
            let _ = std::fs::remove_file(&versioned);
        }
    } else {
        let path = if versioned.exists() {
            &versioned
        } else {
            &base
        };
        let expected = std::fs::read_to_string(path).unwrap_or_default();
        if expected != sql {
            return Err(format!(
                "the plan differs from {} (STRATA_UPDATE_EXPECT=1 rewrites it):\n--- expected\n{expected}\n--- got\n{sql}",
                path.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    if from_sql.trim() != to_sql.trim() && plan.is_empty() && renames.is_empty() {
        return Err("from.sql and to.sql differ but the plan is empty".into());
    }
    gentle(&plan, &from, "forward")?;
    apply_and_check(&from_db, &plan, &to, "forward", version).await?;
    // A column added at the end cannot take its place in the middle of the table: such cases
    // say so in column-order.txt, and only the catalogs are compared.
    if std::fs::metadata(dir.join("column-order.txt")).is_err() {
        strata_testkit::dump::same_schema(&from_db, &to_db)
            .await
            .map_err(|e| format!("after the forward plan: {e}"))?;
    }
    let back = self::plan(&to_db, &to, &from, &reverse(&renames), version)
        .await
        .map_err(|e| format!("reverse: {e}"))?;
    gentle(&back, &to, "reverse")?;
    apply_and_check(&to_db, &back, &from, "reverse", version).await?;
    Ok(())
}

/// One trial per case: `cargo test -p strata-pg --test diff_fixtures -- <case>` runs one, `--list`
/// names them. A case the server cannot build (`requires.txt`) shows as ignored, never passed.
fn main() {
    let mut args = Arguments::from_args();
    // Each trial mostly waits for the server: a few at a time per core.
    if args.test_threads.is_none() {
        args.test_threads = Some(4);
    }
    let server = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(async {
            create_roles().await;
            Capabilities::of_server().await
        });
    let update = std::env::var_os("STRATA_UPDATE_EXPECT").is_some();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("the fixtures folder")
        .map(|e| e.expect("a fixture").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        !cases.is_empty(),
        "no fixture in {}",
        fixtures_dir().display()
    );
    let trials = cases
        .into_iter()
        .map(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let requires = std::fs::read_to_string(dir.join("requires.txt")).unwrap_or_default();
            let applicable = server.allow(&requires);
            Trial::test(name, move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime")
                    .block_on(run_case(dir, server, update))
                    .map_err(Failed::from)
            })
            .with_ignored_flag(!applicable)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
