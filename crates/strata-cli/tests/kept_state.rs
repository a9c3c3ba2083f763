//! The kept states of a project (the last normalised declared files, the last replayed history)
//! with the real binary: they are used only for what they hold, a state changed behind strata's
//! back is never trusted into a wrong result, and processes of one project take turns.

mod common;

use std::path::Path;

use common::{on, run, strata};
use strata_testkit::{TestDb, server};

fn declare(root: &Path, columns: &str) {
    std::fs::create_dir_all(root.join("schemas/app")).unwrap();
    std::fs::write(
        root.join("schemas/app/schema.sql"),
        format!(
            "CREATE SCHEMA app;\n\
             CREATE TABLE app.users (id integer PRIMARY KEY{columns});\n\
             CREATE TABLE app.posts (id integer PRIMARY KEY, user_id integer REFERENCES app.users (id));\n\
             CREATE VIEW app.user_ids AS SELECT id FROM app.users;\n"
        ),
    )
    .unwrap();
}

/// The databases strata keeps for projects on the test server.
async fn kept() -> Vec<String> {
    let admin = strata::postgres::connect(server().url()).await.unwrap();
    admin
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'strata\\_state\\_%' ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn debug(root: &Path, db: &TestDb, args: &[&str]) -> (i32, String, String) {
    run(strata(root)
        .args(args)
        .env("DATABASE_URL", db.url().expose())
        .env("STRATA_DEV_URL", server().url().expose())
        .env("STRATA_LOG", "debug")
        .stdin(std::process::Stdio::null()))
}

#[tokio::test]
async fn an_edit_runs_again_only_what_changed_and_a_tampered_state_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = TestDb::new().await;
    declare(root, ", email text");
    let (code, _, err) = debug(root, &db, &["push"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("declared catalog (Full"), "{err}");

    // An edit: only the users unit runs again.
    declare(root, ", email text, name text");
    let (code, out, err) = debug(root, &db, &["push"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Incremental { units: 2 }"),
        "users and the view on it:\n{err}"
    );
    assert!(out.contains("ADD COLUMN \"name\" text"), "{out}");

    // Someone drops a table in the kept declared state: the next edit still gives the
    // declared schema (posts comes from the previous catalog), and the push plans only the edit.
    let kept_declared = kept()
        .await
        .into_iter()
        .find(|n| n.ends_with("_declared"))
        .expect("a kept declared state");
    let state = strata::postgres::connect(&server().url().with_database(&kept_declared))
        .await
        .unwrap();
    state.batch_execute("DROP TABLE app.posts").await.unwrap();
    drop(state);
    declare(root, ", email text, name text, age integer");
    let (code, out, err) = debug(root, &db, &["push"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ADD COLUMN \"age\" integer"), "{out}");
    assert!(
        !out.contains("posts"),
        "posts is declared and exists:\n{out}"
    );
    let (code, out, _) = on(root, &db, &["push"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("nothing to do"), "{out}");

    // A damaged cache entry is a miss: everything is normalised from scratch again.
    for entry in std::fs::read_dir(root.join(".strata/cache")).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("declared-")
        {
            std::fs::write(&path, b"{damaged").unwrap();
        }
    }
    declare(root, ", email text, name text, age integer, born date");
    let (code, out, err) = debug(root, &db, &["push"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("declared catalog (Full"), "{err}");
    assert!(out.contains("ADD COLUMN \"born\" date"), "{out}");

    // The project goes: its kept databases go with the next sweep.
    let before = kept().await;
    assert!(before.iter().any(|n| n == &kept_declared));
    drop(dir);
    let other = tempfile::tempdir().unwrap();
    declare(other.path(), "");
    // The last process's server session may still hold its lock for a moment after it exits:
    // a sweep leaves a database alone while its lock is held, so try a few commands.
    let started = std::time::Instant::now();
    while kept().await.contains(&kept_declared) && started.elapsed().as_secs() < 20 {
        let (code, _, err) = on(other.path(), &db, &["status"]);
        assert!(code == 0 || code == 1, "{err}");
    }
    assert!(
        !kept().await.contains(&kept_declared),
        "the gone project's state was swept"
    );
}

#[tokio::test]
async fn processes_of_one_project_take_turns() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    declare(root, ", email text");
    let first = TestDb::new().await;
    let (code, _, err) = on(root, &first, &["push"]);
    assert_eq!(code, 0, "{err}");
    declare(root, ", email text, name text");
    let targets: Vec<TestDb> = futures_join(4).await;
    let outcomes: Vec<(i32, String, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = targets
            .iter()
            .map(|db| scope.spawn(|| on(root, db, &["push"])))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (code, out, err) in &outcomes {
        assert_eq!(*code, 0, "{out}\n{err}");
    }
    for db in &targets {
        let (code, out, _) = on(root, db, &["push"]);
        assert_eq!(code, 0);
        assert!(out.starts_with("nothing to do"), "{out}");
        let columns = common::count(
            db,
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'app' AND table_name = 'users'",
        )
        .await;
        assert_eq!(columns, 3);
    }
}

async fn futures_join(n: usize) -> Vec<TestDb> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(TestDb::new().await);
    }
    out
}

#[tokio::test]
async fn a_kept_history_changed_by_hand_is_replayed_before_a_plan_is_judged() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = TestDb::new().await;
    declare(root, ", email text");
    let (code, _, err) = on(root, &db, &["generate"]);
    assert_eq!(code, 0, "{err}");

    // The kept history loses a table behind strata's back.
    let history = kept()
        .await
        .into_iter()
        .find(|n| n.ends_with("_history") && n.contains(&strata_state_id(root)))
        .expect("a kept history");
    let state = strata::postgres::connect(&server().url().with_database(&history))
        .await
        .unwrap();
    state
        .batch_execute("DROP VIEW app.user_ids; DROP TABLE app.posts")
        .await
        .unwrap();
    drop(state);

    // The next generate still plans from the history, verifies it on a replay, and the
    // migrations give the declared schema.
    declare(root, ", email text, name text");
    let (code, out, err) = on(root, &db, &["generate"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let written = std::fs::read_dir(root.join("schema-migrations"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("0002_") && !n.ends_with(".down.sql"))
        .collect::<Vec<_>>();
    assert_eq!(written.len(), 1, "{written:?}");
    let text = std::fs::read_to_string(root.join("schema-migrations").join(&written[0])).unwrap();
    assert!(text.contains("ADD COLUMN \"name\" text"), "{text}");
    assert!(!text.contains("posts"), "{text}");
    // Its down file is planned from the replayed history too.
    let down = written[0].replace(".sql", ".down.sql");
    let text = std::fs::read_to_string(root.join("schema-migrations").join(&down)).unwrap();
    assert!(text.contains("DROP COLUMN \"name\""), "{text}");
    assert!(!text.contains("posts"), "{text}");
    let (code, out, err) = on(root, &db, &["migrate"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) = on(root, &db, &["check"]);
    assert_eq!(code, 0, "{out}\n{err}");
}

/// The part of a kept database's name that stands for the project at `root`.
fn strata_state_id(root: &Path) -> String {
    use sha2::Digest as _;
    let root = root.canonicalize().unwrap();
    sha2::Sha256::digest(root.to_string_lossy().as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}
