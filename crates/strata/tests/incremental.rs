//! Incremental normalisation gives what normalising from scratch gives.
//!
//! For every diff fixture, the declared files go from `from.sql` to `to.sql`: normalised once
//! from scratch into the project's kept state, then incrementally (only the units of statements
//! that changed run again). The catalog must equal, exactly, the one the same files give when
//! normalised from scratch in a database of their own. The same for random edit sequences of
//! the schema generator. And the kept state is never trusted blindly: a kept database changed
//! behind strata's back, or a damaged cache, still gives the right catalog.

use std::path::Path;

use strata::introspect::Scope;
use strata::normalise::fixpoint::Fixpoint;
use strata::normalise::scratch::ScratchServer;
use strata::normalise::state::{Normalised, States};
use strata::source::cache::Cache;
use strata::source::declared::{Declared, DeclaredFile};
use strata_core::catalog::Catalog;
use strata_testkit::generator::{Rng, generate, mutate, render};
use strata_testkit::server;

fn declared(dir: &Path, sql: &str) -> Declared {
    Declared {
        dir: dir.to_path_buf(),
        files: vec![DeclaredFile {
            path: dir.join("all/schema.sql"),
            text: sql.to_owned(),
        }],
        schemas: Vec::new(),
    }
}

/// The catalog of `sql` normalised from scratch, in a database of its own.
async fn from_scratch(scratch: &ScratchServer, dir: &Path, sql: &str) -> Result<Catalog, String> {
    declared(dir, sql)
        .catalog(scratch, &Scope::AllUserSchemas)
        .await
        .map_err(|e| e.to_string())
}

/// Normalises `steps` in turn in one project; each result must equal the from-scratch one.
/// Returns how many steps ran incrementally.
async fn sequence(name: &str, steps: &[String]) -> Result<usize, String> {
    let scratch = ScratchServer::connect(server().url())
        .await
        .map_err(|e| e.to_string())?;
    let project = tempfile::tempdir().unwrap();
    let states = States::new(&scratch, project.path());
    let cache = Cache::new(project.path());
    let fixpoint = Fixpoint::new(None);
    let mut incremental = 0;
    for (i, sql) in steps.iter().enumerate() {
        let files = declared(project.path(), sql);
        let (got, how) = states
            .declared(&files, &Scope::AllUserSchemas, &cache, &fixpoint)
            .await
            .map_err(|e| format!("{name}, step {i}: {e}"))?;
        match &how {
            Normalised::Incremental { .. } => incremental += 1,
            // The check after an incremental run is a safety net, not a way to be right: a
            // unit whose meaning depends on a changed one must run again by itself.
            Normalised::Full {
                fallback: Some(reason),
            } if reason.contains("does not converge") => {
                return Err(format!(
                    "{name}, step {i}: the incremental run was caught by its check: {reason}"
                ));
            }
            _ => {}
        }
        let want = from_scratch(&scratch, project.path(), sql).await?;
        if got != want {
            let got = serde_json::to_string_pretty(&got).unwrap();
            let want = serde_json::to_string_pretty(&want).unwrap();
            return Err(format!(
                "{name}, step {i} ({how:?}): the catalog differs from normalising from scratch:\n{}",
                strata_testkit::dump::line_differences(&got, &want)
            ));
        }
    }
    strata::normalise::state::forget(&scratch, project.path())
        .await
        .map_err(|e| e.to_string())?;
    Ok(incremental)
}

/// Roles the fixtures grant to.
async fn create_roles() {
    let admin = strata::postgres::connect(server().url()).await.unwrap();
    for role in ["strata_r1", "strata_r2"] {
        let _ = admin
            .batch_execute(&format!(
                "DO $$ BEGIN CREATE ROLE {role}; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            ))
            .await;
    }
}

#[tokio::test]
async fn every_fixture_edit_normalises_incrementally_to_the_same_catalog() {
    create_roles().await;
    let server = strata_testkit::requires::Capabilities::of_server().await;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/diff");
    let mut cases: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    let (mut failures, mut incremental, mut total) = (Vec::new(), 0, 0);
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(4));
    let mut tasks = Vec::new();
    for case in cases {
        let read = |f: &str| std::fs::read_to_string(case.join(f)).unwrap_or_default();
        if !server.allow(&read("requires.txt")) {
            continue;
        }
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let steps = [read("from.sql"), read("to.sql"), read("from.sql")];
        let limit = limit.clone();
        total += 1;
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire().await.unwrap();
            sequence(&name, &steps).await
        }));
    }
    for task in tasks {
        match task.await.unwrap() {
            Ok(n) => incremental += n,
            Err(e) => failures.push(e),
        }
    }
    eprintln!(
        "incremental normalisation: {incremental} of {} edits ran incrementally, {} failed",
        total * 2,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {total} fixtures failed; the first:\n{}",
        failures.len(),
        failures.first().map_or("", String::as_str)
    );
    // Most edits touch a few objects: they must not all fall back to normalising from scratch.
    assert!(
        incremental * 2 > total,
        "only {incremental} of {} edits ran incrementally",
        total * 2
    );
}

#[tokio::test]
async fn random_edit_sequences_normalise_incrementally_to_the_same_catalog() {
    let cases: u64 = std::env::var("STRATA_INCREMENTAL_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(12);
    let mut failures = Vec::new();
    let mut incremental = 0;
    for seed in 0..cases {
        let mut rng = Rng::new(seed);
        let mut schema = generate(&mut rng);
        let mut steps = vec![render(&schema)];
        for _ in 0..4 {
            schema = mutate(&mut rng, &schema);
            steps.push(render(&schema));
        }
        match sequence(&format!("seed {seed}"), &steps).await {
            Ok(n) => incremental += n,
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} sequences failed; the first:\n{}",
        failures.len(),
        failures.first().map_or("", String::as_str)
    );
    assert!(incremental > 0, "no edit ran incrementally");
}
