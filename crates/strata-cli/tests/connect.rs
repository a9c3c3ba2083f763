//! Connecting as libpq users expect, with the real binary: every wait ends, `PG*` variables and
//! the password file are read, bad URLs are named, and passwords never show.

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{run, strata};
use strata::config::Env;
use strata::dev::Cluster;

/// A TCP server that accepts connections and never answers; with `tls`, it first says yes to
/// the client's TLS request, then never answers the handshake. Returns its port.
fn silent_server(tls: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            if tls {
                let mut request = [0u8; 8];
                if stream.read_exact(&mut request).is_ok() {
                    let _ = stream.write_all(b"S");
                }
            }
            held.push(stream);
        }
    });
    port
}

/// `strata migrate` in an empty folder with `env`: exit code, stderr, and how long it took. A
/// process still running after 30 s is killed: it hangs, and the test fails.
fn migrate(dir: &Path, env: &[(&str, &str)]) -> (i32, String, Duration) {
    let started = Instant::now();
    let mut child = strata(dir)
        .arg("migrate")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut err = String::new();
        let _ = pipe.read_to_string(&mut err);
        err
    });
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("strata migrate still waited after 30 s: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let code = child.wait().unwrap().code().unwrap_or(-1);
    (code, reader.join().unwrap(), started.elapsed())
}

#[test]
fn a_server_that_accepts_and_never_answers_is_given_up_on() {
    let dir = tempfile::tempdir().unwrap();
    let port = silent_server(false);
    let url = format!("postgres://postgres@127.0.0.1:{port}/app?sslmode=disable&connect_timeout=2");
    let (code, err, took) = migrate(dir.path(), &[("DATABASE_URL", &url)]);
    assert_eq!(code, 2, "{err}");
    assert!(took < Duration::from_secs(8), "took {took:?}: {err}");
    assert!(
        err.contains(&format!("127.0.0.1:{port} did not complete the connection"))
            && err.contains("within 2 s (connect_timeout)"),
        "{err}"
    );

    // PGCONNECT_TIMEOUT when the URL says nothing.
    let url = format!("postgres://postgres@127.0.0.1:{port}/app?sslmode=disable");
    let (code, err, took) = migrate(
        dir.path(),
        &[("DATABASE_URL", &url), ("PGCONNECT_TIMEOUT", "3")],
    );
    assert_eq!(code, 2, "{err}");
    assert!(took < Duration::from_secs(9), "took {took:?}: {err}");
    assert!(err.contains("within 3 s (connect_timeout)"), "{err}");
}

#[test]
fn a_tls_handshake_that_never_ends_is_given_up_on() {
    let dir = tempfile::tempdir().unwrap();
    let port = silent_server(true);
    let url = format!("postgres://postgres@127.0.0.1:{port}/app?sslmode=require&connect_timeout=2");
    let (code, err, took) = migrate(dir.path(), &[("DATABASE_URL", &url)]);
    assert_eq!(code, 2, "{err}");
    assert!(took < Duration::from_secs(8), "took {took:?}: {err}");
    assert!(err.contains("within 2 s (connect_timeout)"), "{err}");
}

#[test]
fn urls_of_other_databases_garbage_and_unencoded_passwords_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err, _) = migrate(
        dir.path(),
        &[("DATABASE_URL", "mysql://root:hunter2@db.example/app")],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("is a MySQL URL (`mysql://`); strata works with PostgreSQL")
            && !err.contains("hunter2"),
        "{err}"
    );
    let (code, err, _) = migrate(dir.path(), &[("DATABASE_URL", "not a url")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("is not a PostgreSQL connection string; write postgres://"),
        "{err}"
    );
    let (code, err, _) = migrate(
        dir.path(),
        &[(
            "DATABASE_URL",
            "postgres://app:p@ss:w0rd@db.example:5432/app",
        )],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("write `@` as %40") && !err.contains("ss:w0rd"),
        "{err}"
    );
}

/// A server on which role `app` logs in with password `Sup3r-secret` over TCP.
async fn password_server() -> u16 {
    let (cluster, port) = Cluster::throwaway("strata-password", &Env::from_process()).unwrap();
    let hba = cluster.data_dir().join("pg_hba.conf");
    let rules = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(
        &hba,
        format!("host all app 127.0.0.1/32 scram-sha-256\n{rules}"),
    )
    .unwrap();
    let admin = strata::postgres::connect(&Cluster::url(port))
        .await
        .unwrap();
    // One statement per call: CREATE DATABASE refuses the implicit transaction of several.
    for sql in [
        "CREATE ROLE app LOGIN PASSWORD 'Sup3r-secret'",
        "CREATE DATABASE appdb OWNER app",
        "SELECT pg_reload_conf()",
    ] {
        admin.batch_execute(sql).await.unwrap();
    }
    port
}

/// Who connected, to which database, under which application name: as a migration records it.
fn project(dir: &Path) {
    std::fs::write(dir.join("strata.toml"), "").unwrap();
    let migrations = dir.join("schema-migrations");
    std::fs::create_dir_all(&migrations).unwrap();
    std::fs::write(
        migrations.join("0001_seen.sql"),
        "CREATE TABLE seen AS SELECT current_user::text AS who, current_database()::text AS db, current_setting('application_name') AS app;\n",
    )
    .unwrap();
    let (code, _, err) = run(strata(dir).arg("sum"));
    assert_eq!(code, 0, "{err}");
}

#[tokio::test]
async fn libpq_environment_variables_and_the_password_file_are_read() {
    use std::os::unix::fs::PermissionsExt as _;
    let port = password_server().await;
    let port_text = port.to_string();
    let admin_url = format!("postgresql://postgres@127.0.0.1:{port}/appdb");
    let env = [
        ("DATABASE_URL", "postgres://"),
        ("PGHOST", "127.0.0.1"),
        ("PGPORT", port_text.as_str()),
        ("PGUSER", "app"),
        ("PGDATABASE", "appdb"),
        ("PGAPPNAME", "strata-env-test"),
        ("PGSSLMODE", "disable"),
    ];

    // PGPASSWORD, and everything else from the environment.
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let mut with_password = env.to_vec();
    with_password.push(("PGPASSWORD", "Sup3r-secret"));
    let (code, err, _) = migrate(dir.path(), &with_password);
    assert_eq!(code, 0, "{err}");
    let admin = strata::postgres::connect(&strata::postgres::url::DbUrl::new(admin_url))
        .await
        .unwrap();
    let row = admin
        .query_one("SELECT who, db, app FROM seen", &[])
        .await
        .unwrap();
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, String>(1),
            row.get::<_, String>(2)
        ),
        ("app".into(), "appdb".into(), "strata-env-test".into())
    );

    // A wrong password is refused, and never shown.
    let mut wrong = env.to_vec();
    wrong.push(("PGPASSWORD", "Wr0ng-secret"));
    let (code, err, _) = migrate(dir.path(), &wrong);
    assert_eq!(code, 2);
    assert!(
        err.contains("password authentication failed") && !err.contains("Wr0ng-secret"),
        "{err}"
    );
    let url = format!("postgres://app:Wr0ng-secret@127.0.0.1:{port}/appdb?sslmode=disable");
    let (code, err, _) = migrate(dir.path(), &[("DATABASE_URL", &url)]);
    assert_eq!(code, 2);
    assert!(!err.contains("Wr0ng-secret"), "{err}");

    // The password file: PGPASSFILE, then ~/.pgpass; one others can read is ignored.
    let home = tempfile::tempdir().unwrap();
    let pgpass = home.path().join(".pgpass");
    std::fs::write(
        &pgpass,
        format!("127.0.0.1:{port}:appdb:app:Sup3r-secret\n"),
    )
    .unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    for (key, value) in [
        ("PGPASSFILE", pgpass.to_str().unwrap()),
        ("HOME", home.path().to_str().unwrap()),
    ] {
        let dir = tempfile::tempdir().unwrap();
        project(dir.path());
        admin
            .batch_execute(
                "DROP TABLE IF EXISTS seen; DROP TABLE IF EXISTS public.strata_migrations",
            )
            .await
            .unwrap();
        let mut with_file = env.to_vec();
        with_file.push((key, value));
        let (code, err, _) = migrate(dir.path(), &with_file);
        assert_eq!(code, 0, "{key}: {err}");
    }
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut open_file = env.to_vec();
    open_file.push(("PGPASSFILE", pgpass.to_str().unwrap()));
    let (code, err, _) = migrate(dir.path(), &open_file);
    assert_eq!(code, 2, "a password file others can read is ignored: {err}");

    // PGSSLMODE is read: this server has no TLS.
    let mut tls = env.to_vec();
    tls.retain(|(k, _)| *k != "PGSSLMODE");
    tls.push(("PGSSLMODE", "require"));
    tls.push(("PGPASSWORD", "Sup3r-secret"));
    let (code, err, _) = migrate(dir.path(), &tls);
    assert_eq!(code, 2, "{err}");
}
