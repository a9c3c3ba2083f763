//! The corpus of real schemas (`tests/fixtures/real/<name>/`): schemas that public applications
//! and sample databases declare, each with a `SOURCE` line. One test per schema (`cargo test
//! --test real_corpus pagila` runs one), each the whole round trip with the real binary:
//!
//! 1. load `schema.sql` into a database (after the roles of `roles.txt`), `pull` it;
//! 2. `push` the pulled files into an empty database, push again with nothing to do, require
//!    `pg_dump -s` equality with the original (at the fixed point) and an empty `diff`;
//! 3. `generate` the first migration from the pulled files, `migrate` a fresh database, `check`
//!    clean, and require `pg_dump -s` equality again.
//!
//! A schema whose `requires.txt` names a newer server than the one under test must fail to
//! load on it: the requirement is checked, not assumed.
//!
//! A known gap is written in the case's `known.txt`, never skipped: `MAJORS: TEXT` lines (`all`,
//! `18` or `15-17`), each with a `#` comment above saying why. On those server versions the
//! round trip must fail with TEXT in its message (any other failure fails the test), and once it
//! passes the test fails until the line is removed.

mod common;

use std::path::{Path, PathBuf};

use common::{on, run, strata};
use libtest_mimic::{Arguments, Failed, Trial};
use strata_testkit::{TestDb, dump, server};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/real")
}

fn main() {
    let args = Arguments::from_args();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("the corpus folder")
        .map(|e| e.expect("a corpus entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    let trials = cases
        .into_iter()
        .map(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            Trial::test(name, move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime")
                    .block_on(judge(&dir))
                    .map_err(Failed::from)
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// The round trip of `case`, held against what its `known.txt` says of this server version.
async fn judge(case: &Path) -> Result<(), String> {
    let known = std::fs::read_to_string(case.join("known.txt")).unwrap_or_default();
    let admin = strata::postgres::connect(server().url())
        .await
        .map_err(|e| e.to_string())?;
    let major = admin
        .query_one(
            "SELECT current_setting('server_version_num')::int / 10000",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?
        .get::<_, i32>(0) as u32;
    let mut expected = Vec::new();
    for line in known.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (majors, text) = line
            .split_once(':')
            .ok_or_else(|| format!("known.txt: `{line}` is not `MAJORS: TEXT`"))?;
        let majors = majors.trim();
        let applies = match majors.split_once('-') {
            _ if majors == "all" => true,
            Some((low, high)) => {
                let low: u32 = low
                    .parse()
                    .map_err(|e| format!("known.txt: {majors}: {e}"))?;
                let high: u32 = high
                    .parse()
                    .map_err(|e| format!("known.txt: {majors}: {e}"))?;
                (low..=high).contains(&major)
            }
            None => {
                majors
                    .parse::<u32>()
                    .map_err(|e| format!("known.txt: {majors}: {e}"))?
                    == major
            }
        };
        if applies {
            expected.push(text.trim().to_owned());
        }
    }
    match (round_trip(case).await, expected.is_empty()) {
        (result, true) => result,
        (Ok(()), false) => Err(format!(
            "known.txt says the round trip fails on PostgreSQL {major} ({}), but it passes now: remove the line",
            expected.join("; ")
        )),
        (Err(failure), false) => match expected.iter().find(|t| !failure.contains(t.as_str())) {
            None => {
                eprintln!("known gap, as known.txt says: {}", expected.join("; "));
                Ok(())
            }
            Some(missing) => Err(format!(
                "known.txt expects a failure naming `{missing}`, but the round trip failed otherwise:\n{failure}"
            )),
        },
    }
}

async fn round_trip(case: &Path) -> Result<(), String> {
    let read = |name: &str| std::fs::read_to_string(case.join(name));
    let source_line = read("SOURCE").map_err(|e| format!("SOURCE: {e}"))?;
    if !source_line.starts_with("SOURCE: ") {
        return Err("SOURCE must start with `SOURCE: owner/repo path @ commit`".into());
    }
    let schema = read("schema.sql").map_err(|e| format!("schema.sql: {e}"))?;
    create_roles(&read("roles.txt").unwrap_or_default()).await?;

    let source = TestDb::new().await;
    let loaded = dump::restore(source.url(), &schema);
    let version = server_version(&source).await;
    if let Ok(required) = read("requires.txt") {
        let required: u32 = required
            .trim()
            .parse()
            .map_err(|e| format!("requires.txt: {e}"))?;
        if version < required {
            return match loaded {
                Err(_) => Ok(()),
                Ok(()) => Err(format!(
                    "requires.txt says {required}, but the schema loads on {version}: lower it"
                )),
            };
        }
    }
    loaded.map_err(|e| format!("loading schema.sql: {e}"))?;

    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = dir.path();
    expect(on(root, &source, &["pull"]), "pull")?;

    // push into an empty database, then again: nothing to do; the same schema as the source.
    let pushed = TestDb::new().await;
    expect(on(root, &pushed, &["push"]), "push")?;
    let out = expect(on(root, &pushed, &["push"]), "second push")?;
    if !out.starts_with("nothing to do") {
        return Err(format!("the second push planned steps:\n{out}"));
    }
    dump::same_schema(&pushed, &source)
        .await
        .map_err(|e| format!("after push: {e}"))?;
    let out = expect(
        run(strata(root)
            .args([
                "diff",
                "--from",
                source.url().expose(),
                "--to",
                pushed.url().expose(),
            ])
            .env("STRATA_DEV_URL", server().url().expose())),
        "diff source → pushed",
    )?;
    if !out.contains("No changes") {
        return Err(format!(
            "diff between the source and the pushed database:\n{out}"
        ));
    }

    // generate the first migration, migrate a fresh database, check clean.
    let migrated = TestDb::new().await;
    expect(on(root, &migrated, &["generate"]), "generate")?;
    expect(on(root, &migrated, &["migrate"]), "migrate")?;
    let out = expect(on(root, &migrated, &["check"]), "check")?;
    if !out.contains("ok:") {
        return Err(format!("check:\n{out}"));
    }
    dump::same_schema_without(&migrated, &source, &["public.strata_migrations"])
        .await
        .map_err(|e| format!("after migrate: {e}"))?;
    Ok(())
}

/// The output of a command that must exit 0.
fn expect((code, out, err): (i32, String, String), what: &str) -> Result<String, String> {
    if code == 0 {
        Ok(out)
    } else {
        Err(format!("{what} exited {code}:\n{out}\n{err}"))
    }
}

/// Roles are shared by the whole server: created once, whoever comes first.
async fn create_roles(list: &str) -> Result<(), String> {
    let admin = strata::postgres::connect(server().url())
        .await
        .map_err(|e| e.to_string())?;
    for role in list.lines().map(str::trim).filter(|r| !r.is_empty()) {
        let sql = format!(
            "DO $$ BEGIN CREATE ROLE {}; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
            strata_core::sql::quote_ident(role)
        );
        admin.batch_execute(&sql).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

async fn server_version(db: &TestDb) -> u32 {
    let row = db
        .client()
        .await
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .expect("the server version");
    row.get::<_, i32>(0) as u32
}
