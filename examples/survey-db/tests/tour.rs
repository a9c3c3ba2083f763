//! The README's ten-minute tour, run as written: every `sh` block of its section, in order, in a
//! copy of this example, on the embedded development database the tour's first command starts.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use strata_testkit::s3::s3;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `sh` blocks of the README's tour section.
fn tour_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(manifest_dir().join("../../README.md")).unwrap();
    let start = readme
        .find("\n## A ten-minute tour")
        .expect("the README has its tour");
    let end = readme[start + 1..]
        .find("\n## ")
        .map_or(readme.len(), |e| start + 1 + e);
    let mut blocks = Vec::new();
    let mut rest = &readme[start..end];
    while let Some(open) = rest.find("```sh\n") {
        let body = &rest[open + 6..];
        let close = body.find("\n```").expect("a closed block");
        blocks.push(body[..close].to_owned());
        rest = &body[close + 4..];
    }
    blocks
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

/// Stops the copy's development database however the test ends.
struct StopOnDrop(PathBuf);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = Command::new(env!("CARGO_BIN_EXE_survey-db"))
            .current_dir(&self.0)
            .args(["dev", "stop"])
            .output();
    }
}

#[test]
fn the_readme_tour_runs_as_written() {
    let blocks = tour_blocks();
    assert!(blocks.len() >= 6, "the tour's blocks: {blocks:?}");
    // The test stands in for `cargo db` with the binary the alias runs.
    let alias = std::fs::read_to_string(manifest_dir().join(".cargo/config.toml")).unwrap();
    assert!(alias.contains("db = \"run -q -p survey-db --\""), "{alias}");

    let root = tempfile::tempdir().unwrap();
    let example = root.path().join("examples/survey-db");
    std::fs::create_dir_all(&example).unwrap();
    for part in [
        "strata.toml",
        "schemas",
        "schema-migrations",
        "data-migrations",
        "data",
        ".cargo",
    ] {
        let from = manifest_dir().join(part);
        if from.is_dir() {
            copy_dir(&from, &example.join(part));
        } else {
            std::fs::copy(&from, example.join(part)).unwrap();
        }
    }
    let _stop = StopOnDrop(example.clone());

    // The bucket of step 7.
    let server = s3();
    for file in ["dem_characteristics.json", "pilot_respondents.json"] {
        server.put(
            "survey-data",
            &format!("v1/{file}"),
            &std::fs::read(manifest_dir().join("data").join(file)).unwrap(),
        );
    }

    let mut script = String::from(
        "set -euo pipefail\n\
         cargo() {\n  if [ \"$1\" != db ]; then echo \"the tour runs cargo db only\" >&2; return 1; fi\n  shift\n  \"$SURVEY_DB\" \"$@\"\n}\n",
    );
    for (i, block) in blocks.iter().enumerate() {
        script.push_str(&format!("echo '=== block {}'\n{block}\n", i + 1));
    }
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(&script)
        .current_dir(root.path())
        .env("SURVEY_DB", env!("CARGO_BIN_EXE_survey-db"))
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // No STS here: `aws check` warns that it cannot confirm the identity.
        .env("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
        .envs(server.env())
        .stdin(Stdio::null());
    for var in [
        "DATABASE_URL",
        "STRATA_DEV_URL",
        "STRATA_ENV",
        "SURVEY_DATA_URL",
        "AWS_PROFILE",
        "PGHOST",
        "PGPORT",
    ] {
        command.env_remove(var);
    }
    let output = command.output().expect("running bash");
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the tour stopped:\n--- stdout\n{out}\n--- stderr\n{err}"
    );

    let block = |n: usize| -> &str {
        let start = out
            .find(&format!("=== block {n}\n"))
            .unwrap_or_else(|| panic!("block {n} ran: {out}"));
        let end = out[start + 1..]
            .find("=== block ")
            .map_or(out.len(), |e| start + 1 + e);
        &out[start..end]
    };
    // 1: up from nothing, then nothing to do.
    assert!(
        block(1).contains("applied 1 schema migration and 5 data migrations")
            && block(1).contains("nothing to do")
            && block(1).contains("declared files: the database matches them"),
        "{}",
        block(1)
    );
    assert!(err.contains("started the development database"), "{err}");
    // 2 and 3: a new schema, then a change, each a reviewed migration.
    assert!(block(2).contains("0002_reports.sql"), "{}", block(2));
    assert!(
        block(3).contains("ADD COLUMN \"counted_at\"")
            && block(3).contains("0003_counted_at.sql")
            && block(3).contains("ok: 3 migrations")
            && block(3).contains("-- 0003_counted_at.down.sql")
            && block(3).contains("DROP COLUMN \"counted_at\""),
        "{}",
        block(3)
    );
    // 5 (6th block: the Rust one is not a shell block): per schema, dry run, reset, all.
    assert!(
        block(5).contains("reports.battery_counts: 1 inserted")
            && block(5).contains("reset 1 data migration")
            && block(5).contains("reports: 1 applied, 0 pending"),
        "{}",
        block(5)
    );
    // 6: from S3, after a reset of every schema's data.
    assert!(
        block(6).contains("reset 6 data migrations")
            && block(6).contains("applied 6 data migrations"),
        "{}",
        block(6)
    );

    // The database the tour left: S3's objects recorded, the reports computed.
    let url = Command::new(env!("CARGO_BIN_EXE_survey-db"))
        .current_dir(&example)
        .args(["dev", "url"])
        .output()
        .unwrap();
    let url = String::from_utf8(url.stdout).unwrap().trim().to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let inputs: String = client
            .query_one(
                "SELECT inputs::text FROM data_migrations WHERE name = 'questions_0001_dem_characteristics'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert!(
            inputs.contains("s3://survey-data/v1/dem_characteristics.json"),
            "{inputs}"
        );
        let counted: i64 = client
            .query_one("SELECT sum(questions) FROM reports.battery_counts", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(counted, 5, "the reports migration counted every question");
    });
}
