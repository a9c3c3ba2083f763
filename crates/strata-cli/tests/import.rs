//! `strata import drizzle` end to end: Drizzle Kit, installed from npm, generates and applies the
//! seed's schema in two versions against a real server; strata then adopts the folder and the
//! database without running anything twice. Hand-written journals cover the mismatches.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

use common::{command, count, run};
use strata_testkit::TestDb;

/// The tests' copy of Drizzle Kit (the versions in `tests/drizzle/package.json`), installed once.
fn node_modules() -> &'static Path {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("drizzle-npm");
        let modules = home.join("node_modules");
        let wanted = fs::read_to_string(fixtures().join("package.json")).unwrap();
        let installed = fs::read_to_string(home.join("package.json")).unwrap_or_default();
        if installed == wanted && modules.join("drizzle-kit/bin.cjs").is_file() {
            return modules;
        }
        fs::create_dir_all(&home).unwrap();
        fs::write(home.join("package.json"), &wanted).unwrap();
        let out = command("npm", &home)
            .args(["install", "--no-audit", "--no-fund", "--no-package-lock"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("these tests need Node.js and npm to install drizzle-kit (`apt-get install nodejs npm`): {e}")
            });
        assert!(
            out.status.success(),
            "npm install of drizzle-kit failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        modules
    })
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/drizzle")
}

/// A project laid out as the seed's: `drizzle.config.ts`, `schema.ts` (version `v`), and
/// Drizzle Kit's migrations in `schema-migrations/`.
fn drizzle_project(v: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(node_modules(), dir.path().join("node_modules")).unwrap();
    fs::copy(
        fixtures().join("drizzle.config.ts"),
        dir.path().join("drizzle.config.ts"),
    )
    .unwrap();
    schema_version(dir.path(), v);
    dir
}

fn schema_version(dir: &Path, v: u32) {
    fs::copy(
        fixtures().join(format!("schema.v{v}.ts")),
        dir.join("schema.ts"),
    )
    .unwrap();
}

/// Runs drizzle-kit in `dir` against `db`; asserts it worked.
fn drizzle_kit(dir: &Path, db: &TestDb, args: &[&str]) -> String {
    let (code, out, err) = run(command("node", dir)
        .arg(node_modules().join("drizzle-kit/bin.cjs"))
        .args(args)
        .env("DATABASE_URL", db.url().expose())
        .stdin(Stdio::null()));
    assert_eq!(code, 0, "drizzle-kit {args:?}:\n{out}\n{err}");
    out
}

/// Drizzle Kit's two migrations of the seed's schema (versions 1 and 2), both generated; the
/// first applied, and the second too when `apply_second`.
fn drizzle_history(dir: &Path, db: &TestDb, apply_second: bool) {
    drizzle_kit(dir, db, &["generate", "--name", "init"]);
    drizzle_kit(dir, db, &["migrate"]);
    schema_version(dir, 2);
    drizzle_kit(dir, db, &["generate", "--name", "options"]);
    if apply_second {
        drizzle_kit(dir, db, &["migrate"]);
    }
}

fn cmd(dir: &Path, db: &TestDb, args: &[&str]) -> (i32, String, String) {
    common::on(dir, db, args)
}

fn strata_rows(db: &TestDb) -> impl std::future::Future<Output = i64> + '_ {
    count(db, "SELECT count(*) FROM public.strata_migrations")
}

#[tokio::test]
async fn a_drizzle_project_is_adopted_without_running_anything_twice() {
    let db = TestDb::new().await;
    let project = drizzle_project(1);
    let dir = project.path();
    drizzle_history(dir, &db, true);
    assert_eq!(
        count(&db, "SELECT count(*) FROM drizzle.__drizzle_migrations").await,
        2
    );
    // The seed's data migrations table, with a row its scripts wrote.
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE TABLE public.data_migrations (id serial primary key, name text not null unique, schema text not null, applied_at timestamp not null default now());
             INSERT INTO public.data_migrations (name, schema) VALUES ('questions_0001_dem_characteristics', 'questions');
             INSERT INTO questions.batteries (name) VALUES ('demographics');",
        )
        .await
        .unwrap();

    let (code, out, err) = cmd(dir, &db, &["import", "drizzle", "--pull"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("2 migrations in the journal")
            && out.contains("0000_init.sql")
            && out.contains("0001_options.sql")
            && out.matches("applied (hash matches)").count() == 2
            && out.contains("recorded 2 as applied")
            && out.contains("the database holds exactly what its 2 applied migrations give")
            && out.contains("public.data_migrations: 1 applied data migration kept as it is"),
        "{out}"
    );
    assert_eq!(strata_rows(&db).await, 2);
    // One statement per breakpoint, the same SQL.
    let init = fs::read_to_string(dir.join("schema-migrations/0000_init.sql")).unwrap();
    assert!(
        !init.contains("statement-breakpoint")
            && init.contains("CREATE TABLE \"questions\".\"batteries\"")
            && dir.join("schema-migrations/strata.sum").is_file(),
        "{init}"
    );
    // pull wrote the declared files, and not Drizzle Kit's own schema.
    assert!(dir.join("schemas/questions/schema.sql").is_file());
    assert!(dir.join("schemas/analytics/schema.sql").is_file());
    assert!(!dir.join("schemas/drizzle").exists());

    let (code, out, err) = cmd(dir, &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("nothing to do"), "{out}");
    let (code, out, err) = cmd(dir, &db, &["check"]);
    assert_eq!(code, 0, "check is clean after the import:\n{out}\n{err}");
    let (code, out, err) = cmd(dir, &db, &["status"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("drift: none"),
        "the import recorded the catalog hash: {out}"
    );
    let (code, out, err) = cmd(dir, &db, &["generate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("nothing to do"), "{out}");
    // The data is where it was.
    assert_eq!(
        count(&db, "SELECT count(*) FROM questions.batteries").await,
        1
    );

    // A further declared change generates and applies as in any strata project.
    let questions = dir.join("schemas/questions/schema.sql");
    let text = fs::read_to_string(&questions).unwrap();
    fs::write(
        &questions,
        format!("{text}\nCREATE TABLE questions.notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text NOT NULL);\n"),
    )
    .unwrap();
    let (code, out, err) = cmd(dir, &db, &["generate", "--name", "notes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("0002_notes.sql"), "{out}");
    let (code, out, err) = cmd(dir, &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied 1 migration"), "{out}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'questions' AND tablename = 'notes'"
        )
        .await,
        1
    );
    let (code, out, err) = cmd(dir, &db, &["check"]);
    assert_eq!(code, 0, "{out}\n{err}");
    // A second import is refused: the folder is strata's now.
    let (code, _, err) = cmd(dir, &db, &["import", "drizzle"]);
    assert_eq!(code, 2);
    assert!(err.contains("already holds strata migrations"), "{err}");
}

#[tokio::test]
async fn a_drizzle_migration_not_yet_applied_stays_pending() {
    let db = TestDb::new().await;
    let project = drizzle_project(1);
    let dir = project.path();
    drizzle_history(dir, &db, false);

    let (code, out, err) = cmd(dir, &db, &["import", "drizzle", "--pull"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("recorded 1 as applied")
            && out.contains("1 pending: `strata migrate` applies it")
            && out.contains("not pulled")
            && out.contains("run `strata migrate`, then `strata pull`"),
        "{out}"
    );
    assert!(
        !dir.join("schemas").exists(),
        "declared files from before the pending migration would be behind the history"
    );
    let (code, out, err) = cmd(dir, &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied 1 migration"), "{out}");
    assert!(err.contains("0001_options.sql"), "{err}");
    assert_eq!(strata_rows(&db).await, 2);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'questions' AND tablename = 'options'"
        )
        .await,
        1
    );
    // Drizzle Kit's history is left as it was; strata's is the one that moves on.
    assert_eq!(
        count(&db, "SELECT count(*) FROM drizzle.__drizzle_migrations").await,
        1
    );
    let (code, out, err) = cmd(dir, &db, &["pull"]);
    assert_eq!(code, 0, "{err}");
    let (code, out2, err) = cmd(dir, &db, &["check"]);
    assert_eq!(code, 0, "{out}\n{out2}\n{err}");
}

/// A hand-written Drizzle Kit folder: (tag, when, SQL) per entry.
fn journal(dir: &Path, entries: &[(&str, i64, &str)]) {
    let folder = dir.join("drizzle");
    fs::create_dir_all(folder.join("meta")).unwrap();
    let mut list = Vec::new();
    for (idx, (tag, when, sql)) in entries.iter().enumerate() {
        fs::write(folder.join(format!("{tag}.sql")), sql).unwrap();
        list.push(format!(
            "{{\"idx\": {idx}, \"version\": \"7\", \"when\": {when}, \"tag\": \"{tag}\", \"breakpoints\": true}}"
        ));
    }
    fs::write(
        folder.join("meta/_journal.json"),
        format!(
            "{{\"version\": \"7\", \"dialect\": \"postgresql\", \"entries\": [{}]}}",
            list.join(", ")
        ),
    )
    .unwrap();
}

fn sha256(text: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const A: &str = "CREATE SCHEMA \"app\";\n--> statement-breakpoint\nCREATE TABLE \"app\".\"a\" (\"id\" integer PRIMARY KEY);";
const B: &str = "CREATE TABLE \"app\".\"b\" (\"id\" integer PRIMARY KEY);";
const B_EDITED: &str = "CREATE TABLE \"app\".\"b\" (\"id\" integer PRIMARY KEY, \"note\" text);";
const C: &str = "CREATE TABLE \"app\".\"c\" (\"id\" integer PRIMARY KEY);";
const D: &str = "CREATE TABLE \"app\".\"d\" (\"id\" integer PRIMARY KEY);";

/// A database where Drizzle Kit applied A (as is), B (before its edit), and a file since
/// deleted; C, merged from another branch with an older `when`, was skipped; D is new.
async fn mismatched(db: &TestDb) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    journal(
        dir.path(),
        &[
            ("0000_a", 1000, A),
            ("0001_b", 2000, B_EDITED),
            ("0002_c", 1500, C),
            ("0003_d", 4000, D),
        ],
    );
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "CREATE SCHEMA app; CREATE TABLE app.a (id integer PRIMARY KEY); CREATE TABLE app.b (id integer PRIMARY KEY);
             CREATE SCHEMA drizzle;
             CREATE TABLE drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint);
             INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES
               ('{}', 1000), ('{}', 2000), ('{}', 3000);",
            sha256(A),
            sha256(B),
            sha256("a file since deleted")
        ))
        .await
        .unwrap();
    dir
}

#[tokio::test]
async fn mismatches_are_listed_and_nothing_is_written_without_force() {
    let db = TestDb::new().await;
    let project = mismatched(&db).await;
    let dir = project.path();

    let (code, out, err) = cmd(dir, &db, &["import", "drizzle"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("0001_b.sql: edited after it was applied (row 2")
            && err.contains("0002_c.sql: never applied, and its `when` (1500) is older than the newest applied migration (3000)")
            && err.contains("row 3 of the Drizzle history")
            && err.contains("matches no file")
            && err.contains("nothing was written")
            && err.contains("--force applied")
            && err.contains("--force pending"),
        "{err}"
    );
    assert!(
        out.contains("0000_a.sql") && out.contains("applied (hash matches)"),
        "{out}"
    );
    assert!(
        out.contains("0003_d.sql") && out.contains("pending"),
        "{out}"
    );
    assert!(!dir.join("schema-migrations").exists(), "no file written");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'strata_migrations'"
        )
        .await,
        0,
        "no history written"
    );

    // The dry run says the same and writes nothing either.
    let (code, out, _) = cmd(
        dir,
        &db,
        &["import", "drizzle", "--force", "applied", "--dry-run"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("dry run: nothing was written"), "{out}");
    assert!(!dir.join("schema-migrations").exists());
}

#[tokio::test]
async fn force_applied_trusts_the_database() {
    let db = TestDb::new().await;
    let project = mismatched(&db).await;
    let dir = project.path();
    let (code, out, err) = cmd(dir, &db, &["import", "drizzle", "--force", "applied"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("recorded 3 as applied") && out.contains("1 pending"),
        "{out}"
    );
    // C was recorded as applied, but Drizzle Kit never ran it: said, not hidden.
    assert!(
        out.contains("warning: the database differs from what its applied migrations give")
            && out.contains("DROP TABLE \"app\".\"c\""),
        "{out}"
    );
    assert_eq!(
        one_column(
            &db,
            "SELECT string_agg(version, ',' ORDER BY version) FROM public.strata_migrations"
        )
        .await,
        "0000,0001,0002"
    );
    let (code, out, err) = cmd(dir, &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("0003_d.sql") && out.contains("applied 1 migration"),
        "{out}\n{err}"
    );
}

#[tokio::test]
async fn force_pending_trusts_the_files() {
    let db = TestDb::new().await;
    let project = mismatched(&db).await;
    let dir = project.path();
    let (code, out, err) = cmd(dir, &db, &["import", "drizzle", "--force", "pending"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("recorded 1 as applied")
            && out.contains("3 pending: `strata migrate` applies them"),
        "{out}"
    );
    assert_eq!(strata_rows(&db).await, 1);
    // The edited B, the skipped C and the new D are left to strata.
    let (code, out, err) = cmd(dir, &db, &["migrate", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3 migrations would be applied"), "{out}");
}

#[tokio::test]
async fn a_skipped_migration_below_an_applied_one_needs_allow_out_of_order() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    // C was merged from another branch with an older `when` than B, which ran after A.
    journal(
        dir.path(),
        &[
            ("0000_a", 1000, A),
            ("0001_c", 1500, C),
            ("0002_b", 2000, B),
        ],
    );
    db.client()
        .await
        .batch_execute(&format!(
            "CREATE SCHEMA app; CREATE TABLE app.a (id integer PRIMARY KEY); CREATE TABLE app.b (id integer PRIMARY KEY);
             CREATE SCHEMA drizzle;
             CREATE TABLE drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint);
             INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('{}', 1000), ('{}', 2000);",
            sha256(A),
            sha256(B)
        ))
        .await
        .unwrap();
    let (code, out, err) = cmd(
        dir.path(),
        &db,
        &["import", "drizzle", "--force", "pending"],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("1 pending: `strata migrate --allow-out-of-order` applies it"),
        "{out}"
    );
    let (code, _, err) = cmd(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 2, "{err}");
    let (code, out, err) = cmd(dir.path(), &db, &["migrate", "--allow-out-of-order"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied 1 migration"), "{out}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'app'"
        )
        .await,
        3
    );
    let (code, _, err) = cmd(dir.path(), &db, &["pull"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = cmd(dir.path(), &db, &["check"]);
    assert_eq!(code, 0, "A, B and C applied and recorded: {out}{err}");
}

async fn one_column(db: &TestDb, sql: &str) -> String {
    common::one(db, sql).await
}

/// A hand-written Drizzle Kit folder with the journal's `idx` values as given: (idx, tag, when,
/// SQL) per entry.
fn journal_with(dir: &Path, entries: &[(usize, &str, i64, &str)]) {
    let folder = dir.join("drizzle");
    fs::create_dir_all(folder.join("meta")).unwrap();
    let mut list = Vec::new();
    for (idx, tag, when, sql) in entries {
        fs::write(folder.join(format!("{tag}.sql")), sql).unwrap();
        list.push(format!(
            "{{\"idx\": {idx}, \"version\": \"7\", \"when\": {when}, \"tag\": \"{tag}\", \"breakpoints\": true}}"
        ));
    }
    fs::write(
        folder.join("meta/_journal.json"),
        format!(
            "{{\"version\": \"7\", \"dialect\": \"postgresql\", \"entries\": [{}]}}",
            list.join(", ")
        ),
    )
    .unwrap();
}

/// Drizzle Kit's history table holding the hashes of `applied` (with their `when`).
async fn drizzle_rows(db: &TestDb, applied: &[(&str, i64)]) {
    let values: Vec<String> = applied
        .iter()
        .map(|(sql, when)| format!("('{}', {when})", sha256(sql)))
        .collect();
    db.client()
        .await
        .batch_execute(&format!(
            "CREATE SCHEMA drizzle;
             CREATE TABLE drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint);
             INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES {};",
            values.join(", ")
        ))
        .await
        .unwrap();
}

/// The `.sql` files and `strata.sum` in the project's migrations folder (none when it is gone).
fn strata_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir.join("schema-migrations"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn idx_gaps_follow_the_entries_and_files_outside_the_journal_are_named() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    // An entry deleted by hand left gaps; Drizzle Kit never looks at idx.
    journal_with(
        dir.path(),
        &[
            (0, "0000_a", 1000, A),
            (2, "0002_b", 2000, B),
            (5, "0005_c", 3000, C),
        ],
    );
    fs::write(dir.path().join("drizzle/0003_forgotten.sql"), D).unwrap();
    db.client()
        .await
        .batch_execute(
            "CREATE SCHEMA app; CREATE TABLE app.a (id integer PRIMARY KEY); CREATE TABLE app.b (id integer PRIMARY KEY);",
        )
        .await
        .unwrap();
    drizzle_rows(&db, &[(A, 1000), (B, 2000)]).await;

    let (code, out, err) = cmd(dir.path(), &db, &["import", "drizzle"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("the idx values (0, 2, 5) are not 0, 1, 2")
            && out.contains("in the order of the entries"),
        "{out}"
    );
    assert!(
        out.contains("0003_forgotten.sql is not in the journal"),
        "{out}"
    );
    assert!(
        out.contains("recorded 2 as applied") && out.contains("1 pending"),
        "{out}"
    );
    assert_eq!(
        strata_files(dir.path()),
        ["0000_a.sql", "0002_b.sql", "0005_c.sql", "strata.sum"]
    );
    let (code, out, err) = cmd(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied 1 migration"), "{out}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'app'"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn begin_and_commit_are_converted_and_the_history_matches_the_original_files() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    // Wrapped in a transaction of its own: runs in strata's.
    const WRAPPED: &str = "BEGIN;\n--> statement-breakpoint\nCREATE SCHEMA \"app\";\n--> statement-breakpoint\nCREATE TABLE \"app\".\"a\" (\"id\" integer PRIMARY KEY, \"code\" text);\n--> statement-breakpoint\nCOMMIT;";
    // Escaping Drizzle Kit's transaction for a concurrent build: applied already.
    const ESCAPED: &str = "COMMIT;\n--> statement-breakpoint\nCREATE INDEX CONCURRENTLY \"a_code\" ON \"app\".\"a\" (\"code\");\n--> statement-breakpoint\nBEGIN;";
    // The same, pending: strata runs it statement by statement.
    const PENDING: &str = "CREATE TABLE \"app\".\"b\" (\"id\" integer PRIMARY KEY);\nCOMMIT;\nCREATE INDEX CONCURRENTLY \"b_id\" ON \"app\".\"b\" (\"id\");\nBEGIN;";
    journal_with(
        dir.path(),
        &[
            (0, "0000_init", 1000, WRAPPED),
            (1, "0001_code_index", 2000, ESCAPED),
            (2, "0002_b", 3000, PENDING),
        ],
    );
    db.client()
        .await
        .batch_execute(
            "CREATE SCHEMA app; CREATE TABLE app.a (id integer PRIMARY KEY, code text); CREATE INDEX a_code ON app.a (code);",
        )
        .await
        .unwrap();
    drizzle_rows(&db, &[(WRAPPED, 1000), (ESCAPED, 2000)]).await;

    let (code, out, err) = cmd(dir.path(), &db, &["import", "drizzle"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("0000_init.sql: dropped BEGIN (line 1), COMMIT (line 7)")
            && out.contains("0001_code_index.sql: dropped COMMIT (line 1), BEGIN (line 5)")
            && out.contains("0002_b.sql: dropped COMMIT (line 2), BEGIN (line 4)")
            && out.contains("marked `-- strata:no-transaction`"),
        "{out}"
    );
    assert!(out.contains("recorded 2 as applied"), "{out}");
    let init = fs::read_to_string(dir.path().join("schema-migrations/0000_init.sql")).unwrap();
    assert!(
        !init.contains("BEGIN") && !init.contains("COMMIT") && !init.contains("no-transaction"),
        "{init}"
    );
    let index =
        fs::read_to_string(dir.path().join("schema-migrations/0001_code_index.sql")).unwrap();
    assert!(
        index.lines().nth(1) == Some("-- strata:no-transaction") && !index.contains("COMMIT"),
        "{index}"
    );

    let (code, out, err) = cmd(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("applied 1 migration"), "{out}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_index WHERE indexrelid = 'app.b_id'::regclass AND indisvalid"
        )
        .await,
        1
    );
    let (code, out, err) = cmd(dir.path(), &db, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[tokio::test]
async fn every_offending_file_is_named_with_its_line_and_nothing_is_written() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    journal_with(
        dir.path(),
        &[
            (0, "0000_a", 1000, A),
            (
                1,
                "0001_undo",
                2000,
                "CREATE TABLE \"app\".\"b\" (\"id\" integer);\n--> statement-breakpoint\n\nROLLBACK;",
            ),
            (
                2,
                "0002_savepoint",
                3000,
                "CREATE TABLE \"app\".\"c\" (\"id\" integer);\n  SAVEPOINT before_d;\n",
            ),
        ],
    );
    let (code, out, err) = cmd(dir.path(), &db, &["import", "drizzle"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("0001_undo.sql:4:1: `ROLLBACK` has no equivalent")
            && err.contains("0002_savepoint.sql:2:3: `SAVEPOINT BEFORE_D` has no equivalent")
            && err.contains("nothing was written"),
        "{err}"
    );
    assert!(strata_files(dir.path()).is_empty());
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'strata_migrations'"
        )
        .await,
        0
    );

    // A journal that is really damaged: the same tag twice.
    journal_with(
        dir.path(),
        &[(0, "0000_a", 1000, A), (1, "0000_a", 2000, A)],
    );
    let (code, _, err) = cmd(dir.path(), &db, &["import", "drizzle"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("entries 0 and 1 both have tag \"0000_a\""),
        "{err}"
    );
    assert!(strata_files(dir.path()).is_empty());
}

#[tokio::test]
async fn a_failure_while_writing_takes_back_what_was_written() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    journal_with(
        dir.path(),
        &[(0, "0000_a", 1000, A), (1, "0001_b", 2000, B)],
    );
    // The second file cannot be written: its temporary name is taken by a folder.
    fs::create_dir_all(dir.path().join("schema-migrations/.0001_b.sql.importing")).unwrap();
    let (code, out, err) = cmd(dir.path(), &db, &["import", "drizzle"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains(".0001_b.sql.importing"), "{err}");
    assert_eq!(strata_files(dir.path()), [".0001_b.sql.importing"]);
    assert_eq!(
        count(&db, "SELECT count(*) FROM public.strata_migrations").await,
        0,
        "the rows were rolled back"
    );
    fs::remove_dir(dir.path().join("schema-migrations/.0001_b.sql.importing")).unwrap();
    let (code, out, err) = cmd(dir.path(), &db, &["import", "drizzle"]);
    assert_eq!(code, 0, "the next try is not hindered: {out}\n{err}");
    assert_eq!(
        strata_files(dir.path()),
        ["0000_a.sql", "0001_b.sql", "strata.sum"]
    );
}

#[tokio::test]
async fn a_drizzle_history_kept_in_a_managed_schema_stays_out_of_every_catalog() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    const INIT: &str =
        "CREATE TABLE \"public\".\"users\" (\"id\" integer PRIMARY KEY, \"email\" text NOT NULL);";
    journal_with(dir.path(), &[(0, "0000_init", 1000, INIT)]);
    // `migrations: { table: "migrations", schema: "public" }` in drizzle.config.ts.
    db.client()
        .await
        .batch_execute(&format!(
            "CREATE TABLE public.users (id integer PRIMARY KEY, email text NOT NULL);
             CREATE TABLE public.migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint);
             INSERT INTO public.migrations (hash, created_at) VALUES ('{}', 1000);",
            sha256(INIT)
        ))
        .await
        .unwrap();

    // A table named that does not exist is an error that names it.
    let (code, _, err) = cmd(
        dir.path(),
        &db,
        &["import", "drizzle", "--table", "public.drizzle_history"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("has no table public.drizzle_history") && err.contains("nothing was written"),
        "{err}"
    );
    assert!(strata_files(dir.path()).is_empty());

    // Read from Drizzle Kit's config when --table is not given.
    fs::write(
        dir.path().join("drizzle.config.ts"),
        "export default defineConfig({\n  dialect: 'postgresql',\n  out: './drizzle',\n  migrations: { table: 'migrations', schema: 'public' },\n});\n",
    )
    .unwrap();
    let (code, out, err) = cmd(dir.path(), &db, &["import", "drizzle", "--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("migrations on")
            && out.contains("1 row")
            && out.contains("applied (hash matches)"),
        "{out}"
    );
    assert!(
        !dir.path().join("strata.toml").exists(),
        "a dry run writes nothing"
    );

    let (code, out, err) = cmd(
        dir.path(),
        &db,
        &[
            "import",
            "drizzle",
            "--table",
            "public.migrations",
            "--pull",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let config = fs::read_to_string(dir.path().join("strata.toml")).unwrap();
    assert!(
        config.contains("drizzle_table = \"public.migrations\""),
        "{config}"
    );
    let declared = fs::read_to_string(dir.path().join("schemas/public/schema.sql")).unwrap();
    assert!(
        declared.contains("users") && !declared.contains("migrations"),
        "{declared}"
    );
    assert!(
        out.contains("the database holds exactly what its 1 applied migration give"),
        "{out}"
    );
    let (code, out, err) = cmd(dir.path(), &db, &["generate"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("nothing to do"), "{out}");
    let (code, out, err) = cmd(dir.path(), &db, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
}
