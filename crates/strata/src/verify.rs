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
pub async fn verify(
    server: &ScratchServer,
    from: &Catalog,
    plan: &Plan,
    to: &Catalog,
    scope: &Scope,
) -> Result<()> {
    let db = server.create(None).await?;
    let result = check(&db, from, plan, to, scope).await;
    let dropped = server.drop_db(db).await;
    result.and(dropped)
}

async fn check(
    db: &crate::scratch::ScratchDb,
    from: &Catalog,
    plan: &Plan,
    to: &Catalog,
    scope: &Scope,
) -> Result<()> {
    let client = crate::pg::connect(db.url()).await?;
    create_missing_roles(&client, from, to).await?;
    let empty = introspect(&client, scope).await?.catalog;
    let setup = diff(&empty, from, &[])
        .map_err(|e| Error::Invalid(format!("cannot plan the starting state: {e}")))?;
    apply::apply(&client, &setup).await.map_err(|f| {
        Error::Invalid(format!(
            "cannot build the starting state in a scratch database: {f}"
        ))
    })?;
    let start = introspect(&client, scope).await?.catalog;
    let left = diff(&start, from, &[]).map_err(|e| Error::Invalid(e.to_string()))?;
    if !left.is_empty() {
        return Err(Error::NotConverged {
            what: "the starting state".into(),
            remaining: summarize(&left),
        });
    }
    apply::apply(&client, plan).await.map_err(|f| {
        Error::Invalid(format!(
            "the plan fails on a copy of the starting state: {f}"
        ))
    })?;
    let end = introspect(&client, scope).await?.catalog;
    let left = diff(&end, to, &[]).map_err(|e| Error::Invalid(e.to_string()))?;
    if !left.is_empty() {
        return Err(Error::NotConverged {
            what: "the plan".into(),
            remaining: summarize(&left),
        });
    }
    Ok(())
}

/// Roles are shared by the whole server: the roles the two states grant to must exist on the
/// scratch server too. Missing ones are created without login.
async fn create_missing_roles(
    client: &tokio_postgres::Client,
    from: &Catalog,
    to: &Catalog,
) -> Result<()> {
    let mut roles = from.roles();
    roles.extend(to.roles());
    roles.sort();
    roles.dedup();
    for role in roles {
        let exists = client
            .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&role])
            .await
            .map_err(|e| Error::db("looking up roles on the scratch server", e))?
            .is_some();
        if !exists {
            let sql = format!(
                "CREATE ROLE {} NOLOGIN",
                strata_core::sql::quote_ident(&role)
            );
            // Another process may create it at the same moment.
            if let Err(e) = client.batch_execute(&sql).await
                && e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_OBJECT)
                && e.code() != Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
            {
                return Err(Error::db(
                    format!("creating role {role} on the scratch server"),
                    e,
                ));
            }
        }
    }
    Ok(())
}

/// The steps a second diff still finds, one line each.
pub fn summarize(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .map(|s| s.sql.lines().next().unwrap_or("").to_owned())
        .collect()
}
