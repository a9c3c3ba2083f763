//! `strata import drizzle`: a Drizzle Kit project adopted without rebuilding its database. The
//! journal's files become strata migrations (the same SQL, one statement per breakpoint), and
//! those the database applied, matched by hash, are recorded as applied without running them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{Project, table_name};
use crate::import::drizzle::{self, DrizzleMigration, State};
use crate::import::foreign::{self, Tool};
use crate::source::migrations::{Migration, MigrationsDir, checksum};
use crate::{Error, Result};

use super::opt::{Global, ImportDrizzleArgs, ImportForeignArgs, PullArgs, Resolve, Target};
use super::{Context, Outcome, say};

pub(super) async fn drizzle(
    context: &Context,
    global: &Global,
    args: ImportDrizzleArgs,
) -> Result<Outcome> {
    let mut project = context.project(global)?;
    let source = match &args.dir {
        Some(dir) => project.root.join(dir),
        None => find_folder(&project)?,
    };
    let folder = drizzle::read(&source)?;
    let migrations = folder.migrations;
    let target = project.root.join(&project.config.migrations.dir);
    let in_place = same_folder(&source, &target);
    check_target(&target, &migrations, in_place)?;

    // Drizzle Kit's history table: named, configured for Drizzle Kit, or configured for strata.
    let configured = table_name(
        "migrations.drizzle_table",
        &project.config.migrations.drizzle_table,
    )?;
    let (table, named) = match (&args.table, config_table(&project)) {
        (Some(text), _) => (table_name("--table", text)?, true),
        (None, Some((text, file))) => (table_name(&file, &text)?, true),
        (None, None) => (configured.clone(), false),
    };
    // Kept out of every catalog from now on, this run's included: strata.toml says where it is.
    let remember = (table != configured).then(|| table.to_string());
    if let Some(text) = &remember {
        project.config.migrations.drizzle_table = text.clone();
    }
    let history = context.history(&project)?;
    let (client, url) = context.connect_target(&project, &args.target).await?;
    let rows = drizzle::rows(&client, &table).await?;
    if rows.is_none() && named {
        return Err(Error::Invalid(format!(
            "{url} has no table {table}, named as Drizzle Kit's history; check the name (--table SCHEMA.TABLE, or `migrations` in drizzle.config.*); nothing was written"
        )));
    }
    let matching = drizzle::matching(&migrations, rows.as_deref().unwrap_or_default());

    say(format!(
        "{}: {} migration{} in the journal; {}",
        source.join("meta").join("_journal.json").display(),
        migrations.len(),
        plural(migrations.len()),
        match &rows {
            Some(rows) => format!("{table} on {url}: {} row{}", rows.len(), plural(rows.len())),
            None => format!("{url} has no {table}: every file is pending"),
        }
    ));
    for line in &folder.notes {
        say(line);
    }
    let record = |state: &State| match state {
        State::Applied => true,
        State::Edited { .. } | State::Skipped { .. } => args.force == Some(Resolve::Applied),
        State::Pending => false,
    };
    for (migration, state) in migrations.iter().zip(&matching.states) {
        let what = match state {
            State::Applied => "applied (hash matches)",
            State::Edited { .. } => "MISMATCH: edited after it was applied",
            State::Skipped { .. } => {
                "MISMATCH: skipped by Drizzle Kit (older than the newest applied)"
            }
            State::Pending => "pending",
        };
        say(format!("  {:<40} {what}", migration.file_name()));
    }

    let mismatches = matching.mismatches(&migrations);
    if !mismatches.is_empty() {
        let list = mismatches
            .iter()
            .map(|m| format!("  {m}"))
            .collect::<Vec<_>>()
            .join("\n");
        match args.force {
            None => {
                return Err(Error::Invalid(format!(
                    "the Drizzle Kit history does not match the journal:\n{list}\n\
                     nothing was written. Decide which side is right and run again with \
                     --force applied (the database is right: record edited and skipped files as applied) \
                     or --force pending (the files are right: leave them to `strata migrate`); \
                     rows with no file are left out either way"
                )));
            }
            Some(way) => say(format!(
                "mismatches, resolved by --force {}:\n{list}",
                match way {
                    Resolve::Applied => "applied",
                    Resolve::Pending => "pending",
                }
            )),
        }
    }
    let document = |recorded: Option<usize>, pulled: bool| {
        super::json::emit(serde_json::json!({
            "database": url.to_string(),
            "journal": super::census::folder(&project, &source.join("meta").join("_journal.json")),
            "dry_run": args.dry_run,
            "migrations": migrations
                .iter()
                .zip(&matching.states)
                .map(|(m, state)| serde_json::json!({
                    "file": m.file_name(),
                    "state": match state {
                        State::Applied => "applied",
                        State::Edited { .. } => "edited",
                        State::Skipped { .. } => "skipped",
                        State::Pending => "pending",
                    },
                    "recorded": record(state),
                }))
                .collect::<Vec<_>>(),
            "recorded": recorded,
            "pulled": pulled,
        }))
    };
    if args.dry_run {
        say("dry run: nothing was written");
        document(None, false);
        return Ok(Outcome::Done);
    }

    // History rows and files together: the rows commit only when every file is in place, and
    // the files are taken back when the rows do not commit.
    let written = std::cell::RefCell::new(None::<Written>);
    let wait = Duration::from_secs(project.config.migrations.lock_wait_seconds);
    let waiting = || super::note("waiting for another migrate to finish");
    history
        .locked(&client, wait, waiting, async || {
        if !history.read(&client).await?.is_empty() {
            return Err(Error::Invalid(format!(
                "{} already has a strata history in {}; nothing was written (import once, into a project strata has not migrated yet)",
                url,
                history.table()
            )));
        }
        history.ensure(&client).await?;
        crate::postgres::in_transaction(&client, "BEGIN", "the import", async || {
            let insert = format!(
                "INSERT INTO {} (version, name, checksum, applied_by) \
                 VALUES ($1, $2, $3, current_user || ' (imported from Drizzle Kit)')",
                strata_core::render::qualified(history.table())
            );
            for (migration, state) in migrations.iter().zip(&matching.states) {
                if record(state) {
                    let (version, name) = migration.tag.split_once('_').expect("checked tag");
                    client
                        .execute(
                            &insert,
                            &[&version, &name, &checksum(migration.converted.as_bytes())],
                        )
                        .await
                        .map_err(|e| {
                            Error::db(format!("recording {}", migration.file_name()), e)
                        })?;
                }
            }
            let files: Vec<(String, String, Option<String>)> = migrations
                .iter()
                .map(|m| {
                    (
                        m.file_name(),
                        m.converted.clone(),
                        in_place.then(|| m.original.clone()),
                    )
                })
                .collect();
            *written.borrow_mut() = Some(write_files(&target, &files)?);
            MigrationsDir::load(&target)?.write_sum()?;
            if let Some(text) = &remember {
                let path = project
                    .config_path
                    .clone()
                    .unwrap_or_else(|| project.root.join(crate::config::FILE_NAME));
                let before = std::fs::read_to_string(&path).ok();
                if let Some(written) = written.borrow_mut().as_mut() {
                    written.config = Some((path.clone(), before.clone()));
                }
                std::fs::write(&path, with_drizzle_table(before.as_deref().unwrap_or(""), text))
                    .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
            }
            Ok(())
        })
        .await
    })
    .await
    .inspect_err(|_| {
        if let Some(written) = written.borrow_mut().take() {
            written.undo();
        }
    })?;

    let recorded = matching.states.iter().filter(|s| record(s)).count();
    let pending = migrations.len() - recorded;
    say(format!(
        "imported {} migration{} into {} (strata.sum written); recorded {recorded} as applied in {} without running {}",
        migrations.len(),
        plural(migrations.len()),
        target.display(),
        history.table(),
        if recorded == 1 { "it" } else { "them" }
    ));
    if pending > 0 {
        // As `migrate` sees it: a file left pending below one recorded as applied.
        let last_recorded = matching.states.iter().rposition(record);
        let out_of_order =
            last_recorded.is_some_and(|last| matching.states[..last].iter().any(|s| !record(s)));
        say(format!(
            "{pending} pending: `strata migrate{}` applies {}",
            if out_of_order {
                " --allow-out-of-order"
            } else {
                ""
            },
            if pending == 1 { "it" } else { "them" }
        ));
    }
    if in_place {
        say(format!(
            "{} is Drizzle Kit's; delete it once you no longer run drizzle-kit",
            source.join("meta").display()
        ));
    }
    let data = table_name("data.table", &project.config.data.table)?;
    if crate::postgres::table_exists(&client, &data).await? {
        let count: i64 = client
            .query_one(
                &format!(
                    "SELECT count(*) FROM {}",
                    strata_core::render::qualified(&data)
                ),
                &[],
            )
            .await
            .map_err(|e| Error::db(format!("reading {data}"), e))?
            .get(0);
        say(format!(
            "{data}: {count} applied data migration{} kept as {}",
            plural(count as usize),
            if count == 1 { "it is" } else { "they are" }
        ));
    }
    let pull = args.pull && pending == 0;
    if pull {
        let pulled = PullArgs {
            target: Target {
                url: args.target.url.clone(),
            },
            out: None,
            force: false,
            strict: false,
        };
        super::json::without_document(super::pull::run(context, global, pulled)).await?;
    }
    if recorded > 0 {
        confirm_applied(context, &project, &client, &target).await?;
    }
    if args.pull && !pull {
        say(format!(
            "not pulled: the declared files must match the end of the history, and {pending} migration{} pending; run `strata migrate`, then `strata pull`",
            if pending == 1 { " is" } else { "s are" }
        ));
    } else if pull {
        say("next: `strata check` (the declared files, the history and the database agree)");
    } else {
        say(
            "next: `strata pull` writes the declared schema files from the database; then `strata check`",
        );
    }
    document(Some(recorded), pull);
    Ok(Outcome::Done)
}

/// `strata import prisma|sqlx`: the tool's files become strata migrations; those its history
/// table records (by checksum) are replayed in a scratch database, and only when the database
/// holds exactly what they give are they recorded as applied (as `baseline` records), together
/// with the files, in one transaction under the migrate lock.
pub(super) async fn foreign(
    context: &Context,
    global: &Global,
    args: ImportForeignArgs,
    tool: Tool,
) -> Result<Outcome> {
    let project = context.project(global)?;
    let source = project.root.join(
        args.dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(tool.default_dir())),
    );
    let migrations = foreign::read(tool, &source)?;
    if migrations.is_empty() {
        return Err(Error::Invalid(format!(
            "{} holds no {} migration; pass --dir with its migrations folder; nothing was written",
            source.display(),
            tool.title()
        )));
    }
    let target = project.root.join(&project.config.migrations.dir);
    if same_folder(&source, &target) {
        return Err(Error::Invalid(format!(
            "{} is {}'s folder and strata's migrations folder at once; set `[migrations] dir` in strata.toml to another folder (the default is schema-migrations); nothing was written",
            source.display(),
            tool.title()
        )));
    }
    check_target(&target, &[], false)?;
    let history = context.history(&project)?;
    let (client, url) = context.connect_target(&project, &args.target).await?;
    let table = tool.table();
    let Some(rows) = foreign::rows(&client, tool).await? else {
        return Err(Error::Invalid(format!(
            "{url} has no {table}: {} never migrated this database, so there is no history to adopt; nothing was written",
            tool.title()
        )));
    };
    let (applied, problems) = foreign::matching(tool, &migrations, &rows);
    say(format!(
        "{}: {} migration{}; {table} on {url}: {} row{}",
        source.display(),
        migrations.len(),
        plural(migrations.len()),
        rows.len(),
        plural(rows.len())
    ));
    for (migration, applied) in migrations.iter().zip(&applied) {
        say(format!(
            "  {:<40} {}",
            migration.file_name(),
            if *applied {
                "applied (checksum matches)"
            } else {
                "pending"
            }
        ));
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(format!(
            "the {} history does not match the files:\n  {}\nnothing was written",
            tool.title(),
            problems.join("\n  ")
        )));
    }
    let strata_migrations: Vec<Migration> = migrations
        .iter()
        .map(|m| Migration {
            version: m.version.clone(),
            number: m.version.parse().unwrap_or(u128::MAX),
            name: m.name.clone(),
            file_name: m.file_name(),
            path: target.join(m.file_name()),
            checksum: checksum(m.converted.as_bytes()),
            no_transaction: m
                .converted
                .lines()
                .any(|l| l.trim() == crate::source::migrations::NO_TRANSACTION),
            text: m.converted.clone(),
            down: None,
        })
        .collect();
    let ran: Vec<Migration> = strata_migrations
        .iter()
        .zip(&applied)
        .filter(|(_, applied)| **applied)
        .map(|(m, _)| m.clone())
        .collect();
    // An applied file after a pending one: a history strata would call out of order.
    if let Some(last) = applied.iter().rposition(|a| *a)
        && let Some(gap) = applied[..last].iter().position(|a| !a)
    {
        return Err(Error::Invalid(format!(
            "{} is not in {table} but a later migration is; apply or remove it with {} first; nothing was written",
            migrations[gap].path.display(),
            tool.title()
        )));
    }

    // Prove: the database holds exactly what the applied files give.
    let scope = context.managed_scope(&project);
    let server = context.scratch_server(&project).await?;
    let cache = crate::source::cache::Cache::new(&project.root);
    let expected = crate::source::migrations::replay(&ran, &server, &scope, &cache).await?;
    let live = context.live_catalog(&project, &client, &scope).await?;
    let probes = crate::normalise::fixpoint::Probes::on(
        &client,
        crate::postgres::server_version(&client).await?,
    );
    let plan = context
        .fixpoint(&project)
        .diff(&expected, &live, &[], &probes)
        .await?;
    let document = |recorded: Option<usize>, plan: &strata_core::plan::Plan| {
        super::json::emit(serde_json::json!({
            "database": url.to_string(),
            "source": super::census::folder(&project, &source),
            "dry_run": args.dry_run,
            "migrations": migrations
                .iter()
                .zip(&applied)
                .map(|(m, applied)| serde_json::json!({
                    "file": m.file_name(),
                    "state": if *applied { "applied" } else { "pending" },
                    "recorded": *applied && recorded.is_some(),
                }))
                .collect::<Vec<_>>(),
            "recorded": recorded,
            "differences": super::json::steps(plan),
        }))
    };
    if !plan.is_empty() {
        let changes = crate::apply::verify::summarize(&plan);
        say(format!(
            "{url} differs from what its {} applied migration{} give; from their replay, these steps would make it what it is:\n  {}\nnothing was written: bring the database in line with its migrations first",
            ran.len(),
            plural(ran.len()),
            changes.join("\n  ")
        ));
        document(None, &plan);
        return Ok(Outcome::Found);
    }
    if args.dry_run {
        say(format!(
            "dry run: {url} holds exactly what its {} applied migration{} give; nothing was written",
            ran.len(),
            plural(ran.len())
        ));
        document(None, &plan);
        return Ok(Outcome::Done);
    }

    let wait = Duration::from_secs(project.config.migrations.lock_wait_seconds);
    let tracking = project.tracking_tables()?;
    let written = std::cell::RefCell::new(None::<Written>);
    let title = tool.title();
    history
        .locked(
            &client,
            wait,
            || super::note("waiting for another migrate to finish"),
            async || {
                if !history.read(&client).await?.is_empty() {
                    return Err(Error::Invalid(format!(
                        "{url} already has a strata history in {}; nothing was written (import once, into a project strata has not migrated yet)",
                        history.table()
                    )));
                }
                history.ensure(&client).await?;
                let by = format!("imported from {title}");
                let proven = super::baseline::Proven {
                    history: &history,
                    scope: &scope,
                    tracking: &tracking,
                    live: &live,
                    by: &by,
                    url: &url,
                };
                let ran: Vec<&Migration> = ran.iter().collect();
                super::baseline::record_proven(&client, &proven, &ran, async || {
                    let files: Vec<(String, String, Option<String>)> = strata_migrations
                        .iter()
                        .map(|m| (m.file_name.clone(), m.text.clone(), None))
                        .collect();
                    *written.borrow_mut() = Some(write_files(&target, &files)?);
                    MigrationsDir::load(&target)?.write_sum()
                })
                .await
            },
        )
        .await
        .inspect_err(|_| {
            if let Some(written) = written.borrow_mut().take() {
                written.undo();
            }
        })?;
    let pending = migrations.len() - ran.len();
    say(format!(
        "{url} holds exactly what its {} applied migration{} give: imported {} migration{} into {} (strata.sum written) and recorded {} as applied in {} without running them",
        ran.len(),
        plural(ran.len()),
        migrations.len(),
        plural(migrations.len()),
        target.display(),
        ran.len(),
        history.table()
    ));
    if pending > 0 {
        say(format!(
            "{pending} pending: `strata migrate` applies {}",
            if pending == 1 { "it" } else { "them" }
        ));
    }
    say(format!(
        "{table} stays, left out of every catalog, until you drop it; next: `strata pull` writes the declared schema files, then `strata check`"
    ));
    document(Some(ran.len()), &plan);
    Ok(Outcome::Done)
}

/// Does the database hold what the migrations recorded as applied give? Drizzle Kit never
/// checked. When it does, the catalog hash is recorded as `migrate` records it, so drift is cheap
/// to see from now on; when it does not, the differences are shown.
async fn confirm_applied(
    context: &Context,
    project: &Project,
    client: &tokio_postgres::Client,
    target: &Path,
) -> Result<()> {
    let folder = MigrationsDir::load(target)?;
    let history = context.history(project)?;
    let applied = history.read(client).await?;
    let scope = context.managed_scope(project);
    let server = context.scratch_server(project).await?;
    let cache = crate::source::cache::Cache::new(&project.root);
    let live = context.live_catalog(project, client, &scope).await?;
    // The hash covers the managed schemas: only once declared files fix them is it worth keeping.
    let scope_is_fixed = !project.config.schema.schemas.is_empty()
        || context
            .declared(project)
            .is_ok_and(|declared| !declared.schemas.is_empty());
    let compare = super::check::Compare {
        fixpoint: context.fixpoint(project),
        probes: crate::normalise::fixpoint::Probes::on(
            client,
            crate::postgres::server_version(client).await?,
        ),
    };
    match super::check::drift(&folder, &applied, &live, &server, &scope, &cache, &compare).await? {
        None if !scope_is_fixed => say(format!(
            "the database holds exactly what its {} applied migration{} give",
            applied.len(),
            plural(applied.len())
        )),
        None => {
            let last = applied.last().expect("rows were recorded");
            client
                .execute(
                    &format!(
                        "UPDATE {} SET catalog_hash = $1 WHERE version = $2",
                        strata_core::render::qualified(history.table())
                    ),
                    &[&live.hash(), &last.version],
                )
                .await
                .map_err(|e| Error::db("recording the catalog hash", e))?;
            say(format!(
                "the database holds exactly what its {} applied migration{} give",
                applied.len(),
                plural(applied.len())
            ));
        }
        Some(finding) => say(format!("warning: {}", finding.message)),
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Drizzle Kit's folder: `out` of `drizzle.config.*`, else `drizzle/`, else strata's own
/// migrations folder, whichever holds a journal.
fn find_folder(project: &Project) -> Result<PathBuf> {
    let mut tried = Vec::new();
    for name in [
        "drizzle.config.ts",
        "drizzle.config.js",
        "drizzle.config.mjs",
        "drizzle.config.json",
    ] {
        if let Ok(text) = std::fs::read_to_string(project.root.join(name))
            && let Some(out) = config_out(&text)
        {
            // Without the `./` a config usually writes.
            tried.push(project.root.join(out).components().collect());
        }
    }
    tried.push(project.root.join("drizzle"));
    tried.push(project.root.join(&project.config.migrations.dir));
    tried
        .iter()
        .find(|dir| dir.join("meta").join("_journal.json").is_file())
        .cloned()
        .ok_or_else(|| {
            Error::Invalid(format!(
                "no Drizzle Kit journal (meta/_journal.json) in {}; pass --dir with Drizzle Kit's migrations folder",
                tried
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// The `out` setting of a Drizzle Kit config file: `out: "./drizzle"` or `"out": "drizzle"`.
fn config_out(text: &str) -> Option<String> {
    config_string(text, "out")
}

/// Drizzle Kit's history table as its config file sets it (`migrations: { table, schema }`,
/// Drizzle Kit's defaults for what it leaves out), and the file's name.
fn config_table(project: &Project) -> Option<(String, String)> {
    for name in [
        "drizzle.config.ts",
        "drizzle.config.js",
        "drizzle.config.mjs",
        "drizzle.config.json",
    ] {
        let Ok(text) = std::fs::read_to_string(project.root.join(name)) else {
            continue;
        };
        if let Some(block) = config_migrations(&text) {
            let table = config_string(block, "table");
            let schema = config_string(block, "schema");
            if table.is_some() || schema.is_some() {
                let quote = |s: String| strata_core::sql::quote_ident(&s);
                return Some((
                    format!(
                        "{}.{}",
                        quote(schema.unwrap_or_else(|| "drizzle".into())),
                        quote(table.unwrap_or_else(|| "__drizzle_migrations".into()))
                    ),
                    name.to_owned(),
                ));
            }
        }
    }
    None
}

/// The text of the `migrations: { … }` object of a Drizzle Kit config.
fn config_migrations(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(at) = rest.find("migrations") {
        let before = rest[..at].chars().next_back();
        let after = rest[at + 10..].trim_start_matches(['"', '\'']).trim_start();
        rest = &rest[at + 10..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let Some(value) = after.strip_prefix(':') else {
            continue;
        };
        let value = value.trim_start().strip_prefix('{')?;
        return Some(&value[..value.find('}')?]);
    }
    None
}

/// `strata.toml`'s text with `[migrations] drizzle_table` set to `table`.
fn with_drizzle_table(text: &str, table: &str) -> String {
    let line = format!(
        "drizzle_table = \"{}\"  # Drizzle Kit's history, kept out of every catalog",
        table.replace('\\', "\\\\").replace('"', "\\\"")
    );
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let header = lines.iter().position(|l| l.trim() == "[migrations]");
    match header {
        Some(header) => {
            let end = lines[header + 1..]
                .iter()
                .position(|l| l.trim_start().starts_with('['))
                .map_or(lines.len(), |p| header + 1 + p);
            match (header + 1..end).find(|&i| {
                lines[i]
                    .trim_start()
                    .strip_prefix("drizzle_table")
                    .is_some_and(|r| r.trim_start().starts_with('='))
            }) {
                Some(i) => lines[i] = line,
                None => lines.insert(header + 1, line),
            }
        }
        None => {
            if lines.last().is_some_and(|l| !l.trim().is_empty()) {
                lines.push(String::new());
            }
            lines.push("[migrations]".into());
            lines.push(line);
        }
    }
    lines.join("\n") + "\n"
}

/// A string setting of a Drizzle Kit config file: `key: "value"` or `"key": "value"`.
fn config_string(text: &str, key: &str) -> Option<String> {
    let mut rest = text;
    while let Some(at) = rest.find(key) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + key.len()..]
            .trim_start_matches(['"', '\''])
            .trim_start();
        rest = &rest[at + key.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let Some(value) = after.strip_prefix(':') else {
            continue;
        };
        let value = value.trim_start();
        let quote = value
            .chars()
            .next()
            .filter(|c| matches!(c, '"' | '\'' | '`'))?;
        let end = value[1..].find(quote)?;
        return Some(value[1..1 + end].to_owned());
    }
    None
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Refuses a migrations folder that already holds strata migrations or other files.
fn check_target(target: &Path, migrations: &[DrizzleMigration], in_place: bool) -> Result<()> {
    if target.join("strata.sum").exists() {
        return Err(Error::Invalid(format!(
            "{} already holds strata migrations (strata.sum); nothing was written",
            target.display()
        )));
    }
    let Ok(entries) = std::fs::read_dir(target) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = in_place && migrations.iter().any(|m| m.file_name() == name);
        if name.ends_with(".sql") && !ours {
            return Err(Error::Invalid(format!(
                "{} holds {name}, which is not one of the migrations imported; move it out (or set migrations.dir in strata.toml to another folder); nothing was written",
                target.display()
            )));
        }
    }
    Ok(())
}

/// The files an import wrote, to take back when it fails: a refused import leaves the folder as
/// it found it, so the next try fails (or succeeds) for its own reason.
struct Written {
    target: PathBuf,
    /// Each file written, with the text it replaced (an import in Drizzle Kit's own folder).
    files: Vec<(PathBuf, Option<String>)>,
    /// Whether the folder was created.
    created: bool,
    /// `strata.toml`, with the text it had (`None`: it did not exist).
    config: Option<(PathBuf, Option<String>)>,
}

impl Written {
    fn undo(self) {
        for (path, before) in self.files.iter().rev() {
            let _ = match before {
                Some(text) => std::fs::write(path, text),
                None => std::fs::remove_file(path),
            };
        }
        let _ = std::fs::remove_file(self.target.join(crate::source::migrations::SUM_FILE));
        if self.created {
            let _ = std::fs::remove_dir(&self.target);
        }
        if let Some((path, before)) = self.config {
            let _ = match before {
                Some(text) => std::fs::write(path, text),
                None => std::fs::remove_file(path),
            };
        }
    }
}

/// Writes the converted files, (name, text, the text it replaces), each to a temporary name,
/// then renamed; on a failure, what was written is taken back.
fn write_files(target: &Path, files: &[(String, String, Option<String>)]) -> Result<Written> {
    let created = !target.exists();
    std::fs::create_dir_all(target)
        .map_err(|e| Error::io(format!("creating {}", target.display()), e))?;
    let mut written = Written {
        target: target.to_owned(),
        files: Vec::new(),
        created,
        config: None,
    };
    let mut staged = Vec::new();
    let staging = (|| {
        for (name, text, before) in files {
            let path = target.join(name);
            let temporary = target.join(format!(".{name}.importing"));
            std::fs::write(&temporary, text)
                .map_err(|e| Error::io(format!("writing {}", temporary.display()), e))?;
            staged.push((temporary, path, before));
        }
        for (temporary, path, before) in &staged {
            std::fs::rename(temporary, path)
                .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
            written.files.push((path.clone(), (*before).clone()));
        }
        Ok(())
    })();
    if let Err(e) = staging {
        for (temporary, _, _) in &staged {
            let _ = std::fs::remove_file(temporary);
        }
        written.undo();
        return Err(e);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::{config_migrations, config_out, with_drizzle_table};

    #[test]
    fn reads_out_from_a_drizzle_config() {
        assert_eq!(
            config_out("export default defineConfig({\n  schema: './src/schema.ts',\n  out: './drizzle',\n})").as_deref(),
            Some("./drizzle")
        );
        assert_eq!(
            config_out("{ \"dialect\": \"postgresql\", \"out\": \"schema-migrations\" }")
                .as_deref(),
            Some("schema-migrations")
        );
        assert_eq!(config_out("const layout = 1; // no setting"), None);
    }

    #[test]
    fn sets_the_drizzle_table_in_strata_toml() {
        assert_eq!(
            with_drizzle_table("", "public.migrations"),
            "[migrations]\ndrizzle_table = \"public.migrations\"  # Drizzle Kit's history, kept out of every catalog\n"
        );
        let text = "[migrations]\ndir = \"m\"\ndrizzle_table = \"x.y\"\n\n[data]\ndir = \"d\"\n";
        let set = with_drizzle_table(text, "public.migrations");
        assert!(
            set.contains("dir = \"m\"\ndrizzle_table = \"public.migrations\""),
            "{set}"
        );
        assert!(
            !set.contains("x.y") && set.contains("[data]\ndir = \"d\""),
            "{set}"
        );
        assert_eq!(
            config_migrations(
                "export default { out: './d', migrations: { table: 'migrations', schema: 'public' } }"
            ),
            Some(" table: 'migrations', schema: 'public' ")
        );
    }
}
