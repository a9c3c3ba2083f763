//! Online plans end to end with the real binary: on tables that hold rows, `generate` writes the
//! gentle forms (keys from indexes built concurrently, NOT VALID then VALIDATE committed apart,
//! SET NOT NULL proven by a check), `strata lint` passes them, `migrate` applies them, `check`
//! is clean; and while such a migration runs, another session's reads and writes on the table
//! never wait longer than its lock_timeout — where the blocking forms make them wait.

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use common::live::Running;
use common::{count, on};
use strata_testkit::TestDb;

fn declare(root: &Path, sql: &str) {
    fs::create_dir_all(root.join("schemas/shop")).unwrap();
    fs::write(root.join("schemas/shop/schema.sql"), sql).unwrap();
}

/// Every migration file `generate` wrote, by name.
fn migrations(root: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = fs::read_dir(root.join("schema-migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(".sql") && !name.ends_with(".down.sql")
        })
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

const V1: &str = "CREATE SCHEMA shop;\n\
CREATE TABLE shop.customers (id int PRIMARY KEY);\n\
CREATE TABLE shop.orders (id int, code text, customer_id int, amount int, note text);\n";

const V2: &str = "CREATE SCHEMA shop;\n\
CREATE TABLE shop.customers (id int PRIMARY KEY);\n\
CREATE TABLE shop.orders (\n\
  id int PRIMARY KEY,\n\
  code text UNIQUE,\n\
  customer_id int REFERENCES shop.customers (id),\n\
  amount int CHECK (amount > 0),\n\
  note text NOT NULL\n\
);\n\
CREATE INDEX orders_amount ON shop.orders (amount);\n";

#[tokio::test]
async fn a_key_a_unique_column_not_null_a_foreign_key_a_check_and_an_index_on_a_table_with_rows() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = TestDb::new().await;
    declare(root, V1);
    let (code, _, err) = on(root, &db, &["generate"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = on(root, &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    db.client()
        .await
        .batch_execute(
            "INSERT INTO shop.customers SELECT g FROM generate_series(1, 100) g;
             INSERT INTO shop.orders SELECT g, 'o' || g, 1 + g % 100, 1 + g % 50, 'n'
             FROM generate_series(1, 10000) g;
             ANALYZE shop.orders;",
        )
        .await
        .unwrap();

    declare(root, V2);
    let (code, out, err) = on(root, &db, &["generate", "--name", "keys"]);
    assert_eq!(code, 0, "{out}{err}");
    let files = migrations(root);
    let new: Vec<&(String, String)> = files.iter().filter(|(n, _)| n.contains("keys")).collect();
    let all: String = new.iter().map(|(_, t)| t.as_str()).collect();
    for gentle in [
        "CREATE UNIQUE INDEX CONCURRENTLY orders_pkey ON shop.orders",
        "PRIMARY KEY USING INDEX \"orders_pkey\"",
        "CREATE UNIQUE INDEX CONCURRENTLY orders_code_key ON shop.orders",
        "UNIQUE USING INDEX \"orders_code_key\"",
        "CHECK (\"note\" IS NOT NULL) NOT VALID",
        "FOREIGN KEY (customer_id) REFERENCES shop.customers(id) NOT VALID",
        "CHECK ((amount > 0)) NOT VALID",
        "CREATE INDEX CONCURRENTLY orders_amount ON shop.orders",
    ] {
        assert!(all.contains(gentle), "no `{gentle}` in:\n{all}");
    }
    for blocking in ["PRIMARY KEY (id)", "UNIQUE (code)"] {
        assert!(!all.contains(blocking), "`{blocking}` in:\n{all}");
    }
    // Every VALIDATE is committed apart from the ADD: it sits in a no-transaction file.
    for (name, text) in &new {
        if text.contains("VALIDATE CONSTRAINT") {
            assert!(
                text.starts_with("-- strata:no-transaction"),
                "{name} validates inside a transaction:\n{text}"
            );
        }
    }

    let (code, out, err) = on(root, &db, &["lint"]);
    assert_eq!(code, 0, "lint refuses the generated files:\n{out}{err}");
    let (code, out, err) = on(root, &db, &["lint", "--url", db.url().expose()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 errors"), "{out}");

    let (code, out, err) = on(root, &db, &["migrate"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = on(root, &db, &["check"]);
    assert_eq!(code, 0, "check after the gentle migration:\n{out}{err}");
    // The primary key, the unique key, the foreign key and the check, validated; no helper
    // check is left behind.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'shop.orders'::regclass \
             AND contype IN ('p', 'u', 'f', 'c') AND convalidated"
        )
        .await,
        4
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_constraint WHERE conname LIKE '%not_null_strata'"
        )
        .await,
        0
    );
}

/// A check that takes a while per row, so that a scan of 10,000 rows under a lock outlasts a
/// concurrent session's lock_timeout by far.
const SLOW: &str = "CREATE SCHEMA shop;\n\
CREATE FUNCTION shop.slow_positive(v int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$\n\
BEGIN PERFORM pg_sleep(0.0002); RETURN v > 0; END $$;\n\
CREATE TABLE shop.readings (id int, value int, note text);\n";

const SLOW_V2: &str = "CREATE SCHEMA shop;\n\
CREATE FUNCTION shop.slow_positive(v int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$\n\
BEGIN PERFORM pg_sleep(0.0002); RETURN v > 0; END $$;\n\
CREATE TABLE shop.readings (\n\
  id int PRIMARY KEY,\n\
  value int CONSTRAINT readings_value_check CHECK (shop.slow_positive(value)),\n\
  note text NOT NULL\n\
);\n";

/// Reads and writes `shop.readings` on a connection of its own, each with a lock_timeout of
/// one second, until `running` ends: the number done and the failures.
async fn probe(db: &TestDb, running: &mut Running) -> (usize, Vec<String>, Duration) {
    let client = db.client().await;
    client
        .batch_execute("SET lock_timeout = '1s'")
        .await
        .unwrap();
    let started = Instant::now();
    let mut done = 0;
    let mut failures = Vec::new();
    let mut id = 1_000_000;
    loop {
        if running.wait_timeout(Duration::from_millis(1)).is_some() {
            break;
        }
        id += 1;
        let select = client
            .query_one("SELECT count(*) FROM shop.readings WHERE id < 10", &[])
            .await;
        let insert = client
            .execute(
                "INSERT INTO shop.readings (id, value, note) VALUES ($1, 1, 'probe')",
                &[&id],
            )
            .await;
        for result in [select.map(|_| 0), insert] {
            match result {
                Ok(_) => done += 1,
                Err(e) => failures.push(format!("{e:?}")),
            }
        }
    }
    (done, failures, started.elapsed())
}

async fn slow_table(root: &Path, db: &TestDb) {
    declare(root, SLOW);
    let (code, _, err) = on(root, db, &["generate"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = on(root, db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    db.client()
        .await
        .batch_execute(
            "INSERT INTO shop.readings SELECT g, 1 + g % 7, 'n' FROM generate_series(1, 10000) g",
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn reads_and_writes_go_on_while_the_gentle_migration_runs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = TestDb::new().await;
    slow_table(root, &db).await;
    declare(root, SLOW_V2);
    let (code, out, err) = on(root, &db, &["generate", "--name", "keys"]);
    assert_eq!(code, 0, "{out}{err}");

    let mut running = Running::start(root, &db, &["migrate"]);
    let (done, failures, took) = probe(&db, &mut running).await;
    let (code, stderr) = running.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        failures.is_empty(),
        "a concurrent session waited past its lock_timeout ({} of {done} statements):\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The validation alone scans 10,000 slow rows: long enough that a lock held through it
    // would have been noticed.
    assert!(took > Duration::from_secs(1), "the migration took {took:?}");
    assert!(done > 10, "only {done} statements ran meanwhile");
    let (code, out, err) = on(root, &db, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
}

/// The probe notices blocking: the same change in its blocking forms, in one transaction,
/// makes the concurrent session give up on its lock_timeout.
#[tokio::test]
async fn the_blocking_forms_make_the_same_session_wait() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = TestDb::new().await;
    slow_table(root, &db).await;
    let (code, _, err) = on(root, &db, &["generate", "--custom", "--name", "blocking"]);
    assert_eq!(code, 0, "{err}");
    let file = migrations(root)
        .into_iter()
        .find(|(n, _)| n.contains("blocking"))
        .unwrap()
        .0;
    let path = root.join("schema-migrations").join(&file);
    let mut text = fs::read_to_string(&path).unwrap();
    text.push_str(
        "ALTER TABLE shop.readings ADD PRIMARY KEY (id);\n\
         ALTER TABLE shop.readings ADD CONSTRAINT readings_value_check CHECK (shop.slow_positive(value));\n\
         ALTER TABLE shop.readings ALTER COLUMN note SET NOT NULL;\n",
    );
    fs::write(&path, text).unwrap();
    let (code, _, err) = on(root, &db, &["sum"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = on(root, &db, &["lint", path.to_str().unwrap()]);
    assert_eq!(code, 1, "lint passes the blocking forms:\n{out}");
    for rule in [
        "unique-without-index",
        "constraint-without-not-valid",
        "set-not-null-scan",
    ] {
        assert!(out.contains(rule), "no {rule} in:\n{out}");
    }

    let mut running = Running::start(root, &db, &["migrate"]);
    let (_, failures, _) = probe(&db, &mut running).await;
    let (code, stderr) = running.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        failures.iter().any(|f| f.contains("lock timeout")),
        "the blocking migration never made the probe wait past its lock_timeout: {failures:?}"
    );
}
