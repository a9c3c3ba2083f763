//! No-transaction migrations after a SIGKILL, a lock timeout or a dead strata's statement that
//! the server still runs: every rerun finds out what the server did and completes.

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use common::live::{Running, none_running, wait_until, waiting_on_lock};
use common::{count, on};
use strata_testkit::TestDb;

const WAIT: Duration = Duration::from_secs(60);

/// A project whose first migration creates `t (a, b)` with 1,000 rows and an empty `u (b)`,
/// applied; `second` is
/// the no-transaction migration under test, pending.
async fn project(dir: &Path, db: &TestDb, settings: &str, second: &str) {
    fs::write(dir.join("strata.toml"), format!("[migrations]\n{settings}")).unwrap();
    let migrations = dir.join("schema-migrations");
    fs::create_dir_all(&migrations).unwrap();
    fs::write(
        migrations.join("0001_table.sql"),
        "CREATE TABLE t (a int, b int);\nINSERT INTO t SELECT i, i FROM generate_series(1, 1000) i;\nCREATE TABLE u (b int);\n",
    )
    .unwrap();
    fs::write(
        migrations.join("0002_second.sql"),
        format!("-- strata:no-transaction\n{second}"),
    )
    .unwrap();
    let (code, _, err) = on(dir, db, &["sum"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = on(dir, db, &["migrate", "--to", "0001"]);
    assert_eq!(code, 0, "{err}");
}

async fn valid_indexes(db: &TestDb) -> i64 {
    count(
        db,
        "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE c.relname IN ('t_a', 't_b') AND i.indisvalid",
    )
    .await
}

async fn applied(db: &TestDb) -> i64 {
    count(
        db,
        "SELECT count(*) FROM public.strata_migrations WHERE status = 'applied'",
    )
    .await
}

/// Starts `migrate`, waits until its statement holding `start` waits for the lock the
/// blocker holds, and SIGKILLs it: the server goes on running the statement for nobody.
async fn kill_while_waiting(dir: &Path, db: &TestDb, start: &str) {
    let first = Running::start(dir, db, &["migrate"]);
    assert!(
        wait_until(db, &waiting_on_lock(db, start), WAIT).await,
        "migrate never reached `{start}`"
    );
    first.kill();
}

#[tokio::test]
async fn a_build_the_server_finishes_after_strata_is_killed_is_waited_for_and_recorded_as_done() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    project(
        dir.path(),
        &db,
        "lock_timeout = \"0\"\n",
        "CREATE INDEX CONCURRENTLY t_a ON t (a);\nCREATE INDEX CONCURRENTLY t_b ON t (b);\n",
    )
    .await;
    let blocker = db.client().await;
    blocker
        .batch_execute("BEGIN; LOCK TABLE t IN ROW EXCLUSIVE MODE")
        .await
        .unwrap();
    kill_while_waiting(dir.path(), &db, "CREATE INDEX CONCURRENTLY t_a").await;

    // The rerun finds the dead strata's backend still building, and waits for it.
    let second = Running::start(dir.path(), &db, &["migrate"]);
    let said = second.wait_for_line("Waiting for the server to finish it", WAIT);
    blocker.batch_execute("COMMIT").await.unwrap();
    let (code, err) = second.finish();
    let said = said.unwrap_or_else(|all| panic!("no word of the orphan: {all}"));
    assert!(
        said.contains("running `CREATE INDEX CONCURRENTLY t_a ON t (a)` of 0002_second.sql"),
        "{said}"
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("0002_second.sql stopped earlier after statement 0 of 2")
            && err.contains("0002_second.sql: statement 1 (CREATE INDEX CONCURRENTLY t_a ON t (a)) was completed by the server: the index public.t_a exists and is valid; recorded as done"),
        "{err}"
    );
    assert_eq!(valid_indexes(&db).await, 2);
    assert_eq!(applied(&db).await, 2);
}

#[tokio::test]
async fn a_build_that_stopped_halfway_is_dropped_and_built_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    project(
        dir.path(),
        &db,
        "lock_timeout = \"0\"\n",
        "CREATE INDEX CONCURRENTLY t_a ON t (a);\nCREATE INDEX CONCURRENTLY t_b ON u (b);\n",
    )
    .await;
    let blocker = db.client().await;
    blocker
        .batch_execute("BEGIN; LOCK TABLE u IN ROW EXCLUSIVE MODE")
        .await
        .unwrap();
    kill_while_waiting(dir.path(), &db, "CREATE INDEX CONCURRENTLY t_b").await;
    // The dead strata's build is cancelled (as a restart of the server would): an INVALID index
    // stays behind.
    let admin = db.client().await;
    admin
        .batch_execute(&format!(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid() AND query LIKE '%CREATE INDEX CONCURRENTLY t_b%'",
            db.name()
        ))
        .await
        .unwrap();
    assert!(wait_until(&db, &none_running(&db, "CREATE INDEX CONCURRENTLY"), WAIT).await);
    blocker.batch_execute("COMMIT").await.unwrap();
    assert_eq!(
        count(&db, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 't_b' AND NOT i.indisvalid").await,
        1
    );

    let (code, _, err) = on(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("statements 1–1 are applied, continuing with statement 2")
            && err.contains("0002_second.sql: statement 2 (CREATE INDEX CONCURRENTLY t_b ON u (b)): the build of the index public.t_b stopped halfway: dropping the INVALID index it left and building it again"),
        "{err}"
    );
    assert_eq!(valid_indexes(&db).await, 2);
    assert_eq!(applied(&db).await, 2);
}

#[tokio::test]
async fn a_dead_stratas_statement_in_the_files_own_transaction_is_ended() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    project(
        dir.path(),
        &db,
        "lock_timeout = \"0\"\n",
        "BEGIN;\nLOCK TABLE t IN ACCESS EXCLUSIVE MODE;\nUPDATE t SET b = b + 1;\nCOMMIT;\nCREATE INDEX CONCURRENTLY t_b ON t (b);\n",
    )
    .await;
    let blocker = db.client().await;
    blocker
        .batch_execute("BEGIN; LOCK TABLE t IN ACCESS SHARE MODE")
        .await
        .unwrap();
    kill_while_waiting(dir.path(), &db, "LOCK TABLE t").await;

    let second = Running::start(dir.path(), &db, &["migrate"]);
    let said = second.wait_for_line("Ending it (pg_cancel_backend)", WAIT);
    blocker.batch_execute("COMMIT").await.unwrap();
    let (code, err) = second.finish();
    let said = said.unwrap_or_else(|all| panic!("no word of the orphan: {all}"));
    assert!(
        said.contains("running `LOCK TABLE t IN ACCESS EXCLUSIVE MODE` of 0002_second.sql")
            && said.contains("inside the file's own transaction, which can never commit now"),
        "{said}"
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        count(&db, "SELECT sum(b - a) FROM t").await,
        1000,
        "the update ran exactly once"
    );
    assert_eq!(valid_indexes(&db).await, 1);
}

#[tokio::test]
async fn a_concurrent_build_that_gives_up_on_a_lock_is_retried_without_its_invalid_index() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    project(
        dir.path(),
        &db,
        "lock_timeout = \"100ms\"\nlock_retries = 8\n",
        "CREATE INDEX CONCURRENTLY t_a ON t (a);\n",
    )
    .await;
    let blocker = db.client().await;
    blocker
        .batch_execute("BEGIN; LOCK TABLE t IN ROW EXCLUSIVE MODE")
        .await
        .unwrap();
    let migrate = Running::start(dir.path(), &db, &["migrate"]);
    let retried = migrate.wait_for_line("retrying (1/", WAIT);
    blocker.batch_execute("COMMIT").await.unwrap();
    let (code, err) = migrate.finish();
    assert!(retried.is_ok(), "migrate never gave up on the lock: {err}");
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("dropping the INVALID index it left and building it again"),
        "{err}"
    );
    assert_eq!(valid_indexes(&db).await, 1);
}

/// Seconds `migrate` takes for a no-transaction file of `n` inserts.
async fn no_transaction_seconds(n: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let inserts: String = (0..n)
        .map(|i| format!("INSERT INTO t VALUES ({i});\n"))
        .collect();
    project(dir.path(), &db, "", &inserts).await;
    let started = Instant::now();
    let (code, _, err) = on(dir.path(), &db, &["migrate"]);
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(code, 0, "{err}");
    assert_eq!(count(&db, "SELECT count(*) FROM t").await, 1000 + n as i64);
    seconds
}

#[tokio::test]
async fn recording_progress_costs_the_same_for_every_statement() {
    // Twelve times the statements take about twelve times as long (less: a run has fixed
    // costs); a record that re-hashed every earlier statement made it 30 to 50. The bound, 24,
    // leaves room for a machine busy with other tests (18 was seen under a heavy load).
    let small = no_transaction_seconds(2_000).await;
    let large = no_transaction_seconds(24_000).await;
    eprintln!("2,000 statements: {small:.2} s; 24,000: {large:.2} s");
    assert!(
        large < 24.0 * small,
        "2,000 statements took {small:.2} s, 24,000 took {large:.2} s"
    );
}
