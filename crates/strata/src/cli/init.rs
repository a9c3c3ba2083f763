//! `strata init [DIR]`: a new project laid out like `examples/survey-db`, or strata added to an
//! existing crate (a `db` binary beside its own) or workspace (a new member, `db/`). Never
//! overwrites a file: what is there is kept, and what is missing is added and listed.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

use super::opt::InitArgs;
use super::{Outcome, say, write_new};

pub(super) fn run(args: InitArgs) -> Result<Outcome> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let manifest = read_manifest(&dir.join("Cargo.toml"))?;
    let (root, changes) = match &manifest {
        // A workspace without a package of its own: the project is a new member, `db/`.
        Some((text, table))
            if table.get("package").is_none() && table.get("workspace").is_some() =>
        {
            let member = dir.join("db");
            let inner = read_manifest(&member.join("Cargo.toml"))?;
            let mut changes = crate_changes(&member, inner.as_ref())?;
            if !covers(table, "db") {
                changes.push(Change::edit(
                    dir.join("Cargo.toml"),
                    Some(add_member(text, "db")),
                    "the member db in [workspace]",
                ));
            }
            (member, changes)
        }
        _ => (dir.clone(), crate_changes(&dir, manifest.as_ref())?),
    };
    let (added, kept): (Vec<_>, Vec<_>) = changes.into_iter().partition(|c| c.text.is_some());
    for change in &added {
        let text = change.text.as_deref().expect("an added change has text");
        if change.existing {
            std::fs::write(&change.path, text)
                .map_err(|e| Error::io(format!("writing {}", change.path.display()), e))?;
        } else {
            write_new(&change.path, text)?;
        }
    }
    let show = |path: &Path| {
        path.strip_prefix(&dir)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    super::json::emit(serde_json::json!({
        "root": root.display().to_string(),
        "added": added
            .iter()
            .map(|c| serde_json::json!({ "file": show(&c.path), "what": c.what }))
            .collect::<Vec<_>>(),
        "kept": kept.iter().map(|c| show(&c.path)).collect::<Vec<_>>(),
    }));
    if added.is_empty() {
        say(format!(
            "nothing to add: {} is a strata project already (strata init never overwrites a file)",
            root.display()
        ));
        return Ok(Outcome::Done);
    }
    let mut text = if manifest.is_none() && kept.is_empty() {
        format!(
            "created the strata project `{}` in {}:\n",
            crate_name(&root)?,
            dir.display()
        )
    } else {
        format!("added to {}:\n", dir.display())
    };
    for change in &added {
        text.push_str(&format!("  {:<44} {}\n", show(&change.path), change.what));
    }
    if !kept.is_empty() {
        text.push_str("kept as they are (strata init never overwrites a file):\n");
        for change in &kept {
            text.push_str(&format!("  {}\n", show(&change.path)));
        }
    }
    let cd = if root == dir {
        String::new()
    } else {
        format!(" (cd {})", show(&root))
    };
    text.push_str(&format!(
        "next{cd}:\n\
         \x20 cargo db push                         sync the development database with schemas/\n\
         \x20 cargo db generate --name init         write the first migration, review it, commit it\n\
         \x20 cargo db up                           apply schema migrations, then data migrations"
    ));
    say(text);
    Ok(Outcome::Done)
}

/// One file `init` adds or extends; `text` is `None` when it is there already and kept.
struct Change {
    path: PathBuf,
    /// The whole new text of the file (for an existing file: its text with something added).
    text: Option<String>,
    existing: bool,
    what: String,
}

impl Change {
    fn edit(path: PathBuf, text: Option<String>, what: &str) -> Change {
        Change {
            path,
            existing: true,
            what: format!("(added {what})"),
            text,
        }
    }
}

/// A crate's manifest: its text and parsed table, or `None` when there is none.
fn read_manifest(path: &Path) -> Result<Option<(String, toml::Table)>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let table = toml::from_str(&text).map_err(|e| {
        Error::Invalid(format!(
            "{}: {e}; strata init adds to a Cargo.toml it can read",
            path.display()
        ))
    })?;
    Ok(Some((text, table)))
}

/// What makes `dir` a strata project: every file of a new project that is missing, and for an
/// existing crate the strata dependency, a `db` binary and the `cargo db` alias.
fn crate_changes(dir: &Path, manifest: Option<&(String, toml::Table)>) -> Result<Vec<Change>> {
    let name = match manifest
        .and_then(|(_, t)| t.get("package")?.get("name")?.as_str().map(str::to_owned))
    {
        Some(name) => name,
        None => crate_name(dir)?,
    };
    let mut changes = Vec::new();
    for (path, text, what) in files(&name) {
        let path = dir.join(path);
        let exists = path.exists();
        match path.file_name().and_then(|n| n.to_str()) {
            // An existing crate keeps its manifest and its main: strata is added to them.
            Some("Cargo.toml" | "main.rs") if manifest.is_some() => continue,
            Some(".gitignore") if exists => {
                let old = read(&path)?;
                let missing = !old
                    .lines()
                    .any(|l| l.trim().trim_start_matches('/') == ".strata/");
                changes.push(Change::edit(
                    path,
                    missing.then(|| {
                        format!(
                            "{}{}# The development database and strata's caches.\n.strata/\n",
                            old,
                            newline(&old)
                        )
                    }),
                    ".strata/",
                ));
                continue;
            }
            _ => {}
        }
        changes.push(Change {
            text: (!exists).then_some(text),
            existing: false,
            what: what.to_owned(),
            path,
        });
    }
    let runs_strata = |path: &Path| {
        std::fs::read_to_string(path).is_ok_and(|text| text.contains("strata::cli::run"))
    };
    let alias = match manifest {
        // A crate whose main runs strata already (one that `strata init` made).
        Some((text, table)) if runs_strata(&dir.join("src/main.rs")) => {
            if !depends_on_strata(table) {
                changes.push(Change::edit(
                    dir.join("Cargo.toml"),
                    Some(add_line(text, "dependencies", STRATA_DEPENDENCY)),
                    "the strata dependency",
                ));
            }
            "run -q --"
        }
        Some((text, table)) => {
            // strata's command line is a binary of its own, `db`; the crate's main stays.
            let bin = dir.join("src/bin/db.rs");
            changes.push(Change {
                text: (!bin.exists()).then(|| BIN_DB.to_owned()),
                existing: false,
                what: "strata's command line with this crate's data migrations".to_owned(),
                path: bin,
            });
            let mut text = text.clone();
            let mut added = Vec::new();
            if !depends_on_strata(table) {
                text = add_line(&text, "dependencies", STRATA_DEPENDENCY);
                added.push("the strata dependency");
            }
            // With a second binary `cargo run` would have to be told which: the crate's own.
            let package = table.get("package");
            if dir.join("src/main.rs").exists()
                && package.and_then(|p| p.get("default-run")).is_none()
            {
                text = add_line(&text, "package", &format!("default-run = \"{name}\""));
                added.push("default-run, so that `cargo run` still runs this crate's main");
            }
            changes.push(Change::edit(
                dir.join("Cargo.toml"),
                (!added.is_empty()).then_some(text),
                &added.join("; "),
            ));
            "run -q --bin db --"
        }
        None => "run -q --",
    };
    let config = dir.join(".cargo/config.toml");
    if config.exists() {
        let old = read(&config)?;
        let has = toml::from_str::<toml::Table>(&old)
            .ok()
            .is_some_and(|t| t.get("alias").and_then(|a| a.get("db")).is_some());
        changes.push(Change::edit(
            config,
            (!has).then(|| add_line(&old, "alias", &format!("db = \"{alias}\""))),
            "the `cargo db` alias",
        ));
    } else {
        changes.push(Change {
            text: Some(cargo_config(alias)),
            existing: false,
            what: "`cargo db …` runs strata with this crate's data migrations".to_owned(),
            path: config,
        });
    }
    Ok(changes)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))
}

fn newline(text: &str) -> &'static str {
    if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    }
}

/// Whether a manifest already depends on strata (under any name).
fn depends_on_strata(table: &toml::Table) -> bool {
    table
        .get("dependencies")
        .and_then(toml::Value::as_table)
        .is_some_and(|deps| {
            deps.iter().any(|(key, value)| {
                let package = value.get("package").and_then(toml::Value::as_str);
                package == Some("strata-pg") || (key == "strata-pg" && package.is_none())
            })
        })
}

/// `text` with `line` added at the start of its `[section]`, or with the section appended.
fn add_line(text: &str, section: &str, line: &str) -> String {
    let header = format!("[{section}]");
    let mut out = String::new();
    let mut done = false;
    for l in text.split_inclusive('\n') {
        out.push_str(l);
        if !done && l.trim() == header {
            if !l.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(line);
            out.push('\n');
            done = true;
        }
    }
    if !done {
        out.push_str(newline(text));
        out.push_str(&format!("\n{header}\n{line}\n"));
    }
    out
}

/// Whether the workspace's `members` already include `member` (by name or a `dir/*` pattern).
fn covers(table: &toml::Table, member: &str) -> bool {
    table
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(toml::Value::as_array)
        .is_some_and(|members| {
            members.iter().filter_map(toml::Value::as_str).any(|m| {
                let m = m.trim_end_matches('/');
                m == member || m == "*"
            })
        })
}

/// The manifest with `member` added to `[workspace] members`.
fn add_member(text: &str, member: &str) -> String {
    let entry = format!("\"{member}\"");
    for (at, _) in text.match_indices("members") {
        let rest = &text[at + "members".len()..];
        let trimmed = rest.trim_start();
        if let Some(after_eq) = trimmed.strip_prefix('=') {
            let after_eq = after_eq.trim_start();
            if let Some(inside) = after_eq.strip_prefix('[') {
                let bracket = text.len() - after_eq.len();
                let empty = inside.trim_start().starts_with(']');
                let sep = if empty { "" } else { ", " };
                return format!("{}{entry}{sep}{}", &text[..=bracket], &text[bracket + 1..]);
            }
        }
    }
    add_line(text, "workspace", &format!("members = [{entry}]"))
}

/// The `db` binary of an existing crate: its data migrations live in `src/data_migrations/`,
/// where `strata data new --rust` writes them.
const BIN_DB: &str = "//! strata's command line with this crate's data migrations: `cargo db --help`.\n\n\
    #[path = \"../data_migrations/mod.rs\"]\nmod data_migrations;\n\n\
    fn main() -> std::process::ExitCode {\n    strata::cli::run(data_migrations::registry())\n}\n";

/// The dependency line: the package is strata-pg (the name strata belongs to another crate on
/// the registry), the Rust name stays `strata`.
const STRATA_DEPENDENCY: &str = "strata = { package = \"strata-pg\", version = \"0.1\" }";

fn cargo_config(alias: &str) -> String {
    format!(
        "# `cargo db <command>` runs strata with this crate's data migrations:\n\
         #   cargo db generate, cargo db migrate, cargo db push, cargo db up,\n\
         #   cargo db data migrate app, cargo db data reset app, cargo db aws check\n\
         [alias]\ndb = \"{alias}\"\n"
    )
}

/// The crate's name: the folder's name, as cargo accepts it.
fn crate_name(dir: &Path) -> Result<String> {
    let absolute = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io("reading the working directory", e))?
            .join(dir)
    };
    let base = absolute
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(name) => name.to_str(),
            _ => None,
        })
        .next_back()
        .unwrap_or("db");
    let name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches('-').to_owned();
    Ok(
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            format!("db-{name}").trim_end_matches('-').to_owned()
        } else {
            name
        },
    )
}

/// Every file of a new project: (path, text, what it is for).
fn files(name: &str) -> Vec<(&'static str, String, &'static str)> {
    vec![
        (
            "strata.toml",
            "# strata settings. Every key is optional; these are the defaults.\n\
             # The database comes from DATABASE_URL (or .env); with none, strata runs a\n\
             # project-local PostgreSQL in .strata/pg.\n\n\
             [schema]\ndir = \"schemas\"\n\n\
             [migrations]\ndir = \"schema-migrations\"\ntable = \"public.strata_migrations\"\n\n\
             [data]\ndir = \"data-migrations\"\ntable = \"public.data_migrations\"\n\n\
             # Rust types of the declared tables for typed data migrations, rewritten by\n\
             # `generate`, `push` and `codegen`; `check` says when it is stale.\n\
             [codegen]\nrust = \"src/data_migrations/schema.rs\"\n"
                .to_owned(),
            "settings (the database URL comes from DATABASE_URL)",
        ),
        (
            "schemas/app/schema.sql",
            "-- The declared schema of PostgreSQL schema `app`: edit it, then `cargo db push`\n\
             -- (development) or `cargo db generate` (a reviewed migration).\n\
             CREATE SCHEMA app;\n\n\
             CREATE TABLE app.items (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    \
             name text NOT NULL UNIQUE,\n    created_at timestamptz NOT NULL DEFAULT now()\n);\n"
                .to_owned(),
            "the declared schema of PostgreSQL schema `app`",
        ),
        (
            "schema-migrations/.gitkeep",
            String::new(),
            "versioned migrations, written by `cargo db generate`",
        ),
        (
            "data-migrations/app/.gitkeep",
            String::new(),
            "SQL data migrations of schema `app`",
        ),
        (
            ".gitignore",
            "/target\n# The development database and strata's caches.\n.strata/\n".to_owned(),
            "the development database and caches stay out of git",
        ),
        (
            "Cargo.toml",
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
                 [dependencies]\n\
                 # strata's library and command line, published as strata-pg (working from a\n\
                 # checkout of strata: strata = {{ package = \"strata-pg\", path = \"<checkout>/crates/strata\" }}).\n\
                 # Add features = [\"aws\"] for s3:// inputs with AWS profiles and SSO logins\n\
                 # (without it, keys come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).\n\
                 {STRATA_DEPENDENCY}\n"
            ),
            "the crate of the project's data migrations",
        ),
        (
            "src/main.rs",
            "//! strata's command line with this project's data migrations: `cargo db --help`.\n\n\
             mod data_migrations;\n\n\
             fn main() -> std::process::ExitCode {\n    strata::cli::run(data_migrations::registry())\n}\n"
                .to_owned(),
            "strata's command line with the data migrations",
        ),
        (
            "src/data_migrations/mod.rs",
            "//! The central registry: every schema's data migrations, in the order they run.\n\n\
             pub mod app;\n\
             pub mod schema;\n\n\
             use strata::data::Registry;\n\n\
             /// Add a schema's list here when it gets its first data migration.\n\
             pub fn registry() -> Registry {\n    Registry::from([(\"app\", app::all())])\n}\n"
                .to_owned(),
            "the registry of data migrations in Rust",
        ),
        (
            "src/data_migrations/app/mod.rs",
            "//! Data migrations of the `app` schema (`cargo db data new app \"what it does\" --rust`\n\
             //! writes the next one).\n\n\
             pub mod m0001_first_items;\n\n\
             use strata::data::Migration;\n\n\
             /// In the order they run.\n\
             pub fn all() -> Vec<Migration> {\n    vec![Migration::new(m0001_first_items::Migration)]\n}\n"
                .to_owned(),
            "schema `app`'s data migrations, in order",
        ),
        (
            "src/data_migrations/schema.rs",
            strata_core::codegen::rust(&sample_catalog()),
            "the Rust types of the declared tables (written by `cargo db codegen`)",
        ),
        (
            "src/data_migrations/app/m0001_first_items.rs",
            "//! A sample data migration: loads the first items. Read JSON from S3 with\n\
             //! `cx.fetch_json(\"s3://bucket/items.json\")` and bulk-load with `cx.copy_rows`.\n\n\
             use strata::data::{Context, DataMigration, DataResult};\n\n\
             use crate::data_migrations::schema::app::{Items, NewItems};\n\n\
             const NAMES: [&str; 2] = [\"first\", \"second\"];\n\n\
             pub struct Migration;\n\n\
             impl DataMigration for Migration {\n    \
                 fn name(&self) -> &str {\n        \"app_0001_first_items\"\n    }\n\n    \
                 async fn up(&self, cx: &mut Context<'_>) -> DataResult {\n        \
                     let rows = NAMES.map(|name| NewItems {\n            \
                         name: name.to_owned(),\n            \
                         created_at: None,\n        \
                     });\n        \
                     cx.insert_many(&rows).await?;\n        \
                     Ok(())\n    }\n\n    \
                 async fn down(&self, cx: &mut Context<'_>) -> DataResult {\n        \
                     for name in NAMES {\n            \
                         cx.delete_by(Items::NAME, &name.to_owned()).await?;\n        \
                     }\n        Ok(())\n    }\n\
             }\n"
                .to_owned(),
            "a sample data migration in Rust",
        ),
    ]
}

/// The catalog of the sample `schemas/app/schema.sql` as PostgreSQL normalises it, as far as
/// code generation reads it: `init` writes the Rust types without a database, and
/// `strata check` then finds them up to date.
fn sample_catalog() -> strata_core::catalog::Catalog {
    use strata_core::catalog::{
        Catalog, Column, Constraint, ConstraintKind, Identity, QualName, SequenceOptions, Table,
    };
    let table = QualName::new("app", "items");
    let column = |name: &str, data_type: &str| Column {
        name: name.into(),
        data_type: data_type.into(),
        not_null: true,
        ..Column::default()
    };
    let mut id = column("id", "bigint");
    id.identity = Some(Identity {
        always: true,
        sequence: SequenceOptions::default(),
        sequence_name: Identity::default_sequence_name(&table, "id"),
        comment: None,
        privileges: Default::default(),
    });
    let mut created_at = column("created_at", "timestamp with time zone");
    created_at.default = Some("now()".into());
    let key = |kind, column: &str| Constraint {
        kind,
        definition: String::new(),
        columns: vec![column.into()],
        foreign_key: None,
        validated: true,
        deferrable: false,
        initially_deferred: false,
        index: None,
        comment: None,
    };
    let mut items = Table {
        columns: vec![id, column("name", "text"), created_at],
        ..Table::default()
    };
    items
        .constraints
        .insert("items_pkey".into(), key(ConstraintKind::PrimaryKey, "id"));
    items
        .constraints
        .insert("items_name_key".into(), key(ConstraintKind::Unique, "name"));
    let mut catalog = Catalog::default();
    catalog.schemas.insert("app".into(), Default::default());
    catalog.tables.insert(table, items);
    catalog
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_names_from_folders() {
        assert_eq!(
            crate_name(Path::new("/srv/Survey DB")).unwrap(),
            "survey-db"
        );
        assert_eq!(crate_name(Path::new("/srv/2026")).unwrap(), "db-2026");
        assert_eq!(crate_name(Path::new("/srv/db/.")).unwrap(), "db");
    }
}
