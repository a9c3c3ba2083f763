//! `strata push` end to end, off a terminal: declared files into a real database.

mod common;

use std::path::Path;
use std::process::Stdio;

use common::{V1, declare, one, run, strata};
use strata_testkit::{TestDb, server};

fn push(dir: &Path, db: &TestDb, extra: &[&str]) -> (i32, String, String) {
    run(strata(dir)
        .arg("push")
        .args(["--url", db.url().expose()])
        .args(extra)
        .env("STRATA_DEV_URL", server().url().expose())
        .stdin(Stdio::null()))
}

#[tokio::test]
async fn the_development_loop() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    declare(dir.path(), V1);

    // Into an empty database, then again: nothing to do.
    let (code, out, err) = push(dir.path(), &db, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("CREATE TABLE \"questions\".\"batteries\""),
        "{out}"
    );
    assert!(err.contains("applied"), "{err}");
    let (code, out, err) = push(dir.path(), &db, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("nothing to do"), "{out}");
    db.client()
        .await
        .batch_execute(
            "INSERT INTO questions.batteries (label) VALUES ('demographics'), ('habits')",
        )
        .await
        .unwrap();

    // A dry run changes nothing.
    declare(
        dir.path(),
        &V1.replace("prefix varchar(10)", "prefix varchar(10),\n  note text"),
    );
    let (code, out, _) = push(dir.path(), &db, &["--dry-run"]);
    assert_eq!(code, 0);
    assert!(out.contains("ADD COLUMN \"note\" text"), "{out}");
    assert_eq!(
        one(
            &db,
            "SELECT count(*)::text FROM information_schema.columns WHERE column_name = 'note'"
        )
        .await,
        "0"
    );
    // Add a column, an index and an enum value.
    let v2 = V1
        .replace("prefix varchar(10)", "prefix varchar(10),\n  note text")
        .replace("'single', 'multi'", "'single', 'multi', 'open'")
        + "CREATE INDEX questions_code ON questions.questions (code);\n";
    declare(dir.path(), &v2);
    let (code, out, err) = push(dir.path(), &db, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("ADD VALUE 'open'")
            && out.contains("CREATE INDEX CONCURRENTLY questions_code"),
        "{out}"
    );

    // A rename the user has not decided: off a terminal, exit 1 with the flag that decides it.
    let v3 = v2.replace("label text NOT NULL UNIQUE", "name text NOT NULL UNIQUE");
    declare(dir.path(), &v3);
    let (code, _, err) = push(dir.path(), &db, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("--rename questions.batteries.label=name"),
        "{err}"
    );
    // Decided by the flag: one RENAME step, and the data stays.
    let (code, out, err) = push(
        dir.path(),
        &db,
        &["--rename", "questions.batteries.label=name"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("RENAME COLUMN \"label\" TO \"name\"") && !out.contains("DROP COLUMN"),
        "{out}"
    );
    assert_eq!(
        one(
            &db,
            "SELECT string_agg(name, ',' ORDER BY id) FROM questions.batteries"
        )
        .await,
        "demographics,habits"
    );

    // Decided by an annotation in the declared file; a later push ignores the spent annotation.
    let v4 = v3.replace(
        "name text NOT NULL UNIQUE",
        "title text NOT NULL UNIQUE, -- strata:renamed-from name",
    );
    declare(dir.path(), &v4);
    let (code, out, err) = push(dir.path(), &db, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("RENAME COLUMN \"name\" TO \"title\""), "{out}");
    let (code, out, err) = push(dir.path(), &db, &[]);
    assert_eq!(
        (code, out.starts_with("nothing to do")),
        (0, true),
        "{out}{err}"
    );

    // Dropping a column that holds rows: refused off a terminal without --force, untouched.
    let v5 = v4.replace("  prefix varchar(10),\n", "");
    declare(dir.path(), &v5);
    db.client()
        .await
        .batch_execute("UPDATE questions.batteries SET prefix = 'D' WHERE id = 1")
        .await
        .unwrap();
    let (code, _, err) = push(dir.path(), &db, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("DROP COLUMN \"prefix\": 1 values would be deleted or converted")
            && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        one(&db, "SELECT prefix FROM questions.batteries WHERE id = 1").await,
        "D"
    );
    let (code, _, err) = push(dir.path(), &db, &["--force"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        one(
            &db,
            "SELECT count(*)::text FROM information_schema.columns WHERE column_name = 'prefix'"
        )
        .await,
        "0"
    );
}

#[tokio::test]
async fn a_syntax_error_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    declare(
        dir.path(),
        &(V1.to_owned() + "CREATE TABLE questions.broken (id int,);\n"),
    );
    let (code, _, err) = push(dir.path(), &db, &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("schemas/questions/schema.sql:14:") && err.contains("syntax error"),
        "{err}"
    );
    let tables: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'questions'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
}

#[tokio::test]
async fn a_failing_step_rolls_back_the_whole_push() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    declare(dir.path(), V1);
    let (code, _, err) = push(dir.path(), &db, &[]);
    assert_eq!(code, 0, "{err}");
    db.client()
        .await
        .batch_execute("INSERT INTO questions.batteries (label) VALUES ('no prefix')")
        .await
        .unwrap();
    // A new column, then a CHECK that the existing NULL violates: the second step fails.
    let v2 = V1.replace(
        "prefix varchar(10)",
        "prefix varchar(10),\n  extra text,\n  CONSTRAINT has_prefix CHECK (prefix IS NOT NULL)",
    );
    declare(dir.path(), &v2);
    let (code, out, err) = push(dir.path(), &db, &["--force"]);
    assert_eq!(code, 2, "{err}");
    let add = out.find("ADD COLUMN \"extra\"");
    let check = out.find("ADD CONSTRAINT \"has_prefix\"");
    assert!(
        matches!((add, check), (Some(a), Some(c)) if a < c),
        "the new column comes first in the plan: {out}"
    );
    assert!(
        err.contains("rolled back: nothing was changed") && err.contains("is violated by some row"),
        "{err}"
    );
    assert_eq!(
        one(
            &db,
            "SELECT count(*)::text FROM information_schema.columns WHERE column_name = 'extra'"
        )
        .await,
        "0",
        "the step before the failure is rolled back too"
    );
}

/// Runs `strata push` on a terminal (a pseudo-terminal from `script`), typing `answers`.
fn push_on_terminal(dir: &Path, db: &TestDb, answers: &str) -> (i32, String) {
    use std::io::Write as _;
    let command = format!(
        "'{}' push --url '{}'",
        common::strata_bin().display(),
        db.url().expose()
    );
    let mut child = common::command("script", dir)
        .args(["-qec", &command, "/dev/null"])
        .env("STRATA_DEV_URL", server().url().expose())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running script (util-linux)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answers.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).replace('\r', ""),
    )
}

#[tokio::test]
async fn on_a_terminal_strata_asks() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    declare(dir.path(), V1);
    let (code, _, err) = push(dir.path(), &db, &[]);
    assert_eq!(code, 0, "{err}");
    db.client()
        .await
        .batch_execute(
            "INSERT INTO questions.batteries (label, prefix) VALUES ('demographics', 'D')",
        )
        .await
        .unwrap();

    // A possible rename: asked, answered yes, renamed with the data kept.
    declare(
        dir.path(),
        &V1.replace("label text NOT NULL UNIQUE", "name text NOT NULL UNIQUE"),
    );
    let (code, out) = push_on_terminal(dir.path(), &db, "y\n");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("is column questions.batteries.label renamed to name? [y/N]")
            && out.contains("RENAME COLUMN \"label\" TO \"name\""),
        "{out}"
    );
    assert_eq!(
        one(&db, "SELECT name FROM questions.batteries").await,
        "demographics"
    );

    // Data loss: the prompt counts the rows; no keeps them, yes drops them.
    let v3 = V1.replace(
        "label text NOT NULL UNIQUE,\n  prefix varchar(10)\n",
        "name text NOT NULL UNIQUE\n",
    );
    declare(dir.path(), &v3);
    let (code, out) = push_on_terminal(dir.path(), &db, "n\n");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("DROP COLUMN \"prefix\": 1 values would be deleted")
            && out.contains("apply them? [y/N]"),
        "{out}"
    );
    assert_eq!(
        one(&db, "SELECT prefix FROM questions.batteries").await,
        "D"
    );
    let (code, out) = push_on_terminal(dir.path(), &db, "y\n");
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        one(
            &db,
            "SELECT count(*)::text FROM information_schema.columns WHERE column_name = 'prefix'"
        )
        .await,
        "0"
    );
}
