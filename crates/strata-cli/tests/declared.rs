//! Declared schema folders as a `diff` source: normalised by PostgreSQL in a scratch database,
//! files in any order, errors with file, line and column.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{run, strata};
use strata_testkit::{TestDb, server};

fn write(root: &Path, file: &str, sql: &str) {
    let path = root.join(file);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, sql).unwrap();
}

fn diff(dir: &Path, from: &str, to: &str) -> (i32, String, String) {
    // A project: commands that compare folders need one.
    if !dir.join("strata.toml").exists() {
        fs::write(dir.join("strata.toml"), "").unwrap();
    }
    run(strata(dir)
        .args(["diff", "--from", from, "--to", to])
        .env("STRATA_DEV_URL", server().url().expose()))
}

/// The seed's example, with analytics (applied first, by name) referring to questions.
fn seed_schema(root: &Path) {
    write(
        root,
        "schemas/analytics/schema.sql",
        "CREATE SCHEMA analytics;\n\
         CREATE TABLE analytics.events (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  \
         question_id int REFERENCES questions.questions (id),\n  name text NOT NULL,\n  at timestamptz DEFAULT now()\n);\n",
    );
    write(
        root,
        "schemas/questions/schema.sql",
        "CREATE SCHEMA questions;\n\
         CREATE TABLE questions.questions (\n  id serial PRIMARY KEY,\n  battery_id int NOT NULL REFERENCES questions.batteries (id),\n  code text NOT NULL\n);\n\
         -- declared after the table that refers to it\n\
         CREATE TABLE questions.batteries (id serial PRIMARY KEY, name text NOT NULL UNIQUE, prefix varchar(10));\n\
         CREATE INDEX questions_battery ON questions.questions (battery_id);\n",
    );
}

#[tokio::test]
async fn declared_files_in_any_order_plan_and_converge() {
    let dir = tempfile::tempdir().unwrap();
    seed_schema(dir.path());
    let db = TestDb::new().await;
    // A schema that is not declared is not managed: never read, planned or touched.
    db.client()
        .await
        .batch_execute("CREATE SCHEMA other; CREATE TABLE other.keep (id int);")
        .await
        .unwrap();

    let (code, plan, err) = diff(dir.path(), db.url().expose(), "schemas");
    assert_eq!(code, 0, "{err}");
    assert!(
        plan.contains("CREATE TABLE \"questions\".\"batteries\""),
        "{plan}"
    );
    assert!(
        plan.contains("REFERENCES questions.questions(id)"),
        "{plan}"
    );
    assert!(
        !plan.contains("other"),
        "an undeclared schema was planned: {plan}"
    );

    let file = dir.path().join("plan.sql");
    fs::write(&file, &plan).unwrap();
    let (code, _, err) = run(Command::new("psql")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            db.url().expose(),
            "-f",
        ])
        .arg(&file));
    assert_eq!(code, 0, "{err}");

    let (code, plan, err) = diff(dir.path(), db.url().expose(), "schemas");
    assert_eq!(code, 0, "{err}");
    assert_eq!(plan.trim(), "-- No changes: the schemas are the same.");
    let kept: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'other'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, 1);
}

#[tokio::test]
async fn syntax_errors_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    seed_schema(dir.path());
    write(
        dir.path(),
        "schemas/questions/more.sql",
        "-- more tables\n\nCREATE TABL questions.broken (id int);\n",
    );
    let db = TestDb::new().await;
    let (code, out, err) = diff(dir.path(), db.url().expose(), "schemas");
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains("schemas/questions/more.sql:3:8: syntax error at or near \"TABL\""),
        "{err}"
    );
    assert!(
        err.contains("3 | CREATE TABL questions.broken (id int);") && err.contains("|        ^"),
        "{err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
}

#[tokio::test]
async fn unknown_types_are_reported_where_they_are_used() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "schemas/app/schema.sql",
        "CREATE SCHEMA app;\nCREATE TABLE app.t (\n  id int,\n  mood app.feeling\n);\n",
    );
    let db = TestDb::new().await;
    let (code, _, err) = diff(dir.path(), db.url().expose(), "schemas");
    assert_eq!(code, 2);
    assert!(
        err.contains("schemas/app/schema.sql:4:8: type \"app.feeling\" does not exist"),
        "{err}"
    );
}
