//! `strata status`: where the database stands, in one screen: applied, pending and stopped
//! migrations, drift from the history, and whether it matches the declared files.

use serde::Serialize;

use crate::Result;
use crate::apply::history::{Applied, RolledBack, compare};
use crate::apply::verify;
use crate::normalise::fixpoint::Probes;
use crate::source::cache::Cache;

use super::check::{partial_finding, partial_rollback_finding, recorded_hash, rolled_back};
use super::opt::{Global, StatusArgs};
use super::{Context, Outcome, say};

#[derive(Serialize)]
struct Status {
    database: String,
    applied: Vec<Applied>,
    pending: Vec<String>,
    /// Pending migrations that were applied and rolled back (the latest record of each).
    rolled_back: Vec<RolledBack>,
    stopped: Vec<String>,
    problems: Vec<String>,
    /// `none`, `drift` (the catalog hash differs from the one the last migrate recorded), or
    /// `unknown` (nothing recorded).
    drift: &'static str,
    /// The steps that would make the database match the declared files, with their full
    /// statements (`None`: no declared files).
    declared_changes: Option<serde_json::Value>,
    /// Nothing is recorded as applied, migrations are pending, yet the database already holds
    /// objects: it was built another way, and `strata baseline` may be what it needs.
    baseline: bool,
    #[serde(skip)]
    declared_plan: Option<strata_core::plan::Plan>,
}

pub(super) async fn run(context: &Context, global: &Global, args: StatusArgs) -> Result<Outcome> {
    let project = context.project(global)?;
    let folder = context.migrations(&project)?;
    let scope = context.managed_scope(&project);
    let history = context.history(&project)?;
    let (client, url) = context.connect_target(&project, &args.target).await?;
    let applied = history.read(&client).await?;
    let comparison = compare(&folder, &applied);
    let records = history.read_rollbacks(&client).await?;
    let live = context.live_catalog(&project, &client, &scope).await?;
    let drift = match recorded_hash(&applied) {
        _ if applied.is_empty() => "unknown",
        Some(hash) if hash == live.hash() => "none",
        Some(_) => "drift",
        None => "unknown",
    };
    let declared_plan = match context.declared_if_any(&project)? {
        Some(declared) => {
            let server = context.scratch_server(&project).await?;
            let states = crate::normalise::state::States::new(&server, &project.root);
            let (wanted, _) = states
                .declared(
                    &declared,
                    &scope,
                    &Cache::new(&project.root),
                    context.fixpoint(&project),
                )
                .await?;
            let version = crate::postgres::server_version(&client).await?;
            let plan = context
                .fixpoint(&project)
                .diff(&live, &wanted, &[], &Probes::on(&client, version))
                .await?;
            Some(plan)
        }
        None => None,
    };
    let status = Status {
        database: url.to_string(),
        applied: applied
            .iter()
            .filter(|r| r.status == "applied")
            .cloned()
            .collect(),
        pending: comparison
            .pending
            .iter()
            .map(|m| m.file_name.clone())
            .collect(),
        rolled_back: rolled_back(&records, &applied),
        stopped: comparison
            .partial
            .iter()
            .map(|r| partial_finding(r).message)
            .chain(
                records
                    .iter()
                    .filter(|r| r.status == "partial")
                    .map(|r| partial_rollback_finding(r).message),
            )
            .collect(),
        problems: folder
            .findings()
            .into_iter()
            .chain(comparison.findings)
            .map(|f| f.message)
            .collect(),
        drift,
        declared_changes: declared_plan.as_ref().map(super::json::steps),
        baseline: !applied.iter().any(|r| r.status == "applied")
            && !comparison.pending.is_empty()
            && built(&live),
        declared_plan,
    };
    let found = !status.pending.is_empty()
        || !status.stopped.is_empty()
        || !status.problems.is_empty()
        || status.drift == "drift"
        || status
            .declared_plan
            .as_ref()
            .is_some_and(|plan| !plan.is_empty());
    if super::json::on() {
        super::json::emit(serde_json::to_value(&status).expect("a status serialises"));
    } else {
        print(&status);
    }
    Ok(if found { Outcome::Found } else { Outcome::Done })
}

/// Whether the managed schemas hold anything a migration would create.
fn built(live: &strata_core::catalog::Catalog) -> bool {
    !live.tables.is_empty()
        || !live.views.is_empty()
        || !live.types.is_empty()
        || !live.functions.is_empty()
        || !live.sequences.is_empty()
}

fn print(status: &Status) {
    say(format!("database: {}", status.database));
    say(format!("applied: {}", status.applied.len()));
    for row in &status.applied {
        say(format!(
            "  {}  {}  {} ms  by {}",
            row.file_name(),
            row.applied_at,
            row.execution_ms,
            row.applied_by
        ));
    }
    if status.pending.is_empty() {
        say("pending: none");
    } else {
        say(format!(
            "pending: {} (run `strata migrate`)",
            status.pending.len()
        ));
        for name in &status.pending {
            say(format!("  {name}"));
        }
        if status.baseline {
            say(
                "  the database already holds objects but no migration is recorded as applied: if it was built by `strata push`, by hand or by another tool, `strata baseline` records the migrations that give it (after proving it on a replay) instead of running them",
            );
        }
    }
    for record in &status.rolled_back {
        say(format!(
            "rolled back: {}_{}.sql  {}  by {}",
            record.version, record.name, record.rolled_back_at, record.rolled_back_by
        ));
    }
    for line in &status.stopped {
        say(format!("stopped: {line}"));
    }
    for line in &status.problems {
        say(format!("problem: {line}"));
    }
    say(match status.drift {
        "none" => "drift: none (the schema is as the last migration left it)",
        "drift" => "drift: the schema changed since the last migration (`strata check` lists what)",
        _ => "drift: unknown (no catalog hash recorded yet)",
    });
    match status.declared_plan.as_ref().map(verify::summarize) {
        None => say("declared files: none"),
        Some(changes) if changes.is_empty() => say("declared files: the database matches them"),
        Some(changes) => {
            say(format!(
                "declared files: {} change{} would apply (`strata push --dry-run` shows the plan):",
                changes.len(),
                if changes.len() == 1 { "" } else { "s" }
            ));
            for line in &changes {
                say(format!("  {line}"));
            }
        }
    }
}
