//! The deparsed text of newly modelled kinds is compared at its fixed point on a real server:
//! PostgreSQL's first deparse of a `varchar IN (…)` is not what it reads back, so a database
//! built from that text (a pulled file, a plan) holds other text that means the same.

use strata::introspect::{Scope, introspect};
use strata::normalise::fixpoint::{Fixpoint, Probes};
use strata_core::catalog::Catalog;
use strata_core::diff::diff;
use strata_testkit::TestDb;

async fn build(sql: &str) -> (TestDb, Catalog) {
    let db = TestDb::new().await;
    let client = db.client().await;
    client.batch_execute(sql).await.unwrap();
    let catalog = introspect(&client, &Scope::AllUserSchemas)
        .await
        .unwrap()
        .catalog;
    (db, catalog)
}

/// `sql`, then a second database built from the texts the first one deparsed (as `pull` would
/// write them): plain text differs, the fixed points agree.
async fn check(sql: &str, second: impl Fn(&Catalog) -> String, what: &str) {
    let (db, first) = build(sql).await;
    let (_again, second) = build(&second(&first)).await;
    let plain = diff(&first, &second, &[]).unwrap();
    assert!(
        !plain.is_empty(),
        "{what}: the first and second deparse are the same text; this test needs one that differs"
    );
    let client = db.client().await;
    let version: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .unwrap()
        .get(0);
    let fixpoint = Fixpoint::new(None);
    let plan = fixpoint
        .diff(&first, &second, &[], &Probes::on(&client, version as u32))
        .await
        .unwrap();
    assert!(
        plan.is_empty(),
        "{what}: differs at the fixed point:\n{}",
        plan.to_sql()
    );
}

const TABLE: &str = "CREATE SCHEMA app; CREATE TABLE app.orders (id integer, status varchar(10));";

#[tokio::test]
async fn statistics_expressions() {
    check(
        &format!(
            "{TABLE} CREATE STATISTICS app.orders_open ON (status IN ('new', 'open')), id FROM app.orders;"
        ),
        |first| {
            let definition = &first.statistics.values().next().unwrap().definition;
            format!("{TABLE} {definition};")
        },
        "statistics",
    )
    .await;
}

#[tokio::test]
async fn view_column_defaults() {
    let view = "CREATE VIEW app.open AS SELECT id, status, true AS fresh FROM app.orders;";
    check(
        &format!(
            "{TABLE} {view} ALTER VIEW app.open ALTER COLUMN fresh SET DEFAULT ('new'::varchar IN ('a'::varchar, 'b'::varchar));"
        ),
        |first| {
            let default = first.views.values().next().unwrap().columns[2]
                .default
                .clone()
                .unwrap();
            format!("{TABLE} {view} ALTER VIEW app.open ALTER COLUMN fresh SET DEFAULT {default};")
        },
        "view default",
    )
    .await;
}

#[tokio::test]
async fn rule_conditions() {
    check(
        &format!(
            "{TABLE} CREATE RULE keep AS ON DELETE TO app.orders WHERE old.status IN ('new', 'open') DO INSTEAD NOTHING;"
        ),
        |first| {
            let rule = &first.tables.values().next().unwrap().rules["keep"];
            format!("{TABLE} {};", rule.definition)
        },
        "rule",
    )
    .await;
}
