//! The harness itself: one server per run, one database per test, nothing left behind.

use std::time::{Duration, Instant};

use strata::config::Env;
use strata::dev::{Cluster, ClusterOptions, State};
use strata_testkit::{PREFIX, TestDb, server};

async fn database_exists(name: &str) -> bool {
    let admin = strata::postgres::connect(server().url()).await.unwrap();
    admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn each_test_gets_a_fresh_database_dropped_afterwards() {
    let a = TestDb::new().await;
    let b = TestDb::new().await;
    assert_ne!(a.name(), b.name());
    assert!(a.name().starts_with(PREFIX), "{}", a.name());
    a.client()
        .await
        .batch_execute("CREATE TABLE only_in_a (id int)")
        .await
        .unwrap();
    let in_b = b
        .client()
        .await
        .query_opt("SELECT 1 FROM pg_class WHERE relname = 'only_in_a'", &[])
        .await
        .unwrap();
    assert!(in_b.is_none(), "databases are not separate");

    let name = a.name().to_owned();
    // A session still open on the database must not stop the drop.
    let _open = a.client().await;
    drop(a);
    assert!(!database_exists(&name).await, "{name} was not dropped");
    assert!(database_exists(b.name()).await);
}

#[tokio::test]
async fn databases_left_by_a_dead_owner_are_swept() {
    // A leftover: a harness database nobody holds the lock of (its process was killed).
    let admin = strata::postgres::connect(server().url()).await.unwrap();
    let orphan = format!("{PREFIX}orphan_{}", std::process::id());
    admin
        .batch_execute(&format!("CREATE DATABASE \"{orphan}\""))
        .await
        .unwrap();
    let _db = TestDb::new().await;
    assert!(
        !database_exists(&orphan).await,
        "the leftover {orphan} was not swept"
    );
}

#[tokio::test]
async fn databases_in_use_are_not_swept() {
    let first = TestDb::new().await;
    let _second = TestDb::new().await;
    assert!(
        database_exists(first.name()).await,
        "a live test database was swept"
    );
}

#[test]
fn one_server_per_test_run() {
    assert!(std::ptr::eq(server(), server()));
}

#[test]
fn a_throwaway_cluster_does_not_outlive_its_process() {
    let root = tempfile::Builder::new()
        .prefix("strata-watchdog-")
        .tempdir()
        .unwrap()
        .keep();
    let cluster = Cluster::new(
        ClusterOptions {
            data_dir: root.join("pg"),
            durable: false,
        },
        &Env::from_process(),
    )
    .unwrap();
    let mut owner = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .unwrap();
    cluster
        .stop_and_remove_when_gone(owner.id(), &root)
        .unwrap();
    cluster.start().unwrap();
    assert!(matches!(cluster.state(), State::Running { .. }));

    owner.kill().unwrap();
    owner.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while root.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !root.exists(),
        "the cluster folder {} is still there",
        root.display()
    );
    assert_eq!(cluster.state(), State::Uninitialised);
}

#[tokio::test]
async fn the_server_runs_the_binaries_the_run_asked_for() {
    let client = strata::postgres::connect(server().url()).await.unwrap();
    let version: String = client
        .query_one("SHOW server_version_num", &[])
        .await
        .unwrap()
        .get(0);
    let major = version.parse::<u32>().unwrap() / 10_000;
    if server().data_dir().is_some() {
        // Our own cluster: the binaries strata finds, or those STRATA_PG_BIN names (the version matrix).
        let expected = strata::dev::PgBin::find(&Env::from_process())
            .unwrap()
            .major;
        assert_eq!(major, expected);
    } else {
        assert!(
            major >= 13,
            "strata supports PostgreSQL 13 and later, the server runs {major}"
        );
    }
}
