//! Convergence is checked, not hoped for.
//!
//! Before a plan is written or run, strata builds the starting state in a scratch database,
//! applies the plan there, introspects, and requires the diff against the wanted state to be
//! empty. A plan that does not converge is an error that names what is left, never a file.

use strata_core::catalog::Catalog;
use strata_core::diff::diff;
use strata_core::plan::Plan;

use crate::introspect::{Scope, introspect};
use crate::normalise::fixpoint::{Fixpoint, Probes};
use crate::normalise::scratch::{ScratchDb, ScratchServer};
use crate::{Error, Result, apply};

/// Checks that `plan` takes a database in state `from` to state `to`, in a scratch database on
/// `server`. The starting state is built from `from` itself (`diff(empty, from)`), so any source
/// works: a live database, declared files, a migration history. Texts are compared at their
/// fixed point (see [`crate::normalise::fixpoint`]).
pub async fn verify(
    server: &ScratchServer,
    from: &Catalog,
    plan: &Plan,
    to: &Catalog,
    scope: &Scope,
    fixpoint: &Fixpoint,
) -> Result<()> {
    let mut roles = to.roles();
    roles.extend(from.roles());
    let (db, client) = build_with_roles(server, from, scope, roles).await?;
    let result = check(server, &client, from, plan, to, scope, fixpoint).await;
    drop(client);
    let dropped = server.drop_db(db).await;
    result.and(dropped)
}

async fn check(
    server: &ScratchServer,
    client: &tokio_postgres::Client,
    from: &Catalog,
    plan: &Plan,
    to: &Catalog,
    scope: &Scope,
    fixpoint: &Fixpoint,
) -> Result<()> {
    let probes = Probes::on(client, server.server_version());
    let start = introspect(client, scope).await?.catalog;
    converged(fixpoint, &start, from, &probes, "the starting state").await?;
    apply::apply(client, plan).await.map_err(|f| {
        Error::Invalid(format!(
            "the plan fails on a copy of the starting state: {f}"
        ))
    })?;
    let end = introspect(client, scope).await?.catalog;
    converged(fixpoint, &end, to, &probes, "the plan").await
}

/// A new scratch database on `server` holding `catalog` (built from its own DDL), and a
/// connection to it.
pub(crate) async fn build(
    server: &ScratchServer,
    catalog: &Catalog,
    scope: &Scope,
) -> Result<(ScratchDb, tokio_postgres::Client)> {
    build_with_roles(server, catalog, scope, catalog.roles()).await
}

async fn build_with_roles(
    server: &ScratchServer,
    catalog: &Catalog,
    scope: &Scope,
    roles: Vec<String>,
) -> Result<(ScratchDb, tokio_postgres::Client)> {
    let db = server.create(None).await?;
    let built = async {
        let client = crate::postgres::connect(db.url()).await?;
        create_missing_roles(&client, roles).await?;
        let empty = introspect(&client, scope).await?.catalog;
        let setup = diff(&empty, catalog, &[])
            .map_err(|e| Error::Invalid(format!("cannot plan the starting state: {e}")))?;
        apply::apply(&client, &setup).await.map_err(|f| {
            Error::Invalid(format!(
                "cannot build the starting state in a scratch database: {f}"
            ))
        })?;
        Ok(client)
    }
    .await;
    match built {
        Ok(client) => Ok((db, client)),
        Err(e) => {
            let _ = server.drop_db(db).await;
            Err(e)
        }
    }
}

/// Errors unless `after` (what a database holds once a plan ran) is `wanted`, texts compared at
/// their fixed point; `what` names what was applied.
pub async fn converged(
    fixpoint: &Fixpoint,
    after: &Catalog,
    wanted: &Catalog,
    probes: &Probes<'_>,
    what: &str,
) -> Result<()> {
    let left = fixpoint.diff(after, wanted, &[], probes).await?;
    if left.is_empty() {
        Ok(())
    } else {
        Err(Error::NotConverged {
            what: what.to_owned(),
            remaining: summarize(&left),
        })
    }
}

/// Roles are shared by the whole server: the roles the two states grant to must exist on the
/// scratch server too. Missing ones are created without login.
async fn create_missing_roles(
    client: &tokio_postgres::Client,
    mut roles: Vec<String>,
) -> Result<()> {
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
