//! Running the real `strata` binary in a project folder of its own.

#![allow(dead_code)]

pub mod cargo;
pub mod live;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test: this build's, or `STRATA_TEST_BIN` (to run the tests against another
/// build, say the one before a fix, and see them fail).
pub fn strata_bin() -> PathBuf {
    std::env::var_os("STRATA_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_strata")))
}

/// `strata` with a clean environment (none of the caller's database settings), run in `dir`.
pub fn strata(dir: &Path) -> Command {
    command(strata_bin(), dir)
}

/// A program with a clean environment (none of the caller's database settings), run in `dir`.
pub fn command(program: impl AsRef<std::ffi::OsStr>, dir: &Path) -> Command {
    let mut command = Command::new(program);
    command.current_dir(dir);
    for var in [
        "DATABASE_URL",
        "STRATA_DEV_URL",
        "STRATA_PG_USER",
        "PGDATA",
        "PGPORT",
        "PGHOST",
    ] {
        command.env_remove(var);
    }
    command
}

/// Runs and returns (exit code, stdout, stderr).
pub fn run(command: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("running strata");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// `strata <args>` in `dir` against `db`, scratch databases on the test server, no terminal.
pub fn on(dir: &Path, db: &strata_testkit::TestDb, args: &[&str]) -> (i32, String, String) {
    run(strata(dir)
        .args(args)
        .env("DATABASE_URL", db.url().expose())
        .env("STRATA_DEV_URL", strata_testkit::server().url().expose())
        .stdin(std::process::Stdio::null()))
}

/// Stops the project's development cluster when the test ends, passed or failed.
pub struct StopOnDrop(pub PathBuf);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = strata(&self.0).args(["dev", "stop"]).output();
    }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc_geteuid() == 0 }
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// Declares the seed's example: `schemas/questions/schema.sql` (the text given) and
/// `schemas/analytics/schema.sql` (an `events` table).
pub fn declare(root: &Path, questions: &str) {
    std::fs::create_dir_all(root.join("schemas/questions")).unwrap();
    std::fs::create_dir_all(root.join("schemas/analytics")).unwrap();
    std::fs::write(root.join("schemas/questions/schema.sql"), questions).unwrap();
    std::fs::write(
        root.join("schemas/analytics/schema.sql"),
        "CREATE SCHEMA analytics;\nCREATE TABLE analytics.events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, at timestamptz DEFAULT now());\n",
    )
    .unwrap();
}

/// The seed's `questions` schema, first version.
pub const V1: &str = "CREATE SCHEMA questions;\n\
CREATE TYPE questions.kind AS ENUM ('single', 'multi');\n\
CREATE TABLE questions.batteries (\n  id serial PRIMARY KEY,\n  label text NOT NULL UNIQUE,\n  prefix varchar(10)\n);\n\
CREATE TABLE questions.questions (\n  id serial PRIMARY KEY,\n  battery_id int NOT NULL REFERENCES questions.batteries (id),\n  code text NOT NULL,\n  kind questions.kind NOT NULL DEFAULT 'single'\n);\n";

/// The one text value a query returns.
pub async fn one(db: &strata_testkit::TestDb, sql: &str) -> String {
    db.client().await.query_one(sql, &[]).await.unwrap().get(0)
}

/// The one integer a query returns.
pub async fn count(db: &strata_testkit::TestDb, sql: &str) -> i64 {
    db.client().await.query_one(sql, &[]).await.unwrap().get(0)
}
