//! Every diff fixture's reverse plan written as a down file by `generate` and verified
//! (`tests/fixtures/diff/<case>/`). One test per fixture (`cargo test --test down_fixtures
//! enum_add_value` runs one), each with the real binary:
//!
//! 1. `from.sql` is the first migration, hand-written (no down file: irreversible);
//! 2. declare `to.sql`, `generate` (with the fixture's renames): generate plans the reverse of
//!    each file it writes (the fixture's reverse plan) and verifies it on the replayed history;
//! 3. each file it wrote has its down file, and `check` replays the history and verifies each
//!    down file as written on disk (a finding exits 1).
//!
//! The plans themselves are the diff fixture suite's (`crates/strata/tests/diff_fixtures.rs`);
//! this proves the file path: rendering, directives, `strata.sum`, the replay.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::on;
use libtest_mimic::{Arguments, Failed, Trial};
use strata_testkit::TestDb;
use strata_testkit::requires::Capabilities;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/diff")
}

fn main() {
    let mut args = Arguments::from_args();
    // Each trial mostly waits for strata and the server: a few at a time per core.
    if args.test_threads.is_none() {
        args.test_threads = Some(4);
    }
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("the fixtures folder")
        .map(|e| e.expect("a fixture").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let server = runtime.block_on(setup());
    let trials = cases
        .into_iter()
        .map(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            // A case the server cannot build (too old, no ICU) shows as ignored, never passed.
            let requires = std::fs::read_to_string(dir.join("requires.txt")).unwrap_or_default();
            let applicable = server.allow(&requires);
            Trial::test(name, move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime")
                    .block_on(case(&dir))
                    .map_err(Failed::from)
            })
            .with_ignored_flag(!applicable)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// The roles the fixtures grant to (shared by the server), and what the server can build.
async fn setup() -> Capabilities {
    let db = TestDb::new().await;
    let client = db.client().await;
    for role in ["strata_r1", "strata_r2"] {
        let _ = client
            .batch_execute(&format!(
                "DO $$ BEGIN CREATE ROLE {role}; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            ))
            .await;
    }
    Capabilities::of_server().await
}

/// The schemas a fixture's files create, and `public`.
fn schemas(texts: &[&str]) -> BTreeSet<String> {
    let mut found = BTreeSet::from(["public".to_owned()]);
    for text in texts {
        let upper = text.to_uppercase();
        let mut at = 0;
        while let Some(i) = upper[at..].find("CREATE SCHEMA") {
            at += i + "CREATE SCHEMA".len();
            let mut rest = text[at..].trim_start();
            if rest.to_uppercase().starts_with("IF NOT EXISTS") {
                rest = rest["IF NOT EXISTS".len()..].trim_start();
            }
            let name = match rest.strip_prefix('"') {
                // A quoted name: up to the closing quote, `""` standing for one.
                Some(quoted) => {
                    let mut name = String::new();
                    let mut chars = quoted.chars().peekable();
                    while let Some(c) = chars.next() {
                        if c == '"' {
                            if chars.peek() == Some(&'"') {
                                chars.next();
                            } else {
                                break;
                            }
                        }
                        name.push(c);
                    }
                    name
                }
                None => rest
                    .split(|c: char| c.is_whitespace() || c == ';')
                    .next()
                    .unwrap_or("")
                    .to_lowercase(),
            };
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

/// A line of `renames.txt` as generate's `--rename OLD=NEW`.
fn rename_flag(line: &str) -> Result<String, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    Ok(match words.as_slice() {
        ["table", from, to] | ["schema", from, to] => format!("{from}={to}"),
        [
            "column" | "index" | "constraint" | "enum-value",
            parent,
            from,
            to,
        ] => {
            format!("{parent}.{from}={to}")
        }
        _ => return Err(format!("renames.txt: cannot read `{line}`")),
    })
}

async fn case(dir: &Path) -> Result<(), String> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name));
    let from = read("from.sql").unwrap_or_default();
    let to = read("to.sql").unwrap_or_default();
    let mut renames = Vec::new();
    for line in read("renames.txt").unwrap_or_default().lines() {
        if !line.trim().is_empty() {
            renames.push(rename_flag(line)?);
        }
    }
    let project = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = project.path();
    let list: Vec<String> = schemas(&[&from, &to])
        .iter()
        .map(|s| format!("{s:?}"))
        .collect();
    std::fs::write(
        root.join("strata.toml"),
        format!("[schema]\nschemas = [{}]\n", list.join(", ")),
    )
    .map_err(|e| e.to_string())?;
    std::fs::create_dir_all(root.join("schemas/all")).map_err(|e| e.to_string())?;
    let db = TestDb::new().await;
    let declare = |text: &str| {
        std::fs::write(root.join("schemas/all/schema.sql"), text).map_err(|e| e.to_string())
    };
    // The history starts at from.sql, as a hand-written first migration.
    if !from.trim().is_empty() {
        let migrations = root.join("schema-migrations");
        std::fs::create_dir_all(&migrations).map_err(|e| e.to_string())?;
        std::fs::write(migrations.join("0001_from.sql"), &from).map_err(|e| e.to_string())?;
        let (code, out, err) = on(root, &db, &["sum"]);
        if code != 0 {
            return Err(format!("sum exited {code}:\n{out}\n{err}"));
        }
    }
    declare(&to)?;
    let mut args = vec!["generate".to_owned(), "--name".into(), "to".into()];
    for flag in &renames {
        args.push("--rename".into());
        args.push(flag.clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = on(root, &db, &args);
    if code != 0 {
        return Err(format!("generate (to.sql) exited {code}:\n{out}\n{err}"));
    }
    let mut files: Vec<String> = std::fs::read_dir(root.join("schema-migrations"))
        .map_err(|e| format!("reading schema-migrations: {e}\n{out}\n{err}"))?
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let ups: Vec<&String> = files
        .iter()
        .filter(|f| f.ends_with(".sql") && !f.ends_with(".down.sql") && f.contains("_to"))
        .collect();
    if ups.is_empty() && from.trim() != to.trim() {
        return Err(format!("no migration for to.sql: {files:?}\n{out}"));
    }
    for up in &ups {
        let down = up.replace(".sql", ".down.sql");
        if !files.contains(&down) {
            return Err(format!("{up} has no down file: {files:?}"));
        }
    }
    let (code, out, err) = on(root, &db, &["check"]);
    if code != 0 {
        return Err(format!("check exited {code}:\n{out}\n{err}"));
    }
    Ok(())
}
