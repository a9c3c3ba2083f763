//! Property test: for random schema pairs, the plan converges in both directions.
//!
//! A seeded generator (`strata_testkit::generator`) makes a random schema shaped like what
//! applications declare (`IN` lists over varchar, casts, `CASE`, row comparisons in trigger
//! conditions, array and jsonb defaults, `COLLATE`, expression and partial indexes, policies,
//! domains) and a random mutation of it; the plan between them is applied to a real database,
//! which must then re-diff to empty against the target (texts compared at their fixed point, as
//! every command compares them), and the same for the reverse plan. A failure prints its seed
//! and both scripts: `STRATA_SEED=<seed>` replays exactly that case.
//!
//! `STRATA_PROPERTY_CASES` sets the number of cases (default 500).

use std::sync::Arc;

use strata::introspect::{Scope, introspect};
use strata::normalise::fixpoint::{Fixpoint, Probes};
use strata_core::catalog::Catalog;
use strata_testkit::TestDb;
use strata_testkit::generator::{Rng, generate, mutate, render};
use tokio::sync::Semaphore;

async fn build(sql: &str) -> Result<(TestDb, Catalog), String> {
    let db = TestDb::new().await;
    let client = db.client().await;
    client
        .batch_execute(sql)
        .await
        .map_err(|e| format!("the generated SQL is invalid: {e:?}"))?;
    let catalog = introspect(&client, &Scope::AllUserSchemas)
        .await
        .map_err(|e| e.to_string())?
        .catalog;
    Ok((db, catalog))
}

async fn converges(db: &TestDb, from: &Catalog, to: &Catalog) -> Result<(), String> {
    let client = db.client().await;
    let version = strata::postgres::server_version(&client)
        .await
        .map_err(|e| e.to_string())?;
    let fixpoint = Fixpoint::new(None);
    let diff = async |a: &Catalog, b: &Catalog| {
        fixpoint
            .diff(a, b, &[], &Probes::on(&client, version))
            .await
            .map_err(|e| e.to_string())
    };
    let plan = diff(from, to).await?;
    strata::apply::apply(&client, &plan)
        .await
        .map_err(|f| format!("the plan failed: {f}\n{}", plan.to_sql()))?;
    let got = introspect(&client, &Scope::AllUserSchemas)
        .await
        .map_err(|e| e.to_string())?
        .catalog;
    let left = diff(&got, to).await?;
    if !left.is_empty() {
        return Err(format!(
            "no convergence; a second diff finds:\n{}\nplan:\n{}",
            left.to_sql(),
            plan.to_sql()
        ));
    }
    Ok(())
}

async fn run_seed(seed: u64) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let from = generate(&mut rng);
    let to = mutate(&mut rng, &from);
    let (from_sql, to_sql) = (render(&from), render(&to));
    let context = |e: String| format!("seed {seed}: {e}\n--- from\n{from_sql}--- to\n{to_sql}");
    let (from_db, from_catalog) = build(&from_sql).await.map_err(context)?;
    let (to_db, to_catalog) = build(&to_sql).await.map_err(context)?;
    converges(&from_db, &from_catalog, &to_catalog)
        .await
        .map_err(|e| context(format!("forward: {e}")))?;
    converges(&to_db, &to_catalog, &from_catalog)
        .await
        .map_err(|e| context(format!("reverse: {e}")))?;
    Ok(())
}

#[test]
fn random_schema_pairs_converge_both_ways() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let seeds: Vec<u64> = match std::env::var("STRATA_SEED") {
            Ok(seed) => vec![seed.parse().unwrap()],
            Err(_) => {
                let cases: u64 = std::env::var("STRATA_PROPERTY_CASES")
                    .ok()
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(500);
                let base: u64 = std::env::var("STRATA_PROPERTY_BASE")
                    .ok()
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                (base..base + cases).collect()
            }
        };
        let total = seeds.len();
        let limit = Arc::new(Semaphore::new(6));
        let tasks: Vec<_> = seeds
            .into_iter()
            .map(|seed| {
                let limit = limit.clone();
                tokio::spawn(async move {
                    let _permit = limit.acquire().await.unwrap();
                    run_seed(seed).await
                })
            })
            .collect();
        let mut failures = Vec::new();
        for task in tasks {
            if let Err(e) = task.await.unwrap() {
                failures.push(e);
            }
        }
        eprintln!(
            "property test: {} of {total} random schema pairs converged both ways",
            total - failures.len()
        );
        let shown: Vec<&String> = failures.iter().take(3).collect();
        assert!(
            failures.is_empty(),
            "{} of {total} cases failed; the first:\n{}",
            failures.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n\n")
        );
    });
}
