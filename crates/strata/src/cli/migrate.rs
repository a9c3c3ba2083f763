//! `strata migrate`: pending migrations applied to the database, under a lock.

use std::time::Duration;

use crate::apply::history::{self, MigrateOptions, MigrateReport};
use crate::config::Project;
use crate::{Error, Result};

use super::opt::{Global, MigrateArgs};
use super::{Context, Outcome, json, say};
use serde_json::{Value, json};

/// The migrations a run applied (or would), for `--json`.
pub(super) fn applied_json(report: &MigrateReport) -> Value {
    applied_json_of(&report.applied)
}

/// Migration files with how long each ran, for `--json`.
pub(super) fn applied_json_of(files: &[(String, u128)]) -> Value {
    files
        .iter()
        .map(|(file, ms)| json!({ "file": file, "execution_ms": ms }))
        .collect()
}

/// The number `--to VERSION` names (`migrate`, `rollback`, `baseline`); `example` ends the
/// advice of the error.
pub(super) fn version_flag(flag: Option<&str>, example: &str) -> Result<Option<u128>> {
    flag.map(|text| {
        text.parse::<u128>().map_err(|_| {
            Error::Invalid(format!(
                "--to {text}: give a migration number, e.g. --to 0003{example}"
            ))
        })
    })
    .transpose()
}

pub(super) async fn run(context: &Context, global: &Global, args: MigrateArgs) -> Result<Outcome> {
    let project = context.project(global)?;
    let to = version_flag(args.to.as_deref(), "")?;
    let (client, url) = context.connect_target(&project, &args.target).await?;
    let report = apply_pending(
        context,
        &project,
        (&client, &url),
        to,
        args.dry_run,
        args.allow_out_of_order,
    )
    .await?;
    json::emit(json!({
        "database": url.to_string(),
        "dry_run": args.dry_run,
        "applied": applied_json(&report),
    }));
    let count = report.applied.len();
    let plural = if count == 1 { "" } else { "s" };
    if args.dry_run {
        say(format!(
            "dry run: {count} migration{plural} would be applied to {url}; nothing was changed"
        ));
    } else if count == 0 {
        say(format!("nothing to do: {url} is up to date"));
    } else {
        let total: u128 = report.applied.iter().map(|(_, ms)| ms).sum();
        say(format!(
            "applied {count} migration{plural} to {url} in {total} ms"
        ));
    }
    Ok(Outcome::Done)
}

/// Applies the pending schema migrations of the project to `client`'s database at `url`
/// (refusing a migrations folder that does not match `strata.sum`).
pub(super) async fn apply_pending(
    context: &Context,
    project: &Project,
    (client, url): (&tokio_postgres::Client, &crate::postgres::url::DbUrl),
    to: Option<u128>,
    dry_run: bool,
    allow_out_of_order: bool,
) -> Result<MigrateReport> {
    let folder = reviewed_folder(context, project, "nothing was applied")?;
    let options = MigrateOptions {
        to,
        dry_run,
        allow_out_of_order,
        ..options(context, project, url)?
    };
    let history = context.history(project)?;
    if let Some(to) = to {
        refuse_going_back(client, &history, to).await?;
    }
    history::migrate(client, &history, &folder, &options, &|line| {
        super::note(line)
    })
    .await
}

/// The project's migrations folder, refused (saying `nothing`: what was left undone) when it
/// does not match `strata.sum`.
pub(super) fn reviewed_folder(
    context: &Context,
    project: &Project,
    nothing: &str,
) -> Result<crate::source::migrations::MigrationsDir> {
    let folder = context.migrations(project)?;
    let findings = folder.findings();
    if !findings.is_empty() {
        let list: Vec<String> = findings
            .iter()
            .map(|f| format!("  {}", f.message))
            .collect();
        return Err(Error::Invalid(format!(
            "{} does not match what was reviewed:\n{}\n{nothing}",
            folder.dir.display(),
            list.join("\n")
        )));
    }
    Ok(folder)
}

/// The project's settings for running migrations against the database at `url`.
pub(super) fn options(
    context: &Context,
    project: &Project,
    url: &crate::postgres::url::DbUrl,
) -> Result<MigrateOptions> {
    let settings = &project.config.migrations;
    Ok(MigrateOptions {
        to: None,
        dry_run: false,
        allow_out_of_order: false,
        lock_timeout: settings.lock_timeout.clone(),
        lock_retries: settings.lock_retries,
        statement_timeout: settings.statement_timeout.clone(),
        lock_wait: Duration::from_secs(settings.lock_wait_seconds),
        scope: context.managed_scope(project),
        tracking: project.tracking_tables()?,
        beacon: Some((url.clone(), project.env.clone())),
    })
}

/// `--to` below the newest applied migration asks to go back, which `migrate` never does: it
/// says which command does.
async fn refuse_going_back(
    client: &tokio_postgres::Client,
    history: &history::History,
    to: u128,
) -> Result<()> {
    let applied = history.read(client).await?;
    let newer: Vec<String> = applied
        .iter()
        .filter(|r| r.version.parse::<u128>().is_ok_and(|n| n > to))
        .map(|r| r.file_name())
        .collect();
    if newer.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "--to {to} is below what the database has applied ({}); migrate only applies, it never undoes. \
         `strata rollback --to {to}` undoes them with their down files; nothing was applied",
        newer.join(", ")
    )))
}
