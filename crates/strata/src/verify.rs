//! Convergence is checked, not hoped for.
//!
//! Before a plan is written or run, strata builds the starting state in a scratch database,
//! applies the plan there, introspects, and requires the diff against the wanted state to be
//! empty. A plan that does not converge is an error that names what is left, never a file.

use strata_core::catalog::Catalog;
use strata_core::diff::diff;
use strata_core::plan::Plan;

use crate::introspect::{Scope, introspect};
use crate::scratch::ScratchServer;
use crate::{Error, Result, apply};

/// Checks that `plan` takes a database in state `from` to state `to`, in a scratch database on
/// `server`. The starting state is built from `from` itself (`diff(empty, from)`), so any source
/// works: a live database, declared files, a migration history.
pub async fn verify(server: &ScratchServer, from: &Catalog, plan: &Plan, to: &Catalog, scope: &Scope) -> Result<()> {
    let db = server.create(None).await?;
    let result = check(&db, from, plan, to, scope).await;
    let dropped = server.drop_db(db).await;
    result.and(dropped)
}

async fn check(db: &crate::scratch::ScratchDb, from: &Catalog, plan: &Plan, to: &Catalog, scope: &Scope) -> Result<()> {
    let client = crate::pg::connect(db.url()).await?;
    let empty = introspect(&client, scope).await?.catalog;
    let setup = diff(&empty, from, &[]).map_err(|e| Error::Invalid(format!("cannot plan the starting state: {e}")))?;
    apply::apply(&client, &setup)
        .await
        .map_err(|f| Error::Invalid(format!("cannot build the starting state in a scratch database: {f}")))?;
    let start = introspect(&client, scope).await?.catalog;
    let left = diff(&start, from, &[]).map_err(|e| Error::Invalid(e.to_string()))?;
    if !left.is_empty() {
        return Err(Error::NotConverged { what: "the starting state".into(), remaining: summarize(&left) });
    }
    apply::apply(&client, plan).await.map_err(|f| Error::Invalid(format!("the plan fails on a copy of the starting state: {f}")))?;
    let end = introspect(&client, scope).await?.catalog;
    let left = diff(&end, to, &[]).map_err(|e| Error::Invalid(e.to_string()))?;
    if !left.is_empty() {
        return Err(Error::NotConverged { what: "the plan".into(), remaining: summarize(&left) });
    }
    Ok(())
}

/// The steps a second diff still finds, one line each.
pub fn summarize(plan: &Plan) -> Vec<String> {
    plan.steps.iter().map(|s| s.sql.lines().next().unwrap_or("").to_owned()).collect()
}
