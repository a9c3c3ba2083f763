//! `strata push`: the declared schema straight into a database (the development loop).

use strata_core::catalog::{Catalog, QualName};
use strata_core::plan::{Plan, RowCheck, RunMode};
use strata_core::render::qualified;
use strata_core::sql::quote_ident;
use tokio_postgres::Client;

use crate::apply::verify;
use crate::introspect::{Scope, introspect_within};
use crate::normalise::fixpoint::{Fixpoint, Probes};
use crate::source::cache::Cache;
use crate::{Error, Result, apply};

use super::opt::{Global, PushArgs};
use super::{Context, Outcome, ask, census, interactive, json, renames, say};

pub(super) async fn run(context: &Context, global: &Global, args: PushArgs) -> Result<Outcome> {
    let project = context.project(global)?;
    let declared = context.declared(&project)?;
    let scope = declared.scope();
    let server = context.scratch_server(&project).await?;
    let (client, url) = context.connect_target(&project, &args.target).await?;
    let cache = Cache::new(&project.root);
    let fixpoint = context.fixpoint(&project);
    let states = crate::normalise::state::States::new(&server, &project.root);
    let (live, (wanted, _)) = tokio::try_join!(
        context.live_catalog(&project, &client, &scope),
        states.declared(&declared, &scope, &cache, fixpoint)
    )?;
    let files = census::folder(&project, &declared.dir);
    census::report(
        &project,
        args.strict,
        &[
            (&url.to_string(), &live.unmodeled),
            (&files, &wanted.unmodeled),
        ],
    )?;

    // The `--json` document: the plan, whether it was applied, and why not when it was refused.
    let document = |steps: serde_json::Value, applied: bool, refused: Option<&str>| {
        json::emit(serde_json::json!({
            "database": url.to_string(),
            "dry_run": args.dry_run,
            "steps": steps,
            "applied": applied,
            "refused": refused,
        }))
    };
    let Some(renames) = renames::resolve(&args.renames, &declared, &live, &wanted, args.force)?
    else {
        document(serde_json::json!([]), false, Some("renames"));
        return Ok(Outcome::Found);
    };

    let version = crate::postgres::server_version(&client).await?;
    let plan = fixpoint
        .diff(&live, &wanted, &renames, &Probes::on(&client, version))
        .await
        .map_err(|e| Error::Invalid(format!("no plan for {url}: {e}")))?;
    if plan.is_empty() {
        say(format!(
            "nothing to do: {url} matches {}",
            declared.dir.display()
        ));
        document(serde_json::json!([]), false, None);
        super::codegen::refresh(&project, &wanted)?;
        return Ok(Outcome::Done);
    }
    // A plan that runs in one transaction is checked on the target itself, inside that
    // transaction, before it commits; otherwise (and for a dry run) on a scratch copy first.
    // A development database is kept atomic: steps committed apart in a migration for a
    // lighter lock run inside push's one transaction.
    let atomic = plan.steps.iter().all(|s| s.run != RunMode::Alone);
    if args.dry_run || !atomic {
        verify::verify(&server, &live, &plan, &wanted, &scope, fixpoint).await?;
    }
    say(plan.to_sql().trim_end());
    if args.dry_run {
        super::note("dry run: nothing was changed");
        document(json::steps(&plan), false, None);
        return Ok(Outcome::Done);
    }

    let losses = count_losses(&client, &plan).await?;
    if !losses.is_empty() && !args.force {
        let list: Vec<String> = losses.iter().map(|l| format!("  {l}")).collect();
        let question = format!("these steps affect existing rows:\n{}\n", list.join("\n"));
        if interactive() {
            if !ask(&format!("{question}apply them? [y/N] "))? {
                eprintln!("strata: nothing was changed");
                document(json::steps(&plan), false, Some("declined"));
                return Ok(Outcome::Found);
            }
        } else {
            eprintln!("strata: {question}nothing was changed; pass --force to apply them");
            document(json::steps(&plan), false, Some("affects_rows"));
            return Ok(Outcome::Found);
        }
    }

    let what = format!("the push to {url}");
    if atomic {
        apply_checked(
            &client,
            &plan,
            &wanted,
            &scope,
            &project.tracking_tables()?,
            &what,
            (fixpoint, version),
        )
        .await?;
    } else {
        apply::apply(&client, &plan)
            .await
            .map_err(|f| Error::Invalid(format!("push stopped: {f}")))?;
        // The database must now match the declared files.
        let after = context.live_catalog(&project, &client, &scope).await?;
        verify::converged(
            fixpoint,
            &after,
            &wanted,
            &Probes::on(&client, version),
            &what,
        )
        .await?;
    }
    super::note(format!(
        "applied {} step{} to {url}",
        plan.steps.len(),
        if plan.steps.len() == 1 { "" } else { "s" }
    ));
    document(json::steps(&plan), true, None);
    super::codegen::refresh(&project, &wanted)?;
    Ok(Outcome::Done)
}

/// Applies an all-transactional plan in one transaction, reads the catalog inside it, and
/// commits only when the database then matches `wanted`: the check costs one introspection,
/// not a second apply on a scratch copy. Anything else rolls back: nothing changes.
async fn apply_checked(
    client: &Client,
    plan: &Plan,
    wanted: &Catalog,
    scope: &Scope,
    tracking: &[QualName],
    what: &str,
    (fixpoint, version): (&Fixpoint, u32),
) -> Result<()> {
    crate::postgres::in_transaction(
        client,
        "BEGIN ISOLATION LEVEL REPEATABLE READ; SET LOCAL check_function_bodies = false",
        "the push",
        async || {
            let mut progress = crate::progress::Progress::start(
                "applying the plan",
                plan.steps.len() as u64,
                "steps",
            );
            let applied = crate::postgres::run_pipelined(
                client,
                plan.steps.iter().map(|s| s.sql.as_str()),
                || progress.inc(),
            )
            .await;
            progress.finish();
            applied.map_err(|(at, e)| {
                Error::db(
                    format!(
                        "push stopped at `{}` (rolled back: nothing was changed)",
                        plan.steps[at].sql.lines().next().unwrap_or("")
                    ),
                    e,
                )
            })?;
            let after = introspect_within(client, scope, tracking).await?.catalog;
            let probes = Probes::in_transaction(client, version);
            verify::converged(fixpoint, &after, wanted, &probes, what).await
        },
    )
    .await
}

/// The hazardous steps that touch existing rows, each with how many (counted on the target).
async fn count_losses(client: &Client, plan: &Plan) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for step in &plan.steps {
        let Some(check) = &step.rows else { continue };
        let (sql, what) = match check {
            RowCheck::Rows { table } => (
                format!("SELECT count(*) FROM {}", qualified(table)),
                "rows would be deleted",
            ),
            RowCheck::Values { table, column } => (
                format!(
                    "SELECT count(*) FROM {} WHERE {} IS NOT NULL",
                    qualified(table),
                    quote_ident(column)
                ),
                "values would be deleted or converted",
            ),
            RowCheck::Nulls { table, column } => (
                format!(
                    "SELECT count(*) FROM {} WHERE {} IS NULL",
                    qualified(table),
                    quote_ident(column)
                ),
                "rows are NULL and would make the step fail",
            ),
            RowCheck::Duplicates { table, columns } => {
                let columns: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
                (
                    format!(
                        "SELECT coalesce(sum(n - 1), 0)::bigint FROM (SELECT count(*) AS n FROM {} GROUP BY {} HAVING count(*) > 1) d",
                        qualified(table),
                        columns.join(", ")
                    ),
                    "rows repeat a value and would make the step fail",
                )
            }
        };
        let count: i64 = match client.query_one(&sql, &[]).await {
            Ok(row) => row.get(0),
            // A column or table the plan itself creates or renames: nothing to count beforehand.
            Err(e) if matches!(e.code(), Some(c) if *c == tokio_postgres::error::SqlState::UNDEFINED_COLUMN || *c == tokio_postgres::error::SqlState::UNDEFINED_TABLE) => {
                0
            }
            Err(e) => {
                return Err(Error::db(
                    format!("counting the rows `{}` affects", step.object),
                    e,
                ));
            }
        };
        if count > 0 {
            out.push(format!(
                "{}: {count} {what}",
                step.sql.lines().next().unwrap_or("")
            ));
        }
    }
    Ok(out)
}
