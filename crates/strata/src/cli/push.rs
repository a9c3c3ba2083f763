//! `strata push`: the declared schema straight into a database (the development loop).

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use strata_core::diff::{annotated_renames, diff, parse_renames, rename_candidates};
use strata_core::plan::{Plan, RowCheck};
use strata_core::render::qualified;
use strata_core::sql::quote_ident;
use tokio_postgres::Client;

use crate::declared::Declared;
use crate::introspect::introspect;
use crate::{Error, Result, apply, verify};

use super::opt::{Global, PushArgs};
use super::{Context, Outcome, say};

pub(super) async fn run(context: &Context, global: &Global, args: PushArgs) -> Result<Outcome> {
    let project = context.project(global)?;
    let declared = Declared::load(
        &project.root.join(&project.config.schema.dir),
        &project.config.schema.schemas,
    )?;
    let scope = declared.scope();
    let server = context.scratch_server(&project).await?;
    let (client, url) = context.connect_target(&project, &args.target).await?;
    let (live, wanted) = tokio::try_join!(
        async { Ok(introspect(&client, &scope).await?.catalog) },
        declared.catalog(&server, &scope)
    )?;

    // Renames: flags, then annotations in the declared files whose old object is still there
    // (an annotation outlives the push that applied it).
    let mut texts = args.renames.clone();
    for file in &declared.files {
        for text in annotated_renames(&file.text) {
            if parse_renames(&[texts.clone(), vec![text.clone()]].concat(), &live).is_ok() {
                texts.push(text);
            }
        }
    }
    let mut renames = parse_renames(&texts, &live).map_err(Error::Invalid)?;
    let decided: Vec<String> = texts
        .iter()
        .filter_map(|t| t.split_once('=').map(|(old, _)| old.trim().to_owned()))
        .collect();
    let undecided: Vec<_> = rename_candidates(&live, &wanted)
        .into_iter()
        .filter(|c| !decided.contains(&c.old_path))
        .collect();
    if !undecided.is_empty() && !args.force {
        if interactive() {
            for candidate in &undecided {
                if ask(&format!(
                    "is {} {} renamed to {}? [y/N] ",
                    candidate.kind, candidate.old_path, candidate.new_name
                ))? {
                    texts.push(format!("{}={}", candidate.old_path, candidate.new_name));
                }
            }
            renames = parse_renames(&texts, &live).map_err(Error::Invalid)?;
        } else {
            let flags: Vec<String> = undecided
                .iter()
                .map(|c| format!("  {}", c.flag()))
                .collect();
            eprintln!(
                "strata: these may be renames; say which with\n{}\nor pass --force to drop and create them (or add `-- strata:renamed-from OLD` in the declared file)",
                flags.join("\n")
            );
            return Ok(Outcome::Found);
        }
    }

    let plan = diff(&live, &wanted, &renames)
        .map_err(|e| Error::Invalid(format!("no plan for {url}: {e}")))?;
    if plan.is_empty() {
        say(format!(
            "nothing to do: {url} matches {}",
            declared.dir.display()
        ));
        return Ok(Outcome::Done);
    }
    verify::verify(&server, &live, &plan, &wanted, &scope).await?;
    say(plan.to_sql().trim_end());
    if args.dry_run {
        eprintln!("strata: dry run: nothing was changed");
        return Ok(Outcome::Done);
    }

    let losses = count_losses(&client, &plan).await?;
    if !losses.is_empty() && !args.force {
        let list: Vec<String> = losses.iter().map(|l| format!("  {l}")).collect();
        let question = format!("these steps affect existing rows:\n{}\n", list.join("\n"));
        if interactive() {
            if !ask(&format!("{question}apply them? [y/N] "))? {
                eprintln!("strata: nothing was changed");
                return Ok(Outcome::Found);
            }
        } else {
            eprintln!("strata: {question}nothing was changed; pass --force to apply them");
            return Ok(Outcome::Found);
        }
    }

    apply::apply(&client, &plan)
        .await
        .map_err(|f| Error::Invalid(format!("push stopped: {f}")))?;
    // The database must now match the declared files.
    let after = introspect(&client, &scope).await?.catalog;
    let left = diff(&after, &wanted, &[]).map_err(|e| Error::Invalid(e.to_string()))?;
    if !left.is_empty() {
        return Err(Error::NotConverged {
            what: format!("the push to {url}"),
            remaining: verify::summarize(&left),
        });
    }
    eprintln!(
        "strata: applied {} step{} to {url}",
        plan.steps.len(),
        if plan.steps.len() == 1 { "" } else { "s" }
    );
    Ok(Outcome::Done)
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

fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

fn ask(question: &str) -> Result<bool> {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io("reading the answer", e))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
