//! Outside a project (no `strata.toml` here or above, no database URL) commands that need one
//! stop with exit 2 and advice, and start and write nothing.

mod common;

use std::path::Path;

use common::{run, strata};

/// Every file and folder under `dir`.
fn everything(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            found.push(path.display().to_string());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    found
}

#[test]
fn commands_that_need_a_project_refuse_in_an_empty_folder() {
    let commands: &[&[&str]] = &[
        &["status"],
        &["status", "--json"],
        &["check"],
        &["generate"],
        &["generate", "--custom", "--name", "x"],
        &["migrate"],
        &["migrate", "--dry-run"],
        &["rollback", "--dry-run"],
        &["baseline", "--dry-run"],
        &["up"],
        &["push"],
        &["pull"],
        &["diff", "--from", "schema-migrations", "--to", "schemas"],
        &["sum"],
        &["codegen"],
        &["inspect"],
        &["import", "drizzle"],
        &["import", "prisma"],
        &["import", "sqlx"],
        &["data", "migrate"],
        &["data", "status"],
        &["data", "new", "app", "first"],
        &["data", "reset", "--yes"],
        &["dev", "start"],
        &["dev", "url"],
        &["dev", "status"],
    ];
    for args in commands {
        let dir = tempfile::tempdir().unwrap();
        let (code, out, err) = run(strata(dir.path())
            .args(*args)
            .stdin(std::process::Stdio::null()));
        assert_eq!(code, 2, "strata {args:?}: {out}{err}");
        // On standard error, or in the error document with --json.
        assert!(
            format!("{out}{err}").contains("no strata.toml here or above; run `strata init`"),
            "strata {args:?}: {out}{err}"
        );
        assert!(!err.contains("started"), "strata {args:?}: {err}");
        assert_eq!(
            everything(dir.path()),
            Vec::<String>::new(),
            "strata {args:?} wrote into an empty folder"
        );
    }
}

#[test]
fn a_subfolder_of_a_project_is_in_the_project() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("strata.toml"), "").unwrap();
    let sub = dir.path().join("deep/er");
    std::fs::create_dir_all(&sub).unwrap();
    // `sum` needs nothing but the project: run from below, it writes the project's file.
    std::fs::create_dir_all(dir.path().join("schema-migrations")).unwrap();
    let (code, out, err) = run(strata(&sub).arg("sum"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(dir.path().join("schema-migrations/strata.sum").is_file());
    assert!(everything(&sub).is_empty());
}

#[test]
fn commands_that_need_no_project_run_in_an_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(strata(dir.path()).arg("--version"));
    assert_eq!(code, 0, "{out}{err}");
    // A database URL is enough for the commands that read one; the connection fails here, after
    // the project check, and still nothing is written.
    let (code, _, err) =
        run(strata(dir.path()).args(["inspect", "--url", "postgres://x@127.0.0.1:1/y"]));
    assert_eq!(code, 2);
    assert!(err.contains("cannot connect"), "{err}");
    assert!(everything(dir.path()).is_empty());
}
