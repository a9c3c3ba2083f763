//! `strata rollback`: applied migrations undone newest first with their down files.

use crate::apply::history::{self, Loss, RollbackOptions};
use crate::{Error, Result};

use super::opt::{Global, RollbackArgs};
use super::{Context, Outcome, ask, interactive, json, migrate, note, say};

pub(super) async fn run(context: &Context, global: &Global, args: RollbackArgs) -> Result<Outcome> {
    let project = context.project(global)?;
    let to = migrate::version_flag(args.to.as_deref(), " (or --to 0 to undo all)")?;
    let folder = migrate::reviewed_folder(context, &project, "nothing was rolled back")?;
    let (client, url) = context.connect_target(&project, &args.target).await?;
    // On production, a rollback is deliberate: forced, and with how far it goes written out.
    let deliberate = args.force && to.is_some();
    if !args.dry_run && !deliberate {
        crate::postgres::environment::refuse_production(
            &client,
            project.env.get("STRATA_ENV"),
            "roll back migrations",
            &url.to_string(),
        )
        .await
        .map_err(|e| {
            Error::Invalid(format!(
                "{e}\nto roll back a production database anyway, say how far with --to VERSION and pass --force"
            ))
        })?;
    }
    let options = RollbackOptions {
        to,
        dry_run: args.dry_run,
        settings: migrate::options(context, &project, &url)?,
    };
    let history = context.history(&project)?;
    let force = args.force;
    let mut confirm = |losses: &[Loss]| -> Result<bool> {
        let list: Vec<String> = losses.iter().map(|l| format!("  {l}")).collect();
        let question = format!("rolling back deletes data on {url}:\n{}\n", list.join("\n"));
        if force {
            note(format!("{question}--force: rolling back anyway"));
            Ok(true)
        } else if interactive() {
            ask(&format!("{question}roll back anyway? [y/N] "))
        } else {
            note(format!(
                "{question}nothing was rolled back; pass --force to roll back anyway"
            ));
            Ok(false)
        }
    };
    let report = history::rollback(
        &client,
        &history,
        &folder,
        &options,
        &mut confirm,
        &|line| note(line),
    )
    .await?;
    json::emit(serde_json::json!({
        "database": url.to_string(),
        "dry_run": args.dry_run,
        "rolled_back": migrate::applied_json_of(&report.undone),
        "downs": report
            .downs
            .iter()
            .map(|d| serde_json::json!({ "file": d.file_name, "sql": d.text }))
            .collect::<Vec<_>>(),
        "losses": report.losses.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "refused": report.refused,
    }));
    let count = report.undone.len();
    let plural = if count == 1 { "" } else { "s" };
    if args.dry_run {
        for down in &report.downs {
            say(format!("-- {}", down.file_name));
            say(down.text.trim_end());
            say("");
        }
        for loss in &report.losses {
            note(format!("would delete: {loss}"));
        }
        note(format!(
            "dry run: {count} migration{plural} would be rolled back on {url}; nothing was changed"
        ));
        return Ok(Outcome::Done);
    }
    if report.refused {
        return Ok(Outcome::Found);
    }
    if count == 0 {
        say(format!(
            "nothing to do: no applied migration {}on {url}",
            to.map(|to| format!("above {to} ")).unwrap_or_default()
        ));
    } else {
        let total: u128 = report.undone.iter().map(|(_, ms)| ms).sum();
        say(format!(
            "rolled back {count} migration{plural} on {url} in {total} ms"
        ));
    }
    Ok(Outcome::Done)
}
