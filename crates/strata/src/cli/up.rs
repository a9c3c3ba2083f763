//! `strata up`: what a deploy runs. Pending schema migrations, then pending data migrations,
//! with one summary.

use crate::Result;
use crate::data;
use crate::fetch::Fetcher;

use super::data::{LOCK_WAIT, registry_and_tracking};
use super::opt::{Global, UpArgs};
use super::{Context, Outcome, migrate, say};

pub(super) async fn run(context: &Context, global: &Global, args: UpArgs) -> Result<Outcome> {
    let project = context.project(global)?;
    let (registry, tracking) = registry_and_tracking(context, &project)?;
    let (mut client, url) = context.connect_target(&project, &args.target).await?;
    let schema = migrate::apply_pending(
        context,
        &project,
        (&client, &url),
        None,
        args.dry_run,
        false,
    )
    .await?;
    if args.dry_run && !schema.applied.is_empty() {
        // The data migrations need the schema the pending migrations make: list, do not run.
        let pending: usize = tracking
            .status(&client, &registry, None)
            .await?
            .iter()
            .map(|s| s.pending.len())
            .sum();
        say(format!(
            "dry run: {} schema migration(s), then {pending} data migration(s), would be applied to {url}; nothing was changed",
            schema.applied.len()
        ));
        super::json::emit(serde_json::json!({
            "database": url.to_string(),
            "dry_run": true,
            "schema": migrate::applied_json(&schema),
            "data": serde_json::Value::Null,
            "data_pending": pending,
        }));
        return Ok(Outcome::Done);
    }
    let fetcher = Fetcher::new(project.env.clone());
    let data = data::migrate(
        &mut client,
        &tracking,
        &registry,
        &fetcher,
        (None, args.dry_run, false),
        LOCK_WAIT,
        &|line| super::note(line),
    )
    .await?;
    super::json::emit(serde_json::json!({
        "database": url.to_string(),
        "dry_run": args.dry_run,
        "schema": migrate::applied_json(&schema),
        "data": super::data::applied_json(&data),
        "data_pending": serde_json::Value::Null,
    }));
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let (s, d) = (schema.applied.len(), data.applied.len());
    if args.dry_run {
        say(format!(
            "dry run: {s} schema migration{} and {d} data migration{} would be applied to {url}; nothing was changed",
            plural(s),
            plural(d)
        ));
    } else if s + d == 0 {
        say(format!("nothing to do: {url} is up to date"));
    } else {
        say(format!(
            "up: applied {s} schema migration{} and {d} data migration{} to {url}",
            plural(s),
            plural(d)
        ));
    }
    Ok(Outcome::Done)
}
