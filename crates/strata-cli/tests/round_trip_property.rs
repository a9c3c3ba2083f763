//! Property test with the real binary: declared text → push → pull → push.
//!
//! For random schemas shaped like what applications declare (see `strata_testkit::generator`):
//! the declared files are pushed into an empty database (and again, with nothing to do), pulled
//! back into a new folder, and those files pushed into a second empty database (again with
//! nothing to do). Both databases must hold the same schema: an empty `diff` between them, and
//! equal `pg_dump -s` at the fixed point. A failure names its seed; `STRATA_SEED=<seed>` replays
//! it. `STRATA_ROUNDTRIP_CASES` sets the number of cases (default 16).

mod common;

use std::path::Path;

use common::{on, run, strata};
use strata_testkit::generator::{Rng, generate, render};
use strata_testkit::{TestDb, dump, server};

fn declare(root: &Path, sql: &str) {
    // One folder per schema; the statements may name objects of the other folder.
    std::fs::create_dir_all(root.join("schemas/p1")).unwrap();
    std::fs::create_dir_all(root.join("schemas/p2")).unwrap();
    std::fs::write(root.join("schemas/p1/schema.sql"), sql).unwrap();
    std::fs::write(root.join("schemas/p2/schema.sql"), "-- see p1\n").unwrap();
}

fn ok((code, out, err): (i32, String, String), what: &str) -> Result<String, String> {
    if code == 0 {
        Ok(out)
    } else {
        Err(format!("{what} exited {code}:\n{out}\n{err}"))
    }
}

async fn round_trip(seed: u64) -> Result<(), String> {
    let sql = render(&generate(&mut Rng::new(seed)));
    let context = |e: String| format!("seed {seed}: {e}\n--- declared\n{sql}");
    let declared = tempfile::tempdir().unwrap();
    declare(declared.path(), &sql);

    let first = TestDb::new().await;
    ok(on(declared.path(), &first, &["push"]), "push").map_err(context)?;
    let out = ok(on(declared.path(), &first, &["push"]), "second push").map_err(context)?;
    if !out.starts_with("nothing to do") {
        return Err(context(format!("the second push planned:\n{out}")));
    }

    let pulled = tempfile::tempdir().unwrap();
    ok(on(pulled.path(), &first, &["pull"]), "pull").map_err(context)?;
    let second = TestDb::new().await;
    ok(
        on(pulled.path(), &second, &["push"]),
        "push of the pulled files",
    )
    .map_err(context)?;
    let out = ok(
        on(pulled.path(), &second, &["push"]),
        "second push of the pulled files",
    )
    .map_err(context)?;
    if !out.starts_with("nothing to do") {
        return Err(context(format!(
            "pushing the pulled files again planned:\n{out}"
        )));
    }

    let out = ok(
        run(strata(pulled.path())
            .args([
                "diff",
                "--from",
                first.url().expose(),
                "--to",
                second.url().expose(),
            ])
            .env("STRATA_DEV_URL", server().url().expose())),
        "diff",
    )
    .map_err(context)?;
    if !out.contains("No changes") {
        return Err(context(format!("the two databases differ:\n{out}")));
    }
    dump::same_schema(&second, &first).await.map_err(context)
}

#[test]
fn declared_push_pull_push_round_trips() {
    let seeds: Vec<u64> = match std::env::var("STRATA_SEED") {
        Ok(seed) => vec![seed.parse().unwrap()],
        Err(_) => {
            let cases: u64 = std::env::var("STRATA_ROUNDTRIP_CASES")
                .ok()
                .and_then(|c| c.parse().ok())
                .unwrap_or(16);
            (1000..1000 + cases).collect()
        }
    };
    let total = seeds.len();
    // The binary runs as a child process: two cases at a time, each on a thread of its own.
    let queue = std::sync::Mutex::new(seeds);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                while let Some(seed) = queue.lock().unwrap().pop() {
                    if let Err(e) = runtime.block_on(round_trip(seed)) {
                        failures.lock().unwrap().push(e);
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {total} round trips failed; the first:\n{}",
        failures.len(),
        failures.first().map_or("", String::as_str)
    );
}
