//! `strata data …`: data migrations, run, undone and listed per PostgreSQL schema.

use std::time::Duration;

use crate::config::{Project, table_name};
use crate::data::{self, Registry, Tracking};
use crate::fetch::Fetcher;
use crate::{Error, Result};

use super::opt::{DataAction, Global};
use super::{Context, Outcome, ask, interactive, json, say, write_new};
use serde_json::{Value, json};

/// The data migrations a run applied (or ran and rolled back), for `--json`; in a dry run with
/// the rows each changed per table.
pub(super) fn applied_json(outcome: &data::MigrateOutcome) -> Value {
    outcome
        .applied
        .iter()
        .map(|(name, ms)| {
            let rows = outcome
                .rows
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, tables)| {
                    tables
                        .iter()
                        .map(|t| {
                            json!({
                                "table": t.table,
                                "inserted": t.inserted,
                                "updated": t.updated,
                                "deleted": t.deleted,
                            })
                        })
                        .collect::<Vec<_>>()
                });
            json!({ "name": name, "execution_ms": ms, "rows": rows })
        })
        .collect()
}

/// How long a data command waits for another one on the same database.
pub(super) const LOCK_WAIT: Duration = Duration::from_secs(600);

pub(super) async fn run(context: &Context, global: &Global, action: DataAction) -> Result<Outcome> {
    let project = context.project(global)?;
    let (registry, tracking) = registry_and_tracking(context, &project)?;
    let log = |line: String| super::note(line);
    match action {
        DataAction::Migrate {
            schema,
            target,
            dry_run,
            ignore_missing,
        } => {
            check_schema(&registry, schema.as_deref())?;
            let (mut client, url) = context.connect_target(&project, &target).await?;
            let fetcher = Fetcher::new(project.env.clone());
            let outcome = data::migrate(
                &mut client,
                &tracking,
                &registry,
                &fetcher,
                (schema.as_deref(), dry_run, ignore_missing),
                LOCK_WAIT,
                &log,
            )
            .await?;
            json::emit(json!({
                "database": url.to_string(),
                "dry_run": dry_run,
                "applied": applied_json(&outcome),
                "left_alone": outcome
                    .left_alone
                    .iter()
                    .map(|(schema, names)| json!({ "schema": schema, "names": names }))
                    .collect::<Vec<_>>(),
                "ignored_missing": outcome.ignored_missing,
            }));
            for (foreign, names) in &outcome.left_alone {
                say(format!(
                    "left alone: {} applied data migration{} of schema `{foreign}`, which the registry does not define (written by earlier scripts?): {}",
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    names.join(", ")
                ));
            }
            for name in &outcome.ignored_missing {
                say(format!(
                    "ignored (--ignore-missing): {name} is applied but not in the registry; its row is kept"
                ));
            }
            let count = outcome.applied.len();
            let plural = if count == 1 { "" } else { "s" };
            if dry_run {
                for (name, tables) in &outcome.rows {
                    say(format!("{name}:"));
                    if tables.is_empty() {
                        say("  no rows changed");
                    }
                    for t in tables {
                        say(format!(
                            "  {}: {} inserted, {} updated, {} deleted",
                            t.table, t.inserted, t.updated, t.deleted
                        ));
                    }
                }
                say(format!(
                    "dry run: {count} data migration{plural} ran and {} rolled back; nothing was changed on {url}",
                    if count == 1 { "was" } else { "were" }
                ));
            } else if count == 0 {
                say(format!(
                    "nothing to do: no pending data migrations on {url}"
                ));
            } else {
                say(format!("applied {count} data migration{plural} to {url}"));
            }
            Ok(Outcome::Done)
        }
        DataAction::Reset {
            schema,
            target,
            yes,
        } => {
            check_schema(&registry, schema.as_deref())?;
            let (mut client, url) = context.connect_target(&project, &target).await?;
            crate::postgres::environment::refuse_production(
                &client,
                project.env.get("STRATA_ENV"),
                "reset data migrations",
                &url.to_string(),
            )
            .await?;
            let plan = data::reset_plan(&client, &tracking, &registry, schema.as_deref()).await?;
            if plan.is_empty() {
                say(format!(
                    "nothing to do: no applied data migrations to reset on {url}"
                ));
                json::emit(json!({ "database": url.to_string(), "reset": [], "refused": null }));
                return Ok(Outcome::Done);
            }
            let question = format!(
                "reset {} data migration{} on {url} (their `down` runs, newest first):\n  {}\n",
                plan.len(),
                if plan.len() == 1 { "" } else { "s" },
                plan.join("\n  ")
            );
            if !yes {
                if !interactive() {
                    eprintln!("strata: {question}nothing was changed; pass --yes to reset them");
                    json::emit(
                        json!({ "database": url.to_string(), "reset": [], "refused": "confirm" }),
                    );
                    return Ok(Outcome::Found);
                }
                if !ask(&format!("{question}go ahead? [y/N] "))? {
                    eprintln!("strata: nothing was changed");
                    json::emit(
                        json!({ "database": url.to_string(), "reset": [], "refused": "declined" }),
                    );
                    return Ok(Outcome::Found);
                }
            }
            let fetcher = Fetcher::new(project.env.clone());
            let outcome = data::reset(
                &mut client,
                &tracking,
                &registry,
                &fetcher,
                schema.as_deref(),
                LOCK_WAIT,
                &log,
            )
            .await?;
            json::emit(
                json!({ "database": url.to_string(), "reset": outcome.reset, "refused": null }),
            );
            say(format!(
                "reset {} data migration{} on {url}",
                outcome.reset.len(),
                if outcome.reset.len() == 1 { "" } else { "s" }
            ));
            Ok(Outcome::Done)
        }
        DataAction::Status { schema, target } => {
            let (client, url) = context.connect_target(&project, &target).await?;
            let status = tracking
                .status(&client, &registry, schema.as_deref())
                .await?;
            let problems = registry.problems();
            let found = !problems.is_empty()
                || status
                    .iter()
                    .any(|s| !s.pending.is_empty() || !s.missing.is_empty());
            if super::json::on() {
                super::json::emit(serde_json::json!({
                    "database": url.to_string(),
                    "schemas": status,
                    "problems": problems,
                }));
            } else {
                say(format!("database: {url}"));
                for s in &status {
                    if s.foreign {
                        say(format!(
                            "{}: {} applied, not defined by the registry (left alone)",
                            s.schema,
                            s.applied.len()
                        ));
                        for row in &s.applied {
                            say(format!("  foreign  {}  {}", row.name, row.applied_at));
                        }
                        continue;
                    }
                    say(format!(
                        "{}: {} applied, {} pending",
                        s.schema,
                        s.applied.len(),
                        s.pending.len()
                    ));
                    for row in &s.applied {
                        say(format!("  applied  {}  {}", row.name, row.applied_at));
                    }
                    for name in &s.pending {
                        say(format!("  pending  {name}"));
                    }
                    for name in &s.missing {
                        say(format!(
                            "  missing  {name} (applied, but not in the registry)"
                        ));
                    }
                }
                for problem in &problems {
                    say(format!("problem: {problem}"));
                }
            }
            Ok(if found { Outcome::Found } else { Outcome::Done })
        }
        DataAction::New {
            schema,
            description,
            rust,
        } => new(&project, &registry, &schema, &description, rust),
        DataAction::Env { env, target } => {
            // An unknown name is refused before connecting: stored, it would protect nothing.
            let env = env
                .as_deref()
                .map(crate::postgres::environment::parse_given)
                .transpose()?;
            let (client, url) = context.connect_target(&project, &target).await?;
            let mark = match env {
                Some(env) => {
                    crate::postgres::environment::mark_database(&client, env).await?;
                    say(format!("{url} is marked as {env}"));
                    Some(env.to_string())
                }
                None => match crate::postgres::environment::database_mark(&client).await? {
                    Some(env) => {
                        say(format!("{url} is marked as {env}"));
                        Some(env.to_string())
                    }
                    None => {
                        say(format!(
                            "{url} is not marked (`strata data env production` marks it)"
                        ));
                        None
                    }
                },
            };
            json::emit(json!({ "database": url.to_string(), "env": mark }));
            Ok(Outcome::Done)
        }
    }
}

/// The registry the project's crate handed over, with the SQL migrations of its folder, and the
/// tracking table.
pub(super) fn registry_and_tracking(
    context: &Context,
    project: &Project,
) -> Result<(Registry, Tracking)> {
    let registry = std::mem::take(&mut *context.registry.lock().expect("registry poisoned"))
        .with_folder(&project.root.join(&project.config.data.dir))?;
    let tracking = Tracking::new(table_name("data.table", &project.config.data.table)?);
    Ok((registry, tracking))
}

/// A schema named on the command line must have migrations.
fn check_schema(registry: &Registry, schema: Option<&str>) -> Result<()> {
    let Some(schema) = schema else {
        return Ok(());
    };
    if registry.schemas().any(|(s, _)| s == schema) {
        return Ok(());
    }
    let known: Vec<&str> = registry.schemas().map(|(s, _)| s).collect();
    Err(Error::Invalid(format!(
        "no data migrations are registered for schema `{schema}` (known: {})",
        if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        }
    )))
}

/// `strata data new`: the next numbered migration of a schema.
fn new(
    project: &Project,
    registry: &Registry,
    schema: &str,
    description: &str,
    rust: bool,
) -> Result<Outcome> {
    let show = |path: &std::path::Path| super::census::folder(project, path);
    let description = description
        .trim()
        .to_ascii_lowercase()
        .replace([' ', '-'], "_");
    if description.is_empty()
        || !description
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(Error::Invalid(format!(
            "`{description}`: describe the migration with letters, digits and `_`"
        )));
    }
    // Rust migrations written since the binary was built are not in its registry yet: their
    // files count too.
    let written = std::fs::read_dir(project.root.join("src/data_migrations").join(schema))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.strip_prefix('m')?.get(..4)?.parse::<u32>().ok()
        })
        .max()
        .map_or(0, |n| n + 1);
    let number = format!("{:04}", registry.next_number(schema).max(written));
    let name = format!("{schema}_{number}_{description}");
    if rust {
        let dir = project.root.join("src/data_migrations").join(schema);
        let module = format!("m{number}_{description}");
        let path = dir.join(format!("{module}.rs"));
        let text = format!(
            "//! Data migration {name}.\n\n\
             use strata::data::{{Context, DataMigration, DataResult}};\n\n\
             pub struct Migration;\n\n\
             impl DataMigration for Migration {{\n    \
                 fn name(&self) -> &str {{\n        \"{name}\"\n    }}\n\n    \
                 async fn up(&self, cx: &mut Context<'_>) -> DataResult {{\n        \
                     cx.execute(\"SELECT 1\", &[]).await?;\n        Ok(())\n    }}\n\n    \
                 async fn down(&self, cx: &mut Context<'_>) -> DataResult {{\n        \
                     cx.execute(\"SELECT 1\", &[]).await?;\n        Ok(())\n    }}\n\
             }}\n"
        );
        write_new(&path, &text)?;
        say(format!("wrote {}", path.display()));
        let list = dir.join("mod.rs");
        let registered = register(&list, &module)?;
        json::emit(json!({
            "name": name,
            "written": [show(&path)],
            "registered": registered.then(|| show(&list)),
        }));
        if registered {
            say(format!("registered it in {}", list.display()));
        } else {
            say(format!(
                "register it in {}:\n  pub mod {module};\n  and add `Migration::new({module}::Migration)` to the schema's list",
                list.display()
            ));
        }
    } else {
        let dir = project.root.join(&project.config.data.dir).join(schema);
        let up = dir.join(format!("{number}_{description}.up.sql"));
        let down = dir.join(format!("{number}_{description}.down.sql"));
        write_new(
            &up,
            &format!("-- {name}: runs in one transaction with its tracking row.\n\n"),
        )?;
        write_new(
            &down,
            &format!("-- Undoes {name}. Delete this file if it cannot be undone.\n\n"),
        )?;
        say(format!("wrote {}\nwrote {}", up.display(), down.display()));
        json::emit(json!({ "name": name, "written": [show(&up), show(&down)] }));
    }
    Ok(Outcome::Done)
}

/// Registers a new Rust migration in its schema's `mod.rs`: `pub mod` after the last one, and
/// `Migration::new(…)` after the last entry of the list. Writes the file when there is none;
/// returns `false` (and changes nothing) when the file does not have that shape.
fn register(list: &std::path::Path, module: &str) -> Result<bool> {
    let text = match std::fs::read_to_string(list) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let schema = list
                .parent()
                .and_then(|d| d.file_name())
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let text = format!(
                "//! Data migrations of the `{schema}` schema.\n\n\
                 pub mod {module};\n\n\
                 use strata::data::Migration;\n\n\
                 /// In the order they run.\n\
                 pub fn all() -> Vec<Migration> {{\n    vec![Migration::new({module}::Migration)]\n}}\n"
            );
            write_new(list, &text)?;
            return Ok(true);
        }
        Err(e) => return Err(Error::io(format!("reading {}", list.display()), e)),
    };
    let lines: Vec<&str> = text.lines().collect();
    let last_mod = lines.iter().rposition(|l| l.starts_with("pub mod "));
    let last_entry = lines
        .iter()
        .rposition(|l| l.trim_start().starts_with("Migration::new(") && l.ends_with("),"));
    // rustfmt keeps a list of one short entry on one line: `vec![Migration::new(…)]`.
    let one_line = lines.iter().rposition(|l| {
        let l = l.trim();
        l.starts_with("vec![Migration::new(") && l.ends_with(")]")
    });
    let Some(last_mod) = last_mod else {
        return Ok(false);
    };
    let entry = format!("Migration::new({module}::Migration),");
    let indent = |line: &str| line[..line.len() - line.trim_start().len()].to_owned();
    let mut out: Vec<String> = Vec::with_capacity(lines.len() + 4);
    for (i, line) in lines.iter().enumerate() {
        if Some(i) == last_entry {
            out.push((*line).to_owned());
            out.push(format!("{}{entry}", indent(line)));
        } else if last_entry.is_none() && Some(i) == one_line {
            let outer = indent(line);
            let inside = line.trim().strip_prefix("vec![").unwrap_or_default();
            let inside = inside.strip_suffix(']').unwrap_or_default();
            out.push(format!("{outer}vec!["));
            out.push(format!("{outer}    {inside},"));
            out.push(format!("{outer}    {entry}"));
            out.push(format!("{outer}]"));
        } else {
            out.push((*line).to_owned());
        }
        if i == last_mod {
            out.push(format!("pub mod {module};"));
        }
    }
    if last_entry.is_none() && one_line.is_none() {
        return Ok(false);
    }
    let mut new = out.join("\n");
    new.push('\n');
    std::fs::write(list, new).map_err(|e| Error::io(format!("writing {}", list.display()), e))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::register;

    #[test]
    fn register_adds_to_the_list_or_leaves_another_shape_alone() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("mod.rs");
        let listed = "pub mod m0001_a;\n\nuse strata::data::Migration;\n\npub fn all() -> Vec<Migration> {\n    vec![\n        Migration::new(m0001_a::Migration),\n    ]\n}\n";
        std::fs::write(&list, listed).unwrap();
        assert!(register(&list, "m0002_b").unwrap());
        assert_eq!(
            std::fs::read_to_string(&list).unwrap(),
            "pub mod m0001_a;\npub mod m0002_b;\n\nuse strata::data::Migration;\n\npub fn all() -> Vec<Migration> {\n    vec![\n        Migration::new(m0001_a::Migration),\n        Migration::new(m0002_b::Migration),\n    ]\n}\n"
        );
        // A list built another way: nothing is changed, the lines to add are printed instead.
        let other = "pub mod m0001_a;\n\npub fn all() -> Vec<Migration> {\n    let mut all = Vec::new();\n    all.push(Migration::new(m0001_a::Migration));\n    all\n}\n";
        std::fs::write(&list, other).unwrap();
        assert!(!register(&list, "m0002_b").unwrap());
        assert_eq!(std::fs::read_to_string(&list).unwrap(), other);
    }
}
