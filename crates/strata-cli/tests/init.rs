//! `strata init`: a new project laid out like the example, never over existing files.

mod common;

use std::fs;
use std::process::Stdio;

use common::{run, strata};
use strata_testkit::{TestDb, server};

#[tokio::test]
async fn a_new_project_generates_and_migrates() {
    let parent = tempfile::tempdir().unwrap();
    let (code, out, err) = run(strata(parent.path()).args(["init", "survey"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("created the strata project `survey`") && out.contains("cargo db up"),
        "{out}"
    );
    let dir = parent.path().join("survey");
    for file in [
        "strata.toml",
        "schemas/app/schema.sql",
        "Cargo.toml",
        ".cargo/config.toml",
        "src/main.rs",
        "src/data_migrations/mod.rs",
        "src/data_migrations/app/m0001_first_items.rs",
    ] {
        assert!(dir.join(file).is_file(), "{file} is missing");
    }
    let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"survey\""), "{manifest}");
    // The crate named `strata` on the registry is another project's: ours is strata-pg.
    assert!(
        manifest.contains("strata = { package = \"strata-pg\", version = \"0.1\" }"),
        "{manifest}"
    );

    // The declared schema is ready for the first migration.
    let db = TestDb::new().await;
    let strata_in = |args: &[&str]| {
        run(strata(&dir)
            .args(args)
            .env("DATABASE_URL", db.url().expose())
            .env("STRATA_DEV_URL", server().url().expose())
            .stdin(Stdio::null()))
    };
    let (code, out, err) = strata_in(&["generate", "--name", "init"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0001_init.sql"), "{out}");
    let (code, _, err) = strata_in(&["migrate"]);
    assert_eq!(code, 0, "{err}");
    let tables: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'app'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 1);

    // Then the day-to-day loop, editing nothing but the schema file.
    let schema = dir.join("schemas/app/schema.sql");
    let mut text = fs::read_to_string(&schema).unwrap();
    text.push_str("\nCREATE TABLE app.notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text NOT NULL);\n");
    fs::write(&schema, text).unwrap();
    let (code, out, err) = strata_in(&["generate", "--name", "notes"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0002_notes.sql"), "{out}");
    let (code, _, err) = strata_in(&["migrate"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = strata_in(&["data", "new", "app", "first_notes"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("data-migrations/app/0001_first_notes.up.sql"),
        "{out}"
    );
    let (code, out, err) = strata_in(&["data", "migrate"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("applied 1 data migration"), "{out}");
    let (code, _, err) = strata_in(&["check"]);
    assert_eq!(code, 0, "{err}");

    // Again: refused, naming the files, and nothing is touched.
    fs::write(dir.join("strata.toml"), "# mine\n").unwrap();
    let (code, _, err) = run(strata(parent.path()).args(["init", "survey"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("never overwrites") && err.contains("strata.toml"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(dir.join("strata.toml")).unwrap(),
        "# mine\n"
    );
}
