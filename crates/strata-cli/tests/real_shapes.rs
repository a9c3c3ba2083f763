//! What real applications declare, end to end with the real binary: shapes whose deparsed text
//! PostgreSQL reads back differently (`varchar_col IN (…)`, `ROW(…) IS DISTINCT FROM ROW(…)`).
//! Each one pushes into an empty database, pushes again with nothing to do, generates a first
//! migration that migrates a fresh database, generates nothing more, and checks clean.

mod common;

use std::path::Path;

use common::{on, run, strata};
use strata_testkit::{TestDb, server};

fn declare(root: &Path, sql: &str) {
    std::fs::create_dir_all(root.join("schemas/app")).unwrap();
    std::fs::write(
        root.join("schemas/app/schema.sql"),
        format!("CREATE SCHEMA app;\n{sql}"),
    )
    .unwrap();
}

/// The whole loop on `sql`, declared in schema `app`.
async fn round_trip(sql: &str) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    declare(root, sql);

    // push into an empty database, then again: nothing to do.
    let pushed = TestDb::new().await;
    let (code, out, err) = on(root, &pushed, &["push"]);
    assert_eq!(code, 0, "first push:\n{out}\n{err}");
    let (code, out, err) = on(root, &pushed, &["push"]);
    assert_eq!(code, 0, "second push:\n{out}\n{err}");
    assert!(
        out.starts_with("nothing to do"),
        "second push:\n{out}\n{err}"
    );

    // generate from an empty history, migrate a fresh database, nothing more to generate.
    let migrated = TestDb::new().await;
    let (code, out, err) = on(root, &migrated, &["generate"]);
    assert_eq!(code, 0, "generate:\n{out}\n{err}");
    assert!(out.contains("wrote"), "{out}");
    let (code, out, err) = on(root, &migrated, &["generate"]);
    assert_eq!(code, 0, "second generate:\n{out}\n{err}");
    assert!(
        out.starts_with("nothing to do"),
        "second generate:\n{out}\n{err}"
    );
    let (code, out, err) = on(root, &migrated, &["migrate"]);
    assert_eq!(code, 0, "migrate:\n{out}\n{err}");
    let (code, out, err) = on(root, &migrated, &["check"]);
    assert_eq!(code, 0, "check:\n{out}\n{err}");
    assert!(out.contains("ok:"), "{out}");
    // The pushed database agrees with the history too: nothing to push, nothing drifted.
    let (code, out, err) = on(root, &migrated, &["push"]);
    assert_eq!(code, 0, "push on the migrated database:\n{out}\n{err}");
    assert!(out.starts_with("nothing to do"), "{out}\n{err}");
    // (The pushed database has the migration pending: status says so with exit 1.)
    let (_, out, err) = on(root, &pushed, &["status"]);
    assert!(
        out.contains("declared files: the database matches them"),
        "status:\n{out}\n{err}"
    );

    // diff between the two databases finds nothing either.
    let (code, out, err) = run(strata(root)
        .args([
            "diff",
            "--from",
            pushed.url().expose(),
            "--to",
            migrated.url().expose(),
            "--schema",
            "app",
        ])
        .env("STRATA_DEV_URL", server().url().expose()));
    assert_eq!(code, 0, "diff:\n{out}\n{err}");
    assert!(out.contains("No changes"), "diff:\n{out}");
}

#[tokio::test]
async fn check_in_list_on_varchar() {
    // The example of the issue: the most ordinary constraint in web applications.
    round_trip(
        "CREATE TABLE app.orders (
  id integer PRIMARY KEY,
  status varchar(10) NOT NULL CHECK (status IN ('pending', 'shipped'))
);",
    )
    .await;
}

#[tokio::test]
async fn partial_index_with_in_list_on_varchar() {
    round_trip(
        "CREATE TABLE app.orders (id integer PRIMARY KEY, status varchar(10) NOT NULL, code char(3));
CREATE INDEX orders_open ON app.orders (id) WHERE status IN ('pending', 'packed');
CREATE UNIQUE INDEX orders_code ON app.orders (lower(status)) WHERE code IN ('abc', 'def');",
    )
    .await;
}

#[tokio::test]
async fn policies_and_views_with_in_lists() {
    round_trip(
        "CREATE TABLE app.orders (id integer PRIMARY KEY, status varchar(10) NOT NULL, owner text);
ALTER TABLE app.orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY visible ON app.orders FOR SELECT USING (status IN ('pending', 'shipped'));
CREATE POLICY writable ON app.orders FOR UPDATE USING (owner = current_user) WITH CHECK (status IN ('pending'));
CREATE VIEW app.open_orders AS SELECT id, status FROM app.orders WHERE status IN ('pending', 'packed');
CREATE MATERIALIZED VIEW app.order_counts AS SELECT status, count(*) AS n FROM app.orders WHERE status NOT IN ('void') GROUP BY status;",
    )
    .await;
}

#[tokio::test]
async fn domain_check_with_value_in_list() {
    round_trip(
        "CREATE DOMAIN app.order_status AS varchar(10) DEFAULT 'pending' CHECK (VALUE IN ('pending', 'shipped'));
CREATE TABLE app.orders (id integer PRIMARY KEY, status app.order_status NOT NULL);",
    )
    .await;
}

#[tokio::test]
async fn trigger_when_row_is_distinct_from_row() {
    round_trip(
        "CREATE TABLE app.accounts (id integer PRIMARY KEY, email varchar(200), name text, updated_at timestamptz);
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE TRIGGER accounts_touch BEFORE UPDATE ON app.accounts FOR EACH ROW
  WHEN (ROW(OLD.email, OLD.name, OLD.updated_at) IS DISTINCT FROM ROW(NEW.email, NEW.name, NEW.updated_at))
  EXECUTE FUNCTION app.touch();",
    )
    .await;
}

#[tokio::test]
async fn defaults_generated_columns_and_function_bodies() {
    round_trip(
        "CREATE TABLE app.items (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind varchar(10) NOT NULL DEFAULT 'book',
  tags varchar(20)[] NOT NULL DEFAULT ARRAY['new', 'hot']::varchar[],
  due timestamptz DEFAULT now() + interval '7 days',
  heavy boolean GENERATED ALWAYS AS (kind IN ('crate', 'pallet')) STORED,
  CONSTRAINT items_kind CHECK (CASE WHEN kind IN ('book', 'dvd') THEN true ELSE kind::text <> '' END)
);
CREATE FUNCTION app.is_media(k varchar DEFAULT 'book') RETURNS boolean LANGUAGE sql IMMUTABLE
  RETURN k IN ('book', 'dvd');
CREATE FUNCTION app.count_media() RETURNS bigint LANGUAGE sql STABLE
  BEGIN ATOMIC SELECT count(*) FROM app.items WHERE kind IN ('book', 'dvd'); END;",
    )
    .await;
}

#[tokio::test]
async fn a_rename_beside_other_new_columns_is_asked_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = TestDb::new().await;
    declare(
        root,
        "CREATE TABLE app.users (id integer PRIMARY KEY, label varchar(50) NOT NULL);",
    );
    let (code, _, err) = on(root, &db, &["push"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = on(root, &db, &["generate"]);
    assert_eq!(code, 0, "{err}");
    db.client()
        .await
        .batch_execute("INSERT INTO app.users VALUES (1, 'ada')")
        .await
        .unwrap();

    // `label` becomes `name` while two other columns come: off a terminal, both commands stop
    // with exit 1 and the flag that decides it, and nothing changes.
    declare(
        root,
        "CREATE TABLE app.users (id integer PRIMARY KEY, name text NOT NULL, created timestamptz, score integer);",
    );
    for command in ["push", "generate"] {
        let (code, out, err) = on(root, &db, &[command]);
        assert_eq!(code, 1, "{command}:\n{out}\n{err}");
        assert!(
            err.contains("--rename app.users.label=name"),
            "{command}:\n{err}"
        );
    }
    assert_eq!(
        std::fs::read_dir(root.join("schema-migrations"))
            .unwrap()
            .count(),
        3,
        "generate wrote nothing (one migration, its down file and strata.sum)"
    );
    assert_eq!(common::one(&db, "SELECT label FROM app.users").await, "ada");

    // Said so, the rename keeps the data.
    let (code, out, err) = on(root, &db, &["push", "--rename", "app.users.label=name"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("RENAME COLUMN"), "{out}");
    assert_eq!(common::one(&db, "SELECT name FROM app.users").await, "ada");
}
