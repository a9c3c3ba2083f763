//! Bad input is refused with exit 2, a message naming the file, and nothing changed: declared
//! files that cannot be read, empty migrations, file names that are not UTF-8.

mod common;

use std::fs;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

use common::{V1, count, declare, on};
use strata_testkit::TestDb;

/// A project with the seed's declared files, generated and migrated.
async fn migrated(dir: &Path, db: &TestDb, toml: &str) {
    fs::write(dir.join("strata.toml"), toml).unwrap();
    declare(dir, V1);
    let (code, _, err) = on(dir, db, &["generate"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = on(dir, db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = on(dir, db, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[tokio::test]
async fn declared_files_that_cannot_be_read_stop_every_command_that_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    migrated(dir.path(), &db, "[schema]\ndir = \"schemas\"\n").await;

    // A byte that is not UTF-8.
    let file = dir.path().join("schemas/questions/schema.sql");
    let mut bytes = fs::read(&file).unwrap();
    bytes.extend_from_slice(b"-- caf\xe9\n");
    fs::write(&file, bytes).unwrap();
    for command in ["check", "status", "generate", "push"] {
        let (code, out, err) = on(dir.path(), &db, &[command]);
        assert_eq!(code, 2, "{command}: {out}{err}");
        assert!(
            err.contains("schemas/questions/schema.sql:") && err.contains("not UTF-8 text"),
            "{command}: {err}"
        );
        assert!(!out.contains("ok:"), "{command}: {out}");
    }

    // The folder gone, while strata.toml names it.
    fs::remove_dir_all(dir.path().join("schemas")).unwrap();
    for command in ["check", "status"] {
        let (code, out, err) = on(dir.path(), &db, &[command]);
        assert_eq!(code, 2, "{command}: {out}{err}");
        assert!(
            err.contains("no such folder of declared schema files, but")
                && err.contains("strata.toml names it in [schema]"),
            "{command}: {err}"
        );
    }

    // A project that never had declared files (nothing names them) is fine, and says so.
    fs::write(dir.path().join("strata.toml"), "").unwrap();
    let (code, out, err) = on(dir.path(), &db, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("no declared files (schemas does not exist)"),
        "{out}"
    );
    let (code, out, err) = on(dir.path(), &db, &["status"]);
    assert_ne!(code, 2, "{out}{err}");
    assert!(out.contains("declared files: none"), "{out}");
}

#[tokio::test]
async fn empty_migrations_are_refused_unless_they_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let migrations = dir.path().join("schema-migrations");
    fs::create_dir_all(&migrations).unwrap();
    fs::write(
        migrations.join("0001_table.sql"),
        "CREATE TABLE t (a int);\n",
    )
    .unwrap();
    fs::write(
        migrations.join("0002_todo.sql"),
        "-- 0002_todo.sql: hand-written SQL.\n/* nothing yet */\n;\n",
    )
    .unwrap();
    on(dir.path(), &db, &["sum"]);
    let (code, _, err) = on(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("0002_todo.sql holds no statement (only comments)")
            && err.contains("-- strata:empty <reason>")
            && err.contains("nothing was applied"),
        "{err}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM pg_class WHERE relname = 't'").await,
        0,
        "nothing was applied"
    );
    let (code, out, _) = on(dir.path(), &db, &["check"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("empty: 0002_todo.sql holds no statement"),
        "{out}"
    );

    // A reason is needed; with one, it is recorded as applied.
    fs::write(migrations.join("0002_todo.sql"), "-- strata:empty\n").unwrap();
    on(dir.path(), &db, &["sum"]);
    let (code, _, err) = on(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 2);
    assert!(err.contains("needs a reason after it"), "{err}");
    fs::write(
        migrations.join("0002_todo.sql"),
        "-- strata:empty superseded by 0001\n",
    )
    .unwrap();
    on(dir.path(), &db, &["sum"]);
    let (code, out, err) = on(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM public.strata_migrations").await,
        2
    );
}

#[tokio::test]
async fn a_migration_whose_name_is_not_utf8_is_reported_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let migrations = dir.path().join("schema-migrations");
    fs::create_dir_all(&migrations).unwrap();
    fs::write(
        migrations.join("0001_table.sql"),
        "CREATE TABLE t (a int);\n",
    )
    .unwrap();
    let name = std::ffi::OsStr::from_bytes(b"0002_caf\xe9.sql");
    fs::write(migrations.join(name), "CREATE TABLE u (a int);\n").unwrap();
    for command in ["sum", "migrate", "check"] {
        let (code, _, err) = on(dir.path(), &db, &[command]);
        assert_eq!(code, 2, "{command}: {err}");
        assert!(
            err.contains("0002_caf") && err.contains("the name is not UTF-8 text; rename it"),
            "{command}: {err}"
        );
    }
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_class WHERE relname IN ('t', 'u')"
        )
        .await,
        0
    );
}
