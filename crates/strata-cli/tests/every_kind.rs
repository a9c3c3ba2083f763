//! A schema holding every kind of object strata models at once: `pull` writes files that
//! `push` turns into the same database (equal `pg_dump --schema-only`), and `inspect` names
//! nothing it would leave behind. (Its IN lists are over `text`: over `varchar` PostgreSQL's
//! first deparse is not what it reads back, so no route through text files can give equal
//! dumps; `strata/tests/fixpoint_sites.rs` checks that strata still sees them as equal.)

mod common;

use std::path::Path;
use std::process::Stdio;

use common::{run, strata};
use strata_testkit::{TestDb, server};

const EVERY_KIND: &str = r#"
DO $$ BEGIN CREATE ROLE strata_every_reader; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
GRANT USAGE ON SCHEMA public TO strata_every_reader;
COMMENT ON SCHEMA public IS 'the application''s shared things';
CREATE EXTENSION IF NOT EXISTS postgres_fdw WITH SCHEMA public;
COMMENT ON EXTENSION postgres_fdw IS 'remote reads';
COMMENT ON EXTENSION plpgsql IS 'for the triggers';

CREATE SCHEMA app;
COMMENT ON SCHEMA app IS 'the application';
CREATE COLLATION app.bytes (provider = libc, locale = 'C');
COMMENT ON COLLATION app.bytes IS 'byte order';
CREATE TYPE app.mood AS ENUM ('ok', 'meh');
CREATE FUNCTION app.mood_rank(app.mood) RETURNS integer LANGUAGE sql IMMUTABLE
  AS $f$SELECT CASE $1 WHEN 'ok' THEN 1 ELSE 0 END$f$;
CREATE CAST (app.mood AS integer) WITH FUNCTION app.mood_rank(app.mood) AS ASSIGNMENT;
COMMENT ON CAST (app.mood AS integer) IS 'ranks moods';
CREATE FUNCTION app.mood_above(app.mood, app.mood) RETURNS boolean LANGUAGE sql IMMUTABLE
  AS $f$SELECT app.mood_rank($1) > app.mood_rank($2)$f$;
CREATE OPERATOR app.>>> (FUNCTION = app.mood_above, LEFTARG = app.mood, RIGHTARG = app.mood);
COMMENT ON OPERATOR app.>>> (app.mood, app.mood) IS 'happier';
CREATE AGGREGATE app.tally(*) (SFUNC = int8inc, STYPE = bigint, INITCOND = '0');
COMMENT ON AGGREGATE app.tally(*) IS 'counts rows';
CREATE UNLOGGED SEQUENCE app.tickets;

CREATE TABLE app.base (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text COLLATE app.bytes,
  payload jsonb,
  mood app.mood,
  status text CHECK (status IN ('new', 'done'))
);
GRANT USAGE ON SEQUENCE app.base_id_seq TO strata_every_reader;
COMMENT ON SEQUENCE app.base_id_seq IS 'ids of base';
ALTER TABLE app.base ALTER COLUMN payload SET STORAGE EXTERNAL,
  ALTER COLUMN name SET (n_distinct = 100), ALTER COLUMN name SET STATISTICS 200,
  ALTER COLUMN payload SET COMPRESSION pglz;
CREATE INDEX base_name ON app.base (name);
ALTER TABLE app.base CLUSTER ON base_name;
CREATE STATISTICS app.base_stats (dependencies) ON name, mood FROM app.base;
CREATE STATISTICS app.base_open ON (status IN ('new', 'open')), mood FROM app.base;
COMMENT ON STATISTICS app.base_stats IS 'name and mood move together';

CREATE TABLE app.child (extra text) INHERITS (app.base);
ALTER TABLE app.child ALTER COLUMN status SET DEFAULT 'new';
CREATE TABLE app.log (item integer, at timestamptz DEFAULT now());
CREATE RULE log_insert AS ON INSERT TO app.base WHERE new.status IN ('new', 'open')
  DO ALSO INSERT INTO app.log (item) VALUES (new.id);
COMMENT ON RULE log_insert ON app.base IS 'an audit trail';

CREATE VIEW app.names AS SELECT id, name, status FROM app.base;
ALTER VIEW app.names ALTER COLUMN status SET DEFAULT 'new';
GRANT SELECT (id, name) ON app.names TO strata_every_reader;
CREATE RULE names_delete AS ON DELETE TO app.names DO INSTEAD NOTHING;
CREATE VIEW app.counted AS SELECT item AS id FROM app.log;
CREATE FUNCTION app.log_size() RETURNS bigint LANGUAGE sql STABLE BEGIN ATOMIC SELECT count(*) FROM app.counted; END;
CREATE OR REPLACE VIEW app.counted AS SELECT item AS id, app.log_size() AS total FROM app.log;

CREATE SERVER remote FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'db.internal', dbname 'orders');
GRANT USAGE ON FOREIGN SERVER remote TO strata_every_reader;
CREATE USER MAPPING FOR PUBLIC SERVER remote OPTIONS (user 'reader');
CREATE FOREIGN TABLE app.remote_orders (id integer OPTIONS (column_name 'order_id'), total numeric)
  SERVER remote OPTIONS (table_name 'orders');
COMMENT ON FOREIGN TABLE app.remote_orders IS 'read remotely';

CREATE TABLE app.events (id integer, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE app.events_2026 PARTITION OF app.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
ALTER TABLE app.events ADD COLUMN kind text NOT NULL DEFAULT 'click';
"#;

fn strata_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    run(strata(dir)
        .args(args)
        .env("STRATA_DEV_URL", server().url().expose())
        .stdin(Stdio::null()))
}

/// `pg_dump --schema-only` without comments, settings and blank lines; `None` when the
/// machine's pg_dump is older than the server (it refuses: the PostgreSQL 18 leg of the tests
/// has server binaries only), where the catalog comparison below still stands.
fn dump(db: &TestDb) -> Option<String> {
    let out = std::process::Command::new("pg_dump")
        .args(["--schema-only", "--no-owner", "-d", db.url().expose()])
        .output()
        .expect("running pg_dump");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("server version mismatch") {
        eprintln!("pg_dump is older than the server: dumps not compared ({stderr})");
        return None;
    }
    assert!(out.status.success(), "pg_dump: {stderr}");
    let text = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| {
            !l.starts_with("--")
                && !l.starts_with("SET ")
                && !l.starts_with("SELECT pg_catalog.set_config")
                && !l.starts_with("\\restrict")
                && !l.starts_with("\\unrestrict")
                && !l.trim().is_empty()
        })
        .collect::<Vec<_>>()
        .join("\n");
    Some(text)
}

#[tokio::test]
async fn every_kind_survives_pull_and_push_and_none_is_unmodelled() {
    let original = TestDb::new().await;
    original
        .client()
        .await
        .batch_execute(EVERY_KIND)
        .await
        .unwrap();
    let copy = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();

    // inspect's census: nothing strata would leave behind.
    let (code, out, err) = strata_in(
        dir.path(),
        &["inspect", "--strict", "--url", original.url().expose()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
    assert!(out.contains("catalog hash"), "{out}");

    let (code, _, err) = strata_in(
        dir.path(),
        &["pull", "--strict", "--url", original.url().expose()],
    );
    assert_eq!(code, 0, "{err}");
    let app = std::fs::read_to_string(dir.path().join("schemas/app/schema.sql")).unwrap();
    // Each kind is written (a sample of what a lossy pull dropped before).
    for expected in [
        "CREATE COLLATION \"app\".\"bytes\"",
        "CREATE CAST (app.mood AS integer)",
        "CREATE AGGREGATE \"app\".\"tally\"(*)",
        "CREATE UNLOGGED SEQUENCE \"app\".\"tickets\"",
        "GRANT USAGE ON SEQUENCE \"app\".\"base_id_seq\"",
        "SET STORAGE EXTERNAL",
        "CLUSTER ON \"base_name\"",
        "CREATE STATISTICS app.base_stats",
        "CREATE RULE log_insert",
        "ALTER VIEW \"app\".\"names\" ALTER COLUMN \"status\" SET DEFAULT",
        "CREATE SERVER \"remote\"",
        "CREATE USER MAPPING FOR PUBLIC SERVER \"remote\"",
        "CREATE FOREIGN TABLE \"app\".\"remote_orders\"",
        // A view that reads itself through a function: a stand-in first.
        "CREATE VIEW \"app\".\"counted\" AS\nSELECT NULL::integer AS \"id\"",
    ] {
        assert!(app.contains(expected), "{expected} is missing from:\n{app}");
    }
    // The child declares only its own column: the parent's come from the parent.
    assert!(
        app.contains(
            "CREATE TABLE \"app\".\"child\" (\n    \"extra\" text\n) INHERITS (\"app\".\"base\")"
        ),
        "{app}"
    );
    let public = std::fs::read_to_string(dir.path().join("schemas/public/schema.sql")).unwrap();
    assert!(
        public.contains("GRANT USAGE ON SCHEMA \"public\" TO \"strata_every_reader\"")
            && public.contains("COMMENT ON SCHEMA \"public\" IS")
            && public.contains("COMMENT ON EXTENSION \"plpgsql\" IS 'for the triggers'"),
        "{public}"
    );

    let (code, _, err) = strata_in(
        dir.path(),
        &["push", "--strict", "--url", copy.url().expose()],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(dump(&copy), dump(&original));
    // The catalogs (compared at their fixed point) are the same, whatever pg_dump can read.
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
    let (code, out, err) = strata_in(dir.path(), &["push", "--url", original.url().expose()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("nothing to do"), "{out}");
}

#[tokio::test]
async fn a_circle_through_a_materialized_view_is_named_never_written() {
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute(
            "CREATE SCHEMA app;
             CREATE VIEW app.v AS SELECT 1 AS n;
             CREATE MATERIALIZED VIEW app.m AS SELECT n FROM app.v;
             CREATE FUNCTION app.f() RETURNS bigint LANGUAGE sql STABLE BEGIN ATOMIC SELECT count(*) FROM app.m; END;
             CREATE OR REPLACE VIEW app.v AS SELECT 1 AS n, app.f() AS total;",
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = strata_in(dir.path(), &["pull", "--url", db.url().expose()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("depend on each other in a circle")
            && err.contains("materialized view")
            && err.contains("\"app\".\"m\""),
        "{err}"
    );
    assert!(!dir.path().join("schemas").exists());
}
