//! `strata check`: is everything in agreement? The migrations folder with `strata.sum`, the
//! history with the declared files, the database with its history. Exit 1 on any finding.

use serde::Serialize;
use strata_core::catalog::{Catalog, Unmodeled};
use strata_core::plan::Plan;

use crate::Result;
use crate::apply::history::{Applied, RolledBack, compare};
use crate::apply::verify;
use crate::introspect::Scope;
use crate::normalise::fixpoint::{Fixpoint, Probes};
use crate::normalise::scratch::ScratchServer;
use crate::source::cache::Cache;
use crate::source::migrations::{self, Finding, MigrationsDir};

use super::opt::{CheckArgs, Global};
use super::{Context, Outcome, census, say};

/// A finding for scripts (`--json`): what it is about, as far as it is about one thing. A plan's
/// difference (`unsynced`, `drift`) is one finding per step, with its object and full
/// statement; a file's problem names the file.
#[derive(Serialize)]
struct Structured {
    kind: &'static str,
    message: String,
    object: Option<String>,
    statement: Option<String>,
    file: Option<String>,
    line: Option<usize>,
}

impl Structured {
    fn of(finding: &Finding, files: &[String]) -> Structured {
        Structured {
            kind: finding.kind,
            message: finding.message.clone(),
            object: None,
            statement: None,
            // A migration's name before `strata.sum`, which many messages about a file name too.
            file: files
                .iter()
                .filter(|f| finding.message.contains(f.rsplit('/').next().unwrap_or(f)))
                .max_by_key(|f| (!f.ends_with(migrations::SUM_FILE), f.len()))
                .cloned(),
            line: None,
        }
    }

    fn steps(kind: &'static str, message: &str, plan: &Plan) -> Vec<Structured> {
        plan.steps
            .iter()
            .map(|step| Structured {
                kind,
                message: message.to_owned(),
                object: Some(step.object.clone()),
                statement: Some(step.sql.clone()),
                file: None,
                line: None,
            })
            .collect()
    }
}

pub(super) async fn run(context: &Context, global: &Global, args: CheckArgs) -> Result<Outcome> {
    let project = context.project(global)?;
    let folder = context.migrations(&project)?;
    let mut findings = folder.findings();
    let scope = context.managed_scope(&project);
    let server = context.scratch_server(&project).await?;
    let cache = Cache::new(&project.root);
    // What each source holds that strata does not model.
    let mut unmodeled: Vec<(String, Vec<Unmodeled>)> = Vec::new();
    // The plans behind `unsynced` and `drift`, for their structured findings.
    let mut plans: Vec<(&'static str, Plan)> = Vec::new();

    // The history against the declared files.
    let declared = context.declared_if_any(&project)?;
    if let Some(declared) = &declared {
        let states = crate::normalise::state::States::new(&server, &project.root);
        let (history, (wanted, _)) = tokio::try_join!(
            states.history(&folder.migrations, &scope, &cache),
            states.declared(declared, &scope, &cache, context.fixpoint(&project))
        )?;
        unmodeled.push((
            census::folder(&project, &declared.dir),
            wanted.unmodeled.clone(),
        ));
        unmodeled.push((
            census::folder(&project, &folder.dir),
            history.unmodeled.clone(),
        ));
        let probes = Probes::scratch(&server, &wanted, &scope);
        let plan = context
            .fixpoint(&project)
            .diff(&history, &wanted, &[], &probes)
            .await;
        probes.close().await?;
        let plan = plan?;
        if !plan.is_empty() {
            findings.push(Finding {
                kind: "unsynced",
                message: format!(
                    "the declared files hold changes that no migration does; run `strata generate`:\n    {}",
                    verify::summarize(&plan).join("\n    ")
                ),
            });
            plans.push(("unsynced", plan));
        }
        findings.extend(super::codegen::stale(&project, &wanted));
    }

    // Each down file against the history: it must take the schema back.
    findings.extend(
        crate::apply::down::verify_downs(
            &server,
            &folder.migrations,
            &scope,
            &cache,
            context.fixpoint(&project),
        )
        .await?,
    );
    let irreversible: Vec<String> = folder
        .migrations
        .iter()
        .filter(|m| m.down.is_none())
        .map(|m| m.file_name.clone())
        .collect();

    // The database against its history.
    let history = context.history(&project)?;
    let (client, url) = context.connect_target(&project, &args.target).await?;
    let applied = history.read(&client).await?;
    let comparison = compare(&folder, &applied);
    findings.extend(comparison.findings.iter().cloned());
    for row in &comparison.partial {
        findings.push(partial_finding(row));
    }
    let records = history.read_rollbacks(&client).await?;
    for record in records.iter().filter(|r| r.status == "partial") {
        findings.push(partial_rollback_finding(record));
    }
    let rolled_back = rolled_back(&records, &applied);
    let live = context.live_catalog(&project, &client, &scope).await?;
    unmodeled.push((url.to_string(), live.unmodeled.clone()));
    let sources: Vec<(&str, &[Unmodeled])> = unmodeled
        .iter()
        .map(|(label, objects)| (label.as_str(), objects.as_slice()))
        .collect();
    census::report(&project, args.strict, &sources)?;
    let compare = Compare {
        fixpoint: context.fixpoint(&project),
        probes: Probes::on(&client, crate::postgres::server_version(&client).await?),
    };
    if let Some(plan) =
        drift_plan(&folder, &applied, &live, &server, &scope, &cache, &compare).await?
    {
        findings.push(drift_finding(&plan));
        plans.push(("drift", plan));
    }
    // The pending migrations, judged as `strata lint --url` would: what they would block or
    // lose on this database.
    let inputs: Vec<crate::lint::Input> = comparison
        .pending
        .iter()
        .map(|m| crate::lint::Input {
            name: census::folder(&project, &m.path),
            text: m.text.clone(),
        })
        .collect();
    let known = strata_core::lint::Knowledge {
        catalog: Some(&live),
        sizes: crate::lint::sizes(&client).await?,
    };
    for finding in crate::lint::lint(&inputs, &known)?
        .into_iter()
        .filter(|f| f.level == strata_core::lint::Level::Error)
    {
        findings.push(Finding {
            kind: "lint",
            message: format!(
                "{}:{}: {}: {} (`strata lint --url` explains; acknowledge with `-- strata:allow {} <reason>`)",
                finding.file, finding.line, finding.rule, finding.message, finding.rule
            ),
        });
    }
    let pending: Vec<String> = comparison
        .pending
        .iter()
        .map(|m| m.file_name.clone())
        .collect();

    if super::json::on() {
        let files: Vec<String> = folder
            .migrations
            .iter()
            .map(|m| m.file_name.clone())
            .chain(applied.iter().map(Applied::file_name))
            .chain([migrations::SUM_FILE.to_owned()])
            .map(|name| census::folder(&project, &folder.dir.join(name)))
            .collect();
        let mut structured = Vec::new();
        for finding in &findings {
            match plans.iter().find(|(kind, _)| *kind == finding.kind) {
                Some((kind, plan)) => {
                    structured.extend(Structured::steps(kind, &finding.message, plan))
                }
                None => structured.push(Structured::of(finding, &files)),
            }
        }
        super::json::emit(serde_json::json!({
            "database": url.to_string(),
            "findings": structured,
            "pending": pending,
            "irreversible": irreversible,
            "rolled_back": rolled_back,
        }));
        return Ok(if findings.is_empty() {
            Outcome::Done
        } else {
            Outcome::Found
        });
    }
    for finding in &findings {
        say(format!("{}: {}", finding.kind, finding.message));
    }
    if !pending.is_empty() {
        say(format!(
            "pending on {url} (not a problem; `strata migrate` applies them): {}",
            pending.join(", ")
        ));
    }
    for record in &rolled_back {
        say(format!(
            "rolled back on {url}: {}_{}.sql, {} by {} (pending again)",
            record.version, record.name, record.rolled_back_at, record.rolled_back_by
        ));
    }
    // One line, however long the history written before down files existed.
    if !irreversible.is_empty() {
        let shown: Vec<&str> = irreversible.iter().take(5).map(String::as_str).collect();
        let more = match irreversible.len() - shown.len() {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        let (have, them) = match irreversible.len() {
            1 => ("has", "it"),
            _ => ("have", "them"),
        };
        say(format!(
            "irreversible: {}{more} {have} no down file (allowed: `strata rollback` stops before {them}; `strata generate --down-for VERSION` writes one)",
            shown.join(", "),
        ));
    }
    if findings.is_empty() {
        let count = folder.migrations.len();
        let plural = if count == 1 { "" } else { "s" };
        say(match &declared {
            Some(_) => format!(
                "ok: {count} migration{plural}, strata.sum, the declared files and {url} agree"
            ),
            None => format!(
                "ok: {count} migration{plural}, strata.sum and {url} agree; no declared files ({} does not exist)",
                project.config.schema.dir.display()
            ),
        });
        Ok(Outcome::Done)
    } else {
        say(format!(
            "{} finding{}",
            findings.len(),
            if findings.len() == 1 { "" } else { "s" }
        ));
        Ok(Outcome::Found)
    }
}

/// A migration that stopped halfway.
pub(super) fn partial_finding(row: &Applied) -> Finding {
    Finding {
        kind: "partial",
        message: format!(
            "{} stopped after statement {}{}; fix the cause and run `strata migrate` to continue",
            row.file_name(),
            row.statements_done.unwrap_or(0),
            row.error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ),
    }
}

/// A rollback whose `no-transaction` down file stopped halfway.
pub(super) fn partial_rollback_finding(record: &RolledBack) -> Finding {
    Finding {
        kind: "partial",
        message: format!(
            "the rollback of {}_{}.sql stopped after statement {} of {}{}; fix the cause and run `strata rollback` to continue",
            record.version,
            record.name,
            record.statements_done.unwrap_or(0),
            record.file_name(),
            record
                .error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ),
    }
}

/// The latest finished rollback record of each migration that is not applied now.
pub(super) fn rolled_back(records: &[RolledBack], applied: &[Applied]) -> Vec<RolledBack> {
    let mut latest: Vec<RolledBack> = Vec::new();
    for record in records.iter().rev().filter(|r| r.status == "done") {
        if applied.iter().any(|a| a.version == record.version)
            || latest.iter().any(|l| l.version == record.version)
        {
            continue;
        }
        latest.push(record.clone());
    }
    latest.sort_by(|a, b| b.version.cmp(&a.version));
    latest
}

/// How a live database is compared with another state: texts at their fixed point, probed on
/// the live database.
pub(super) struct Compare<'a> {
    pub fixpoint: &'a Fixpoint,
    pub probes: Probes<'a>,
}

/// Whether the database differs from the state its applied migrations give. The catalog hash
/// recorded by the last `migrate` answers cheaply; when it differs (or is missing), the applied
/// migrations are replayed and the differing objects listed.
pub(super) async fn drift(
    folder: &MigrationsDir,
    applied: &[Applied],
    live: &Catalog,
    server: &ScratchServer,
    scope: &Scope,
    cache: &Cache,
    compare: &Compare<'_>,
) -> Result<Option<Finding>> {
    let plan = drift_plan(folder, applied, live, server, scope, cache, compare).await?;
    Ok(plan.as_ref().map(drift_finding))
}

/// The steps that take the state the applied migrations give to the live database: `None` when
/// they agree.
async fn drift_plan(
    folder: &MigrationsDir,
    applied: &[Applied],
    live: &Catalog,
    server: &ScratchServer,
    scope: &Scope,
    cache: &Cache,
    compare: &Compare<'_>,
) -> Result<Option<Plan>> {
    if recorded_hash(applied).is_some_and(|hash| hash == live.hash()) {
        return Ok(None);
    }
    let ran: Vec<_> = folder
        .migrations
        .iter()
        .filter(|m| {
            applied
                .iter()
                .any(|r| r.version == m.version && r.status == "applied")
        })
        .cloned()
        .collect();
    let expected = migrations::replay(&ran, server, scope, cache).await?;
    let plan = compare
        .fixpoint
        .diff(&expected, live, &[], &compare.probes)
        .await?;
    Ok((!plan.is_empty()).then_some(plan))
}

fn drift_finding(plan: &Plan) -> Finding {
    Finding {
        kind: "drift",
        message: format!(
            "the database differs from what its applied migrations give (changed by hand?); from the history, these steps would make it what it is:\n    {}\nput the change in a migration, or undo it",
            verify::summarize(plan).join("\n    ")
        ),
    }
}

/// The catalog hash recorded after the most recent migrate run.
pub(super) fn recorded_hash(applied: &[Applied]) -> Option<&str> {
    applied
        .iter()
        .filter(|r| r.status == "applied")
        .max_by(|a, b| a.applied_at.cmp(&b.applied_at))
        .and_then(|r| r.catalog_hash.as_deref())
}
