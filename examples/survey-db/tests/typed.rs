//! The generated types at work: in a copy of this example, a column renamed or retyped in the
//! declared files and taken in by `generate` stops `cargo build` with an error that names it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use strata_testkit::{TestDb, server};

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

/// The example's crate, standing alone: its workspace settings written out, the workspace's
/// dependency versions (Cargo.lock), profile and target folder, so that only it is compiled.
fn standalone_copy(to: &Path) {
    for part in [
        "strata.toml",
        "schemas",
        "schema-migrations",
        "data-migrations",
        "data",
        "src",
    ] {
        let from = manifest_dir().join(part);
        if from.is_dir() {
            copy_dir(&from, &to.join(part));
        } else {
            std::fs::copy(&from, to.join(part)).unwrap();
        }
    }
    let repo = manifest_dir().join("../..").canonicalize().unwrap();
    let workspace = std::fs::read_to_string(repo.join("Cargo.toml")).unwrap();
    let profile = &workspace[workspace.find("[profile.dev]").unwrap()..];
    let mut manifest = format!(
        "[package]\nname = \"survey-db\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\n\
         strata = {{ package = \"strata-pg\", path = {:?}, features = [\"aws\"] }}\n\
         serde = {{ version = \"1\", features = [\"derive\"] }}\n\
         serde_json = \"1\"\n\n[workspace]\n\n{profile}",
        repo.join("crates/strata").display().to_string()
    );
    // Outside the workspace its crates would fall under `package."*"`: keep the members' settings.
    for member in ["strata-pg", "strata-pg-core"] {
        manifest.push_str(&format!(
            "\n[profile.dev.package.{member}]\nopt-level = 0\ndebug = \"line-tables-only\"\n"
        ));
    }
    std::fs::write(to.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(repo.join("Cargo.lock"), to.join("Cargo.lock")).unwrap();
}

fn target_dir() -> PathBuf {
    // <target>/debug/survey-db
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_survey-db"));
    bin.parent().unwrap().parent().unwrap().to_path_buf()
}

/// `cargo build` of the copy: (success, stderr).
fn build(dir: &Path) -> (bool, String) {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--offline", "--message-format", "short"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("RUSTFLAGS")
        .output()
        .expect("running cargo");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The example's command line in the copy, against `db`.
fn survey_db(dir: &Path, db: &TestDb, args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_survey-db"))
        .current_dir(dir)
        .args(args)
        .env("DATABASE_URL", db.url().expose())
        .env("STRATA_DEV_URL", server().url().expose())
        .stdin(Stdio::null())
        .output()
        .expect("running survey-db");
    (
        output.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} holds no `{from}`", path.display());
    std::fs::write(path, text.replace(from, to)).unwrap();
}

#[tokio::test]
async fn a_renamed_or_retyped_column_stops_the_build() {
    let copy = tempfile::tempdir().unwrap();
    let dir = copy.path();
    standalone_copy(dir);
    let db = TestDb::new().await;

    // As committed, the generated file is what the declared files give, and the crate builds.
    let (code, out) = survey_db(dir, &db, &["codegen", "--check"]);
    assert_eq!(code, 0, "{out}");
    let (built, err) = build(dir);
    assert!(built, "the example does not build:\n{err}");

    // Rename questions.batteries.prefix: generate writes the migration and the new types.
    edit(
        &dir.join("schemas/questions/schema.sql"),
        "prefix text NOT NULL",
        "code_prefix text NOT NULL",
    );
    let (code, out) = survey_db(
        dir,
        &db,
        &[
            "generate",
            "--name",
            "code_prefix",
            "--rename",
            "questions.batteries.prefix=code_prefix",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let schema = std::fs::read_to_string(dir.join("src/schema.rs")).unwrap();
    assert!(schema.contains("pub code_prefix: String,"), "{schema}");
    let (built, err) = build(dir);
    assert!(!built, "the build passed with a renamed column");
    assert!(
        err.contains("struct `NewBatteries` has no field named `prefix`")
            && err.contains("no associated item named `PREFIX`"),
        "{err}"
    );

    // The migrations follow the rename: the crate builds again.
    for file in [
        "src/data_migrations/questions/m0001_dem_characteristics.rs",
        "src/data_migrations/questions/m0002_battery_prefixes.rs",
    ] {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text
            .replace(
                "            prefix: data.battery.prefix,",
                "            code_prefix: data.battery.prefix,",
            )
            .replace("Batteries::PREFIX", "Batteries::CODE_PREFIX");
        std::fs::write(&path, text).unwrap();
    }
    let (built, err) = build(dir);
    assert!(built, "the fixed example does not build:\n{err}");

    // A type change: responses.respondents.cohort becomes an integer.
    edit(
        &dir.join("schemas/responses/schema.sql"),
        "cohort text",
        "cohort integer",
    );
    let (code, out) = survey_db(dir, &db, &["generate", "--name", "cohort_number"]);
    assert_eq!(code, 0, "{out}");
    let (built, err) = build(dir);
    assert!(!built, "the build passed with a retyped column");
    assert!(
        err.contains("m0002_pilot_cohort.rs") && err.contains("mismatched types"),
        "{err}"
    );
}
