//! `strata baseline`: migrations recorded as applied without running them, for a database that
//! already holds what they create (built by `push`, by hand, or by another tool). Nothing is
//! taken on trust: the migrations are replayed in a scratch database and the live database must
//! equal the replay, compared as `check` compares for drift (texts at their fixed point). Only
//! then are the rows written, in one transaction under the migrate lock, the catalog hash with
//! them.

use std::time::Duration;

use serde_json::json;

use crate::apply::history::{Applied, compare};
use crate::apply::verify;
use crate::normalise::fixpoint::Probes;
use crate::source::cache::Cache;
use crate::source::migrations::Migration;
use crate::{Error, Result};

use super::opt::{BaselineArgs, Global};
use super::{Context, Outcome, json, migrate, note, say};

pub(super) async fn run(context: &Context, global: &Global, args: BaselineArgs) -> Result<Outcome> {
    let project = context.project(global)?;
    let to = migrate::version_flag(args.to.as_deref(), "")?;
    let folder = migrate::reviewed_folder(context, &project, "nothing was recorded")?;
    let chosen: Vec<Migration> = folder
        .migrations
        .iter()
        .filter(|m| to.is_none_or(|to| m.number <= to))
        .cloned()
        .collect();
    if chosen.is_empty() {
        return Err(Error::Invalid(match to {
            Some(to) => format!(
                "{} holds no migration numbered {to} or below; nothing was recorded",
                folder.dir.display()
            ),
            None => format!(
                "{} holds no migration to record; write one with `strata generate` first; nothing was recorded",
                folder.dir.display()
            ),
        }));
    }
    let (client, url) = context.connect_target(&project, &args.target).await?;
    let history = context.history(&project)?;
    let applied = history.read(&client).await?;
    let unrecorded: Vec<&Migration> = chosen
        .iter()
        .filter(|m| !applied.iter().any(|r| r.version == m.version))
        .collect();
    let files =
        |list: &[&Migration]| -> Vec<String> { list.iter().map(|m| m.file_name.clone()).collect() };
    if unrecorded.is_empty() {
        json::emit(json!({
            "database": url.to_string(),
            "dry_run": args.dry_run,
            "recorded": [],
            "differences": [],
        }));
        say(format!(
            "nothing to do: {url} already records {} as applied",
            match chosen.len() {
                1 => chosen[0].file_name.clone(),
                n => format!("all {n} migrations"),
            }
        ));
        return Ok(Outcome::Done);
    }
    refuse_history(&folder, &applied, &chosen)?;

    // The replay of the chosen migrations against the live database.
    let scope = context.managed_scope(&project);
    let server = context.scratch_server(&project).await?;
    let cache = Cache::new(&project.root);
    let expected = crate::source::migrations::replay(&chosen, &server, &scope, &cache).await?;
    let live = context.live_catalog(&project, &client, &scope).await?;
    let probes = Probes::on(&client, crate::postgres::server_version(&client).await?);
    let plan = context
        .fixpoint(&project)
        .diff(&expected, &live, &[], &probes)
        .await?;
    let last = chosen.last().expect("chosen is not empty");
    if !plan.is_empty() {
        json::emit(json!({
            "database": url.to_string(),
            "dry_run": args.dry_run,
            "recorded": [],
            "differences": json::steps(&plan),
        }));
        let changes = verify::summarize(&plan);
        say(format!(
            "{url} differs from what the migrations up to {} give; from their replay, {} step{} would make it what it is:\n  {}\nnothing was recorded: bring the database or the migrations in line (`strata diff --from {} --to <url>` shows the statements), or baseline an earlier version with --to",
            last.file_name,
            changes.len(),
            if changes.len() == 1 { "" } else { "s" },
            changes.join("\n  "),
            project.config.migrations.dir.display(),
        ));
        return Ok(Outcome::Found);
    }
    let names = files(&unrecorded);
    if args.dry_run {
        json::emit(json!({
            "database": url.to_string(),
            "dry_run": true,
            "recorded": names,
            "differences": [],
        }));
        say(format!(
            "dry run: {url} holds exactly what the migrations up to {} give; would record as applied: {}; nothing was recorded",
            last.file_name,
            names.join(", ")
        ));
        return Ok(Outcome::Done);
    }

    let wait = Duration::from_secs(project.config.migrations.lock_wait_seconds);
    let tracking = project.tracking_tables()?;
    history
        .locked(
            &client,
            wait,
            || note("waiting for another strata migrate of this database to finish"),
            async || {
                history.ensure(&client).await?;
                // Another migrate or baseline may have written rows since they were read.
                let now = history.read(&client).await?;
                if now.len() != applied.len()
                    || now
                        .iter()
                        .zip(&applied)
                        .any(|(a, b)| a.version != b.version || a.status != b.status)
                {
                    return Err(Error::Invalid(format!(
                        "{} changed while the database was compared (another migrate?); nothing was recorded; run again",
                        history.table()
                    )));
                }
                let proven = Proven {
                    history: &history,
                    scope: &scope,
                    tracking: &tracking,
                    live: &live,
                    by: "baseline",
                    url: &url,
                };
                record_proven(&client, &proven, &unrecorded, async || Ok(())).await
            },
        )
        .await?;
    json::emit(json!({
        "database": url.to_string(),
        "dry_run": false,
        "recorded": names,
        "differences": [],
    }));
    say(format!(
        "{url} holds exactly what the migrations up to {} give: recorded {} as applied in {} without running {}",
        last.file_name,
        names.join(", "),
        history.table(),
        if names.len() == 1 { "it" } else { "them" }
    ));
    let rest = folder.migrations.len() - chosen.len();
    if rest > 0 {
        say(format!(
            "{rest} later migration{} pending: `strata migrate` applies {}",
            if rest == 1 { " is" } else { "s are" },
            if rest == 1 { "it" } else { "them" }
        ));
    }
    Ok(Outcome::Done)
}

/// Refuses a history that a baseline cannot build on: a migration stopped halfway, an applied
/// file edited or gone, or applied migrations above the ones to record.
fn refuse_history(
    folder: &crate::source::migrations::MigrationsDir,
    applied: &[Applied],
    chosen: &[Migration],
) -> Result<()> {
    let last = chosen.last().expect("chosen is not empty");
    let mut problems: Vec<String> = compare(folder, applied)
        .findings
        .into_iter()
        .filter(|f| f.kind == "edited" || f.kind == "missing")
        .map(|f| f.message)
        .collect();
    for row in applied {
        if row.status == "partial" {
            problems.push(format!(
                "{} stopped halfway; finish it with `strata migrate` first",
                row.file_name()
            ));
        } else if row.version.parse::<u128>().is_ok_and(|n| n > last.number) {
            problems.push(format!(
                "{} is applied, above {}: a baseline records migrations below what is applied, never instead of it",
                row.file_name(),
                last.file_name
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "the history of this database cannot take a baseline:\n  {}\nnothing was recorded",
        problems.join("\n  ")
    )))
}

/// A comparison that proved the database holds what some migrations give, and where to record
/// them.
pub(super) struct Proven<'a> {
    pub history: &'a crate::apply::history::History,
    pub scope: &'a crate::introspect::Scope,
    /// strata's tracking tables, left out of the catalog as in the comparison.
    pub tracking: &'a [strata_core::catalog::QualName],
    /// The database's catalog the comparison read.
    pub live: &'a strata_core::catalog::Catalog,
    /// Who recorded them, after the database user: `baseline`, `imported from sqlx`.
    pub by: &'a str,
    pub url: &'a crate::postgres::url::DbUrl,
}

/// Records `migrations` as applied without running them, in one `REPEATABLE READ` transaction
/// (the caller holds the migrate lock), with `also` (the files the rows go with) inside it. It
/// commits only when the schema, read in that transaction's snapshot, is still the one the
/// comparison read; the newest row gets that catalog hash, as `migrate` records it.
pub(super) async fn record_proven(
    client: &tokio_postgres::Client,
    proven: &Proven<'_>,
    migrations: &[&Migration],
    also: impl AsyncFnOnce() -> Result<()>,
) -> Result<()> {
    let table = strata_core::render::qualified(proven.history.table());
    crate::postgres::in_transaction(
        client,
        "BEGIN ISOLATION LEVEL REPEATABLE READ",
        "recording the migrations",
        async || {
            let insert = format!(
                "INSERT INTO {table} (version, name, checksum, applied_by) \
                 VALUES ($1, $2, $3, current_user || ' (' || $4 || ')')"
            );
            for migration in migrations {
                client
                    .execute(
                        &insert,
                        &[
                            &migration.version,
                            &migration.name,
                            &migration.checksum,
                            &proven.by,
                        ],
                    )
                    .await
                    .map_err(|e| Error::db(format!("recording {}", migration.file_name), e))?;
            }
            also().await?;
            let now =
                crate::introspect::introspect_within(client, proven.scope, proven.tracking)
                    .await?
                    .catalog;
            if now.hash() != proven.live.hash() {
                return Err(Error::Invalid(format!(
                    "the schema of {} changed while it was compared; nothing was recorded; run again",
                    proven.url
                )));
            }
            if let Some(last) = migrations.last() {
                client
                    .execute(
                        &format!("UPDATE {table} SET catalog_hash = $1 WHERE version = $2"),
                        &[&now.hash(), &last.version],
                    )
                    .await
                    .map_err(|e| Error::db("recording the catalog hash", e))?;
            }
            Ok(())
        },
    )
    .await
}
