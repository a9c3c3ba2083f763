//! `strata generate`: the declared schema compared with the migration history, written as a new
//! migration file; and `strata sum`, which re-records the files after review.

use strata_core::plan::{Hazard, Plan, RunMode, Step};

use crate::config::Prefix;
use crate::normalise::fixpoint::Probes;
use crate::normalise::state::States;
use crate::source::cache::Cache;
use crate::source::migrations::{
    self, DOWN_SUFFIX, EMPTY, LOCK_TIMEOUT, MigrationsDir, NO_TRANSACTION,
};
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

    if let Some(version) = &args.down_for {
        return down_for(context, &project, &folder, version).await;
    }
    if args.custom {
        let name = args.name.clone().unwrap_or_else(|| "custom".into());
        let stem = format!("{}_{name}", folder.next_version(timestamp));
        let file_name = format!("{stem}.sql");
        let down_name = format!("{stem}{DOWN_SUFFIX}");
        let text = format!(
            "-- {file_name}: hand-written SQL, written by `strata generate --custom`.\n\
             -- It runs in one transaction together with its history row. To run it statement by\n\
             -- statement outside a transaction (CREATE INDEX CONCURRENTLY), make the first line:\n\
             -- {NO_TRANSACTION}\n\n"
        );
        let down_text = format!(
            "-- {down_name}: hand-written SQL that undoes {file_name}, run by `strata rollback`.\n\
             -- Write the statements that take the schema back to what it was before {file_name};\n\
             -- `strata check` replays the history and verifies that they do. A migration that cannot\n\
             -- be undone: delete this file (`strata rollback` then stops before it).\n\
             -- It runs in one transaction together with the removal of the history row; the first\n\
             -- line {NO_TRANSACTION} makes it run statement by statement instead.\n\n"
        );
        write_new(&folder.dir.join(&file_name), &text)?;
        write_new(&folder.dir.join(&down_name), &down_text)?;
        folder = context.migrations(&project)?;
        folder.write_sum()?;
        json::emit(json!({
            "written": [census::folder(&project, &folder.dir.join(&file_name))],
            "steps": [],
        }));
        say(format!(
            "wrote {} and {}; add your SQL to both, then run `strata sum`",
            folder.dir.join(&file_name).display(),
            folder.dir.join(&down_name).display()
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
    // The Rust types follow the declared schema whether or not a migration is needed.
    super::codegen::refresh(&project, &wanted)?;
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
    // Steps that cannot run in a transaction go to files of their own, run statement by
    // statement; the rest stays atomic.
    let groups = plan.groups();
    let files: Vec<Plan> = groups
        .iter()
        .map(|steps| Plan {
            steps: steps.to_vec(),
        })
        .collect();
    // Verified on the kept history, which then holds the state after the new migration; and
    // each file's down migration with it.
    let (advanced, downs) = states
        .verify_on_history(
            &folder.migrations,
            (&history, &files),
            &wanted,
            &scope,
            fixpoint,
            Some(&renames),
        )
        .await?;
    let base = args
        .name
        .clone()
        .unwrap_or_else(|| default_name(&plan, folder.migrations.is_empty()));
    // A migration whose reverse cannot be planned or verified is still a good migration: it
    // is written without a down file (irreversible, as `check` says) and the reason is told.
    let downs = match downs {
        Ok(downs) => Some(downs),
        Err(e) => {
            super::note(format!(
                "warning: no down file: the reverse of this migration {}: {e}\n\
                 strata: the migration is written without one (irreversible); write one by hand, or try `strata generate --down-for VERSION` later",
                if matches!(e, Error::NotConverged { .. }) {
                    "does not verify"
                } else {
                    "cannot be planned or run"
                }
            ));
            None
        }
    };
    // Each file passes strata's own lint: what it would refuse and no gentler form avoids is
    // acknowledged in the file, with the reason.
    let mut seen = strata_core::lint::Seen::default();
    let known = strata_core::lint::Knowledge {
        catalog: Some(&history),
        sizes: Default::default(),
    };
    let mut down_seen = strata_core::lint::Seen::default();
    let down_known = strata_core::lint::Knowledge {
        catalog: Some(&wanted),
        sizes: Default::default(),
    };
    let session = session_line(&project);
    let mut written = Vec::new();
    for (i, steps) in groups.iter().enumerate() {
        let version = folder.next_version(timestamp);
        let name = if groups.len() == 1 {
            base.clone()
        } else {
            format!("{base}_{}", i + 1)
        };
        let file_name = format!("{version}_{name}.sql");
        seen.transactional = steps
            .first()
            .is_some_and(|s| s.run == RunMode::InTransaction);
        let text = crate::lint::acknowledge_generated(
            &file_name,
            &render(&file_name, steps, &session),
            &mut seen,
            &known,
        )?;
        write_new(&folder.dir.join(&file_name), &text)?;
        written.push(file_name.clone());
        if let Some(downs) = &downs {
            let down_name = format!("{version}_{name}{DOWN_SUFFIX}");
            let steps = &downs[i].steps;
            down_seen.transactional = steps.iter().all(|s| s.run == RunMode::InTransaction);
            let text = crate::lint::acknowledge_generated(
                &down_name,
                &render_down(&down_name, &file_name, steps, &session),
                &mut down_seen,
                &down_known,
            )?;
            write_new(&folder.dir.join(&down_name), &text)?;
            written.push(down_name);
        }
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
    for file_name in &written {
        say(format!("wrote {}", folder.dir.join(file_name).display()));
    }
    let down_deletes = downs
        .iter()
        .flatten()
        .any(|d| d.hazards().contains(&Hazard::DeletesData));
    if down_deletes {
        say(
            "its down migration deletes data (rows the migration's new objects hold); `strata rollback` asks first",
        );
    }
    say(format!(
        "{}; review the files, then run `strata migrate`",
        steps_and_hazards(&plan)
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
fn render(file_name: &str, steps: &[Step], session: &str) -> String {
    render_with(
        &format!(
            "-- {file_name}: written by `strata generate` from the declared schema. Review it before you commit it.\n"
        ),
        steps,
        "migrate",
        session,
    )
}

/// A down file: the steps that undo `up_name`.
pub(super) fn render_down(down_name: &str, up_name: &str, steps: &[Step], session: &str) -> String {
    if steps.is_empty() {
        return format!(
            "{EMPTY} {up_name} changes nothing strata reads back\n\
             -- {down_name}: written by `strata generate`; undoes {up_name}, which changes nothing the catalog shows.\n"
        );
    }
    let mut text = render_with(
        &format!(
            "-- {down_name}: written by `strata generate`: undoes {up_name} (the schema after it back to the\n\
             -- schema before it), verified on a copy of the history. `strata rollback` runs it. Review it too.\n"
        ),
        steps,
        "rollback",
        session,
    );
    if steps
        .iter()
        .any(|s| s.hazards.contains(&Hazard::DeletesData))
    {
        text = text.replacen(
            "-- Hazards:\n",
            "-- Hazards (rolling back loses what these objects hold; `strata rollback` counts the rows and asks):\n",
            1,
        );
    }
    text
}

/// The header line that says how `migrate` and `rollback` run the file's statements.
fn session_line(project: &crate::config::Project) -> String {
    let settings = &project.config.migrations;
    format!(
        "-- Runs with lock_timeout {} and statement_timeout {} ([migrations] in strata.toml); a header\n\
         -- line `{LOCK_TIMEOUT} 2s` gives this file a lock_timeout of its own.\n",
        settings.lock_timeout, settings.statement_timeout
    )
}

/// A file of `steps` under the first line `intro`; `command` runs it.
fn render_with(intro: &str, steps: &[Step], command: &str, session: &str) -> String {
    let mut out = String::new();
    let alone = steps.iter().any(|s| s.run.outside_transaction());
    if alone {
        out.push_str(NO_TRANSACTION);
        out.push('\n');
    }
    out.push_str(intro);
    out.push_str(session);
    if alone {
        out.push_str(&format!("-- Its statements cannot run in a transaction: `strata {command}` runs them one by one and records each.\n"));
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

/// `strata generate --down-for VERSION`: the down file of an existing migration (imported or
/// hand-written), planned from the replayed history (the state after it back to the state
/// before it), written, and verified by replay; a file that does not verify is removed again.
async fn down_for(
    context: &Context,
    project: &crate::config::Project,
    folder: &MigrationsDir,
    version: &str,
) -> Result<Outcome> {
    let number = version.parse::<u128>().ok();
    let Some(index) = folder
        .migrations
        .iter()
        .position(|m| Some(m.number) == number)
    else {
        return Err(Error::Invalid(format!(
            "--down-for {version}: no migration has that number in {}",
            folder.dir.display()
        )));
    };
    let migration = &folder.migrations[index];
    if let Some(down) = &migration.down {
        return Err(Error::Invalid(format!(
            "{} already has a down file, {}; delete it first to write it again",
            migration.file_name, down.file_name
        )));
    }
    let scope = context.managed_scope(project);
    let server = context.scratch_server(project).await?;
    let cache = Cache::new(&project.root);
    let fixpoint = context.fixpoint(project);
    let before = migrations::replay(&folder.migrations[..index], &server, &scope, &cache).await?;
    let after = migrations::replay(&folder.migrations[..=index], &server, &scope, &cache).await?;
    let probes = Probes::scratch(&server, &before, &scope);
    let plan = fixpoint
        .diff(&after, &before, &[], &probes)
        .await
        .map_err(|e| Error::Invalid(format!("no down migration can be planned: {e}")));
    probes.close().await?;
    let plan = plan?;
    let down_name = format!("{}_{}{DOWN_SUFFIX}", migration.version, migration.name);
    let path = folder.dir.join(&down_name);
    write_new(
        &path,
        &render_down(
            &down_name,
            &migration.file_name,
            &plan.steps,
            &session_line(project),
        ),
    )?;
    let verified = async {
        let mut written = context.migrations(project)?;
        // Only the new file is judged here (`strata check` judges them all).
        let mut history: Vec<migrations::Migration> = written.migrations[..=index].to_vec();
        for m in &mut history[..index] {
            m.down = None;
        }
        let findings =
            crate::apply::down::verify_downs(&server, &history, &scope, &cache, fixpoint).await?;
        if let Some(finding) = findings.first() {
            return Err(Error::Invalid(finding.message.clone()));
        }
        written.write_sum()?;
        Ok(())
    }
    .await;
    if let Err(e) = verified {
        let _ = std::fs::remove_file(&path);
        return Err(Error::Invalid(format!(
            "the down file of {} does not verify, so it was not written: {e}",
            migration.file_name
        )));
    }
    say(format!("wrote {}", path.display()));
    say(format!(
        "{}; review the file (strata.sum records it), then commit it",
        steps_and_hazards(&plan)
    ));
    Ok(Outcome::Done)
}

/// `N steps (hazards: …)`, as generate ends its report.
fn steps_and_hazards(plan: &Plan) -> String {
    let hazards: Vec<&str> = plan.hazards().iter().map(|h| h.describe()).collect();
    format!(
        "{} step{}{}",
        plan.steps.len(),
        if plan.steps.len() == 1 { "" } else { "s" },
        if hazards.is_empty() {
            String::new()
        } else {
            format!(" (hazards: {})", hazards.join(", "))
        }
    )
}
