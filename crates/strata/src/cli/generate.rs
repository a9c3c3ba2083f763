//! `strata generate`: the declared schema compared with the migration history, written as a new
//! migration file; and `strata sum`, which re-records the files after review.

use strata_core::plan::{Plan, RunMode, Step};

use crate::cache::Cache;
use crate::config::Prefix;
use crate::fixpoint::Probes;
use crate::migrations::{self, MigrationsDir, NO_TRANSACTION};
use crate::state::States;
use crate::{Error, Result};

use super::opt::{GenerateArgs, Global};
use super::{Context, Outcome, census, json, renames, say, write_new};
use serde_json::json;

pub(super) async fn run(context: &Context, global: &Global, args: GenerateArgs) -> Result<Outcome> {
    let project = context.project(global)?;
    let mut folder = context.migrations(&project)?;
    refuse_findings(&folder)?;
    let timestamp = project.config.migrations.prefix == Prefix::Timestamp;
    if let Some(name) = &args.name {
        check_name(name)?;
    }

    if args.custom {
        let name = args.name.clone().unwrap_or_else(|| "custom".into());
        let file_name = format!("{}_{name}.sql", folder.next_version(timestamp));
        let text = format!(
            "-- {file_name}: hand-written SQL, written by `strata generate --custom`.\n\
             -- It runs in one transaction together with its history row. To run it statement by\n\
             -- statement outside a transaction (CREATE INDEX CONCURRENTLY), make the first line:\n\
             -- {NO_TRANSACTION}\n\n"
        );
        write_new(&folder.dir.join(&file_name), &text)?;
        folder = context.migrations(&project)?;
        folder.write_sum()?;
        json::emit(json!({
            "written": [census::folder(&project, &folder.dir.join(&file_name))],
            "steps": [],
        }));
        say(format!(
            "wrote {}; add your SQL, then run `strata sum`",
            folder.dir.join(&file_name).display()
        ));
        return Ok(Outcome::Done);
    }

    let started = std::time::Instant::now();
    let declared = context.declared(&project)?;
    let scope = declared.scope();
    let server = context.scratch_server(&project).await?;
    crate::progress::debug_timed("read the files, connected", started);
    let cache = Cache::new(&project.root);
    let fixpoint = context.fixpoint(&project);
    let states = States::new(&server, &project.root);
    let (history, (wanted, _)) = tokio::try_join!(
        states.history(&folder.migrations, &scope, &cache),
        states.declared(&declared, &scope, &cache, fixpoint)
    )?;
    census::report(
        &project,
        args.strict,
        &[
            (&census::folder(&project, &declared.dir), &wanted.unmodeled),
            (&census::folder(&project, &folder.dir), &history.unmodeled),
        ],
    )?;
    let Some(renames) = renames::resolve(&args.renames, &declared, &history, &wanted, args.force)?
    else {
        json::emit(json!({ "written": [], "steps": [], "refused": "renames" }));
        return Ok(Outcome::Found);
    };
    // Texts that differ are compared on the kept declared state when it holds these files,
    // else on a scratch database built from them (only if a comparison is needed).
    let kept = states.declared_db(&declared, &scope).await?;
    let probes = match &kept {
        Some(kept) => Probes::on(kept.client(), server.server_version()),
        None => Probes::scratch(&server, &wanted, &scope),
    };
    let plan = fixpoint
        .diff(&history, &wanted, &renames, &probes)
        .await
        .map_err(|e| Error::Invalid(format!("no migration can be planned: {e}")));
    probes.close().await?;
    if let Some(kept) = kept {
        kept.release().await;
    }
    let plan = plan?;
    crate::progress::debug_timed("planned", started);
    if plan.is_empty() {
        say(format!(
            "nothing to do: the migrations in {} already give the declared schema",
            folder.dir.display()
        ));
        json::emit(json!({ "written": [], "steps": [] }));
        return Ok(Outcome::Done);
    }
    // Verified on the kept history, which then holds the state after the new migration.
    let advanced = states
        .verify_on_history(&folder.migrations, &plan, &wanted, &scope, fixpoint)
        .await?;

    // Steps that cannot run in a transaction go to files of their own, run statement by
    // statement; the rest stays atomic.
    let groups = groups(&plan);
    let base = args
        .name
        .clone()
        .unwrap_or_else(|| default_name(&plan, folder.migrations.is_empty()));
    let mut written = Vec::new();
    for (i, steps) in groups.iter().enumerate() {
        let version = folder.next_version(timestamp);
        let name = if groups.len() == 1 {
            base.clone()
        } else {
            format!("{base}_{}", i + 1)
        };
        let file_name = format!("{version}_{name}.sql");
        write_new(&folder.dir.join(&file_name), &render(&file_name, steps))?;
        written.push(file_name);
        folder = context.migrations(&project)?;
    }
    folder.write_sum()?;
    // The new history gives the declared schema (just verified): the next command need not
    // replay it.
    migrations::remember(
        &folder.migrations,
        server.server_version(),
        &scope,
        &cache,
        &wanted,
    );
    advanced
        .record(&folder.migrations, server.server_version(), &scope)
        .await;
    crate::progress::debug_timed("wrote the migration", started);
    json::emit(json!({
        "written": written
            .iter()
            .map(|name| census::folder(&project, &folder.dir.join(name)))
            .collect::<Vec<_>>(),
        "steps": json::steps(&plan),
    }));
    let hazards: Vec<&str> = plan.hazards().iter().map(|h| h.describe()).collect();
    for file_name in &written {
        say(format!("wrote {}", folder.dir.join(file_name).display()));
    }
    say(format!(
        "{} step{}{}; review the file, then run `strata migrate`",
        plan.steps.len(),
        if plan.steps.len() == 1 { "" } else { "s" },
        if hazards.is_empty() {
            String::new()
        } else {
            format!(" (hazards: {})", hazards.join(", "))
        }
    ));
    Ok(Outcome::Done)
}

/// `strata sum`: records the files as they are, after review.
pub(super) fn sum(context: &Context, global: &Global) -> Result<Outcome> {
    let project = context.project(global)?;
    let mut folder = context.migrations(&project)?;
    let findings = folder.sum_findings();
    folder.write_sum()?;
    json::emit(json!({
        "written": census::folder(&project, &folder.dir.join(migrations::SUM_FILE)),
        "migrations": folder.migrations.len(),
        "recorded": findings.iter().map(|f| &f.message).collect::<Vec<_>>(),
    }));
    for finding in &findings {
        say(format!(
            "recorded: {}",
            finding.message.split(';').next().unwrap_or("")
        ));
    }
    say(format!(
        "wrote {} ({} migration{})",
        folder.dir.join(migrations::SUM_FILE).display(),
        folder.migrations.len(),
        if folder.migrations.len() == 1 {
            ""
        } else {
            "s"
        }
    ));
    Ok(Outcome::Done)
}

fn refuse_findings(folder: &MigrationsDir) -> Result<()> {
    let findings = folder.findings();
    if findings.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = findings
        .iter()
        .map(|f| format!("  {}", f.message))
        .collect();
    Err(Error::Invalid(format!(
        "{} needs attention first:\n{}\nnothing was written",
        folder.dir.display(),
        list.join("\n")
    )))
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(Error::Invalid(format!(
            "--name {name:?}: use letters, digits, `_` and `-` only (it becomes part of the file name)"
        )));
    }
    Ok(())
}

/// Consecutive steps with the same run mode.
fn groups(plan: &Plan) -> Vec<&[Step]> {
    let mut groups = Vec::new();
    let mut start = 0;
    for i in 1..=plan.steps.len() {
        if i == plan.steps.len() || plan.steps[i].run != plan.steps[start].run {
            groups.push(&plan.steps[start..i]);
            start = i;
        }
    }
    groups
}

/// `init` for the first migration, else the first changed object's name.
fn default_name(plan: &Plan, first: bool) -> String {
    if first {
        return "init".into();
    }
    let object = plan.steps.first().map_or("", |s| s.object.as_str());
    let mut name: String = object
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    name = name.trim_matches('_').chars().take(40).collect();
    if name.is_empty() {
        name = "update".into();
    }
    let objects: std::collections::BTreeSet<&str> =
        plan.steps.iter().map(|s| s.object.as_str()).collect();
    if objects.len() > 1 {
        name.push_str("_and_more");
    }
    name
}

/// A migration file: directives, a header that summarises the changes and hazards, the steps.
fn render(file_name: &str, steps: &[Step]) -> String {
    let mut out = String::new();
    let alone = steps.first().is_some_and(|s| s.run == RunMode::Alone);
    if alone {
        out.push_str(NO_TRANSACTION);
        out.push('\n');
    }
    out.push_str(&format!(
        "-- {file_name}: written by `strata generate` from the declared schema. Review it before you commit it.\n"
    ));
    if alone {
        out.push_str("-- Its statements cannot run in a transaction: `strata migrate` runs them one by one and records each.\n");
    }
    out.push_str("--\n-- Changes:\n");
    for step in steps {
        let first = step.sql.lines().next().unwrap_or("");
        let first: String = first.chars().take(100).collect();
        out.push_str(&format!("--   {first}\n"));
    }
    let mut hazards: Vec<String> = Vec::new();
    for step in steps {
        for hazard in &step.hazards {
            hazards.push(format!("{} ({})", hazard.describe(), step.object));
        }
    }
    if hazards.is_empty() {
        out.push_str("-- Hazards: none.\n");
    } else {
        out.push_str("-- Hazards:\n");
        for hazard in hazards {
            out.push_str(&format!("--   {hazard}\n"));
        }
    }
    for step in steps {
        out.push('\n');
        if !step.hazards.is_empty() {
            let list: Vec<&str> = step.hazards.iter().map(|h| h.describe()).collect();
            out.push_str(&format!("-- hazard: {}\n", list.join(", ")));
        }
        out.push_str(&step.sql);
        out.push_str(";\n");
    }
    out
}
