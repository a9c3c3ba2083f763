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
        "src/data_migrations/schema.rs",
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
    // The Rust types init wrote are those of the declared schema, and the sample migration
    // uses them.
    let (code, out, err) = strata_in(&["codegen", "--check"]);
    assert_eq!(code, 0, "{out}{err}");
    let sample =
        fs::read_to_string(dir.join("src/data_migrations/app/m0001_first_items.rs")).unwrap();
    assert!(sample.contains("cx.insert_many(&rows)"), "{sample}");
    // The crate builds against this checkout (the registry is not reachable from tests).
    fs::write(
        dir.join("Cargo.toml"),
        manifest.replace(
            "strata = { package = \"strata-pg\", version = \"0.1\" }",
            &format!(
                "strata = {{ package = \"strata-pg\", path = {:?} }}\n\n[workspace]\n\n{}",
                common::cargo::repo()
                    .join("crates/strata")
                    .display()
                    .to_string(),
                common::cargo::profile()
            ),
        ),
    )
    .unwrap();
    let (built, err) = common::cargo::build(&dir);
    assert!(built, "the new project does not build:\n{err}");
    fs::write(dir.join("Cargo.toml"), &manifest).unwrap();
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
    // Numbered after the sample Rust migration app_0001_first_items, which the plain binary's
    // registry does not hold but its file shows.
    assert!(
        out.contains("data-migrations/app/0002_first_notes.up.sql"),
        "{out}"
    );
    let (code, out, err) = strata_in(&["data", "migrate"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("applied 1 data migration"), "{out}");
    let (code, _, err) = strata_in(&["check"]);
    assert_eq!(code, 0, "{err}");

    // Again: nothing to add, and nothing is touched.
    fs::write(dir.join("strata.toml"), "# mine\n").unwrap();
    let (code, out, err) = run(strata(parent.path()).args(["init", "survey"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("nothing to add"), "{out}");
    assert_eq!(
        fs::read_to_string(dir.join("strata.toml")).unwrap(),
        "# mine\n"
    );
}

#[test]
fn into_an_existing_crate_adds_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let manifest = "[package]\nname = \"shop\"\nversion = \"1.2.0\"\nedition = \"2021\"\n\n# ours\n[dependencies]\nserde = \"1\"\n";
    fs::write(root.join("Cargo.toml"), manifest).unwrap();
    fs::create_dir_all(root.join("src")).unwrap();
    fs::write(root.join("src/main.rs"), "fn main() {}\n").unwrap();
    fs::write(root.join(".gitignore"), "/target").unwrap();
    fs::create_dir_all(root.join(".cargo")).unwrap();
    fs::write(root.join(".cargo/config.toml"), "[build]\njobs = 1\n").unwrap();

    let (code, out, err) = run(strata(root).arg("init"));
    assert_eq!(code, 0, "{err}");
    for line in [
        "strata.toml",
        "schemas/app/schema.sql",
        "src/bin/db.rs",
        "src/data_migrations/app/m0001_first_items.rs",
        "Cargo.toml",
        "(added the strata dependency; default-run",
        ".gitignore",
        "(added .strata/)",
        ".cargo/config.toml",
        "(added the `cargo db` alias)",
    ] {
        assert!(out.contains(line), "{line} not in\n{out}");
    }
    assert!(!out.contains("src/main.rs"), "{out}");
    // The crate's own files keep every line, with strata's added.
    assert_eq!(
        fs::read_to_string(root.join("src/main.rs")).unwrap(),
        "fn main() {}\n"
    );
    assert_eq!(
        fs::read_to_string(root.join("Cargo.toml")).unwrap(),
        "[package]\ndefault-run = \"shop\"\nname = \"shop\"\nversion = \"1.2.0\"\nedition = \"2021\"\n\n# ours\n[dependencies]\nstrata = { package = \"strata-pg\", version = \"0.1\" }\nserde = \"1\"\n"
    );
    assert_eq!(
        fs::read_to_string(root.join(".gitignore")).unwrap(),
        "/target\n# The development database and strata's caches.\n.strata/\n"
    );
    assert_eq!(
        fs::read_to_string(root.join(".cargo/config.toml")).unwrap(),
        "[build]\njobs = 1\n\n[alias]\ndb = \"run -q --bin db --\"\n"
    );
    assert!(
        fs::read_to_string(root.join("src/bin/db.rs"))
            .unwrap()
            .contains("#[path = \"../data_migrations/mod.rs\"]")
    );

    // A second run finds everything there.
    let (code, out, err) = run(strata(root).arg("init"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("nothing to add"), "{out}");
}

#[test]
fn into_a_workspace_adds_a_member() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nresolver = \"2\"\nmembers = [\"api\"]\n",
    )
    .unwrap();
    let (code, out, err) = run(strata(root).arg("init"));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("db/strata.toml") && out.contains("(cd db)"),
        "{out}"
    );
    assert_eq!(
        fs::read_to_string(root.join("Cargo.toml")).unwrap(),
        "[workspace]\nresolver = \"2\"\nmembers = [\"db\", \"api\"]\n"
    );
    let member = fs::read_to_string(root.join("db/Cargo.toml")).unwrap();
    assert!(
        member.contains("name = \"db\"")
            && member.contains("strata = { package = \"strata-pg\", version = \"0.1\" }"),
        "{member}"
    );
    assert!(root.join("db/src/main.rs").is_file());
    assert!(!root.join("strata.toml").exists());

    // Members given by a pattern already include it.
    let other = tempfile::tempdir().unwrap();
    let manifest = "[workspace]\nmembers = [\"*\"]\n";
    fs::write(other.path().join("Cargo.toml"), manifest).unwrap();
    let (code, _, err) = run(strata(other.path()).arg("init"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        fs::read_to_string(other.path().join("Cargo.toml")).unwrap(),
        manifest
    );
}
