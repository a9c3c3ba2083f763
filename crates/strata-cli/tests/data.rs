//! Data migrations end to end with the real binary: SQL migrations found in `data-migrations/`,
//! run, listed and reset per schema against a real server.

mod common;

use std::fs;
use std::path::Path;
use std::process::Stdio;

use common::{count, run, strata};
use strata_testkit::{TestDb, server};

fn data(dir: &Path, db: &TestDb, args: &[&str]) -> (i32, String, String) {
    run(strata(dir)
        .arg("data")
        .args(args)
        .env("DATABASE_URL", db.url().expose())
        .env("STRATA_DEV_URL", server().url().expose())
        .stdin(Stdio::null()))
}

/// Writes `data-migrations/<schema>/<file>.up.sql` (and `.down.sql` when given).
fn migration(dir: &Path, schema: &str, file: &str, up: &str, down: Option<&str>) {
    let folder = dir.join("data-migrations").join(schema);
    fs::create_dir_all(&folder).unwrap();
    fs::write(folder.join(format!("{file}.up.sql")), up).unwrap();
    if let Some(down) = down {
        fs::write(folder.join(format!("{file}.down.sql")), down).unwrap();
    }
}

const TABLES: &str = "CREATE SCHEMA questions; CREATE TABLE questions.batteries (name text PRIMARY KEY);\
                      CREATE SCHEMA responses; CREATE TABLE responses.respondents (name text PRIMARY KEY);";

/// Two schemas with two migrations each, each inserting a row its down deletes.
fn two_by_two(dir: &Path) {
    for (schema, table) in [
        ("questions", "questions.batteries"),
        ("responses", "responses.respondents"),
    ] {
        for (file, value) in [("0001_first", "one"), ("0002_second", "two")] {
            migration(
                dir,
                schema,
                file,
                &format!("INSERT INTO {table} VALUES ('{value}');"),
                Some(&format!("DELETE FROM {table} WHERE name = '{value}';")),
            );
        }
    }
}

#[tokio::test]
async fn per_schema_runs_status_and_reset() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    db.client().await.batch_execute(TABLES).await.unwrap();
    two_by_two(dir.path());

    let (code, out, _) = data(dir.path(), &db, &["status"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("questions: 0 applied, 2 pending")
            && out.contains("responses: 0 applied, 2 pending"),
        "{out}"
    );

    // One schema, then the rest, then nothing.
    let (code, out, err) = data(dir.path(), &db, &["migrate", "questions"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied 2 data migrations"), "{out}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM questions.batteries").await,
        2
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM responses.respondents").await,
        0
    );
    let (_, out, _) = data(dir.path(), &db, &["status", "questions"]);
    assert!(
        out.contains("questions: 2 applied, 0 pending") && !out.contains("responses"),
        "{out}"
    );
    let (code, _, err) = data(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("applied responses_0001_first")
            && err.contains("applied responses_0002_second"),
        "{err}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM responses.respondents").await,
        2
    );
    let (code, out, _) = data(dir.path(), &db, &["migrate"]);
    assert_eq!((code, out.starts_with("nothing to do")), (0, true), "{out}");
    let (code, out, _) = data(dir.path(), &db, &["status"]);
    assert_eq!(code, 0, "{out}");

    // The seed's four columns, then strata's.
    let columns: Vec<String> = db
        .client()
        .await
        .query(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'data_migrations' ORDER BY ordinal_position",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        columns,
        [
            "id",
            "name",
            "schema",
            "applied_at",
            "execution_ms",
            "applied_by",
            "checksum",
            "inputs"
        ]
    );

    // Reset needs --yes off a terminal; then it undoes one schema's, newest first.
    let (code, _, err) = data(dir.path(), &db, &["reset", "questions"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM questions.batteries").await,
        2
    );
    let (code, _, err) = data(dir.path(), &db, &["reset", "questions", "--yes"]);
    assert_eq!(code, 0, "{err}");
    let second = err.find("reset questions_0002_second").expect(&err);
    let first = err.find("reset questions_0001_first").expect(&err);
    assert!(second < first, "newest first: {err}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM questions.batteries").await,
        0
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM responses.respondents").await,
        2
    );
    let (_, out, _) = data(dir.path(), &db, &["status"]);
    assert!(
        out.contains("questions: 0 applied, 2 pending")
            && out.contains("responses: 2 applied, 0 pending"),
        "{out}"
    );
}

#[tokio::test]
async fn the_seed_table_is_adopted_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    db.client().await.batch_execute(TABLES).await.unwrap();
    // Exactly the seed's DDL, with a row its TypeScript scripts wrote.
    db.client()
        .await
        .batch_execute(
            "create table data_migrations (id serial primary key, name text not null unique, schema text not null, applied_at timestamp not null default now());\
             insert into data_migrations (name, schema, applied_at) values ('questions_0001_first', 'questions', '2024-03-01 10:00');\
             insert into questions.batteries values ('one');",
        )
        .await
        .unwrap();
    two_by_two(dir.path());
    let (code, out, err) = data(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("applied 3 data migrations") && !err.contains("questions_0001_first"),
        "{out}{err}"
    );
    let row = db
        .client()
        .await
        .query_one(
            "SELECT id, applied_at::text FROM data_migrations WHERE name = 'questions_0001_first'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, i32>(0), row.get::<_, String>(1)),
        (1, "2024-03-01 10:00:00".into())
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM questions.batteries").await,
        2
    );
}

#[tokio::test]
async fn a_failing_migration_is_rolled_back_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    db.client().await.batch_execute(TABLES).await.unwrap();
    migration(
        dir.path(),
        "questions",
        "0001_good",
        "INSERT INTO questions.batteries VALUES ('good');",
        None,
    );
    migration(
        dir.path(),
        "questions",
        "0002_bad",
        "INSERT INTO questions.batteries VALUES ('bad');\nSELECT 1 / 0;\n",
        None,
    );
    let (code, _, err) = data(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("data migration questions_0002_bad failed")
            && err.contains("0002_bad.up.sql:2:")
            && err.contains("division by zero")
            && err.contains("the ones before it stay applied: questions_0001_good"),
        "{err}"
    );
    let names: Vec<String> = db
        .client()
        .await
        .query("SELECT name FROM questions.batteries ORDER BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(names, ["good"]);
    assert_eq!(count(&db, "SELECT count(*) FROM data_migrations").await, 1);

    // An applied migration that left the registry stops every run before anything changes.
    fs::remove_file(
        dir.path()
            .join("data-migrations/questions/0001_good.up.sql"),
    )
    .unwrap();
    fs::write(
        dir.path().join("data-migrations/questions/0002_bad.up.sql"),
        "SELECT 1;",
    )
    .unwrap();
    let (code, _, err) = data(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("`questions_0001_good` is applied to this database but not in the registry"),
        "{err}"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM data_migrations").await, 1);
}

#[tokio::test]
async fn two_processes_at_once_run_each_migration_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute("CREATE TABLE runs (name text)")
        .await
        .unwrap();
    for i in 1..=4 {
        migration(
            dir.path(),
            "questions",
            &format!("000{i}_step"),
            &format!("INSERT INTO runs VALUES ('{i}'); SELECT pg_sleep(0.1);"),
            None,
        );
    }
    let children: Vec<_> = (0..2)
        .map(|_| {
            strata(dir.path())
                .args(["data", "migrate"])
                .env("DATABASE_URL", db.url().expose())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(count(&db, "SELECT count(*) FROM runs").await, 4);
    assert_eq!(count(&db, "SELECT count(DISTINCT name) FROM runs").await, 4);
    assert_eq!(count(&db, "SELECT count(*) FROM data_migrations").await, 4);
}

#[tokio::test]
async fn reset_refuses_production_and_stops_at_irreversible() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    db.client().await.batch_execute(TABLES).await.unwrap();
    migration(
        dir.path(),
        "questions",
        "0001_import",
        "INSERT INTO questions.batteries VALUES ('a');",
        None,
    );
    migration(
        dir.path(),
        "questions",
        "0002_more",
        "INSERT INTO questions.batteries VALUES ('b');",
        Some("DELETE FROM questions.batteries WHERE name = 'b';"),
    );

    // A dry run reports the rows and changes nothing.
    let (code, out, err) = data(dir.path(), &db, &["migrate", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("questions.batteries: 1 inserted, 0 updated, 0 deleted"),
        "{out}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM questions.batteries").await,
        0
    );
    let (code, _, err) = data(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");

    // Production: marked in the database, or by STRATA_ENV.
    let (code, out, err) = data(dir.path(), &db, &["env", "production"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("marked as production"), "{out}");
    let (code, _, err) = data(dir.path(), &db, &["reset", "--yes"]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "production database (the database's mark (strata data env) says `production`)"
        ),
        "{err}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM questions.batteries").await,
        2
    );
    data(dir.path(), &db, &["env", "development"]);
    let (code, _, err) = run(strata(dir.path())
        .args(["data", "reset", "--yes"])
        .env("DATABASE_URL", db.url().expose())
        .env("STRATA_ENV", "production")
        .stdin(Stdio::null()));
    assert_eq!(code, 2);
    assert!(err.contains("STRATA_ENV says `production`"), "{err}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM questions.batteries").await,
        2
    );

    // Reset undoes the reversible one, then stops at the irreversible one.
    let (code, _, err) = data(dir.path(), &db, &["reset", "--yes"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("questions_0001_import is irreversible, so reset stops there; reset before it: questions_0002_more"),
        "{err}"
    );
    let names: Vec<String> = db
        .client()
        .await
        .query("SELECT name FROM questions.batteries", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(names, ["a"]);
}

#[tokio::test]
async fn new_writes_the_next_number() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    migration(dir.path(), "questions", "0001_first", "SELECT 1;", None);
    let (code, out, err) = data(dir.path(), &db, &["new", "questions", "fix codes"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("0002_fix_codes.up.sql") && out.contains("0002_fix_codes.down.sql"),
        "{out}"
    );
    assert!(
        dir.path()
            .join("data-migrations/questions/0002_fix_codes.up.sql")
            .is_file()
    );
    let (code, out, err) = data(dir.path(), &db, &["new", "questions", "load", "--rust"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("registered it in"), "{out}");
    let list = fs::read_to_string(dir.path().join("src/data_migrations/questions/mod.rs")).unwrap();
    assert!(
        list.contains("pub mod m0003_load;")
            && list.contains("Migration::new(m0003_load::Migration)"),
        "{list}"
    );
    let text = fs::read_to_string(
        dir.path()
            .join("src/data_migrations/questions/m0003_load.rs"),
    )
    .unwrap();
    assert!(text.contains("\"questions_0003_load\""), "{text}");
}

#[tokio::test]
async fn rows_of_schemas_the_registry_does_not_define_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    db.client().await.batch_execute(TABLES).await.unwrap();
    // The seed's table, filled by scripts that were never ported: `legacy` is no schema of the
    // registry; `questions_0000_bootstrap` is a row of a schema it does define.
    db.client()
        .await
        .batch_execute(
            "create table data_migrations (id serial primary key, name text not null unique, schema text not null, applied_at timestamp not null default now());\
             insert into data_migrations (name, schema) values ('legacy_0001_import', 'legacy'), ('legacy_0002_cleanup', 'legacy');",
        )
        .await
        .unwrap();
    two_by_two(dir.path());

    let (code, out, err) = data(dir.path(), &db, &["status"]);
    assert_eq!(code, 1, "pending: {out}{err}");
    assert!(
        out.contains("legacy: 2 applied, not defined by the registry (left alone)")
            && !out.contains("missing"),
        "{out}"
    );

    let (code, out, err) = data(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("left alone: 2 applied data migrations of schema `legacy`")
            && out.contains("legacy_0001_import, legacy_0002_cleanup")
            && out.contains("applied 4 data migrations"),
        "{out}"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM data_migrations").await, 6);

    // Reset of everything undoes the registry's and keeps the others' rows.
    let (code, out, err) = data(dir.path(), &db, &["reset", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM data_migrations WHERE schema = 'legacy'"
        )
        .await,
        2
    );
    assert_eq!(count(&db, "SELECT count(*) FROM data_migrations").await, 2);

    // A row missing from a schema the registry defines still refuses, naming the way out.
    db.client()
        .await
        .batch_execute(
            "insert into data_migrations (name, schema) values ('questions_0000_bootstrap', 'questions');",
        )
        .await
        .unwrap();
    let (code, out, err) = data(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(
            "`questions_0000_bootstrap` is applied to this database but not in the registry"
        ) && err.contains("--ignore-missing")
            && err.contains("nothing was run"),
        "{err}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM questions.batteries").await,
        0
    );

    let (code, out, err) = data(dir.path(), &db, &["migrate", "--ignore-missing", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["applied"].as_array().unwrap().len(), 4, "{out}");
    assert_eq!(
        doc["ignored_missing"],
        serde_json::json!(["questions_0000_bootstrap"]),
        "{out}"
    );
    assert_eq!(doc["left_alone"][0]["schema"], "legacy", "{out}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM questions.batteries").await,
        2
    );
}
