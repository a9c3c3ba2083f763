//! `--json` on every command: one document on standard output, parsed here with a JSON parser
//! and held to the shapes documented in docs/json.md (the key sets below are that document's
//! snapshot). Errors under `--json` are documents too, with the usual exit codes.

mod common;

use std::fs;
use std::path::Path;
use std::process::Stdio;

use common::{V1, declare, run, strata};
use serde_json::Value;
use strata_testkit::{TestDb, server};

/// `strata --json <args>` in `dir` against `db`: exit code and the parsed document. Standard
/// output must hold exactly one JSON document.
fn json(dir: &Path, db: &TestDb, args: &[&str]) -> (i32, Value) {
    let (code, out, err) = run(strata(dir)
        .arg("--json")
        .args(args)
        .env("DATABASE_URL", db.url().expose())
        .env("STRATA_DEV_URL", server().url().expose())
        .stdin(Stdio::null()));
    let value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("strata {args:?}: not one JSON document ({e}):\n{out}\n{err}"));
    (code, value)
}

/// The keys of an object, sorted: the shape a test pins.
fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn array(value: &Value) -> &Vec<Value> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
}

/// `2026-12-02T13:32:44.123456Z`.
fn is_rfc3339_utc(text: &str) -> bool {
    let b = text.as_bytes();
    text.len() == 27
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[26] == b'Z'
        && text.chars().filter(|c| c.is_ascii_digit()).count() == 20
}

fn assert_step(step: &Value) {
    assert_eq!(
        keys(step),
        ["hazards", "object", "sql", "transactional"],
        "{step}"
    );
    assert!(step["sql"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(step["transactional"].is_boolean());
    array(&step["hazards"]);
}

#[tokio::test]
async fn every_command_prints_its_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = TestDb::new().await;
    fs::write(root.join("strata.toml"), "").unwrap();
    declare(root, V1);

    // generate: the files written and the full statements.
    let (code, doc) = json(root, &db, &["generate", "--name", "init"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(keys(&doc), ["steps", "written"]);
    assert_eq!(
        doc["written"],
        serde_json::json!([
            "schema-migrations/0001_init.sql",
            "schema-migrations/0001_init.down.sql"
        ])
    );
    let steps = array(&doc["steps"]);
    steps.iter().for_each(assert_step);
    // Whole statements, not their first lines.
    assert!(
        steps.iter().any(|s| {
            let sql = s["sql"].as_str().unwrap();
            sql.starts_with("CREATE TABLE") && sql.contains('\n') && sql.contains("battery_id")
        }),
        "{doc}"
    );
    let (code, doc) = json(root, &db, &["generate"]);
    assert_eq!(
        (code, doc),
        (0, serde_json::json!({ "written": [], "steps": [] }))
    );

    // diff and push --dry-run: plans.
    let (code, doc) = json(
        root,
        &db,
        &["diff", "--from", db.url().expose(), "--to", "schemas"],
    );
    assert_eq!(code, 0, "{doc}");
    assert_eq!(keys(&doc), ["from", "steps", "to"]);
    array(&doc["steps"]).iter().for_each(assert_step);
    let (code, doc) = json(root, &db, &["push", "--dry-run"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(
        keys(&doc),
        ["applied", "database", "dry_run", "refused", "steps"]
    );
    assert_eq!(doc["applied"], false);
    assert!(!array(&doc["steps"]).is_empty());

    // migrate: what ran, then status with RFC 3339 times.
    let (code, doc) = json(root, &db, &["migrate", "--dry-run"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["dry_run"], true);
    let (code, doc) = json(root, &db, &["migrate"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(keys(&doc), ["applied", "database", "dry_run"]);
    let applied = array(&doc["applied"]);
    assert_eq!(applied.len(), 1);
    assert_eq!(keys(&applied[0]), ["execution_ms", "file"]);
    assert_eq!(applied[0]["file"], "0001_init.sql");

    let (code, doc) = json(root, &db, &["status"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(
        keys(&doc),
        [
            "applied",
            "baseline",
            "database",
            "declared_changes",
            "drift",
            "pending",
            "problems",
            "rolled_back",
            "stopped"
        ]
    );
    let at = doc["applied"][0]["applied_at"].as_str().unwrap();
    assert!(is_rfc3339_utc(at), "{at}");
    assert_eq!(doc["declared_changes"], serde_json::json!([]));

    let (code, doc) = json(root, &db, &["check"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(
        keys(&doc),
        [
            "database",
            "findings",
            "irreversible",
            "pending",
            "rolled_back"
        ]
    );

    // rollback: what would run, then undone and applied again.
    let (code, doc) = json(root, &db, &["rollback", "--dry-run"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(
        keys(&doc),
        [
            "database",
            "downs",
            "dry_run",
            "losses",
            "refused",
            "rolled_back"
        ]
    );
    assert_eq!(array(&doc["downs"])[0]["file"], "0001_init.down.sql");
    let (code, doc) = json(root, &db, &["rollback", "--force"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(array(&doc["rolled_back"])[0]["file"], "0001_init.sql");
    // The migration is pending again: status says so (exit 1).
    let (code, doc) = json(root, &db, &["status"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["pending"], serde_json::json!(["0001_init.sql"]));
    let record = &array(&doc["rolled_back"])[0];
    let at = record["rolled_back_at"].as_str().unwrap();
    assert!(is_rfc3339_utc(at), "{at}");
    let (code, doc) = json(root, &db, &["migrate"]);
    assert_eq!(code, 0, "{doc}");

    // Drift: one finding per step, with the object and the full statement.
    db.client()
        .await
        .batch_execute("ALTER TABLE questions.batteries ADD COLUMN note text")
        .await
        .unwrap();
    let (code, doc) = json(root, &db, &["check"]);
    assert_eq!(code, 1, "{doc}");
    let findings = array(&doc["findings"]);
    assert!(!findings.is_empty());
    for finding in findings {
        assert_eq!(
            keys(finding),
            ["file", "kind", "line", "message", "object", "statement"]
        );
    }
    let drift = findings
        .iter()
        .find(|f| f["kind"] == "drift")
        .expect("a drift finding");
    assert_eq!(drift["object"], "questions.batteries.note");
    assert!(
        drift["statement"].as_str().unwrap().contains("note"),
        "{drift}"
    );
    // The database has a column the files lack, and push would drop it: status says so in full.
    let (code, doc) = json(root, &db, &["status"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["drift"], "drift");
    array(&doc["declared_changes"]).iter().for_each(assert_step);
    db.client()
        .await
        .batch_execute("ALTER TABLE questions.batteries DROP COLUMN note")
        .await
        .unwrap();

    // pull, inspect, sum.
    let (code, doc) = json(root, &db, &["pull", "--out", "pulled"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(keys(&doc), ["database", "written"]);
    assert!(
        array(&doc["written"])
            .iter()
            .any(|f| f == "pulled/questions/schema.sql"),
        "{doc}"
    );
    let (code, doc) = json(root, &db, &["inspect"]);
    assert_eq!(code, 0, "{doc}");
    assert!(
        doc["tables"].is_array() || doc["tables"].is_object(),
        "{doc}"
    );
    let (code, doc) = json(root, &db, &["sum"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(keys(&doc), ["migrations", "recorded", "written"]);
    assert_eq!(doc["written"], "schema-migrations/strata.sum");

    // Data migrations.
    let (code, doc) = json(root, &db, &["data", "new", "questions", "first"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(keys(&doc), ["name", "written"]);
    assert_eq!(doc["name"], "questions_0001_first");
    fs::write(
        root.join("data-migrations/questions/0001_first.up.sql"),
        "INSERT INTO questions.batteries (label) VALUES ('dem');",
    )
    .unwrap();
    fs::write(
        root.join("data-migrations/questions/0001_first.down.sql"),
        "DELETE FROM questions.batteries WHERE label = 'dem';",
    )
    .unwrap();
    let (code, doc) = json(root, &db, &["data", "migrate", "--dry-run"]);
    assert_eq!(code, 0, "{doc}");
    let ran = &array(&doc["applied"])[0];
    assert_eq!(keys(ran), ["execution_ms", "name", "rows"]);
    assert_eq!(ran["rows"][0]["table"], "questions.batteries");
    assert_eq!(ran["rows"][0]["inserted"], 1);
    let (code, doc) = json(root, &db, &["data", "migrate"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(
        keys(&doc),
        [
            "applied",
            "database",
            "dry_run",
            "ignored_missing",
            "left_alone"
        ]
    );
    assert_eq!(doc["applied"][0]["rows"], Value::Null);
    let (code, doc) = json(root, &db, &["data", "status"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(keys(&doc), ["database", "problems", "schemas"]);
    assert_eq!(
        keys(&doc["schemas"][0]),
        ["applied", "foreign", "missing", "pending", "schema"]
    );
    let at = doc["schemas"][0]["applied"][0]["applied_at"]
        .as_str()
        .unwrap();
    assert!(is_rfc3339_utc(at), "{at}");
    let (code, doc) = json(root, &db, &["data", "env"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(keys(&doc), ["database", "env"]);
    let (code, doc) = json(root, &db, &["data", "reset", "--yes"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(keys(&doc), ["database", "refused", "reset"]);
    assert_eq!(doc["reset"], serde_json::json!(["questions_0001_first"]));

    // up.
    let (code, doc) = json(root, &db, &["up"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(
        keys(&doc),
        ["data", "data_pending", "database", "dry_run", "schema"]
    );
    assert_eq!(array(&doc["data"]).len(), 1);

    // dev status, in a project whose development database was never created.
    let (code, doc) = json(root, &db, &["dev", "status"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["state"], "uninitialised");

    // A finding about a file names it.
    let file = root.join("schema-migrations/0001_init.sql");
    let text = fs::read_to_string(&file).unwrap();
    fs::write(&file, format!("{text}\n-- edited\n")).unwrap();
    let (code, doc) = json(root, &db, &["check"]);
    assert_eq!(code, 1, "{doc}");
    assert!(
        array(&doc["findings"])
            .iter()
            .any(|f| f["kind"] == "sum" && f["file"] == "schema-migrations/0001_init.sql"),
        "{doc}"
    );
    // Refused with that finding: an error document, exit 2 as without --json.
    let (code, doc) = json(root, &db, &["migrate"]);
    assert_eq!(code, 2, "{doc}");
    assert_eq!(doc["error"]["kind"], "invalid");
}

#[test]
fn init_prints_what_it_added() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(strata(dir.path()).args(["init", "db", "--json"]));
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(keys(&doc), ["added", "kept", "root"]);
    assert!(
        array(&doc["added"])
            .iter()
            .any(|a| a["file"] == "strata.toml"),
        "{doc}"
    );
    assert_eq!(doc["root"], "db");
    assert_eq!(keys(&doc["added"][0]), ["file", "what"]);
}

#[test]
fn aws_check_prints_the_identity() {
    let home = tempfile::tempdir().unwrap();
    let (code, out, err) = run(strata(home.path())
        .args(["aws", "check", "--json"])
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "AKIATEST")
        .env("AWS_SECRET_ACCESS_KEY", "not-shown")
        .env("AWS_REGION", "eu-central-1")
        .env("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
        .stdin(Stdio::null()));
    assert_eq!(code, 0, "{out}{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        keys(&doc),
        [
            "access_key_id",
            "account",
            "arn",
            "endpoint",
            "expires",
            "profile",
            "region"
        ]
    );
    assert_eq!(doc["access_key_id"], "AKIATEST");
    assert!(!out.contains("not-shown"));
}

/// The error document: `{"error": {"kind", "message", "file", "line"}}`, exit codes unchanged.
fn error_of(out: &str) -> Value {
    let doc: Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(keys(&doc), ["error"]);
    assert_eq!(keys(&doc["error"]), ["file", "kind", "line", "message"]);
    doc["error"].clone()
}

#[test]
fn errors_are_documents_on_standard_output() {
    let dir = tempfile::tempdir().unwrap();

    // Outside a project.
    let (code, out, err) = run(strata(dir.path()).args(["status", "--json"]));
    assert_eq!(code, 2, "{err}");
    let error = error_of(&out);
    assert_eq!(error["kind"], "no_project");
    assert_eq!(
        error["message"],
        "no strata.toml here or above; run `strata init`"
    );
    assert!(err.is_empty(), "{err}");

    // A configuration error names its file and line.
    fs::write(dir.path().join("strata.toml"), "[schema]\ndir = 1\n").unwrap();
    let (code, out, _) = run(strata(dir.path()).args(["--json", "status"]));
    assert_eq!(code, 2);
    let error = error_of(&out);
    assert_eq!(error["kind"], "config");
    assert_eq!(error["line"], 2);
    assert!(
        error["file"].as_str().unwrap().ends_with("strata.toml"),
        "{error}"
    );

    // Wrong arguments.
    let (code, out, _) = run(strata(dir.path()).args(["migrate", "--json", "--no-such-flag"]));
    assert_eq!(code, 2);
    assert_eq!(error_of(&out)["kind"], "usage");

    // A database that does not answer.
    fs::write(dir.path().join("strata.toml"), "").unwrap();
    let (code, out, _) = run(strata(dir.path()).args([
        "migrate",
        "--json",
        "--url",
        "postgres://u:secret@127.0.0.1:1/x",
    ]));
    assert_eq!(code, 2);
    let error = error_of(&out);
    assert_eq!(error["kind"], "connect");
    assert!(!out.contains("secret"), "{out}");
}
