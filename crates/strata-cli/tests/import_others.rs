//! `strata import prisma` and `strata import sqlx` end to end with the real binary. The tools'
//! folders and history tables are written by the tests as the tools document them (Prisma
//! Migrate: `prisma/migrations/<timestamp>_<name>/migration.sql` and `_prisma_migrations`, its
//! checksum the SHA-256 of the file; sqlx: `migrations/<version>_<description>.sql` and
//! `_sqlx_migrations`, its checksum the SHA-384 of the file).

mod common;

use std::fs;
use std::path::Path;

use common::count;
use sha2::Digest as _;
use strata_testkit::TestDb;

fn cmd(dir: &Path, db: &TestDb, args: &[&str]) -> (i32, String, String) {
    common::on(dir, db, args)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Prisma Migrate's history table, as `prisma migrate` creates it.
const PRISMA_TABLE: &str = "CREATE TABLE \"_prisma_migrations\" (
    \"id\" VARCHAR(36) NOT NULL,
    \"checksum\" VARCHAR(64) NOT NULL,
    \"finished_at\" TIMESTAMPTZ,
    \"migration_name\" VARCHAR(255) NOT NULL,
    \"logs\" TEXT,
    \"rolled_back_at\" TIMESTAMPTZ,
    \"started_at\" TIMESTAMPTZ NOT NULL DEFAULT now(),
    \"applied_steps_count\" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT \"_prisma_migrations_pkey\" PRIMARY KEY (\"id\")
);";

/// sqlx's history table, as `sqlx migrate run` creates it.
const SQLX_TABLE: &str = "CREATE TABLE _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
);";

const USERS: &str = "-- CreateTable\nCREATE TABLE \"User\" (\n    \"id\" SERIAL NOT NULL,\n    \"email\" TEXT NOT NULL,\n    CONSTRAINT \"User_pkey\" PRIMARY KEY (\"id\")\n);\n";
const POSTS: &str = "-- CreateTable\nCREATE TABLE \"Post\" (\n    \"id\" SERIAL NOT NULL,\n    \"authorId\" INTEGER NOT NULL,\n    CONSTRAINT \"Post_pkey\" PRIMARY KEY (\"id\")\n);\n\n-- AddForeignKey\nALTER TABLE \"Post\" ADD CONSTRAINT \"Post_authorId_fkey\" FOREIGN KEY (\"authorId\") REFERENCES \"User\"(\"id\") ON DELETE RESTRICT ON UPDATE CASCADE;\n";
const TAGS: &str = "-- CreateTable\nCREATE TABLE \"Tag\" (\n    \"id\" SERIAL NOT NULL,\n    CONSTRAINT \"Tag_pkey\" PRIMARY KEY (\"id\")\n);\n";

const PRISMA: &[(&str, &str)] = &[
    ("20240101000000_init", USERS),
    ("20240102000000_posts", POSTS),
    ("20240103000000_tags", TAGS),
];

/// A Prisma project whose database Prisma Migrate took through the first `applied` migrations.
async fn prisma_project(db: &TestDb, applied: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("prisma/migrations");
    for (name, sql) in PRISMA {
        fs::create_dir_all(folder.join(name)).unwrap();
        fs::write(folder.join(name).join("migration.sql"), sql).unwrap();
    }
    fs::write(
        folder.join("migration_lock.toml"),
        "provider = \"postgresql\"\n",
    )
    .unwrap();
    let client = db.client().await;
    client.batch_execute(PRISMA_TABLE).await.unwrap();
    for (name, sql) in &PRISMA[..applied] {
        client.batch_execute(sql).await.unwrap();
        client
            .execute(
                "INSERT INTO \"_prisma_migrations\" (id, checksum, finished_at, migration_name, applied_steps_count) \
                 VALUES (gen_random_uuid()::text, $1, now(), $2, 1)",
                &[&hex(&sha2::Sha256::digest(sql.as_bytes())), name],
            )
            .await
            .unwrap();
    }
    dir
}

async fn strata_history(db: &TestDb) -> i64 {
    count(
        db,
        "SELECT count(*) FROM pg_tables WHERE tablename = 'strata_migrations'",
    )
    .await
}

#[tokio::test]
async fn a_prisma_project_is_proven_then_recorded() {
    let db = TestDb::new().await;
    let project = prisma_project(&db, 2).await;
    let dir = project.path();

    let (code, out, err) = cmd(dir, &db, &["import", "prisma", "--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("20240101000000_init.sql") && out.contains("applied (checksum matches)"),
        "{out}"
    );
    assert!(!dir.join("schema-migrations").exists());
    assert_eq!(strata_history(&db).await, 0);

    let (code, out, err) = cmd(dir, &db, &["import", "prisma", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["recorded"], 2, "{out}");
    assert_eq!(doc["migrations"][2]["state"], "pending", "{out}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM public.strata_migrations WHERE catalog_hash IS NOT NULL AND version = '20240102000000'"
        )
        .await,
        1
    );
    let converted =
        fs::read_to_string(dir.join("schema-migrations/20240102000000_posts.sql")).unwrap();
    assert!(converted.ends_with(POSTS), "{converted}");

    let (code, out, err) = cmd(dir, &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied 1 migration"), "{out}");
    let (code, _, err) = cmd(dir, &db, &["pull"]);
    assert_eq!(code, 0, "{err}");
    let declared = fs::read_to_string(dir.join("schemas/public/schema.sql")).unwrap();
    assert!(
        declared.contains("\"Tag\"") && !declared.contains("_prisma_migrations"),
        "{declared}"
    );
    let (code, out, err) = cmd(dir, &db, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[tokio::test]
async fn a_prisma_database_that_differs_or_a_history_that_does_not_match_is_refused() {
    let db = TestDb::new().await;
    let project = prisma_project(&db, 2).await;
    let dir = project.path();
    db.client()
        .await
        .batch_execute("ALTER TABLE \"User\" ADD COLUMN \"name\" text")
        .await
        .unwrap();
    let (code, out, err) = cmd(dir, &db, &["import", "prisma"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("differs from what its 2 applied migrations give")
            && out.contains("\"name\"")
            && out.contains("nothing was written"),
        "{out}"
    );
    assert!(!dir.join("schema-migrations").exists());
    assert_eq!(strata_history(&db).await, 0);

    // A failed migration and a file edited after it ran: each named, nothing written.
    db.client()
        .await
        .batch_execute(
            "ALTER TABLE \"User\" DROP COLUMN \"name\";
             UPDATE \"_prisma_migrations\" SET finished_at = NULL WHERE migration_name = '20240102000000_posts';
             INSERT INTO \"_prisma_migrations\" (id, checksum, finished_at, migration_name) VALUES ('x', 'y', now(), '20231231000000_gone');",
        )
        .await
        .unwrap();
    fs::write(
        dir.join("prisma/migrations/20240101000000_init/migration.sql"),
        format!("{USERS}-- edited\n"),
    )
    .unwrap();
    let (code, _, err) = cmd(dir, &db, &["import", "prisma"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("20240101000000_init/migration.sql: changed after it was applied")
            && err.contains("20240102000000_posts/migration.sql: failed or unfinished")
            && err.contains("prisma migrate resolve")
            && err.contains("\"20231231000000_gone\" matches no file")
            && err.contains("nothing was written"),
        "{err}"
    );
    assert!(!dir.join("schema-migrations").exists());
    assert_eq!(strata_history(&db).await, 0);
}

#[tokio::test]
async fn a_sqlx_project_is_proven_then_recorded() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("migrations");
    fs::create_dir_all(&folder).unwrap();
    const USERS: &str = "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n";
    const INDEX: &str =
        "-- no-transaction\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n";
    let files = [
        ("0001_users.sql", 1i64, "users", USERS),
        ("0002_email_index.sql", 2, "email index", INDEX),
    ];
    for (file, _, _, sql) in &files {
        fs::write(folder.join(file), sql).unwrap();
    }
    fs::write(folder.join("0001_users.down.sql"), "DROP TABLE users;\n").unwrap();

    // strata's folder cannot be sqlx's own.
    fs::write(
        dir.path().join("strata.toml"),
        "[migrations]\ndir = \"migrations\"\n",
    )
    .unwrap();
    let (code, _, err) = cmd(dir.path(), &db, &["import", "sqlx"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("is sqlx's folder and strata's migrations folder at once"),
        "{err}"
    );
    assert!(!folder.join("strata.sum").exists());
    fs::remove_file(dir.path().join("strata.toml")).unwrap();

    // No history table: nothing to adopt, said so.
    let (code, _, err) = cmd(dir.path(), &db, &["import", "sqlx"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("has no public._sqlx_migrations"), "{err}");

    let client = db.client().await;
    client.batch_execute(SQLX_TABLE).await.unwrap();
    for (_, version, description, sql) in &files {
        client.batch_execute(sql).await.unwrap();
        client
            .execute(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES ($1, $2, true, $3, 1)",
                &[version, description, &sha2::Sha384::digest(sql.as_bytes()).to_vec()],
            )
            .await
            .unwrap();
    }

    let (code, out, err) = cmd(dir.path(), &db, &["import", "sqlx"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("recorded 2 as applied") && out.contains("0002_email_index.sql"),
        "{out}"
    );
    let index =
        fs::read_to_string(dir.path().join("schema-migrations/0002_email_index.sql")).unwrap();
    assert!(index.contains("\n-- strata:no-transaction\n"), "{index}");
    assert!(
        !dir.path()
            .join("schema-migrations/0001_users.down.sql")
            .exists()
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM public.strata_migrations").await,
        2
    );
    let (code, _, err) = cmd(dir.path(), &db, &["pull"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = cmd(dir.path(), &db, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = cmd(dir.path(), &db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("nothing to do"), "{out}");
}
