//! `strata inspect` end to end: which database (URL precedence), JSON, census and --strict.

mod common;

use std::fs;

use common::{StopOnDrop, run, strata};
use strata_testkit::TestDb;

async fn db_with_table(table: &str) -> TestDb {
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute(&format!("CREATE TABLE public.{table} (id int)"))
        .await
        .unwrap();
    db
}

fn tables(json: &str) -> Vec<String> {
    let catalog: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    catalog["tables"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[tokio::test]
async fn url_precedence_flag_then_environment_then_config_file() {
    let (flag, env, file, dotenv) = (
        db_with_table("from_flag").await,
        db_with_table("from_env").await,
        db_with_table("from_file").await,
        db_with_table("from_dotenv").await,
    );
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("strata.toml"),
        format!("[database]\nurl = \"{}\"\n", file.url().expose()),
    )
    .unwrap();
    let inspect = |extra: &[&str], env_url: Option<&str>| {
        let mut command = strata(dir.path());
        command.args(["inspect", "--json"]).args(extra);
        if let Some(url) = env_url {
            command.env("DATABASE_URL", url);
        }
        let (code, out, err) = run(&mut command);
        assert_eq!(code, 0, "{err}");
        tables(&out)
    };
    assert_eq!(
        inspect(&["--url", flag.url().expose()], Some(env.url().expose())),
        ["public.from_flag"]
    );
    assert_eq!(inspect(&[], Some(env.url().expose())), ["public.from_env"]);
    assert_eq!(inspect(&[], None), ["public.from_file"]);
    // .env counts as the environment, below a variable that is really set.
    fs::write(
        dir.path().join(".env"),
        format!("DATABASE_URL={}\n", dotenv.url().expose()),
    )
    .unwrap();
    assert_eq!(inspect(&[], None), ["public.from_dotenv"]);
    assert_eq!(inspect(&[], Some(env.url().expose())), ["public.from_env"]);
}

#[tokio::test]
async fn summary_hash_and_schema_filter() {
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute(
            "CREATE SCHEMA questions; CREATE SCHEMA analytics;
             CREATE TABLE questions.batteries (id serial PRIMARY KEY, name text UNIQUE NOT NULL);
             CREATE TABLE analytics.events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(strata(dir.path()).args(["inspect", "--url", db.url().expose()]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("schema questions\n  table batteries  (2 columns, primary key, 1 unique constraint, 2 indexes)"), "{out}");
    assert!(out.contains("catalog hash: sha256:"), "{out}");
    let (_, again, _) = run(strata(dir.path()).args(["inspect", "--url", db.url().expose()]));
    assert_eq!(out, again, "the summary and hash are deterministic");

    let (code, out, _) = run(strata(dir.path()).args([
        "inspect",
        "--json",
        "--schema",
        "analytics",
        "--url",
        db.url().expose(),
    ]));
    assert_eq!(code, 0);
    assert_eq!(tables(&out), ["analytics.events"]);
}

#[tokio::test]
async fn unmodelled_objects_warn_and_strict_refuses() {
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute("CREATE TABLE public.t (a int, b int); CREATE TEXT SEARCH CONFIGURATION public.plain (COPY = pg_catalog.simple);")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(strata(dir.path()).args(["inspect", "--url", db.url().expose()]));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning") && err.contains("text search configuration public.plain"),
        "{err}"
    );
    assert!(out.contains("table t"), "{out}");

    let (code, out, err) =
        run(strata(dir.path()).args(["inspect", "--strict", "--url", db.url().expose()]));
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains("text search configuration public.plain") && err.contains("--strict"),
        "{err}"
    );
    assert!(out.is_empty(), "{out}");
}

#[test]
fn no_url_means_the_development_database() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("strata.toml"), "").unwrap();
    let _stop = StopOnDrop(dir.path().to_path_buf());
    let (code, out, err) = run(strata(dir.path()).arg("inspect"));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("started the development database"), "{err}");
    assert!(out.contains("schema public"), "{out}");
}

#[test]
fn connection_errors_are_exit_2_and_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) =
        run(strata(dir.path()).args(["inspect", "--url", "postgres://u:pa55word@127.0.0.1:1/x"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("postgres://u:***@127.0.0.1:1/x") && !err.contains("pa55word"),
        "{err}"
    );
}
