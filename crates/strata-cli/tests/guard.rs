//! The production guard cannot be talked around: `data reset` refuses a production database
//! however the name is written, and whatever a role or the connection says.

mod common;

use std::fs;
use std::path::Path;
use std::process::Stdio;

use common::{count, run, strata};
use strata_testkit::{TestDb, server};

fn data(dir: &Path, url: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    run(strata(dir)
        .arg("data")
        .args(args)
        .env("DATABASE_URL", url)
        .env("STRATA_DEV_URL", server().url().expose())
        .envs(env.iter().copied())
        .stdin(Stdio::null()))
}

/// A database with one applied data migration whose `down` deletes its row.
async fn applied(dir: &Path, db: &TestDb) {
    db.client()
        .await
        .batch_execute("CREATE SCHEMA app; CREATE TABLE app.rows (name text PRIMARY KEY)")
        .await
        .unwrap();
    let folder = dir.join("data-migrations/app");
    fs::create_dir_all(&folder).unwrap();
    fs::write(
        folder.join("0001_row.up.sql"),
        "INSERT INTO app.rows VALUES ('one');",
    )
    .unwrap();
    fs::write(
        folder.join("0001_row.down.sql"),
        "DELETE FROM app.rows WHERE name = 'one';",
    )
    .unwrap();
    let (code, _, err) = data(dir, db.url().expose(), &["migrate"], &[]);
    assert_eq!(code, 0, "{err}");
}

async fn rows(db: &TestDb) -> i64 {
    count(db, "SELECT count(*) FROM app.rows").await
}

#[tokio::test]
async fn strata_env_is_read_trimmed_and_in_any_case() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    applied(dir.path(), &db).await;
    for value in ["Production", "PRODUCTION", "prod", " production ", "Prod\n"] {
        let (code, _, err) = data(
            dir.path(),
            db.url().expose(),
            &["reset", "--yes"],
            &[("STRATA_ENV", value)],
        );
        assert_eq!(code, 2, "STRATA_ENV={value:?}: {err}");
        assert!(err.contains("it is a production database"), "{err}");
        assert_eq!(rows(&db).await, 1, "STRATA_ENV={value:?}");
    }
    // A name strata does not know may mean production: refused too.
    let (code, _, err) = data(
        dir.path(),
        db.url().expose(),
        &["reset", "--yes"],
        &[("STRATA_ENV", "prd")],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`prd`, which is not an environment strata knows"),
        "{err}"
    );
    assert_eq!(rows(&db).await, 1);
}

#[tokio::test]
async fn the_mark_is_the_databases_own_whatever_a_role_or_the_connection_says() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    applied(dir.path(), &db).await;
    let url = db.url().expose();

    // Any spelling is stored as production; a name strata does not know is not stored.
    let (code, out, err) = data(dir.path(), url, &["env", " Production "], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("is marked as production"), "{out}");
    let (code, _, err) = data(dir.path(), url, &["env", "prodution"], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("`prodution` is not an environment strata knows"),
        "{err}"
    );
    let (_, out, _) = data(dir.path(), url, &["env"], &[]);
    assert!(out.contains("is marked as production"), "{out}");

    // A role's setting, or the connection's, cannot override the database's mark.
    let admin = db.client().await;
    let role = format!("{}_app", db.name());
    admin
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN; ALTER ROLE {role} SET strata.env = 'staging'; \
             GRANT ALL ON SCHEMA app, public TO {role}; GRANT ALL ON ALL TABLES IN SCHEMA app, public TO {role}; \
             GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"
        ))
        .await
        .unwrap();
    let as_role = url.replacen("postgres@", &format!("{role}@"), 1);
    assert_ne!(as_role, url);
    let with_options = format!(
        "{url}{}options=-c%20strata.env%3Ddevelopment",
        if url.contains('?') { "&" } else { "?" }
    );
    for url in [as_role.as_str(), with_options.as_str()] {
        let (code, _, err) = data(dir.path(), url, &["reset", "--yes"], &[]);
        assert_eq!(code, 2, "{url}: {err}");
        assert!(
            err.contains("production database (the database's mark"),
            "{err}"
        );
        assert_eq!(rows(&db).await, 1);
    }
    admin
        .batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .await
        .unwrap();

    // Marked otherwise, reset runs.
    let (code, _, err) = data(dir.path(), url, &["env", "dev"], &[]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = data(dir.path(), url, &["reset", "--yes"], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(rows(&db).await, 0);
}
