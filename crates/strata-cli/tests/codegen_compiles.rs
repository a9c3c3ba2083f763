//! Generated Rust types compile for every diff fixture's `to.sql` and every schema of the
//! real-schema corpus, and are as rustfmt writes them: each schema is loaded into a database,
//! introspected, generated into a module of one crate, and the crate is checked once.

mod common;

use std::fmt::Write as _;
use std::path::PathBuf;

use common::cargo;
use strata::introspect::{Scope, introspect};
use strata_testkit::{TestDb, dump, server};

/// (module name, SQL file) of every case.
fn cases() -> Vec<(String, PathBuf)> {
    let fixtures = cargo::repo().join("tests/fixtures");
    let mut cases = Vec::new();
    for (folder, file) in [("diff", "to.sql"), ("real", "schema.sql")] {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures.join(folder))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join(file).is_file())
            .collect();
        dirs.sort();
        for dir in dirs {
            let name: String = dir
                .file_name()
                .unwrap()
                .to_string_lossy()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            cases.push((format!("{folder}_{name}"), dir.join(file)));
        }
    }
    cases
}

async fn create_roles(list: &str) {
    let admin = strata::postgres::connect(server().url()).await.unwrap();
    for role in list.lines().map(str::trim).filter(|r| !r.is_empty()) {
        let sql = format!(
            "DO $$ BEGIN CREATE ROLE {}; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
            strata_core::sql::quote_ident(role)
        );
        admin.batch_execute(&sql).await.unwrap();
    }
}

#[tokio::test]
async fn generated_code_compiles_for_every_fixture_and_corpus_schema() {
    let krate = tempfile::tempdir().unwrap();
    let src = krate.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let mut lib = String::from("//! Every fixture's generated types.\n\n");
    let mut loaded = 0;
    let mut skipped = Vec::new();
    let mut tables = 0;
    let cases = cases();
    for (module, sql) in &cases {
        let dir = sql.parent().unwrap();
        create_roles(&std::fs::read_to_string(dir.join("roles.txt")).unwrap_or_default()).await;
        let db = TestDb::new().await;
        // A case for a newer server (requires.txt) does not load here: it is counted, not built.
        if let Err(e) = dump::restore(db.url(), &std::fs::read_to_string(sql).unwrap()) {
            skipped.push(format!(
                "{module}: {}",
                e.lines().next().unwrap_or_default()
            ));
            continue;
        }
        let client = db.client().await;
        let catalog = introspect(&client, &Scope::AllUserSchemas)
            .await
            .unwrap()
            .catalog;
        tables += catalog.tables.len();
        let code = strata_core::codegen::rust(&catalog);
        assert!(code.starts_with(strata_core::codegen::HEADER));
        std::fs::write(src.join(format!("{module}.rs")), code).unwrap();
        let _ = writeln!(lib, "pub mod {module};");
        loaded += 1;
    }
    assert!(
        loaded * 10 >= cases.len() * 9,
        "only {loaded} of {} cases loaded:\n{}",
        cases.len(),
        skipped.join("\n")
    );
    assert!(tables > 1000, "{tables} tables");
    std::fs::write(src.join("lib.rs"), lib).unwrap();
    std::fs::write(
        krate.path().join("Cargo.toml"),
        format!(
            "[package]\nname = \"codegen-fixtures\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nstrata = {{ package = \"strata-pg\", path = {:?} }}\n\n[workspace]\n\n{}",
            cargo::repo().join("crates/strata").display().to_string(),
            cargo::profile()
        ),
    )
    .unwrap();

    // As rustfmt writes it.
    let files: Vec<PathBuf> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != "lib.rs")
        .collect();
    let output = std::process::Command::new("rustfmt")
        .args([
            "--edition",
            "2024",
            "--check",
            "--config",
            "skip_children=true",
        ])
        .args(&files)
        .output()
        .expect("running rustfmt");
    let diff = String::from_utf8_lossy(&output.stdout);
    let files: Vec<&str> = diff
        .lines()
        .filter_map(|l| l.strip_prefix("Diff in "))
        .map(|l| l.rsplit('/').next().unwrap_or(l))
        .collect();
    assert!(
        output.status.success(),
        "generated code is not rustfmt-clean ({}):\n{}",
        files.join(", "),
        diff.lines().take(60).collect::<Vec<_>>().join("\n")
    );

    // `cargo check`: type checking finds every error generated code could have; building
    // the quarter million lines would take minutes more.
    let (built, err) = cargo::check(krate.path());
    assert!(
        built,
        "the generated code does not compile:\n{}",
        tail(&err, 80)
    );
    // No warnings either: a project may deny them.
    assert!(!err.contains("warning"), "{}", tail(&err, 80));
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
