//! `strata diff` end to end: plans between two real databases, verified on a scratch copy,
//! runnable with `psql -f`.

mod common;

use std::process::Command;

use common::{run, strata};
use strata_testkit::{TestDb, server};

async fn db(sql: &str) -> TestDb {
    let db = TestDb::new().await;
    db.client().await.batch_execute(sql).await.unwrap();
    db
}

fn diff(
    dir: &std::path::Path,
    from: &TestDb,
    to: &TestDb,
    extra: &[&str],
) -> (i32, String, String) {
    run(strata(dir)
        .args([
            "diff",
            "--from",
            from.url().expose(),
            "--to",
            to.url().expose(),
        ])
        .args(extra)
        .env("STRATA_DEV_URL", server().url().expose()))
}

#[tokio::test]
async fn the_plan_runs_with_psql_and_converges() {
    let from = db("CREATE SCHEMA questions; CREATE TABLE questions.batteries (id serial PRIMARY KEY, label text);").await;
    let to = db(
        "CREATE SCHEMA questions; CREATE TYPE questions.kind AS ENUM ('a', 'b');
         CREATE TABLE questions.batteries (id serial PRIMARY KEY, label text NOT NULL, kind questions.kind DEFAULT 'a');
         CREATE INDEX batteries_label ON questions.batteries (label);
         CREATE VIEW questions.labels AS SELECT label FROM questions.batteries;",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (code, plan, err) = diff(dir.path(), &from, &to, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(plan.starts_with("-- "), "{plan}");
    assert!(
        plan.contains("CREATE INDEX CONCURRENTLY batteries_label"),
        "{plan}"
    );
    // NOT NULL on a table that exists: proven by a check validated apart, no scan under lock.
    assert!(
        plan.contains("CHECK (\"label\" IS NOT NULL) NOT VALID")
            && plan.contains("-- hazard (questions.batteries.label): may fail on existing data"),
        "{plan}"
    );

    let file = dir.path().join("plan.sql");
    std::fs::write(&file, &plan).unwrap();
    let (code, _, err) = run(Command::new("psql")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            from.url().expose(),
            "-f",
        ])
        .arg(&file));
    assert_eq!(code, 0, "psql could not run the plan: {err}");

    // Now the same: nothing to do, and --exit-code says so with 0.
    let (code, plan, err) = diff(dir.path(), &from, &to, &["--exit-code"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(plan.trim(), "-- No changes: the schemas are the same.");
}

#[tokio::test]
async fn renames_and_exit_code() {
    let from = db("CREATE TABLE public.batteries (id int PRIMARY KEY, label text);").await;
    let to = db("CREATE TABLE public.batteries (id int PRIMARY KEY, name text);").await;
    let dir = tempfile::tempdir().unwrap();
    let (code, plan, _) = diff(dir.path(), &from, &to, &["--exit-code"]);
    assert_eq!(code, 1);
    assert!(
        plan.contains("DROP COLUMN \"label\"") && plan.contains("deletes data"),
        "{plan}"
    );

    let (code, plan, err) = diff(
        dir.path(),
        &from,
        &to,
        &["--rename", "public.batteries.label=name", "--exit-code"],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        plan.trim(),
        "-- 1 step.\n\nALTER TABLE \"public\".\"batteries\" RENAME COLUMN \"label\" TO \"name\";"
    );

    let (code, _, err) = diff(
        dir.path(),
        &from,
        &to,
        &["--rename", "public.batteries.nope=name"],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("has no column, constraint or index named nope"),
        "{err}"
    );
}

#[tokio::test]
async fn grants_to_roles_verify_on_the_scratch_server() {
    let from = db("CREATE TABLE public.t (id int)").await;
    let role = format!("strata_diff_reader_{}", std::process::id());
    let to = db(&format!("DO $$ BEGIN CREATE ROLE {role}; EXCEPTION WHEN duplicate_object THEN NULL; END $$; CREATE TABLE public.t (id int); GRANT SELECT ON public.t TO {role};")).await;
    let dir = tempfile::tempdir().unwrap();
    let (code, plan, err) = diff(dir.path(), &from, &to, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        plan.contains(&format!(
            "GRANT SELECT ON TABLE \"public\".\"t\" TO \"{role}\""
        )),
        "{plan}"
    );
}

#[test]
fn sources_are_database_urls_or_folders() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(strata(dir.path()).args([
        "diff",
        "--from",
        "schemas/",
        "--to",
        "postgres://x@127.0.0.1:1/y",
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("`schemas/` is neither a database URL"),
        "{err}"
    );
}
