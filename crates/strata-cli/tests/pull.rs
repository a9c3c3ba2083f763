//! `strata pull` round trip: pull from a database, push the files into an empty one, no diff.

mod common;

use std::process::Stdio;

use common::{run, strata};
use strata_testkit::{TestDb, server};

const RICH: &str = "
DO $$ BEGIN CREATE ROLE strata_pull_reader; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
CREATE SCHEMA questions; CREATE SCHEMA responses;
CREATE TYPE questions.kind AS ENUM ('single', 'multi');
CREATE TABLE questions.batteries (id serial PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE questions.questions (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, battery_id int NOT NULL REFERENCES questions.batteries ON DELETE CASCADE,
  code text NOT NULL CHECK (code <> ''), kind questions.kind NOT NULL DEFAULT 'single', updated_at timestamptz);
CREATE INDEX questions_code ON questions.questions (lower(code));
COMMENT ON TABLE questions.batteries IS 'Question batteries';
CREATE FUNCTION questions.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.updated_at := now(); RETURN NEW; END$$;
CREATE TRIGGER touch BEFORE UPDATE ON questions.questions FOR EACH ROW EXECUTE FUNCTION questions.touch();
CREATE TABLE responses.answers (id bigint GENERATED ALWAYS AS IDENTITY, question_id int REFERENCES questions.questions, at date NOT NULL, value jsonb,
  PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE responses.answers_2026 PARTITION OF responses.answers FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE VIEW responses.counts AS SELECT q.code, count(a.id) AS n FROM questions.questions q LEFT JOIN responses.answers a ON a.question_id = q.id GROUP BY q.code;
ALTER TABLE responses.answers ENABLE ROW LEVEL SECURITY;
CREATE POLICY readers ON responses.answers FOR SELECT TO strata_pull_reader USING (true);
GRANT USAGE ON SCHEMA questions TO strata_pull_reader;
GRANT SELECT ON questions.batteries TO strata_pull_reader;
";

fn strata_in(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    run(strata(dir)
        .args(args)
        .env("STRATA_DEV_URL", server().url().expose())
        .stdin(Stdio::null()))
}

#[tokio::test]
async fn pull_then_push_into_an_empty_database_gives_the_same_schema() {
    let original = TestDb::new().await;
    original.client().await.batch_execute(RICH).await.unwrap();
    let copy = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();

    let (code, out, err) = strata_in(dir.path(), &["pull", "--url", original.url().expose()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("schemas/questions/schema.sql")
            && out.contains("schemas/responses/schema.sql"),
        "{out}"
    );
    let questions =
        std::fs::read_to_string(dir.path().join("schemas/questions/schema.sql")).unwrap();
    assert!(
        questions.contains("CREATE TABLE \"questions\".\"batteries\""),
        "{questions}"
    );

    let (code, _, err) = strata_in(dir.path(), &["push", "--url", copy.url().expose()]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = strata_in(
        dir.path(),
        &[
            "diff",
            "--from",
            original.url().expose(),
            "--to",
            copy.url().expose(),
            "--exit-code",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), "-- No changes: the schemas are the same.");
    let (code, out, err) = strata_in(dir.path(), &["push", "--url", original.url().expose()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("nothing to do"), "{out}");

    // Pulling again changes nothing; a local edit is never overwritten without --force.
    let (code, out, _) = strata_in(dir.path(), &["pull", "--url", original.url().expose()]);
    assert_eq!(code, 0);
    assert!(out.contains("already matches"), "{out}");
    let path = dir.path().join("schemas/questions/schema.sql");
    std::fs::write(&path, questions.clone() + "-- my note\n").unwrap();
    let (code, _, err) = strata_in(dir.path(), &["pull", "--url", original.url().expose()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("differs from the database") && err.contains("--force"),
        "{err}"
    );
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .ends_with("-- my note\n")
    );
    let (code, _, err) = strata_in(
        dir.path(),
        &["pull", "--force", "--url", original.url().expose()],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), questions);
}

#[tokio::test]
async fn odd_schema_names_stay_inside_the_output_folder_and_round_trip() {
    let original = TestDb::new().await;
    let absolute = format!("/tmp/strata-pull-{}", std::process::id());
    let long = "n".repeat(63);
    let names = [
        "../../escape",
        absolute.as_str(),
        "a/b",
        ".hidden",
        "..",
        "we\"ird",
        "sp ace",
        "ünï 表",
        "select",
        long.as_str(),
        "100%",
    ];
    let client = original.client().await;
    for name in names {
        let schema = format!("\"{}\"", name.replace('"', "\"\""));
        client
            .batch_execute(&format!(
                "CREATE SCHEMA {schema}; CREATE TABLE {schema}.\"t\" (id int PRIMARY KEY)"
            ))
            .await
            .unwrap();
    }
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("project");
    std::fs::create_dir(&dir).unwrap();

    let (code, _, err) = strata_in(&dir, &["pull", "--url", original.url().expose()]);
    assert_eq!(code, 0, "{err}");
    assert!(!work.path().join("escape").exists(), "pull wrote outside");
    assert!(
        !std::path::Path::new(&absolute).exists(),
        "pull wrote to {absolute}"
    );
    let mut folders: Vec<String> = std::fs::read_dir(dir.join("schemas"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    folders.sort();
    assert_eq!(folders.len(), names.len(), "{folders:?}");
    for folder in &folders {
        assert!(
            !folder.starts_with('.') && !folder.contains('/'),
            "{folder}"
        );
        assert!(
            dir.join("schemas")
                .join(folder)
                .join("schema.sql")
                .is_file()
        );
    }

    // Pushed into an empty database, the pulled files recreate the same names.
    let copy = TestDb::new().await;
    let (code, _, err) = strata_in(&dir, &["push", "--url", copy.url().expose()]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = strata_in(
        &dir,
        &[
            "diff",
            "--from",
            original.url().expose(),
            "--to",
            copy.url().expose(),
            "--exit-code",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");

    // A schema folder that is a symbolic link to elsewhere is refused, and nothing is written.
    let linked = TestDb::new().await;
    linked
        .client()
        .await
        .batch_execute("CREATE SCHEMA linked; CREATE TABLE linked.t (id int)")
        .await
        .unwrap();
    let other = work.path().join("other");
    let outside = work.path().join("outside");
    std::fs::create_dir_all(other.join("schemas")).unwrap();
    std::fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, other.join("schemas/linked")).unwrap();
    let (code, _, err) = strata_in(&other, &["pull", "--url", linked.url().expose()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is a symbolic link"), "{err}");
    assert!(!outside.join("schema.sql").exists());
}
