//! Scratch databases on a real server: created, dropped, swept when their owner is gone.

use strata::normalise::scratch::{PREFIX, ScratchServer};
use strata_testkit::server;

async fn exists(name: &str) -> bool {
    let admin = strata::postgres::connect(server().url()).await.unwrap();
    admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn create_copy_and_drop() {
    let scratch = ScratchServer::connect(server().url()).await.unwrap();
    let first = scratch.create(None).await.unwrap();
    assert!(first.name().starts_with(PREFIX));
    let client = strata::postgres::connect(first.url()).await.unwrap();
    client
        .batch_execute("CREATE TABLE t (id int); INSERT INTO t VALUES (7)")
        .await
        .unwrap();
    drop(client);

    let copy = scratch.create(Some(first.name())).await.unwrap();
    let client = strata::postgres::connect(copy.url()).await.unwrap();
    let id: i32 = client
        .query_one("SELECT id FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(id, 7);

    let (a, b) = (first.name().to_owned(), copy.name().to_owned());
    scratch.drop_db(first).await.unwrap();
    // Sessions still open on the database do not block the drop.
    scratch.drop_db(copy).await.unwrap();
    assert!(!exists(&a).await && !exists(&b).await);
    assert!(scratch.live().is_empty());
}

#[tokio::test]
async fn drop_all_drops_what_was_forgotten() {
    let scratch = ScratchServer::connect(server().url()).await.unwrap();
    let forgotten = scratch.create(None).await.unwrap().name().to_owned();
    assert!(exists(&forgotten).await);
    scratch.drop_all().await.unwrap();
    assert!(!exists(&forgotten).await);
}

#[tokio::test]
async fn a_dead_owners_databases_are_swept_and_a_live_owners_are_kept() {
    let live = ScratchServer::connect(server().url()).await.unwrap();
    let kept = live.create(None).await.unwrap();

    let dead = ScratchServer::connect(server().url()).await.unwrap();
    let orphan = dead.create(None).await.unwrap().name().to_owned();
    // The owner's connection goes away (as when its process is killed): its lock is released.
    drop(dead);

    // Connecting sweeps; the server may take a moment to release the dead session's lock.
    for _ in 0..50 {
        let _sweeper = ScratchServer::connect(server().url()).await.unwrap();
        if !exists(&orphan).await {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!exists(&orphan).await);
    assert!(
        exists(kept.name()).await,
        "a live scratch database was swept"
    );
    live.drop_db(kept).await.unwrap();
}

#[tokio::test]
async fn creating_without_the_privilege_names_the_server_and_the_fix() {
    let admin = strata::postgres::connect(server().url()).await.unwrap();
    let role = format!("strata_nocreatedb_{}", std::process::id());
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN"
        ))
        .await
        .unwrap();
    let url = strata::postgres::url::DbUrl::new(format!(
        "{}?user={role}",
        server().url().expose().split('?').next().unwrap()
    ));
    let url = strata::postgres::url::DbUrl::new(url.expose().replacen(
        "postgres@",
        &format!("{role}@"),
        1,
    ));
    let scratch = ScratchServer::connect(&url).await.unwrap();
    let err = scratch.create(None).await.unwrap_err().to_string();
    drop(scratch);
    admin
        .batch_execute(&format!("DROP ROLE {role}"))
        .await
        .unwrap();
    assert!(
        err.contains("CREATEDB") && err.contains("permission denied"),
        "{err}"
    );
}
