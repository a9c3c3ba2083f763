//! Running the crate's own binary (strata's CLI with the survey registry) against a test database.

use std::process::{Command, Stdio};

use strata_testkit::{TestDb, server};

/// `survey-db <args>` in the crate's folder against `db`, with `env` added to a clean
/// environment: no `SURVEY_DATA_URL`, no `STRATA_ENV`, and no AWS login of the machine's user.
/// Returns (exit code, stdout, stderr).
pub fn survey_db(db: &TestDb, args: &[&str], env: &[(&str, String)]) -> (i32, String, String) {
    let home = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_survey-db"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env("DATABASE_URL", db.url().expose())
        .env("STRATA_DEV_URL", server().url().expose())
        .env_remove("STRATA_ENV")
        .env_remove("SURVEY_DATA_URL")
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .output()
        .expect("running survey-db");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
