//! `strata baseline` end to end with the real binary: a database built by `push` put under
//! versioned migrations, a differing database refused with nothing recorded, and a baseline in
//! the middle of a history that `migrate` then completes.

mod common;

use std::path::Path;

use common::{V1, count, declare, one};
use strata_testkit::{TestDb, dump};

fn cmd(dir: &Path, db: &TestDb, args: &[&str]) -> (i32, String, String) {
    common::on(dir, db, args)
}

/// The second version of the declared schema: a new table, and a new column on an old one.
fn v2() -> String {
    format!(
        "{}CREATE TABLE questions.tags (id serial PRIMARY KEY, label text NOT NULL);\n",
        V1.replace("prefix varchar(10)", "prefix varchar(10),\n  note text")
    )
}

/// Rows in strata's history, 0 when the table does not exist.
async fn history_rows(db: &TestDb) -> i64 {
    if count(
        db,
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'strata_migrations'",
    )
    .await
        == 0
    {
        return 0;
    }
    count(db, "SELECT count(*) FROM public.strata_migrations").await
}

/// Two migrations, 0001 (V1) and 0002 (v2); the database pushed at V1 when `push_at_v1`, else
/// at v2.
fn two_migrations(root: &Path, db: &TestDb, push_at_v1: bool) {
    declare(root, V1);
    let (code, _, err) = cmd(root, db, &["generate", "--name", "init"]);
    assert_eq!(code, 0, "{err}");
    if push_at_v1 {
        let (code, _, err) = cmd(root, db, &["push"]);
        assert_eq!(code, 0, "{err}");
    }
    declare(root, &v2());
    let (code, _, err) = cmd(root, db, &["generate", "--name", "tags"]);
    assert_eq!(code, 0, "{err}");
    if !push_at_v1 {
        let (code, _, err) = cmd(root, db, &["push"]);
        assert_eq!(code, 0, "{err}");
    }
}

#[tokio::test]
async fn a_pushed_database_is_baselined_then_migrate_and_check_have_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = TestDb::new().await;
    two_migrations(root, &db, false);
    let pushed = dump::schema(&db, &["public.strata_migrations"]).unwrap();

    // Status says what is wrong and names the way out.
    let (code, out, _) = cmd(root, &db, &["status"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("pending: 2") && out.contains("`strata baseline`"),
        "{out}"
    );
    let (_, out, _) = cmd(root, &db, &["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["baseline"], true, "{out}");

    // Migrate fails on what exists, and names baseline too.
    let (code, _, err) = cmd(root, &db, &["migrate"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("already exists") && err.contains("`strata baseline`"),
        "{err}"
    );
    assert_eq!(history_rows(&db).await, 0);

    // A dry run proves and records nothing.
    let (code, out, err) = cmd(root, &db, &["baseline", "--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("would record as applied: 0001_init.sql, 0002_tags.sql"),
        "{out}"
    );
    assert_eq!(history_rows(&db).await, 0);

    let (code, out, err) = cmd(root, &db, &["baseline"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("recorded 0001_init.sql, 0002_tags.sql"),
        "{out}"
    );
    assert_eq!(history_rows(&db).await, 2);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM public.strata_migrations WHERE applied_by LIKE '% (baseline)'"
        )
        .await,
        2
    );
    // The catalog hash of the proven state, on the newest row.
    assert_eq!(
        one(
            &db,
            "SELECT coalesce(string_agg(version, ','), '') FROM public.strata_migrations WHERE catalog_hash IS NOT NULL"
        )
        .await,
        "0002"
    );
    // The schema is untouched (only the history table was added).
    assert_eq!(
        dump::schema(&db, &["public.strata_migrations"]).unwrap(),
        pushed
    );

    let (code, out, err) = cmd(root, &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("nothing to do"), "{out}");
    let (code, out, err) = cmd(root, &db, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok: 2 migrations"), "{out}");
    let (code, out, err) = cmd(root, &db, &["status"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("drift: none"), "{out}");

    // A second baseline has nothing to record.
    let (code, out, err) = cmd(root, &db, &["baseline"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("nothing to do"), "{out}");
    assert_eq!(history_rows(&db).await, 2);
}

#[tokio::test]
async fn a_database_that_differs_is_refused_and_nothing_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = TestDb::new().await;
    two_migrations(root, &db, false);
    db.client()
        .await
        .batch_execute("ALTER TABLE questions.tags ADD COLUMN colour text")
        .await
        .unwrap();

    let (code, out, err) = cmd(root, &db, &["baseline"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("differs from what the migrations up to 0002_tags.sql give")
            && out.contains("colour")
            && out.contains("nothing was recorded"),
        "{out}"
    );
    assert_eq!(history_rows(&db).await, 0);

    let (code, out, _) = cmd(root, &db, &["baseline", "--json"]);
    assert_eq!(code, 1, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["database", "differences", "dry_run", "recorded"]);
    assert_eq!(doc["recorded"], serde_json::json!([]), "{out}");
    let differences = doc["differences"].as_array().unwrap();
    assert!(
        differences
            .iter()
            .any(|step| step["sql"].as_str().unwrap_or("").contains("colour")),
        "{out}"
    );
    assert_eq!(history_rows(&db).await, 0);
}

#[tokio::test]
async fn a_baseline_in_the_middle_of_a_history_leaves_the_rest_to_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = TestDb::new().await;
    two_migrations(root, &db, true);

    // Bad input: exit 2, nothing recorded.
    let (code, _, err) = cmd(root, &db, &["baseline", "--to", "two"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--to two"), "{err}");
    let (code, _, err) = cmd(root, &db, &["baseline", "--to", "0000"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no migration numbered 0 or below"), "{err}");

    // The database is at 0001: the whole history is more than it holds.
    let (code, out, err) = cmd(root, &db, &["baseline"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("tags"), "{out}");
    assert_eq!(history_rows(&db).await, 0);

    // Under the migrate lock: while another migrate holds it, nothing is recorded.
    std::fs::write(
        root.join("strata.toml"),
        "[migrations]\nlock_wait_seconds = 1\n",
    )
    .unwrap();
    let holder = db.client().await;
    holder
        .query_one(
            "SELECT pg_advisory_lock(1398035021, hashtext('public.strata_migrations'))",
            &[],
        )
        .await
        .unwrap();
    let (code, _, err) = cmd(root, &db, &["baseline", "--to", "0001"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("migrate lock on public.strata_migrations"),
        "{err}"
    );
    assert_eq!(history_rows(&db).await, 0);
    holder
        .query_one(
            "SELECT pg_advisory_unlock(1398035021, hashtext('public.strata_migrations'))",
            &[],
        )
        .await
        .unwrap();

    let (code, out, err) = cmd(root, &db, &["baseline", "--to", "0001"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("recorded 0001_init.sql as applied")
            && out.contains("1 later migration is pending"),
        "{out}"
    );
    assert_eq!(history_rows(&db).await, 1);

    let (code, out, err) = cmd(root, &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied 1 migration"), "{out}");
    assert_eq!(count(&db, "SELECT count(*) FROM questions.tags").await, 0);
    let (code, out, err) = cmd(root, &db, &["check"]);
    assert_eq!(code, 0, "{out}{err}");

    // Below what is applied, a baseline is refused.
    let (code, _, err) = cmd(root, &db, &["baseline", "--to", "0001"]);
    assert_eq!(code, 0, "already recorded: {err}");
    db.client()
        .await
        .batch_execute("DELETE FROM public.strata_migrations WHERE version = '0001'")
        .await
        .unwrap();
    let (code, _, err) = cmd(root, &db, &["baseline", "--to", "0001"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("0002_tags.sql is applied, above 0001_init.sql")
            && err.contains("nothing was recorded"),
        "{err}"
    );
    assert_eq!(history_rows(&db).await, 1);
}
