//! The reliability suite: random SIGKILLs of `migrate` (concurrent index builds included) and
//! `data migrate` with consistency checks after every kill, many processes at once, how long an
//! application query waits behind a migration, a hung server, bad inputs, the production guard,
//! and odd identifiers through push, pull and generate.
//!
//! Run as a test it is small (a few kills of each kind). `scripts/reliability` runs it at full
//! size and writes the report (`docs/reliability.md`); the sizes come from
//! `STRATA_RELIABILITY_KILLS` (kills of each kind), `STRATA_RELIABILITY_PROCESSES` (processes at
//! once) and `STRATA_SEED`, and each test appends its findings to the file named by
//! `STRATA_RELIABILITY_REPORT`.

mod common;

use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::live::Running;
use common::{count, on, run, strata};
use strata_testkit::{TestDb, server};

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn kills_wanted() -> usize {
    knob("STRATA_RELIABILITY_KILLS", 3)
}

/// A small random generator (xorshift), seeded by `STRATA_SEED` or the clock.
struct Rng(u64);

impl Rng {
    fn new() -> (Rng, u64) {
        let seed = std::env::var("STRATA_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        (Rng(seed | 1), seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Appends a section to the report file (and to standard error).
fn report(title: &str, lines: &[String]) {
    let text = format!("## {title}\n\n{}\n\n", lines.join("\n"));
    eprint!("{text}");
    if let Ok(path) = std::env::var("STRATA_RELIABILITY_REPORT") {
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }
}

/// One query's booleans, read in one snapshot.
async fn facts(db: &TestDb, sql: &str) -> Vec<bool> {
    let client = db.client().await;
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .await
        .unwrap();
    let row = client.query_one(sql, &[]).await.unwrap();
    (0..row.len()).map(|i| row.get(i)).collect()
}

// ---------------------------------------------------------------------------------------------
// Kills of `migrate`.

const ROWS: i64 = 100_000;

fn valid(index: &str) -> String {
    format!(
        "EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = '{index}' AND i.indisvalid)"
    )
}

fn exists(relation: &str) -> String {
    format!("EXISTS (SELECT FROM pg_class WHERE relname = '{relation}')")
}

/// The statements of the no-transaction migration, each with what shows it done and what
/// shows it started (SQL booleans).
fn no_transaction_statements(server_version: i32) -> Vec<(&'static str, String, String)> {
    let mut statements = vec![
        (
            "CREATE INDEX CONCURRENTLY big_a ON big (a)",
            valid("big_a"),
            exists("big_a"),
        ),
        (
            "CREATE INDEX CONCURRENTLY big_b ON big (b)",
            valid("big_b"),
            exists("big_b"),
        ),
        (
            "DROP INDEX CONCURRENTLY big_old",
            format!("NOT {}", exists("big_old")),
            format!("NOT {}", valid("big_old")),
        ),
        (
            "ALTER TYPE mood ADD VALUE 'happy'",
            "EXISTS (SELECT FROM pg_enum WHERE enumtypid = 'mood'::regtype AND enumlabel = 'happy')".into(),
            "EXISTS (SELECT FROM pg_enum WHERE enumtypid = 'mood'::regtype AND enumlabel = 'happy')".into(),
        ),
        (
            "UPDATE counters SET n = n + 1",
            "(SELECT n FROM counters) = 1".into(),
            "(SELECT n FROM counters) >= 1".into(),
        ),
        (
            "ALTER TABLE big VALIDATE CONSTRAINT big_a_positive",
            "(SELECT convalidated FROM pg_constraint WHERE conname = 'big_a_positive')".into(),
            "(SELECT convalidated FROM pg_constraint WHERE conname = 'big_a_positive')".into(),
        ),
        (
            "CREATE UNIQUE INDEX CONCURRENTLY big_ab ON big (a, b)",
            valid("big_ab"),
            exists("big_ab"),
        ),
    ];
    // DETACH PARTITION … CONCURRENTLY exists from PostgreSQL 14.
    if server_version >= 140_000 {
        statements.push((
            "ALTER TABLE parted DETACH PARTITION parted_2024 CONCURRENTLY",
            "NOT EXISTS (SELECT FROM pg_inherits WHERE inhrelid = 'parted_2024'::regclass)".into(),
            "NOT EXISTS (SELECT FROM pg_inherits WHERE inhrelid = 'parted_2024'::regclass AND NOT inhdetachpending)".into(),
        ));
    }
    statements
}

async fn server_version() -> i32 {
    let admin = strata::postgres::connect(server().url()).await.unwrap();
    admin
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .unwrap()
        .get(0)
}

/// Three migrations: a transactional one that loads `big`, the no-transaction one, and a
/// transactional one after it.
fn kill_project(dir: &Path, statements: &[(&str, String, String)]) {
    fs::write(dir.join("strata.toml"), "").unwrap();
    let migrations = dir.join("schema-migrations");
    fs::create_dir_all(&migrations).unwrap();
    fs::write(
        migrations.join("0001_load.sql"),
        format!(
            "CREATE TABLE big (a int, b int, c text);\n\
             INSERT INTO big SELECT i, i % 1000, md5(i::text) FROM generate_series(1, {ROWS}) i;\n\
             ALTER TABLE big ADD CONSTRAINT big_a_positive CHECK (a > 0) NOT VALID;\n\
             CREATE INDEX big_old ON big (c);\n\
             CREATE TYPE mood AS ENUM ('sad');\n\
             CREATE TABLE counters (n int NOT NULL);\nINSERT INTO counters VALUES (0);\n\
             CREATE TABLE parted (id int, at date) PARTITION BY RANGE (at);\n\
             CREATE TABLE parted_2024 PARTITION OF parted FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n\
             CREATE TABLE parted_2025 PARTITION OF parted FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n"
        ),
    )
    .unwrap();
    let body: String = statements
        .iter()
        .map(|(s, _, _)| format!("{s};\n"))
        .collect();
    fs::write(
        migrations.join("0002_concurrently.sql"),
        format!("-- strata:no-transaction\n{body}"),
    )
    .unwrap();
    fs::write(
        migrations.join("0003_after.sql"),
        "ALTER TABLE big ADD COLUMN d int;\nUPDATE big SET d = a;\nCREATE TABLE after_all (id int);\n",
    )
    .unwrap();
    let (code, _, err) = run(strata(dir).arg("sum"));
    assert_eq!(code, 0, "{err}");
}

/// Where a kill left the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    /// Before or inside the first (transactional) migration.
    First,
    /// Inside the no-transaction migration: this many statements recorded.
    Concurrently(usize),
    /// Before or inside the last (transactional) migration.
    Last,
    /// Everything applied.
    Done,
}

/// Checks that the database is at a migration boundary (a statement boundary inside the
/// no-transaction file) and agrees with its history; returns where it is.
async fn consistent(db: &TestDb, statements: &[(&str, String, String)]) -> Stage {
    let client = db.client().await;
    let history_exists: bool = client
        .query_one(
            "SELECT to_regclass('public.strata_migrations') IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let rows: Vec<(String, String, Option<i32>)> = if history_exists {
        client
            .query(
                "SELECT version, status, statements_done FROM public.strata_migrations ORDER BY version",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect()
    } else {
        Vec::new()
    };
    let status = |version: &str| {
        rows.iter()
            .find(|r| r.0 == version)
            .map(|r| (r.1.clone(), r.2))
    };
    let first = status("0001");
    let second = status("0002");
    let last = status("0003");
    assert!(
        rows.iter().all(|r| r.1 == "applied" || r.0 == "0002"),
        "only the no-transaction migration can be partial: {rows:?}"
    );
    let big = facts(db, &format!("SELECT {}", exists("big"))).await[0];
    assert_eq!(big, first.is_some(), "0001 is all or nothing: {rows:?}");
    if first.is_none() {
        assert!(rows.is_empty(), "{rows:?}");
        return Stage::First;
    }
    assert_eq!(
        count(db, "SELECT count(*) FROM big").await,
        ROWS,
        "all rows of 0001"
    );
    let after = facts(
        db,
        "SELECT EXISTS (SELECT FROM information_schema.columns WHERE table_name = 'big' AND column_name = 'd'), \
                to_regclass('after_all') IS NOT NULL",
    )
    .await;
    assert_eq!(after[0], last.is_some(), "0003 is all or nothing: {rows:?}");
    assert_eq!(after[1], last.is_some(), "0003 is all or nothing: {rows:?}");
    if last.is_some() {
        assert_eq!(second.as_ref().map(|s| s.0.as_str()), Some("applied"));
        assert_eq!(
            count(db, "SELECT count(*) FROM big WHERE d IS DISTINCT FROM a").await,
            0,
            "0003's UPDATE is all or nothing"
        );
    }

    // The no-transaction migration: the history row and the statements' effects in one snapshot.
    let mut sql = "SELECT (SELECT status = 'applied' FROM public.strata_migrations WHERE version = '0002') IS TRUE, \
                   COALESCE((SELECT statements_done FROM public.strata_migrations WHERE version = '0002'), -1) = -1"
        .to_owned();
    for (_, done, touched) in statements {
        sql.push_str(&format!(", {done}, {touched}"));
    }
    let client = db.client().await;
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .await
        .unwrap();
    let row = client.query_one(&sql, &[]).await.unwrap();
    let recorded: Option<i32> = client
        .query_one(
            "SELECT (SELECT statements_done FROM public.strata_migrations WHERE version = '0002')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    client.batch_execute("COMMIT").await.unwrap();
    let applied: bool = row.get(0);
    let no_row = second.is_none();
    let n = count(db, "SELECT n::bigint FROM counters").await;
    assert!(n <= 1, "the wrapped UPDATE ran {n} times");
    let done = if applied {
        statements.len()
    } else if no_row {
        0
    } else {
        recorded.unwrap_or(0) as usize
    };
    for (i, (statement, _, _)) in statements.iter().enumerate() {
        let (is_done, is_touched): (bool, bool) = (row.get(2 + 2 * i), row.get(3 + 2 * i));
        if i < done || applied {
            assert!(
                is_done,
                "statement {} ({statement}) is recorded but not done: {rows:?}",
                i + 1
            );
        } else if i > done || no_row {
            assert!(
                !is_touched,
                "statement {} ({statement}) is not recorded, and not the one that was running, but has started: {rows:?}",
                i + 1
            );
        }
    }
    match (last, applied) {
        (Some(_), _) => Stage::Done,
        (None, true) => Stage::Last,
        (None, false) => Stage::Concurrently(done),
    }
}

/// Everything applied, every index valid, each statement's effect once.
async fn complete(db: &TestDb, statements: &[(&str, String, String)]) {
    assert_eq!(consistent(db, statements).await, Stage::Done);
    assert_eq!(
        count(db, "SELECT count(*) FROM pg_index WHERE NOT indisvalid").await,
        0,
        "no INVALID index is left"
    );
    assert_eq!(count(db, "SELECT n::bigint FROM counters").await, 1);
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM public.strata_migrations WHERE status = 'applied' AND statements_done IS NULL"
        )
        .await,
        3
    );
}

/// Counts what a run said it did on its way.
#[derive(Default)]
struct Said {
    orphans_waited: usize,
    orphans_ended: usize,
    recorded_done: usize,
    rebuilt: usize,
}

impl Said {
    fn add(&mut self, stderr: &str) {
        self.orphans_waited += stderr
            .matches("Waiting for the server to finish it")
            .count();
        self.orphans_ended += stderr.matches("Ending it (pg_cancel_backend)").count();
        self.recorded_done += stderr.matches("was completed by the server").count();
        self.rebuilt += stderr.matches("dropping the INVALID index").count();
    }
}

/// When an undisturbed run applies a migration: from and to, in ms after the process started.
fn applied_between(running: &Running, started: Instant, file: &str) -> (u64, u64) {
    let line = running
        .wait_for_line(&format!("applied {file} ("), Duration::from_secs(120))
        .unwrap_or_else(|all| panic!("{file} was not applied: {all}"));
    let end = started.elapsed().as_millis() as u64;
    let took: u64 = line
        .rsplit_once('(')
        .and_then(|(_, ms)| ms.trim_end_matches(" ms)").parse().ok())
        .unwrap_or(0);
    (end.saturating_sub(took), end)
}

#[tokio::test]
async fn random_kills_of_migrate_always_recover() {
    let (mut rng, seed) = Rng::new();
    let wanted = kills_wanted();
    let dir = tempfile::tempdir().unwrap();
    let version = server_version().await;
    let statements = no_transaction_statements(version);
    kill_project(dir.path(), &statements);

    // The first migration loads the table once; each round starts from a copy of that.
    let base = TestDb::new().await;
    let (code, _, err) = on(dir.path(), &base, &["migrate", "--to", "0001"]);
    assert_eq!(code, 0, "{err}");
    // An undisturbed run says when each migration runs: kills are aimed inside one of them.
    let db = base.copy().await;
    let started = Instant::now();
    let running = Running::start(dir.path(), &db, &["migrate"]);
    let no_transaction = applied_between(&running, started, "0002_concurrently.sql");
    let transactional = applied_between(&running, started, "0003_after.sql");
    let (code, err) = running.finish();
    assert_eq!(code, 0, "{err}");
    let whole = started.elapsed().as_millis() as u64;
    complete(&db, &statements).await;
    drop(db);

    let mut stages: std::collections::BTreeMap<String, usize> = Default::default();
    let (mut in_transactional, mut in_no_transaction, mut after, mut rounds) = (0, 0, 0, 0);
    let (mut completed_first, mut second_kills) = (0, 0);
    let mut said = Said::default();
    while in_transactional < wanted || in_no_transaction < wanted {
        rounds += 1;
        let (from, to) =
            if in_no_transaction < wanted && (rounds % 2 == 1 || in_transactional >= wanted) {
                no_transaction
            } else {
                transactional
            };
        let db = base.copy().await;
        // A kill aimed inside one migration; half the time a second one in the rerun, anywhere.
        for (kill, window) in [(0, (from, to)), (1, (0, whole))] {
            if kill == 1 && rng.below(2) == 0 {
                break;
            }
            let mut migrate = Running::start(dir.path(), &db, &["migrate"]);
            let delay = window.0 + rng.below(window.1 - window.0 + 1);
            if let Some(code) = migrate.wait_timeout(Duration::from_millis(delay)) {
                let err = migrate.stderr();
                assert_eq!(code, 0, "seed {seed}: a run failed: {err}");
                said.add(&err);
                completed_first += 1;
                break;
            }
            said.add(&migrate.stderr());
            migrate.kill();
            second_kills += kill;
            let stage = consistent(&db, &statements).await;
            match stage {
                Stage::Concurrently(_) => in_no_transaction += 1,
                Stage::Done => after += 1,
                Stage::First | Stage::Last => in_transactional += 1,
            }
            *stages.entry(format!("{stage:?}")).or_default() += 1;
        }
        // However it was left, an undisturbed run completes it.
        let (code, _, err) = on(dir.path(), &db, &["migrate"]);
        assert_eq!(code, 0, "seed {seed}: {err}");
        said.add(&err);
        complete(&db, &statements).await;
    }
    let last = base.copy().await;
    let (code, _, err) = on(dir.path(), &last, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = on(dir.path(), &last, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    let kills = in_transactional + in_no_transaction + after;
    report(
        "SIGKILL of `migrate`",
        &[
            format!(
                "- PostgreSQL {}; seed {seed}; {kills} kills in {rounds} rounds on a copy of a database holding {ROWS} rows: one kill at a random moment inside one migration (the no-transaction one ran {}–{} ms after the start of an undisturbed {whole} ms run, the transactional one {}–{} ms), then in half the rounds a second kill of the rerun at a random moment ({second_kills} such); {completed_first} runs finished before their kill came",
                version / 10_000,
                no_transaction.0,
                no_transaction.1,
                transactional.0,
                transactional.1
            ),
            format!(
                "- {in_no_transaction} kills inside the no-transaction migration ({} statements: CREATE INDEX CONCURRENTLY ×2, DROP INDEX CONCURRENTLY, ALTER TYPE … ADD VALUE, an UPDATE, VALIDATE CONSTRAINT, CREATE UNIQUE INDEX CONCURRENTLY{}); {in_transactional} in the transactional migration after it (ADD COLUMN, an UPDATE of {ROWS} rows, CREATE TABLE) or just before it; {after} after the last",
                statements.len(),
                if statements.len() > 7 { ", DETACH PARTITION CONCURRENTLY" } else { "" }
            ),
            format!("- statements of the no-transaction migration recorded when a kill came (`Last`: it was applied, the next was not): {stages:?}"),
            "- recovered: all; after every kill the database was at a statement boundary agreeing with its history (the transactional migration all or nothing), no statement's effect showed twice, and the next undisturbed run completed with every index valid; `strata check` agrees at the end".into(),
            format!(
                "- on the way: {} waits for a dead strata's statement still running on the server, {} ended, {} statements found done by the server and recorded, {} INVALID indexes dropped and rebuilt",
                said.orphans_waited, said.orphans_ended, said.recorded_done, said.rebuilt
            ),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Kills of `data migrate`.

const DATA_MIGRATIONS: i64 = 5;
const DATA_ROWS: i64 = 20_000;

/// Checks that each data migration has its tracking row and all its rows, or neither; returns
/// how many are applied.
async fn data_consistent(db: &TestDb, seed: u64) -> i64 {
    // Killed before the tracking table was made: nothing ran.
    if !facts(
        db,
        "SELECT to_regclass('public.data_migrations') IS NOT NULL",
    )
    .await[0]
    {
        assert_eq!(count(db, "SELECT count(*) FROM app.items").await, 0);
        return 0;
    }
    for k in 1..=DATA_MIGRATIONS {
        let has_row = count(
            db,
            &format!("SELECT count(*) FROM public.data_migrations WHERE name = 'app_000{k}_load'"),
        )
        .await;
        let rows = count(
            db,
            &format!("SELECT count(*) FROM app.items WHERE migration = {k}"),
        )
        .await;
        assert_eq!(rows, has_row * DATA_ROWS, "seed {seed}: migration {k}");
    }
    count(db, "SELECT count(*) FROM public.data_migrations").await
}

#[tokio::test]
async fn random_kills_of_data_migrate_always_recover() {
    let (mut rng, seed) = Rng::new();
    let wanted = kills_wanted();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("data-migrations/app");
    fs::create_dir_all(&folder).unwrap();
    for k in 1..=DATA_MIGRATIONS {
        fs::write(
            folder.join(format!("000{k}_load.up.sql")),
            format!("INSERT INTO app.items SELECT {k}, i FROM generate_series(1, {DATA_ROWS}) i;"),
        )
        .unwrap();
        fs::write(
            folder.join(format!("000{k}_load.down.sql")),
            format!("DELETE FROM app.items WHERE migration = {k};"),
        )
        .unwrap();
    }
    let fresh = async || {
        let db = TestDb::new().await;
        db.client()
            .await
            .batch_execute("CREATE SCHEMA app; CREATE TABLE app.items (migration int, i int)")
            .await
            .unwrap();
        db
    };
    let data_migrate = |db: &TestDb| Running::start(dir.path(), db, &["data", "migrate"]);
    let db = fresh().await;
    let started = Instant::now();
    let (code, err) = data_migrate(&db).finish();
    assert_eq!(code, 0, "{err}");
    let window = started.elapsed().as_millis() as u64 + 50;

    let (mut kills, mut rounds) = (0, 0);
    let mut applied_at_kill: std::collections::BTreeMap<i64, usize> = Default::default();
    while kills < wanted {
        rounds += 1;
        let db = fresh().await;
        loop {
            let mut running = data_migrate(&db);
            if let Some(code) = running.wait_timeout(Duration::from_millis(rng.below(window))) {
                assert_eq!(code, 0, "{}", running.stderr());
                break;
            }
            running.kill();
            kills += 1;
            *applied_at_kill
                .entry(data_consistent(&db, seed).await)
                .or_default() += 1;
            if kills >= wanted {
                break;
            }
        }
        let (code, err) = data_migrate(&db).finish();
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            count(&db, "SELECT count(*) FROM app.items").await,
            DATA_MIGRATIONS * DATA_ROWS,
            "each migration once"
        );
    }
    report(
        "SIGKILL of `data migrate`",
        &[
            format!(
                "- seed {seed}; {kills} kills in {rounds} rounds, at random moments within the {window} ms an undisturbed run of {DATA_MIGRATIONS} migrations ({DATA_ROWS} rows each) takes"
            ),
            format!("- data migrations applied when the kill came: {applied_at_kill:?}"),
            "- recovered: all; every migration had its tracking row and all its rows, or neither, and the rerun applied each exactly once".into(),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Many processes at once; an application query behind a migration.

#[tokio::test]
async fn many_migrate_processes_at_once_apply_each_migration_once() {
    let processes = knob("STRATA_RELIABILITY_PROCESSES", 8);
    let dir = tempfile::tempdir().unwrap();
    let statements = no_transaction_statements(server_version().await);
    kill_project(dir.path(), &statements);
    let db = TestDb::new().await;
    let started = Instant::now();
    let running: Vec<Running> = (0..processes)
        .map(|_| Running::start(dir.path(), &db, &["migrate"]))
        .collect();
    let mut waited = 0;
    for process in running {
        let (code, err) = process.finish();
        assert_eq!(code, 0, "{err}");
        waited += usize::from(err.contains("waiting for another strata migrate"));
    }
    let took = started.elapsed();
    complete(&db, &statements).await;
    report(
        "Concurrency",
        &[format!(
            "- {processes} `migrate` processes at once on one database: all exited 0, each migration applied once (the no-transaction UPDATE ran once), {waited} said they waited for another; {:.1} s in all",
            took.as_secs_f64()
        )],
    );
}

#[tokio::test]
async fn an_application_query_waits_at_most_lock_timeout_behind_a_migration() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    fs::write(
        dir.path().join("strata.toml"),
        "[migrations]\nlock_timeout = \"200ms\"\nlock_retries = 3\n",
    )
    .unwrap();
    let migrations = dir.path().join("schema-migrations");
    fs::create_dir_all(&migrations).unwrap();
    fs::write(
        migrations.join("0001_table.sql"),
        "CREATE TABLE t (a int);\nINSERT INTO t SELECT generate_series(1, 1000);\n",
    )
    .unwrap();
    fs::write(
        migrations.join("0002_column.sql"),
        "ALTER TABLE t ADD COLUMN b int;\n",
    )
    .unwrap();
    on(dir.path(), &db, &["sum"]);
    let (code, _, err) = on(dir.path(), &db, &["migrate", "--to", "0001"]);
    assert_eq!(code, 0, "{err}");

    // A long reader holds the table; the migration queues for its lock, and the application's
    // queries queue behind the migration while it waits.
    let reader = db.client().await;
    reader
        .batch_execute("BEGIN; SELECT count(*) FROM t")
        .await
        .unwrap();
    let app = db.client().await;
    let mut migrate = Running::start(dir.path(), &db, &["migrate"]);
    let mut waits = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let gave_up = loop {
        let started = Instant::now();
        app.query_one("SELECT count(*) FROM t", &[]).await.unwrap();
        waits.push(started.elapsed());
        if let Some(code) = migrate.wait_timeout(Duration::ZERO) {
            break code;
        }
        assert!(Instant::now() < deadline, "{}", migrate.stderr());
    };
    let err = migrate.stderr();
    assert_eq!(
        gave_up, 2,
        "with the reader holding on, migrate gives up: {err}"
    );
    assert!(err.contains("retrying (3/3)"), "{err}");
    reader.batch_execute("COMMIT").await.unwrap();
    let (code, _, err) = on(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");

    waits.sort();
    let longest = *waits.last().unwrap();
    let median = waits[waits.len() / 2];
    assert!(
        longest < Duration::from_millis(200 + 800),
        "an application query waited {longest:?} behind a migration with lock_timeout 200ms"
    );
    report(
        "Lock contention",
        &[format!(
            "- lock_timeout 200ms, 3 retries, a reader holding the table: {} application queries ran while `migrate` queued for its lock and gave up (exit 2, nothing applied); the longest waited {} ms, the median {} ms; after the reader finished, migrate applied it",
            waits.len(),
            longest.as_millis(),
            median.as_millis()
        )],
    );
}

// ---------------------------------------------------------------------------------------------
// A hung server, bad inputs, the production guard.

#[test]
fn a_hung_server_is_given_up_on_after_the_default_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().collect();
        drop(held);
    });
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut child = strata(dir.path())
        .arg("migrate")
        .env(
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:{port}/app"),
        )
        .env_remove("PGCONNECT_TIMEOUT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut err = String::new();
        let _ = std::io::Read::read_to_string(&mut pipe, &mut err);
        err
    });
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("strata migrate still waited for a hung server after 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = started.elapsed();
    let code = child.wait().unwrap().code().unwrap_or(-1);
    let err = reader.join().unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("within 10 s (connect_timeout)"), "{err}");
    assert!(took < Duration::from_secs(20), "{took:?}");
    report(
        "A hung server",
        &[format!(
            "- a server that accepts and never answers: given up on after {:.1} s with the default connect_timeout (10 s), exit 2, naming 127.0.0.1:{port} (with `connect_timeout=2` or PGCONNECT_TIMEOUT, and in the TLS handshake: tests/connect.rs)",
            took.as_secs_f64()
        )],
    );
}

/// One bad input: files to write, the command, extra environment, what the error must say.
struct Bad {
    what: &'static str,
    files: Vec<(&'static str, Vec<u8>)>,
    args: Vec<&'static str>,
    env: Vec<(&'static str, String)>,
    says: &'static str,
}

fn bad(
    what: &'static str,
    files: &[(&'static str, &[u8])],
    args: &[&'static str],
    says: &'static str,
) -> Bad {
    Bad {
        what,
        files: files.iter().map(|(p, b)| (*p, b.to_vec())).collect(),
        args: args.to_vec(),
        env: Vec::new(),
        says,
    }
}

fn bad_url(what: &'static str, url: &str, says: &'static str) -> Bad {
    Bad {
        env: vec![("DATABASE_URL", url.to_owned())],
        ..bad(what, &[], &["migrate"], says)
    }
}

#[tokio::test]
async fn bad_inputs_are_refused_with_exit_2_and_change_nothing() {
    let db = TestDb::new().await;
    let table = b"CREATE TABLE t (a int);\n".as_slice();
    let good_url = db.url().expose().to_owned();
    let with = |param: &str| {
        format!(
            "{good_url}{}{param}",
            if good_url.contains('?') { "&" } else { "?" }
        )
    };
    let cases = vec![
        bad_url("a MySQL URL", "mysql://root:hunter2@db/app", "a MySQL URL"),
        bad_url("a MongoDB URL", "mongodb://db/app", "a MongoDB URL"),
        bad_url(
            "text that is no URL",
            "not a url",
            "not a PostgreSQL connection string",
        ),
        bad_url(
            "an unencoded @ in a password",
            "postgres://app:p@ss:w0rd@db:5432/app",
            "%40",
        ),
        bad_url(
            "an unknown sslmode",
            &with("sslmode=sometimes"),
            "not a libpq sslmode",
        ),
        bad_url(
            "connect_timeout that is not a number",
            &with("connect_timeout=soon"),
            "not a whole number of seconds",
        ),
        bad_url("an unknown URL option", &with("colour=blue"), "colour"),
        bad(
            "--to that is not a number",
            &[],
            &["migrate", "--to", "latest"],
            "give a migration number",
        ),
        bad(
            "a migration with BEGIN in a transactional file",
            &[(
                "schema-migrations/0001_tx.sql",
                b"BEGIN;\nCREATE TABLE t (a int);\nCOMMIT;\n",
            )],
            &["migrate"],
            "controls the transaction",
        ),
        bad(
            "an empty migration",
            &[("schema-migrations/0001_empty.sql", b"-- nothing yet\n")],
            &["migrate"],
            "holds no statement",
        ),
        bad(
            "a migration that is not UTF-8",
            &[(
                "schema-migrations/0001_latin1.sql",
                b"CREATE TABLE caf\xe9 (a int);\n",
            )],
            &["migrate"],
            "not UTF-8",
        ),
        bad(
            "a migration named without a number",
            &[("schema-migrations/tables.sql", table)],
            &["migrate"],
            "NNNN_description.sql",
        ),
        bad(
            "a migration edited after strata.sum",
            &[
                ("schema-migrations/0001_t.sql", table),
                (
                    "schema-migrations/strata.sum",
                    b"total sha256:00\n0001_t.sql sha256:00\n",
                ),
            ],
            &["migrate"],
            "was edited after strata.sum recorded it",
        ),
        bad(
            "a migration that fails halfway",
            &[(
                "schema-migrations/0001_t.sql",
                b"CREATE TABLE t (a int);\nSELECT * FROM nowhere;\n",
            )],
            &["migrate"],
            "rolled back",
        ),
        bad(
            "an unknown key in strata.toml",
            &[("strata.toml", b"[migrations]\nlock_timout = \"1s\"\n")],
            &["migrate"],
            "unknown field `lock_timout`",
        ),
        bad(
            "a declared file that is not UTF-8",
            &[("schemas/app/schema.sql", b"CREATE SCHEMA app; -- caf\xe9\n")],
            &["check"],
            "not UTF-8 text",
        ),
        bad(
            "a declared folder strata.toml names, missing",
            &[("strata.toml", b"[schema]\ndir = \"db/schemas\"\n")],
            &["status"],
            "no such folder of declared schema files",
        ),
        bad(
            "a syntax error in a declared file",
            &[(
                "schemas/app/schema.sql",
                b"CREATE SCHEMA app;\nCREATE TABLE app.t (a int,);\n",
            )],
            &["push"],
            "schemas/app/schema.sql:2:",
        ),
        bad(
            "an environment name strata does not know",
            &[],
            &["data", "env", "prodution"],
            "not an environment strata knows",
        ),
        bad(
            "a command that does not exist",
            &[],
            &["migrat"],
            "unrecognized subcommand",
        ),
    ];
    // strata's own history table may appear; nothing else may.
    let relations = "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace \
                     AND relname NOT LIKE 'strata\\_migrations%'";
    let before = count(&db, relations).await;
    let mut lines = Vec::new();
    for case in &cases {
        let dir = tempfile::tempdir().unwrap();
        if case
            .files
            .iter()
            .any(|(p, _)| p.starts_with("schema-migrations/"))
            && !case.files.iter().any(|(p, _)| p.ends_with("strata.sum"))
        {
            // The files pass the integrity check, so what is wrong is the file itself.
            fs::create_dir_all(dir.path().join("schema-migrations")).unwrap();
        }
        for (path, bytes) in &case.files {
            let path = dir.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, bytes).unwrap();
        }
        if case
            .files
            .iter()
            .any(|(p, _)| p.starts_with("schema-migrations/"))
            && !case.files.iter().any(|(p, _)| p.ends_with("strata.sum"))
        {
            if !dir.path().join("strata.toml").exists() {
                fs::write(dir.path().join("strata.toml"), "").unwrap();
            }
            run(strata(dir.path()).arg("sum"));
        }
        let mut command = strata(dir.path());
        command
            .args(&case.args)
            .env("DATABASE_URL", &good_url)
            .env("STRATA_DEV_URL", server().url().expose())
            .stdin(Stdio::null());
        for (key, value) in &case.env {
            command.env(key, value);
        }
        let (code, out, err) = run(&mut command);
        assert_eq!(code, 2, "{}: {out}{err}", case.what);
        assert!(err.contains(case.says), "{}: {err}", case.what);
        assert!(
            !err.contains("hunter2") && !err.contains("ss:w0rd"),
            "{}: a password shows: {err}",
            case.what
        );
        // The first line, and the next when the first only introduces it.
        let mut said = err.lines().next().unwrap_or("").trim().to_owned();
        if said.ends_with(':') {
            said.push(' ');
            said.push_str(err.lines().nth(1).unwrap_or("").trim());
        }
        // The report names no folder or database of this machine.
        let said = said
            .replace(dir.path().to_str().unwrap(), "<project>")
            .replace(db.url().expose(), "<database URL>");
        lines.push(format!(
            "- {}: exit 2, `{}`",
            case.what,
            said.replace('`', "'")
        ));
    }
    assert_eq!(
        count(&db, relations).await,
        before,
        "a bad input changed the database"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM public.strata_migrations").await,
        0,
        "a bad input recorded a migration"
    );
    lines.insert(
        0,
        format!(
            "{} bad inputs, each refused with exit 2 and a message naming what is wrong; the database was unchanged afterwards, and no password showed:",
            cases.len()
        ),
    );
    report("Bad inputs", &lines);
}

#[tokio::test]
async fn the_production_guard_holds_in_every_variant() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute("CREATE SCHEMA app; CREATE TABLE app.rows (name text)")
        .await
        .unwrap();
    let folder = dir.path().join("data-migrations/app");
    fs::create_dir_all(&folder).unwrap();
    fs::write(
        folder.join("0001_row.up.sql"),
        "INSERT INTO app.rows VALUES ('one');",
    )
    .unwrap();
    fs::write(folder.join("0001_row.down.sql"), "DELETE FROM app.rows;").unwrap();
    let data = |args: &[&str], url: &str, env: &[(&str, &str)]| {
        run(strata(dir.path())
            .arg("data")
            .args(args)
            .env("DATABASE_URL", url)
            .envs(env.iter().copied())
            .stdin(Stdio::null()))
    };
    let url = db.url().expose().to_owned();
    assert_eq!(data(&["migrate"], &url, &[]).0, 0);
    let mut tried = 0;
    for value in [
        "production",
        "Production",
        "PRODUCTION",
        " production",
        "prod",
        "PROD",
        "prd",
    ] {
        let (code, _, err) = data(&["reset", "--yes"], &url, &[("STRATA_ENV", value)]);
        assert_eq!(code, 2, "STRATA_ENV={value:?}: {err}");
        tried += 1;
    }
    for mark in ["production", "Production", "PROD ", "prod"] {
        let (code, _, err) = data(&["env", mark], &url, &[]);
        assert_eq!(code, 0, "{err}");
        let options = format!(
            "{url}{}options=-c%20strata.env%3Ddevelopment",
            if url.contains('?') { "&" } else { "?" }
        );
        for target in [url.as_str(), options.as_str()] {
            let (code, _, err) = data(
                &["reset", "--yes"],
                target,
                &[("STRATA_ENV", "development")],
            );
            assert_eq!(code, 2, "marked {mark:?}, {target}: {err}");
            tried += 1;
        }
    }
    for unknown in ["prodution", "live", "staging-2"] {
        let (code, _, _) = data(&["env", unknown], &url, &[]);
        assert_eq!(code, 2, "data env {unknown:?} was accepted");
        tried += 1;
    }
    assert_eq!(count(&db, "SELECT count(*) FROM app.rows").await, 1);
    report(
        "Production guard",
        &[format!(
            "- {tried} attempts (STRATA_ENV in any case, spaced, `prod`, unknown; the database marked in any spelling, with a connection's `options=-c strata.env=development` and STRATA_ENV=development; unknown names for `data env`): every reset refused, every unknown name refused, the data untouched (role settings: tests/guard.rs)"
        )],
    );
}

// ---------------------------------------------------------------------------------------------
// Odd identifiers through push, pull and generate.

#[tokio::test]
async fn odd_identifiers_survive_pull_generate_migrate_and_push() {
    let long_schema = "s".repeat(63);
    let long_column = format!("{}x", "é".repeat(31));
    let sql = format!(
        "CREATE SCHEMA \"Odd \"\"Schema\"\" ü\";\n\
         CREATE TABLE \"Odd \"\"Schema\"\" ü\".\"select\" (\"from\" int PRIMARY KEY, \"sp ace\" text, \"ünï 表\" text, \"{long_column}\" int);\n\
         CREATE INDEX \"idx \"\"q\"\" ü\" ON \"Odd \"\"Schema\"\" ü\".\"select\" (\"sp ace\");\n\
         CREATE SCHEMA \"user\";\n\
         CREATE TABLE \"user\".\"order\" (\"group\" int CHECK (\"group\" > 0), \"Mixed Case\" text DEFAULT 'it''s');\n\
         CREATE TYPE \"user\".\"kind \"\"x\"\"\" AS ENUM ('a b', 'c''d');\n\
         CREATE SCHEMA \"{long_schema}\";\n\
         CREATE TABLE \"{long_schema}\".\"{long_schema}\" (id int);\n"
    );
    let original = TestDb::new().await;
    original.client().await.batch_execute(&sql).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("strata.toml"), "").unwrap();
    let in_dir = |args: &[&str]| {
        run(strata(dir.path())
            .args(args)
            .env("STRATA_DEV_URL", server().url().expose())
            .stdin(Stdio::null()))
    };
    let (code, _, err) = in_dir(&["pull", "--url", original.url().expose()]);
    assert_eq!(code, 0, "pull: {err}");
    let (code, _, err) = in_dir(&["generate", "--name", "odd"]);
    assert_eq!(code, 0, "generate: {err}");
    let migrated = TestDb::new().await;
    let (code, _, err) = in_dir(&["migrate", "--url", migrated.url().expose()]);
    assert_eq!(code, 0, "migrate: {err}");
    let pushed = TestDb::new().await;
    let (code, _, err) = in_dir(&["push", "--url", pushed.url().expose()]);
    assert_eq!(code, 0, "push: {err}");
    for copy in [&migrated, &pushed] {
        let (code, out, err) = in_dir(&[
            "diff",
            "--from",
            original.url().expose(),
            "--to",
            copy.url().expose(),
            "--exit-code",
        ]);
        assert_eq!(code, 0, "{out}{err}");
    }
    let (code, out, err) = in_dir(&["generate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("nothing to do"), "{out}");
    let (code, out, _) = in_dir(&["pull", "--url", pushed.url().expose()]);
    assert_eq!(code, 0);
    assert!(out.contains("already matches"), "{out}");
    report(
        "Identifiers",
        &["- schemas, tables, columns, an index and an enum named with double quotes, spaces, unicode, reserved words (`select`, `user`, `order`, `from`, `group`) and 63-byte names (multibyte included): pulled, generated, migrated and pushed into empty databases, each then equal to the original, and a second generate and pull found nothing to do".into()],
    );
}
