//! The survey database's data migrations through its own binary (strata's CLI with this crate's
//! registry), and the reversibility check of `strata::testing`, against a real server.

use std::path::Path;

mod common;

use common::survey_db;
use strata::data::{Context, DataMigration, DataResult, Migration};
use strata::testing::TestDatabase;
use strata_testkit::{TestDb, server};

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.client().await.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn schema_then_data_per_schema() {
    let db = TestDb::new().await;
    let (code, out, err) = survey_db(&db, &["migrate"], &[]);
    assert_eq!(code, 0, "{out}{err}");

    let (code, out, _) = survey_db(&db, &["data", "status"], &[]);
    assert_eq!(code, 1);
    assert!(
        out.contains("questions: 0 applied, 2 pending")
            && out.contains("responses: 0 applied, 2 pending"),
        "{out}"
    );
    let (code, out, err) = survey_db(&db, &["data", "migrate", "questions"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied 2 data migrations"), "{out}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM questions.questions WHERE code LIKE 'dem0%'"
        )
        .await,
        5
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM responses.respondents").await,
        0
    );
    let (code, _, err) = survey_db(&db, &["data", "migrate"], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM responses.respondents WHERE cohort = 'pilot'"
        )
        .await,
        3
    );
    let (code, out, _) = survey_db(&db, &["data", "migrate"], &[]);
    assert_eq!((code, out.starts_with("nothing to do")), (0, true), "{out}");

    let (code, _, err) = survey_db(&db, &["data", "reset", "questions", "--yes"], &[]);
    assert_eq!(code, 0, "{err}");
    let second = err
        .find("reset questions_0002_battery_prefixes")
        .expect(&err);
    let first = err
        .find("reset questions_0001_dem_characteristics")
        .expect(&err);
    assert!(second < first, "{err}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM questions.batteries").await,
        0
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM responses.respondents").await,
        3
    );
    let (_, out, _) = survey_db(&db, &["data", "status", "--json"], &[]);
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    let pending: Vec<usize> = status["schemas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["pending"].as_array().unwrap().len())
        .collect();
    assert_eq!(pending, [2, 0, 0], "{out}");
}

#[tokio::test]
async fn up_runs_schema_then_data_migrations() {
    let db = TestDb::new().await;
    let (code, out, err) = survey_db(&db, &["up", "--dry-run"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("1 schema migration(s), then 5 data migration(s), would be applied"),
        "{out}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'questions'"
        )
        .await,
        0
    );
    let (code, out, err) = survey_db(&db, &["up"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("up: applied 1 schema migration and 5 data migrations"),
        "{out}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM questions.questions").await,
        5
    );
    let (code, out, _) = survey_db(&db, &["up"], &[]);
    assert_eq!((code, out.starts_with("nothing to do")), (0, true), "{out}");
}

/// A migration whose `down` forgets one of the rows its `up` wrote.
struct Forgetful;

impl DataMigration for Forgetful {
    fn name(&self) -> &str {
        "questions_0099_forgetful"
    }

    async fn up(&self, cx: &mut Context<'_>) -> DataResult {
        cx.batch_execute(
            "INSERT INTO questions.batteries (name, prefix) VALUES ('a', 'A'), ('b', 'B')",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, cx: &mut Context<'_>) -> DataResult {
        cx.batch_execute("DELETE FROM questions.batteries WHERE name = 'a'")
            .await?;
        Ok(())
    }
}

#[tokio::test]
async fn every_migration_is_reversible_and_a_forgetful_one_is_caught() {
    let mut db = TestDatabase::on(server().url()).await.unwrap();
    let init = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schema-migrations/0001_init.sql"),
    )
    .unwrap();
    db.execute(&init).await.unwrap();
    for (schema, migrations) in survey_db::registry().schemas() {
        for migration in migrations {
            db.assert_reversible(schema, migration)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let error = db
        .assert_reversible("questions", &Migration::new(Forgetful))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("questions_0099_forgetful is not reversible")
            && error.contains("questions.batteries had 1 row(s) and has 2 afterwards"),
        "{error}"
    );
    db.drop().await.unwrap();
}
