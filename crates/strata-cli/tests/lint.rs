//! `strata lint` with the real binary: exit codes, the three formats, `--deny`/`--allow` and
//! `-- strata:allow`, findings ranked by the table sizes of a real database, `check` judging
//! pending migrations, and a file's own lock_timeout. Each rule's own cases are unit tests
//! beside the rule.

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{on, run, strata};
use strata_testkit::TestDb;

const BLOCKING: &str = "-- hand-written\n\
CREATE INDEX orders_amount ON shop.orders (amount);\n\
ALTER TABLE shop.orders ADD CONSTRAINT orders_code_key UNIQUE (code);\n\
ALTER TABLE shop.orders RENAME COLUMN note TO remark;\n";

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn files_formats_exit_codes_and_acknowledgements() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "0002_orders.sql", BLOCKING);
    let lint = |args: &[&str]| run(strata(dir.path()).arg("lint").arg(&file).args(args));

    let (code, out, err) = lint(&[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(&format!(
            "{file}:2:1: error[blocking-index-build]: CREATE INDEX on shop.orders"
        )),
        "{out}"
    );
    assert!(out.contains("instead: CREATE INDEX CONCURRENTLY"), "{out}");
    assert!(
        out.contains(&format!("{file}:3:1: error[unique-without-index]")),
        "{out}"
    );
    assert!(
        out.contains(&format!("{file}:4:1: warning[rename-breaks-code]")),
        "{out}"
    );
    assert!(out.contains("1 file judged: 2 errors, 1 warning"), "{out}");

    let (code, out, _) = lint(&["--format", "github"]);
    assert_eq!(code, 1);
    assert!(
        out.lines().any(|l| l.starts_with(&format!(
            "::error file={file},line=2,col=1,title=strata lint blocking-index-build::"
        ))),
        "{out}"
    );
    assert!(out.contains("::warning file="), "{out}");

    let (code, out, _) = lint(&["--format", "json"]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["errors"], 2, "{out}");
    assert_eq!(json["findings"][0]["rule"], "blocking-index-build");
    assert_eq!(json["findings"][0]["line"], 2);

    // Leaving rules out, or making a warning an error.
    let (code, out, _) = lint(&[
        "--allow",
        "blocking-index-build",
        "--allow",
        "unique-without-index",
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, _, _) = lint(&[
        "--allow",
        "blocking-index-build",
        "--allow",
        "unique-without-index",
        "--deny",
        "rename-breaks-code",
    ]);
    assert_eq!(code, 1);

    // Acknowledged in the file, with a reason.
    let acknowledged = format!(
        "-- strata:allow blocking-index-build orders holds a hundred rows\n{}",
        BLOCKING.replace(
            "ALTER TABLE shop.orders ADD CONSTRAINT",
            "-- strata:allow unique-without-index built by hand before the release\nALTER TABLE shop.orders ADD CONSTRAINT"
        )
    );
    fs::write(&file, acknowledged).unwrap();
    let (code, out, _) = lint(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 errors, 1 warning"), "{out}");
}

#[test]
fn bad_input_is_exit_2_naming_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "0003_x.sql",
        "CREATE TABLE t (a int);\n-- strata:allow drops-data\nDROP TABLE u;\n",
    );
    let (code, _, err) = run(strata(dir.path()).args(["lint", &file]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("{file}:2:")) && err.contains("gives no reason"),
        "{err}"
    );
    let (code, _, err) = run(strata(dir.path()).args(["lint", &file, "--deny", "no-such-rule"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("no lint rule is called `no-such-rule`"),
        "{err}"
    );
    let (code, _, err) = run(strata(dir.path()).args(["lint", "missing.sql"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing.sql"), "{err}");
}

#[test]
fn the_help_lists_every_rule() {
    let (_, out, _) = run(strata(Path::new("/")).args(["lint", "--help"]));
    for rule in strata_core::lint::RULES {
        assert!(
            out.contains(rule.id()),
            "{} missing from:\n{out}",
            rule.id()
        );
    }
}

async fn shop(db: &TestDb) {
    db.client()
        .await
        .batch_execute(
            "CREATE SCHEMA shop;
             CREATE TABLE shop.orders (id int, code text, amount int, note text);
             INSERT INTO shop.orders SELECT g, 'o' || g, g % 50, 'n' FROM generate_series(1, 30000) g;
             CREATE TABLE shop.tags (id int, label text);
             INSERT INTO shop.tags VALUES (1, 'a');
             CREATE TABLE shop.events (id int, at date) PARTITION BY RANGE (at);
             ANALYZE;",
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_database_ranks_findings_by_table_size() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    shop(&db).await;
    let file = write(
        dir.path(),
        "0004_indexes.sql",
        "CREATE INDEX orders_amount ON shop.orders (amount);\n\
         CREATE INDEX tags_label ON shop.tags (label);\n\
         CREATE INDEX events_at ON shop.events (at);\n",
    );
    let (code, out, _) = run(strata(dir.path()).args(["lint", &file]));
    assert_eq!(code, 1);
    assert_eq!(
        out.matches("error[blocking-index-build]").count(),
        3,
        "{out}"
    );

    let (code, out, err) =
        run(strata(dir.path()).args(["lint", &file, "--url", db.url().expose()]));
    assert_eq!(code, 1, "{out}{err}");
    // The large table: an error with its size; the small one: a warning; the partitioned one
    // has no concurrent build, so nothing.
    assert!(
        out.contains(":1:1: error[blocking-index-build]: CREATE INDEX on shop.orders")
            && out.contains("(about 30000 rows)"),
        "{out}"
    );
    assert!(
        out.contains(":2:1: warning[blocking-index-build]: CREATE INDEX on shop.tags"),
        "{out}"
    );
    assert!(!out.contains("shop.events"), "{out}");
}

#[tokio::test]
async fn check_judges_pending_migrations_on_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = TestDb::new().await;
    fs::create_dir_all(root.join("schemas/shop")).unwrap();
    fs::write(
        root.join("schemas/shop/schema.sql"),
        "CREATE SCHEMA shop;\nCREATE TABLE shop.orders (id int, code text, amount int, note text);\n",
    )
    .unwrap();
    let (code, _, err) = on(root, &db, &["generate"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = on(root, &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    db.client()
        .await
        .batch_execute(
            "INSERT INTO shop.orders SELECT g, 'o' || g, g % 50, 'n' FROM generate_series(1, 30000) g; ANALYZE shop.orders",
        )
        .await
        .unwrap();
    let (code, _, err) = on(
        root,
        &db,
        &["generate", "--custom", "--name", "amount_index"],
    );
    assert_eq!(code, 0, "{err}");
    let path = root.join("schema-migrations/0002_amount_index.sql");
    let header = fs::read_to_string(&path).unwrap();
    fs::write(
        &path,
        format!("{header}CREATE INDEX orders_amount ON shop.orders (amount);\n"),
    )
    .unwrap();
    fs::write(
        root.join("schema-migrations/0002_amount_index.down.sql"),
        "DROP INDEX shop.orders_amount;\n",
    )
    .unwrap();
    fs::write(
        root.join("schemas/shop/schema.sql"),
        "CREATE SCHEMA shop;\nCREATE TABLE shop.orders (id int, code text, amount int, note text);\n\
         CREATE INDEX orders_amount ON shop.orders (amount);\n",
    )
    .unwrap();
    let (code, _, err) = on(root, &db, &["sum"]);
    assert_eq!(code, 0, "{err}");

    let (code, out, err) = on(root, &db, &["check", "--json"]);
    assert_eq!(code, 1, "{out}{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let lint: Vec<&serde_json::Value> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "lint")
        .collect();
    assert_eq!(lint.len(), 1, "{out}");
    assert!(
        lint[0]["message"].as_str().unwrap().contains(&format!(
            "0002_amount_index.sql:{}: blocking-index-build",
            header.lines().count() + 1
        )),
        "{out}"
    );
    assert_eq!(lint[0]["file"], "schema-migrations/0002_amount_index.sql");

    // Once the migration is applied, it is no longer check's concern.
    let (code, _, err) = on(root, &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = on(root, &db, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[tokio::test]
async fn a_file_sets_its_own_lock_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = TestDb::new().await;
    fs::create_dir_all(root.join("schema-migrations")).unwrap();
    fs::write(root.join("strata.toml"), "").unwrap();
    db.client()
        .await
        .batch_execute("CREATE TABLE busy (a int)")
        .await
        .unwrap();
    fs::write(
        root.join("schema-migrations/0001_busy.sql"),
        "-- strata:lock-timeout 100ms\nALTER TABLE busy ADD COLUMN b int;\n",
    )
    .unwrap();
    let (code, _, err) = on(root, &db, &["sum"]);
    assert_eq!(code, 0, "{err}");
    let holder = db.client().await;
    holder
        .batch_execute("BEGIN; LOCK TABLE busy IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    // [migrations] lock_timeout is 10 s, tried 4 times: the file's own 100 ms gives up within
    // a few seconds of backoff.
    let started = Instant::now();
    let (code, _, err) = on(root, &db, &["migrate"]);
    let took = started.elapsed();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("lock"), "{err}");
    assert!(took < Duration::from_secs(20), "took {took:?}: {err}");
    holder.batch_execute("ROLLBACK").await.unwrap();
    let (code, _, err) = on(root, &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");

    fs::write(
        root.join("schema-migrations/0002_bad.sql"),
        "-- strata:lock-timeout soon\nALTER TABLE busy ADD COLUMN c int;\n",
    )
    .unwrap();
    let (code, _, err) = on(root, &db, &["migrate"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("0002_bad.sql:1") && err.contains("lock-timeout soon"),
        "{err}"
    );
}
