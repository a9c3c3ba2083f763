//! Schema rollback end to end with the real binary: the down files `generate` writes, `rollback`
//! newest first, the records it keeps, the refusals, and a no-transaction down file killed
//! halfway.

mod common;

use std::fs;
use std::path::Path;
use std::time::Duration;

use common::live::{Running, wait_until, waiting_on_lock};
use common::{V1, count, declare, one};
use strata_testkit::{TestDb, dump};

const WAIT: Duration = Duration::from_secs(60);

fn cmd(dir: &Path, db: &TestDb, args: &[&str]) -> (i32, String, String) {
    common::on(dir, db, args)
}

fn read(dir: &Path, file: &str) -> String {
    fs::read_to_string(dir.join("schema-migrations").join(file)).unwrap()
}

/// The schema dump of `db` without strata's tables.
fn schema(db: &TestDb) -> String {
    dump::schema(
        db,
        &[
            "public.strata_migrations",
            "public.strata_migrations_rollbacks",
        ],
    )
    .unwrap()
}

/// The second version of the declared schema: a new table, and a new column on an old one.
fn v2() -> String {
    format!(
        "{}CREATE TABLE questions.tags (id serial PRIMARY KEY, label text NOT NULL);\n",
        V1.replace("prefix varchar(10)", "prefix varchar(10),\n  note text")
    )
}

#[tokio::test]
async fn generate_migrate_rollback_and_migrate_again() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = TestDb::new().await;
    declare(root, V1);
    let (code, out, err) = cmd(root, &db, &["generate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0001_init.down.sql"), "{out}");
    let down = read(root, "0001_init.down.sql");
    assert!(
        down.starts_with(
            "-- 0001_init.down.sql: written by `strata generate`: undoes 0001_init.sql"
        ) && down.contains("DROP TABLE \"questions\".\"questions\"")
            && down.contains("-- hazard: deletes data"),
        "{down}"
    );
    declare(root, &v2());
    let (code, out, err) = cmd(root, &db, &["generate", "--name", "tags"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("0002_tags.sql") && out.contains("0002_tags.down.sql"),
        "{out}"
    );
    let down = read(root, "0002_tags.down.sql");
    assert!(
        down.contains("DROP TABLE \"questions\".\"tags\"")
            && down.contains("DROP COLUMN \"note\"")
            && !down.contains("\"analytics\""),
        "{down}"
    );
    let sum = read(root, "strata.sum");
    assert!(
        sum.contains("0001_init.down.sql sha256:") && sum.contains("0002_tags.down.sql sha256:"),
        "{sum}"
    );

    // The state after the first migration, for comparison: another database migrated to it.
    let first = TestDb::new().await;
    let (code, _, err) = cmd(root, &first, &["migrate", "--to", "0001"]);
    assert_eq!(code, 0, "{err}");
    let after_first = schema(&first);

    let (code, _, err) = cmd(root, &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    let after_second = schema(&db);
    db.client()
        .await
        .batch_execute(
            "INSERT INTO questions.batteries (label, note) VALUES ('a', 'x'), ('b', NULL);\n\
             INSERT INTO questions.tags (label) VALUES ('t1'), ('t2'), ('t3');\n\
             INSERT INTO analytics.events (name) VALUES ('e');",
        )
        .await
        .unwrap();

    // Off a terminal, a rollback that deletes data is refused and changes nothing.
    let (code, _, err) = cmd(root, &db, &["rollback"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("deletes 3 rows of \"questions\".\"tags\"")
            && err.contains("deletes 1 values of \"questions\".\"batteries\".\"note\"")
            && err.contains("pass --force"),
        "{err}"
    );
    assert_eq!(schema(&db), after_second);
    assert_eq!(
        count(&db, "SELECT count(*) FROM public.strata_migrations").await,
        2
    );

    // A dry run prints the down file and changes nothing.
    let (code, out, err) = cmd(root, &db, &["rollback", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("-- 0002_tags.down.sql") && out.contains("DROP TABLE \"questions\".\"tags\""),
        "{out}"
    );
    assert!(err.contains("1 migration would be rolled back"), "{err}");
    assert_eq!(schema(&db), after_second);

    // Forced, the last migration is undone: the schema is as after the first, the rows of the
    // tables it kept are there.
    let (code, out, err) = cmd(root, &db, &["rollback", "--force"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rolled back 1 migration"), "{out}");
    assert_eq!(schema(&db), after_first);
    assert_eq!(
        count(&db, "SELECT count(*) FROM questions.batteries").await,
        2
    );
    assert_eq!(count(&db, "SELECT count(*) FROM analytics.events").await, 1);

    // The history knows: pending again, and who rolled it back when.
    let (code, out, err) = cmd(root, &db, &["status"]);
    assert_eq!(code, 1, "pending: {out}{err}");
    assert!(
        out.contains("pending: 1") && out.contains("rolled back: 0002_tags.sql"),
        "{out}"
    );
    let (code, out, err) = cmd(root, &db, &["status", "--json"]);
    assert_eq!(code, 1, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["rolled_back"][0]["version"], "0002", "{out}");
    assert_eq!(json["rolled_back"][0]["status"], "done", "{out}");
    let (code, out, err) = cmd(root, &db, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("rolled back on"), "{out}");

    // Migrate again: back to the second state, and everything agrees.
    let (code, _, err) = cmd(root, &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(schema(&db), after_second);
    let (code, out, err) = cmd(root, &db, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("ok:"), "{out}");

    // migrate --to below what is applied points at rollback.
    let (code, _, err) = cmd(root, &db, &["migrate", "--to", "0001"]);
    assert_eq!(code, 2);
    assert!(err.contains("`strata rollback --to 1`"), "{err}");

    // The folder of an earlier release (without 0002) cannot go back by itself, and says how.
    let earlier = tempfile::tempdir().unwrap();
    fs::create_dir_all(earlier.path().join("schema-migrations")).unwrap();
    for file in ["0001_init.sql", "0001_init.down.sql"] {
        fs::copy(
            root.join("schema-migrations").join(file),
            earlier.path().join("schema-migrations").join(file),
        )
        .unwrap();
    }
    let (code, _, err) = cmd(earlier.path(), &db, &["sum"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cmd(earlier.path(), &db, &["up"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("0002_tags.sql was applied")
            && err.contains("`strata rollback --to 0001` with the folder that has it"),
        "{err}"
    );

    // Everything: the managed schemas are gone, and the history says so.
    let (code, out, err) = cmd(root, &db, &["rollback", "--to", "0", "--force"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rolled back 2 migrations"), "{out}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_namespace WHERE nspname IN ('questions', 'analytics')"
        )
        .await,
        0
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM public.strata_migrations").await,
        0
    );
    assert_eq!(
        one(
            &db,
            "SELECT string_agg(version || ':' || status || ':' || (rolled_back_by = current_user), ',' ORDER BY id) \
             FROM public.strata_migrations_rollbacks"
        )
        .await,
        "0002:done:true,0002:done:true,0001:done:true"
    );
    let (code, out, _) = cmd(root, &db, &["rollback", "--force"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("nothing to do"), "{out}");
    let (code, out, _) = cmd(root, &db, &["status"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("pending: 2") && out.contains("rolled back: 0001_init.sql"),
        "{out}"
    );
}

#[tokio::test]
async fn refusals_irreversible_migrations_and_down_for() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = TestDb::new().await;
    declare(root, V1);
    let (code, _, err) = cmd(root, &db, &["generate"]);
    assert_eq!(code, 0, "{err}");
    // A hand-written migration: an empty down file comes with it.
    let (code, out, err) = cmd(root, &db, &["generate", "--custom", "--name", "seed"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0002_seed.down.sql"), "{out}");
    fs::write(
        root.join("schema-migrations/0002_seed.sql"),
        "CREATE TABLE questions.extra (id int);\n",
    )
    .unwrap();
    let (code, _, err) = cmd(root, &db, &["sum"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = cmd(root, &db, &["migrate"]);
    assert_eq!(code, 0, "{out}{err}");

    // The empty down file is said by check and refused by rollback.
    let (code, out, _) = cmd(root, &db, &["check"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("0002_seed.down.sql holds no statement"),
        "{out}"
    );
    let (code, _, err) = cmd(root, &db, &["rollback", "--force"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("0002_seed.down.sql holds no statement")
            && err.contains("nothing was rolled back"),
        "{err}"
    );

    // Without a down file it is irreversible: allowed, said, and generate --down-for writes one.
    fs::remove_file(root.join("schema-migrations/0002_seed.down.sql")).unwrap();
    let (code, _, err) = cmd(root, &db, &["sum"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = cmd(root, &db, &["check"]);
    assert!(
        out.contains("irreversible: 0002_seed.sql has no down file"),
        "{out}"
    );
    let (code_rb, _, err) = cmd(root, &db, &["rollback", "--force"]);
    assert_eq!(code_rb, 2);
    assert!(
        err.contains("0002_seed.sql has no down file") && err.contains("--down-for 0002"),
        "{err}"
    );
    assert_eq!(code, 1, "the declared files lack questions.extra: {out}");
    let (code, out, err) = cmd(root, &db, &["generate", "--down-for", "0002"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0002_seed.down.sql"), "{out}");
    assert!(
        read(root, "0002_seed.down.sql").contains("DROP TABLE \"questions\".\"extra\""),
        "{}",
        read(root, "0002_seed.down.sql")
    );
    // A down file that does not undo its migration is a finding of check.
    fs::write(
        root.join("schema-migrations/0002_seed.down.sql"),
        "SELECT 1;\n",
    )
    .unwrap();
    let (code, _, err) = cmd(root, &db, &["sum"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = cmd(root, &db, &["check"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("down: 0002_seed.down.sql does not undo 0002_seed.sql"),
        "{out}"
    );

    // A production database refuses unless --force comes with --to.
    db.client()
        .await
        .batch_execute(&format!(
            "ALTER DATABASE \"{}\" SET strata.env = 'production'",
            db.name()
        ))
        .await
        .unwrap();
    let (code, _, err) = cmd(root, &db, &["rollback", "--force"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("production") && err.contains("--to VERSION and pass --force"),
        "{err}"
    );
    let (code, _, err) = cmd(root, &db, &["rollback", "--to", "1", "--force"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM public.strata_migrations").await,
        1
    );

    // A rollback that stopped halfway (as a killed no-transaction one leaves it): nothing is
    // applied on top of it, and status and check say so.
    db.client()
        .await
        .batch_execute(
            "INSERT INTO public.strata_migrations_rollbacks (version, name, checksum, status, statements_done) \
             VALUES ('0001', 'init', 'sha256:x', 'partial', 2)",
        )
        .await
        .unwrap();
    let (code, _, err) = cmd(root, &db, &["migrate"]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "the rollback of 0001_init.sql stopped after statement 2 of 0001_init.down.sql"
        ) && err.contains("run `strata rollback` to finish it first"),
        "{err}"
    );
    let (code, out, _) = cmd(root, &db, &["status"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("stopped: the rollback of 0001_init.sql"),
        "{out}"
    );
    let (code, out, _) = cmd(root, &db, &["check"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("partial: the rollback of 0001_init.sql"),
        "{out}"
    );
}

#[tokio::test]
async fn a_no_transaction_down_file_killed_halfway_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = TestDb::new().await;
    declare(root, V1);
    let (code, _, err) = cmd(root, &db, &["generate"]);
    assert_eq!(code, 0, "{err}");
    // An index on an existing table is built concurrently: its down file drops it concurrently.
    declare(
        root,
        &format!("{V1}CREATE INDEX batteries_prefix ON questions.batteries (prefix);\n"),
    );
    let (code, _, err) = cmd(root, &db, &["generate", "--name", "prefix"]);
    assert_eq!(code, 0, "{err}");
    let down = read(root, "0002_prefix.down.sql");
    assert!(
        down.starts_with("-- strata:no-transaction\n")
            && down.contains("DROP INDEX CONCURRENTLY \"questions\".\"batteries_prefix\""),
        "{down}"
    );
    fs::write(
        root.join("strata.toml"),
        "[migrations]\nlock_timeout = \"0\"\n",
    )
    .unwrap();
    let (code, _, err) = cmd(root, &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");

    // A reader holds the table: the concurrent drop waits for it, and strata is killed.
    let blocker = db.client().await;
    blocker
        .batch_execute("BEGIN; SELECT count(*) FROM questions.batteries")
        .await
        .unwrap();
    let first = Running::start(root, &db, &["rollback"]);
    assert!(
        wait_until(&db, &waiting_on_lock(&db, "DROP INDEX CONCURRENTLY"), WAIT).await,
        "rollback never reached the drop: {}",
        first.stderr()
    );
    first.kill();
    assert_eq!(
        one(
            &db,
            "SELECT status || ':' || statements_done FROM public.strata_migrations_rollbacks"
        )
        .await,
        "partial:0"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM public.strata_migrations").await,
        2,
        "the migration is still applied"
    );

    // The rerun finds the dead strata's backend still dropping, waits for it, and completes.
    let second = Running::start(root, &db, &["rollback"]);
    let said = second.wait_for_line("Waiting for the server to finish it", WAIT);
    blocker.batch_execute("COMMIT").await.unwrap();
    let (code, err) = second.finish();
    let said = said.unwrap_or_else(|all| panic!("no word of the orphan: {all}"));
    assert!(
        said.contains("of a strata rollback that is gone")
            && said.contains("of 0002_prefix.down.sql"),
        "{said}"
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("0002_prefix.down.sql stopped earlier after statement 0 of 1")
            && err.contains("was completed by the server: the index"),
        "{err}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_class WHERE relname = 'batteries_prefix'"
        )
        .await,
        0
    );
    assert_eq!(
        one(
            &db,
            "SELECT string_agg(version || ':' || status, ',') FROM public.strata_migrations_rollbacks"
        )
        .await,
        "0002:done"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM public.strata_migrations").await,
        1
    );
    let (code, out, err) = cmd(root, &db, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
}
