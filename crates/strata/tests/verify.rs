//! Verification on a scratch copy: a converging plan passes, a plan that falls short is refused
//! with what is left, and nothing is left behind on the server.

use strata::apply::verify::verify;
use strata::introspect::{Scope, introspect};
use strata::normalise::fixpoint::Fixpoint;
use strata::normalise::scratch::ScratchServer;
use strata_core::catalog::Catalog;
use strata_core::diff::diff;
use strata_core::plan::Plan;
use strata_testkit::{TestDb, server};

async fn catalog(sql: &str) -> Catalog {
    let db = TestDb::new().await;
    let client = db.client().await;
    client.batch_execute(sql).await.unwrap();
    introspect(&client, &Scope::AllUserSchemas)
        .await
        .unwrap()
        .catalog
}

async fn scratch_databases() -> i64 {
    let admin = strata::postgres::connect(server().url()).await.unwrap();
    admin
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'strata\\_scratch\\_%'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn converging_plans_pass_and_short_plans_are_refused() {
    let from = catalog("CREATE TABLE public.t (id int PRIMARY KEY)").await;
    let to = catalog("CREATE TABLE public.t (id int PRIMARY KEY, name text); CREATE INDEX t_name ON public.t (name);").await;
    let scratch = ScratchServer::connect(server().url()).await.unwrap();
    let before = scratch_databases().await;

    let plan = diff(&from, &to, &[]).unwrap();
    verify(
        &scratch,
        &from,
        &plan,
        &to,
        &Scope::AllUserSchemas,
        &Fixpoint::new(None),
    )
    .await
    .unwrap();

    // Leave out the index: the second diff must find it.
    let short = Plan {
        steps: plan
            .steps
            .iter()
            .filter(|s| !s.sql.contains("INDEX"))
            .cloned()
            .collect(),
    };
    let err = verify(
        &scratch,
        &from,
        &short,
        &to,
        &Scope::AllUserSchemas,
        &Fixpoint::new(None),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("the plan does not converge"), "{err}");
    assert!(err.contains("CREATE INDEX CONCURRENTLY t_name"), "{err}");
    assert!(err.contains("nothing was written or run"), "{err}");

    // A plan that fails outright is refused with the statement and the server's reason.
    let mut broken = plan.clone();
    broken.steps[0].sql = "ALTER TABLE public.missing ADD COLUMN x int".into();
    let err = verify(
        &scratch,
        &from,
        &broken,
        &to,
        &Scope::AllUserSchemas,
        &Fixpoint::new(None),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("fails on a copy") && err.contains("public.missing"),
        "{err}"
    );

    assert_eq!(
        scratch_databases().await,
        before,
        "verification left scratch databases behind"
    );
}
