//! Objects strata does not model are named by every command that reads a schema, refused with
//! `--strict` (or `[schema] strict = true`), and silenced one by one with `[schema] ignore`;
//! a user's table at a tracking table's name is an error, never left out.

mod common;

use std::path::Path;

use common::on;
use strata_testkit::TestDb;

/// A text search configuration: a kind strata does not model (a plan neither creates nor
/// drops it).
const UNMODELLED: &str = "CREATE TEXT SEARCH CONFIGURATION app.plain (COPY = pg_catalog.simple);";
const NAMED: &str = "text search configuration app.plain";

const SCHEMA: &str = "CREATE SCHEMA app;\nCREATE TABLE app.t (id integer PRIMARY KEY);\n";

fn declare(dir: &Path, extra: &str) {
    std::fs::create_dir_all(dir.join("schemas/app")).unwrap();
    std::fs::write(
        dir.join("schemas/app/schema.sql"),
        format!("{SCHEMA}{extra}\n"),
    )
    .unwrap();
}

async fn database(extra: &str) -> TestDb {
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute(&format!("{SCHEMA}{extra}"))
        .await
        .unwrap();
    db
}

fn warned(err: &str, place: &str) -> bool {
    err.contains("warning: objects strata does not model")
        && err.contains(&format!("{NAMED} (in {place}"))
}

#[tokio::test]
async fn pull_names_what_it_does_not_write() {
    let db = database(UNMODELLED).await;
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = on(dir.path(), &db, &["pull"]);
    assert_eq!(code, 0, "{err}");
    assert!(warned(&err, &db.url().to_string()), "{err}");
    assert!(out.contains("schemas/app/schema.sql"), "{out}");

    // --strict: an error, and nothing written.
    let other = tempfile::tempdir().unwrap();
    let (code, _, err) = on(other.path(), &db, &["pull", "--strict"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(NAMED)
            && err.contains("--strict")
            && err.contains("ignore = [\"text search configuration:"),
        "{err}"
    );
    assert!(!other.path().join("schemas").exists());
}

#[tokio::test]
async fn diff_names_them_on_both_sides() {
    let (from, to) = (database("").await, database(UNMODELLED).await);
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = on(
        dir.path(),
        &from,
        &[
            "diff",
            "--from",
            from.url().expose(),
            "--to",
            to.url().expose(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(warned(&err, &to.url().to_string()), "{err}");
    // The configuration is not planned: the schemas are otherwise the same.
    assert_eq!(out.trim(), "-- No changes: the schemas are the same.");
    let (code, _, err) = on(
        dir.path(),
        &from,
        &[
            "diff",
            "--strict",
            "--from",
            from.url().expose(),
            "--to",
            to.url().expose(),
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(NAMED), "{err}");
}

#[tokio::test]
async fn push_names_them_in_the_declared_files_and_the_database() {
    let db = database(UNMODELLED).await;
    let dir = tempfile::tempdir().unwrap();
    declare(dir.path(), UNMODELLED);
    let (code, out, err) = on(dir.path(), &db, &["push"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("{NAMED} (in {} and schemas)", db.url())),
        "{err}"
    );
    assert!(out.starts_with("nothing to do"), "{out}");
    let (code, _, err) = on(dir.path(), &db, &["push", "--strict"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(NAMED), "{err}");
}

#[tokio::test]
async fn generate_names_what_no_migration_will_create() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    declare(dir.path(), UNMODELLED);
    let (code, out, err) = on(dir.path(), &db, &["generate", "--name", "init"]);
    assert_eq!(code, 0, "{err}");
    assert!(warned(&err, "schemas"), "{err}");
    let migration = std::fs::read_to_string(dir.path().join("schema-migrations/0001_init.sql"))
        .unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(!migration.contains("TEXT SEARCH"), "{migration}");

    // `strict = true` in strata.toml: an error, and no second file.
    declare(
        dir.path(),
        &format!("{UNMODELLED}\nCREATE TABLE app.u (id integer);"),
    );
    std::fs::write(dir.path().join("strata.toml"), "[schema]\nstrict = true\n").unwrap();
    let (code, _, err) = on(dir.path(), &db, &["generate", "--name", "more"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(NAMED), "{err}");
    assert!(!dir.path().join("schema-migrations/0002_more.sql").exists());

    // Acknowledged: silent, even when strict.
    std::fs::write(
        dir.path().join("strata.toml"),
        "[schema]\nstrict = true\nignore = [\"text search configuration:app.plain\"]\n",
    )
    .unwrap();
    let (code, out, err) = on(dir.path(), &db, &["generate", "--name", "more"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning") && !err.contains(NAMED), "{err}");
    assert!(out.contains("0002_more.sql"), "{out}");

    // An entry that names no kind of the census is an error that lists them.
    std::fs::write(
        dir.path().join("strata.toml"),
        "[schema]\nignore = [\"gadget:app.x\"]\n",
    )
    .unwrap();
    let (code, _, err) = on(dir.path(), &db, &["generate"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("\"gadget:app.x\"") && err.contains("text search configuration"),
        "{err}"
    );
}

#[tokio::test]
async fn check_names_them() {
    let db = database(UNMODELLED).await;
    let dir = tempfile::tempdir().unwrap();
    declare(dir.path(), "");
    let (code, _, err) = on(dir.path(), &db, &["check"]);
    // Findings (nothing generated, nothing applied) are exit 1; the census is a warning.
    assert_eq!(code, 1, "{err}");
    assert!(warned(&err, &db.url().to_string()), "{err}");
    let (code, _, err) = on(dir.path(), &db, &["check", "--strict"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(NAMED), "{err}");
}

#[tokio::test]
async fn a_table_of_the_users_at_the_tracking_tables_name_is_never_skipped() {
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute(
            "CREATE TABLE public.data_migrations (id integer PRIMARY KEY, title text NOT NULL, done boolean)",
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = on(dir.path(), &db, &["pull"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("public.data_migrations")
            && err.contains("`[data] table`")
            && err.contains("`[migrations] table`"),
        "{err}"
    );
    assert!(!dir.path().join("schemas").exists());

    // Moved aside, strata's own name is free and the user's table is pulled like any other.
    std::fs::write(
        dir.path().join("strata.toml"),
        "[data]\ntable = \"public.strata_data_migrations\"\n",
    )
    .unwrap();
    let (code, _, err) = on(dir.path(), &db, &["pull"]);
    assert_eq!(code, 0, "{err}");
    let pulled = std::fs::read_to_string(dir.path().join("schemas/public/schema.sql")).unwrap();
    assert!(
        pulled.contains("CREATE TABLE \"public\".\"data_migrations\""),
        "{pulled}"
    );

    // The seed's own table, adopted as it is, stays out of the schema.
    let seed = TestDb::new().await;
    seed.client()
        .await
        .batch_execute(
            "CREATE TABLE public.data_migrations (id serial primary key, name text not null unique, schema text not null, applied_at timestamp not null default now());
             CREATE TABLE public.kept (id integer)",
        )
        .await
        .unwrap();
    let other = tempfile::tempdir().unwrap();
    let (code, _, err) = on(other.path(), &seed, &["pull"]);
    assert_eq!(code, 0, "{err}");
    let pulled = std::fs::read_to_string(other.path().join("schemas/public/schema.sql")).unwrap();
    assert!(
        pulled.contains("\"public\".\"kept\"") && !pulled.contains("data_migrations"),
        "{pulled}"
    );
}
