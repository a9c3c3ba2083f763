//! Scratch databases through the real binary: dropped on Ctrl-C, swept after a kill, and a
//! password never shown.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use common::{run, strata};
use strata_testkit::server;

fn hold_scratch(dir: &std::path::Path) -> (Child, String) {
    let mut child = strata(dir)
        .args(["dev", "hold-scratch"])
        .env("STRATA_DEV_URL", server().url().expose())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_owned())
}

async fn exists(name: &str) -> bool {
    let admin = strata::postgres::connect(server().url()).await.unwrap();
    admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .unwrap()
        .is_some()
}

fn signal(child: &Child, signal: &str) {
    let status = std::process::Command::new("kill")
        .args(["-s", signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn ctrl_c_drops_the_scratch_database() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, name) = hold_scratch(dir.path());
    assert!(name.starts_with("strata_scratch_"), "{name}");
    assert!(exists(&name).await);
    signal(&child, "INT");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(!exists(&name).await, "{name} survived Ctrl-C");
}

#[tokio::test]
async fn a_killed_process_leftover_is_dropped_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let (mut killed, leftover) = hold_scratch(dir.path());
    signal(&killed, "KILL");
    killed.wait().unwrap();
    assert!(
        exists(&leftover).await,
        "a killed process cannot clean up after itself"
    );

    // The server notices the dead connection (and releases its lock) within moments.
    let mut gone = false;
    for _ in 0..50 {
        let (mut next, _) = hold_scratch(dir.path());
        signal(&next, "INT");
        next.wait().unwrap();
        if !exists(&leftover).await {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "{leftover} was not swept by the next run");
}

#[test]
fn passwords_never_appear_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(strata(dir.path()).args(["dev", "hold-scratch"]).env(
        "STRATA_DEV_URL",
        "postgres://app:hunter2-secret@127.0.0.1:1/db?password=other-secret",
    ));
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("cannot connect to postgres://app:***@127.0.0.1:1/db?password=***"),
        "{err}"
    );
    assert!(
        !err.contains("hunter2") && !err.contains("other-secret") && !out.contains("secret"),
        "{err}"
    );
}
