//! Versioned migrations end to end with the real binary: `generate`, `migrate`, `check`,
//! `status`, `sum`, against a real server.

mod common;

use std::fs;
use std::path::Path;
use std::process::Stdio;

use common::{V1, count, declare, strata};
use strata_testkit::{TestDb, server};

fn cmd(dir: &Path, db: &TestDb, args: &[&str]) -> (i32, String, String) {
    common::on(dir, db, args)
}

fn migration_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir.join("schema-migrations"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn the_seed_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    declare(dir.path(), V1);

    // Declare, generate, review, migrate.
    let (code, out, err) = cmd(dir.path(), &db, &["generate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0001_init.sql"), "{out}");
    assert_eq!(
        migration_files(dir.path()),
        ["0001_init.down.sql", "0001_init.sql", "strata.sum"]
    );
    let init = fs::read_to_string(dir.path().join("schema-migrations/0001_init.sql")).unwrap();
    assert!(
        init.starts_with("-- 0001_init.sql: written by `strata generate`")
            && init.contains("-- Changes:\n--   CREATE SCHEMA \"analytics\"")
            && init.contains("CREATE TABLE \"questions\".\"batteries\""),
        "{init}"
    );
    let (code, out, _) = cmd(dir.path(), &db, &["generate"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("nothing to do"), "{out}");
    assert_eq!(migration_files(dir.path()).len(), 3, "no second file");

    let (code, out, err) = cmd(dir.path(), &db, &["status"]);
    assert_eq!(code, 1, "pending: {out}{err}");
    assert!(
        out.contains("pending: 1") && out.contains("0001_init.sql"),
        "{out}"
    );
    let (code, out, err) = cmd(dir.path(), &db, &["migrate", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 migration would be applied"), "{out}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'questions'"
        )
        .await,
        0
    );
    let (code, out, err) = cmd(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied 1 migration"), "{out}");
    let (code, out, _) = cmd(dir.path(), &db, &["migrate"]);
    assert_eq!((code, out.starts_with("nothing to do")), (0, true), "{out}");
    let (code, out, err) = cmd(dir.path(), &db, &["status"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("drift: none") && out.contains("declared files: the database matches them"),
        "{out}"
    );
    let (code, out, err) = cmd(dir.path(), &db, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("ok:"), "{out}");

    // Modify, generate, migrate.
    let v2 = V1.replace("prefix varchar(10)", "prefix varchar(10),\n  note text");
    declare(dir.path(), &v2);
    let (code, out, err) = cmd(dir.path(), &db, &["check"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("unsynced: ") && out.contains("ADD COLUMN \"note\""),
        "{out}"
    );
    let (code, out, err) = cmd(
        dir.path(),
        &db,
        &[
            "diff",
            "--from",
            "schema-migrations",
            "--to",
            "schemas",
            "--exit-code",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("ADD COLUMN \"note\" text"), "{out}");
    let (code, out, err) = cmd(dir.path(), &db, &["generate", "--name", "battery_note"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0002_battery_note.sql"), "{out}");
    let (code, out, err) = cmd(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied 1 migration"), "{out}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'batteries' AND column_name = 'note'"
        )
        .await,
        1
    );
    let row = db
        .client()
        .await
        .query_one(
            "SELECT string_agg(version || ':' || name, ',' ORDER BY version), count(catalog_hash) FROM public.strata_migrations",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "0001:init,0002:battery_note");
    assert_eq!(row.get::<_, i64>(1), 2, "each run records the catalog hash");

    // A rename off a terminal needs a decision, then generates a RENAME.
    let v3 = v2.replace("label text NOT NULL UNIQUE", "name text NOT NULL UNIQUE");
    declare(dir.path(), &v3);
    let (code, _, err) = cmd(dir.path(), &db, &["generate"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("--rename questions.batteries.label=name"),
        "{err}"
    );
    assert_eq!(migration_files(dir.path()).len(), 5, "nothing written");
    let (code, _, err) = cmd(
        dir.path(),
        &db,
        &["generate", "--rename", "questions.batteries.label=name"],
    );
    assert_eq!(code, 0, "{err}");
    let third = fs::read_to_string(
        dir.path()
            .join("schema-migrations")
            .join(&migration_files(dir.path())[5]),
    )
    .unwrap();
    assert!(
        third.contains("RENAME COLUMN \"label\" TO \"name\""),
        "{third}"
    );
    // Its down file renames back: the renames are reversed, no data is lost.
    let down = fs::read_to_string(
        dir.path()
            .join("schema-migrations")
            .join(&migration_files(dir.path())[4]),
    )
    .unwrap();
    assert!(
        down.contains("RENAME COLUMN \"name\" TO \"label\"") && !down.contains("DROP COLUMN"),
        "{down}"
    );

    // Drift: a change made by hand is found and named.
    cmd(dir.path(), &db, &["migrate"]);
    db.client()
        .await
        .batch_execute("ALTER TABLE questions.questions ADD COLUMN sneaky int")
        .await
        .unwrap();
    let (code, out, _) = cmd(dir.path(), &db, &["status"]);
    assert_eq!(code, 1);
    assert!(out.contains("drift: the schema changed"), "{out}");
    let (code, out, _) = cmd(dir.path(), &db, &["check", "--json"]);
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let drift = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "drift")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        drift["message"].as_str().unwrap().contains("sneaky"),
        "{out}"
    );
}

/// Writes a hand-written migration (irreversible: without the down file `--custom` writes)
/// and re-sums.
fn custom(dir: &Path, db: &TestDb, name: &str, sql: &str) -> String {
    let (code, out, err) = cmd(dir, db, &["generate", "--custom", "--name", name]);
    assert_eq!(code, 0, "{out}{err}");
    let file = migration_files(dir)
        .into_iter()
        .find(|f| f.ends_with(&format!("_{name}.sql")) && !f.ends_with(".down.sql"))
        .unwrap();
    fs::write(dir.join("schema-migrations").join(&file), sql).unwrap();
    fs::remove_file(
        dir.join("schema-migrations")
            .join(file.replace(".sql", ".down.sql")),
    )
    .unwrap();
    let (code, _, err) = cmd(dir, db, &["sum"]);
    assert_eq!(code, 0, "{err}");
    file
}

#[tokio::test]
async fn transactions_concurrent_indexes_and_failures() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    custom(
        dir.path(),
        &db,
        "table",
        "CREATE TABLE t (a int, b int);\nINSERT INTO t VALUES (1, 1), (1, 2);\n",
    );
    custom(
        dir.path(),
        &db,
        "index",
        "-- strata:no-transaction\nCREATE INDEX CONCURRENTLY t_b ON t (b);\n",
    );
    let (code, out, err) = cmd(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 't_b' AND i.indisvalid").await,
        1
    );

    // A failure in the third statement: no trace of the first two, no history row.
    custom(
        dir.path(),
        &db,
        "broken",
        "CREATE TABLE u (a int);\nINSERT INTO t VALUES (2, 3);\nSELECT * FROM no_such_table;\n",
    );
    let (code, _, err) = cmd(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("0003_broken.sql failed")
            && err.contains("0003_broken.sql:3:15")
            && err.contains("no_such_table")
            && err.contains("rolled back"),
        "{err}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM pg_class WHERE relname = 'u'").await,
        0
    );
    assert_eq!(count(&db, "SELECT count(*) FROM t").await, 2);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM public.strata_migrations WHERE version = '0003'"
        )
        .await,
        0
    );
    fs::remove_file(dir.path().join("schema-migrations/0003_broken.sql")).unwrap();
    cmd(dir.path(), &db, &["sum"]);

    // A no-transaction file that fails: it says exactly what is applied, then continues from
    // the failed statement once the cause is fixed, dropping the INVALID index left behind.
    custom(
        dir.path(),
        &db,
        "unique",
        "-- strata:no-transaction\nCREATE INDEX CONCURRENTLY t_b2 ON t (b);\nCREATE UNIQUE INDEX CONCURRENTLY t_a ON t (a);\nCREATE INDEX CONCURRENTLY t_ab ON t (a, b);\n",
    );
    let (code, _, err) = cmd(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("statement 2 of 3 failed")
            && err.contains("0003_unique.sql:3:")
            && err.contains("statements 1–1 are applied"),
        "{err}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 't_a' AND NOT i.indisvalid").await,
        1,
        "the failed build leaves an INVALID index"
    );
    let (code, out, _) = cmd(dir.path(), &db, &["status"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("stopped: 0003_unique.sql stopped after statement 1"),
        "{out}"
    );
    db.client()
        .await
        .batch_execute("DELETE FROM t WHERE b = 2")
        .await
        .unwrap();
    let (code, out, err) = cmd(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("continuing with statement 2") && err.contains("dropping the INVALID index"),
        "{err}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname IN ('t_b2', 't_a', 't_ab') AND i.indisvalid").await,
        3
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM public.strata_migrations WHERE status = 'applied'"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn sixteen_processes_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    for i in 0..5 {
        custom(
            dir.path(),
            &db,
            &format!("step{i}"),
            &format!("CREATE TABLE t{i} (id int);\nINSERT INTO t{i} VALUES ({i});\n"),
        );
    }
    let children: Vec<_> = (0..16)
        .map(|_| {
            strata(dir.path())
                .arg("migrate")
                .env("DATABASE_URL", db.url().expose())
                .env("STRATA_DEV_URL", server().url().expose())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut applied_by_process = 0;
    for child in children {
        let output = child.wait_with_output().unwrap();
        let out = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{out}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        if out.contains("applied 5 migrations") {
            applied_by_process += 1;
        }
    }
    assert_eq!(
        applied_by_process, 1,
        "one process applies, the others find nothing to do"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM public.strata_migrations").await,
        5
    );
    let rows = count(
        &db,
        "SELECT (SELECT count(*) FROM t0) + (SELECT count(*) FROM t1) + (SELECT count(*) FROM t2) + (SELECT count(*) FROM t3) + (SELECT count(*) FROM t4)",
    )
    .await;
    assert_eq!(rows, 5, "each migration ran exactly once");
}

#[tokio::test]
async fn edited_deleted_out_of_order_and_duplicate_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let first = custom(dir.path(), &db, "first", "CREATE TABLE a (id int);\n");
    let (code, _, err) = cmd(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    let migrations = dir.path().join("schema-migrations");

    // Edited after it was applied: the sum notices first; re-summed, the history does.
    fs::write(migrations.join(&first), "CREATE TABLE a (id bigint);\n").unwrap();
    let (code, _, err) = cmd(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("0001_first.sql was edited after strata.sum recorded it")
            && err.contains("strata sum"),
        "{err}"
    );
    let (code, out, _) = cmd(dir.path(), &db, &["check"]);
    assert_eq!(code, 1);
    assert!(out.contains("sum: 0001_first.sql was edited"), "{out}");
    cmd(dir.path(), &db, &["sum"]);
    let (code, _, err) = cmd(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("0001_first.sql changed after it was applied") && err.contains("restore it"),
        "{err}"
    );
    fs::write(migrations.join(&first), "CREATE TABLE a (id int);\n").unwrap();
    cmd(dir.path(), &db, &["sum"]);

    // An out-of-order file, merged from another branch.
    fs::write(
        migrations.join("0003_third.sql"),
        "CREATE TABLE c (id int);\n",
    )
    .unwrap();
    cmd(dir.path(), &db, &["sum"]);
    let (code, _, err) = cmd(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    fs::write(
        migrations.join("0002_second.sql"),
        "CREATE TABLE b (id int);\n",
    )
    .unwrap();
    cmd(dir.path(), &db, &["sum"]);
    let (code, _, err) = cmd(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("0002_second.sql is older than the newest applied migration")
            && err.contains("--allow-out-of-order"),
        "{err}"
    );
    let (code, _, err) = cmd(dir.path(), &db, &["migrate", "--allow-out-of-order"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM pg_class WHERE relname = 'b'").await,
        1
    );

    // A duplicate number.
    fs::write(migrations.join("0003_other.sql"), "SELECT 1;\n").unwrap();
    cmd(dir.path(), &db, &["sum"]);
    let (code, _, err) = cmd(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("0003_other.sql and 0003_third.sql have the same number"),
        "{err}"
    );
    fs::remove_file(migrations.join("0003_other.sql")).unwrap();

    // A deleted applied file.
    fs::remove_file(migrations.join(&first)).unwrap();
    cmd(dir.path(), &db, &["sum"]);
    let (code, _, err) = cmd(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("0001_first.sql was applied") && err.contains("its file is gone"),
        "{err}"
    );
    let (code, out, _) = cmd(dir.path(), &db, &["check", "--json"]);
    assert_eq!(code, 1);
    assert!(out.contains("\"kind\": \"missing\""), "{out}");
}

#[tokio::test]
async fn a_migration_waiting_for_a_lock_gives_up_and_retries() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    fs::write(
        dir.path().join("strata.toml"),
        "[migrations]\nlock_timeout = \"100ms\"\nlock_retries = 8\n",
    )
    .unwrap();
    custom(dir.path(), &db, "table", "CREATE TABLE t (a int);\n");
    custom(
        dir.path(),
        &db,
        "column",
        "ALTER TABLE t ADD COLUMN b int;\n",
    );
    let (code, out, err) = cmd(dir.path(), &db, &["migrate", "--to", "0001"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("applied 1 migration"), "{out}");

    // Another session holds a lock on the table, and lets go once migrate has given up on it
    // (and said so) at least once.
    let holder = db.client().await;
    holder
        .batch_execute("BEGIN; LOCK TABLE t IN ACCESS SHARE MODE")
        .await
        .unwrap();
    let mut child = strata(dir.path())
        .arg("migrate")
        .env("DATABASE_URL", db.url().expose())
        .env("STRATA_DEV_URL", server().url().expose())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (gave_up, wait_for_it) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)) {
            let line = line.unwrap();
            if line.contains("retrying (1/") {
                let _ = gave_up.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let retried = tokio::task::spawn_blocking(move || {
        wait_for_it.recv_timeout(std::time::Duration::from_secs(60))
    })
    .await
    .unwrap();
    holder.batch_execute("COMMIT").await.unwrap();
    let status = child.wait().unwrap();
    let err = reader.join().unwrap();
    assert!(retried.is_ok(), "migrate never gave up on the lock: {err}");
    assert!(status.success(), "{err}");
    assert!(
        err.contains(
            "0002_column.sql: a lock was not free within lock_timeout; rolled back, retrying (1/"
        ),
        "{err}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 't' AND column_name = 'b'"
        )
        .await,
        1
    );
}
