//! What a person reads: every `--help` (snapshots in tests/help/, `STRATA_UPDATE_EXPECT=1`
//! rewrites them), shell completions, the manual page, `-q` and `-v`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::{run, strata};
use strata_testkit::{TestDb, server};

/// Every command with a help page of its own.
const COMMANDS: &[&[&str]] = &[
    &[],
    &["init"],
    &["generate"],
    &["migrate"],
    &["rollback"],
    &["baseline"],
    &["up"],
    &["push"],
    &["pull"],
    &["diff"],
    &["check"],
    &["lint"],
    &["status"],
    &["codegen"],
    &["sum"],
    &["data"],
    &["data", "migrate"],
    &["data", "reset"],
    &["data", "status"],
    &["data", "new"],
    &["data", "env"],
    &["aws"],
    &["aws", "check"],
    &["inspect"],
    &["import"],
    &["import", "drizzle"],
    &["import", "prisma"],
    &["import", "sqlx"],
    &["completions"],
    &["man"],
    &["dev"],
    &["dev", "start"],
    &["dev", "stop"],
    &["dev", "status"],
    &["dev", "url"],
];

/// The commands a person runs directly, each with an Examples section.
const WITH_EXAMPLES: &[&str] = &[
    "init",
    "generate",
    "migrate",
    "rollback",
    "baseline",
    "up",
    "push",
    "pull",
    "diff",
    "check",
    "lint",
    "status",
    "codegen",
    "sum",
    "data",
    "aws",
    "inspect",
    "import",
    "completions",
    "man",
    "dev",
];

fn help(args: &[&str]) -> String {
    let (code, out, err) = run(strata(Path::new("/"))
        .args(args)
        .arg("--help")
        // Help shows that --url reads DATABASE_URL, never its value (it may hold a password).
        .env("DATABASE_URL", "postgres://app:hunter2@db.example/app"));
    assert_eq!(code, 0, "{args:?}: {err}");
    assert!(!out.contains("hunter2"), "{args:?}: {out}");
    out
}

fn snapshot_path(args: &[&str]) -> PathBuf {
    let name = if args.is_empty() {
        "strata".to_owned()
    } else {
        format!("strata-{}", args.join("-"))
    };
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/help")
        .join(format!("{name}.txt"))
}

#[test]
fn help_pages_match_their_snapshots() {
    let update = std::env::var_os("STRATA_UPDATE_EXPECT").is_some();
    let mut differ = Vec::new();
    for args in COMMANDS {
        let text = help(args);
        let path = snapshot_path(args);
        if update {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, &text).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&path).unwrap_or_default();
        if expected != text {
            differ.push(format!(
                "{} (STRATA_UPDATE_EXPECT=1 rewrites it):\n--- expected\n{expected}\n--- got\n{text}",
                path.display()
            ));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

#[test]
fn help_says_what_the_tool_is_with_examples_and_environment() {
    let top = help(&[]);
    assert!(
        top.starts_with("PostgreSQL schema and data migrations"),
        "{top}"
    );
    for command in WITH_EXAMPLES {
        let text = help(&[command]);
        assert!(
            text.contains("\nExamples:\n  "),
            "`strata {command} --help` has no examples:\n{text}"
        );
    }
    // Sub-commands too.
    for args in COMMANDS.iter().filter(|a| a.len() == 2) {
        let text = help(args);
        assert!(
            text.contains("\nExamples:\n  "),
            "`strata {} --help` has no examples:\n{text}",
            args.join(" ")
        );
    }
    for args in [
        &["migrate"][..],
        &["status"],
        &["data", "migrate"],
        &["push"],
    ] {
        assert!(
            help(args).contains("[env: DATABASE_URL]"),
            "{args:?} does not name DATABASE_URL"
        );
    }
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let dir = tempfile::tempdir().unwrap();
    let completions = |shell: &str| {
        let (code, out, err) = run(strata(dir.path()).args(["completions", shell]));
        assert_eq!(code, 0, "{shell}: {err}");
        out
    };
    let bash = completions("bash");
    assert!(bash.contains("complete -F _strata"), "{bash}");
    for command in ["generate", "migrate", "completions", "--json", "--url"] {
        assert!(bash.contains(command), "bash completions lack {command}");
    }
    // The script is valid bash.
    let script = dir.path().join("strata.bash");
    fs::write(&script, &bash).unwrap();
    let (code, _, err) = run(std::process::Command::new("bash").arg("-n").arg(&script));
    assert_eq!(code, 0, "{err}");

    let zsh = completions("zsh");
    assert!(zsh.starts_with("#compdef strata"), "{zsh}");
    assert!(
        zsh.contains("'generate:") && zsh.contains("--dry-run"),
        "{zsh}"
    );

    let fish = completions("fish");
    assert!(
        fish.contains("complete -c strata") && fish.contains("-a \"generate\""),
        "{fish}"
    );
    // Nothing was written into the folder: completions need no project.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

    let (code, _, err) = run(strata(dir.path()).args(["completions", "tcsh"]));
    assert_eq!(code, 2);
    assert!(err.contains("possible values"), "{err}");
}

#[test]
fn the_manual_page_renders() {
    let dir = tempfile::tempdir().unwrap();
    let (code, page, err) = run(strata(dir.path()).arg("man"));
    assert_eq!(code, 0, "{err}");
    assert!(page.contains(".TH strata 1"), "{page}");
    assert!(page.contains("strata\\-generate"), "{page}");
    // groff reads it as a manual page.
    let roff = dir.path().join("strata.1");
    fs::write(&roff, &page).unwrap();
    let (code, text, err) = run(std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-P-cbou"])
        .arg(&roff));
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains("NAME") && text.contains("SUBCOMMANDS"),
        "{text}"
    );
}

#[tokio::test]
async fn quiet_leaves_out_notes_and_verbose_adds_phases() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = TestDb::new().await;
    fs::write(root.join("strata.toml"), "").unwrap();
    common::declare(root, common::V1);
    let strata_in = |args: &[&str]| {
        run(strata(root)
            .args(args)
            .env("DATABASE_URL", db.url().expose())
            .env("STRATA_DEV_URL", server().url().expose())
            .env_remove("STRATA_LOG")
            .stdin(Stdio::null()))
    };
    let (code, _, err) = strata_in(&["generate", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("debug:") && err.contains("planned"), "{err}");

    let (code, out, err) = strata_in(&["migrate", "-q"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("applied 1 migration"), "{out}");
    assert!(err.is_empty(), "{err}");
    let (code, _, err) = strata_in(&["data", "new", "questions", "x", "--quiet"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");

    let (code, _, err) = strata_in(&["status", "-q", "-v"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot be used with"), "{err}");
}

#[tokio::test]
async fn under_a_project_binary_messages_say_cargo_db() {
    // A project's crate runs the same command line as its own binary, through `cargo db`.
    let bin_dir = tempfile::tempdir().unwrap();
    let bin = bin_dir.path().join("survey-db");
    fs::copy(common::strata_bin(), &bin).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let project = |args: &[&str]| run(common::command(&bin, root).args(args).stdin(Stdio::null()));

    let (code, _, err) = project(&["status"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no strata.toml here or above; run `cargo db init`"),
        "{err}"
    );
    let (code, out, _) = project(&["migrate", "--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Usage: cargo db migrate") && out.contains("\n  cargo db migrate --dry-run"),
        "{out}"
    );
    assert!(!out.contains("strata migrate"), "{out}");

    let db = TestDb::new().await;
    fs::write(root.join("strata.toml"), "").unwrap();
    fs::create_dir_all(root.join("schema-migrations")).unwrap();
    fs::write(
        root.join("schema-migrations/0001_t.sql"),
        "CREATE TABLE t (id int);\n",
    )
    .unwrap();
    assert_eq!(project(&["sum"]).0, 0);
    let (code, out, err) = run(common::command(&bin, root)
        .arg("status")
        .env("DATABASE_URL", db.url().expose())
        .stdin(Stdio::null()));
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("pending: 1 (run `cargo db migrate`)"), "{out}");
    // The plain binary keeps its own name.
    let (_, out, _) = run(strata(root)
        .arg("status")
        .env("DATABASE_URL", db.url().expose())
        .stdin(Stdio::null()));
    assert!(out.contains("pending: 1 (run `strata migrate`)"), "{out}");
}
