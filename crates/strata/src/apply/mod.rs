//! Running a plan against a database.
//!
//! Statements are sent one by one (a multi-statement string would be one implicit transaction,
//! which `CREATE INDEX CONCURRENTLY` refuses). Consecutive transactional steps run inside one
//! transaction; a step that must run alone runs outside any. `check_function_bodies` is off for
//! the session, as in pg_dump's output, so that function bodies may name objects created later.

pub mod down;
pub mod history;
pub mod verify;

use strata_core::plan::{Plan, Step};
use tokio_postgres::Client;

use crate::Error;

/// How far a failed plan got.
#[derive(Debug)]
pub struct ApplyFailure {
    /// Steps that were committed before the failure.
    pub committed: usize,
    /// The step that failed.
    pub failed: Step,
    /// The server's error.
    pub error: Error,
}

/// Applies every step of `plan`. On failure, the open transaction is rolled back: the database
/// holds exactly the steps committed before it.
pub async fn apply(client: &Client, plan: &Plan) -> std::result::Result<(), Box<ApplyFailure>> {
    let fail = |committed, step: &Step, error| {
        Box::new(ApplyFailure {
            committed,
            failed: step.clone(),
            error,
        })
    };
    if let Err(e) = client
        .batch_execute("SET check_function_bodies = false")
        .await
    {
        let step = plan
            .steps
            .first()
            .cloned()
            .unwrap_or_else(|| Step::new("session", "SET check_function_bodies = false"));
        return Err(fail(0, &step, Error::db("preparing the session", e)));
    }
    let mut committed = 0;
    let mut i = 0;
    let mut progress =
        crate::progress::Progress::start("applying the plan", plan.steps.len() as u64, "steps");
    while i < plan.steps.len() {
        let step = &plan.steps[i];
        if step.run.outside_transaction() {
            client
                .batch_execute(&step.sql)
                .await
                .map_err(|e| fail(committed, step, Error::db(step_context(step), e)))?;
            committed += 1;
            i += 1;
            continue;
        }
        let group_end = plan.steps[i..]
            .iter()
            .position(|s| s.run.outside_transaction())
            .map_or(plan.steps.len(), |p| i + p);
        client
            .batch_execute("BEGIN")
            .await
            .map_err(|e| fail(committed, step, Error::db("starting a transaction", e)))?;
        let group = &plan.steps[i..group_end];
        if let Err((at, e)) =
            crate::postgres::run_pipelined(client, group.iter().map(|s| s.sql.as_str()), || {
                progress.inc()
            })
            .await
        {
            let _ = client.batch_execute("ROLLBACK").await;
            let step = &group[at];
            return Err(fail(committed, step, Error::db(step_context(step), e)));
        }
        client.batch_execute("COMMIT").await.map_err(|e| {
            fail(
                committed,
                &plan.steps[group_end - 1],
                Error::db("committing", e),
            )
        })?;
        committed = group_end;
        i = group_end;
    }
    progress.finish();
    Ok(())
}

fn step_context(step: &Step) -> String {
    format!("running `{}`", step.sql.lines().next().unwrap_or(""))
}

impl std::fmt::Display for ApplyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (after {} committed step(s))",
            self.error, self.committed
        )
    }
}
