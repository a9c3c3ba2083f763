//! `strata init [DIR]`: a new project laid out like `examples/survey-db`.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

use super::opt::InitArgs;
use super::{Outcome, say, write_new};

pub(super) fn run(args: InitArgs) -> Result<Outcome> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let name = crate_name(&dir)?;
    let files = files(&name);
    // Nothing is written when anything is there already.
    let existing: Vec<String> = files
        .iter()
        .map(|(path, _)| dir.join(path))
        .filter(|path| path.exists())
        .map(|path| path.display().to_string())
        .collect();
    if !existing.is_empty() {
        return Err(Error::Invalid(format!(
            "strata init never overwrites files, and these exist:\n  {}\nnothing was written; choose an empty folder (strata init DIR)",
            existing.join("\n  ")
        )));
    }
    for (path, text) in &files {
        write_new(&dir.join(path), text)?;
    }
    say(format!(
        "created the strata project `{name}` in {}:\n\
         \x20 strata.toml                          settings (the database URL comes from DATABASE_URL)\n\
         \x20 schemas/app/schema.sql               the declared schema of PostgreSQL schema `app`\n\
         \x20 schema-migrations/                   versioned migrations, written by `cargo db generate`\n\
         \x20 src/data_migrations/app/             data migrations in Rust (data-migrations/app/ for SQL)\n\
         next, in that folder:\n\
         \x20 cargo db push                         sync the development database with schemas/\n\
         \x20 cargo db generate --name init         write the first migration, review it, commit it\n\
         \x20 cargo db up                           apply schema migrations, then data migrations",
        dir.display()
    ));
    Ok(Outcome::Done)
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

/// Every file of a new project: (path, text).
fn files(name: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "strata.toml",
            "# strata settings. Every key is optional; these are the defaults.\n\
             # The database comes from DATABASE_URL (or .env); with none, strata runs a\n\
             # project-local PostgreSQL in .strata/pg.\n\n\
             [schema]\ndir = \"schemas\"\n\n\
             [migrations]\ndir = \"schema-migrations\"\ntable = \"public.strata_migrations\"\n\n\
             [data]\ndir = \"data-migrations\"\ntable = \"public.data_migrations\"\n"
                .to_owned(),
        ),
        (
            "schemas/app/schema.sql",
            "-- The declared schema of PostgreSQL schema `app`: edit it, then `cargo db push`\n\
             -- (development) or `cargo db generate` (a reviewed migration).\n\
             CREATE SCHEMA app;\n\n\
             CREATE TABLE app.items (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    \
             name text NOT NULL UNIQUE,\n    created_at timestamptz NOT NULL DEFAULT now()\n);\n"
                .to_owned(),
        ),
        ("schema-migrations/.gitkeep", String::new()),
        ("data-migrations/app/.gitkeep", String::new()),
        (
            ".gitignore",
            "/target\n# The development database and strata's caches.\n.strata/\n".to_owned(),
        ),
        (
            ".cargo/config.toml",
            "# `cargo db <command>` runs strata with this crate's data migrations:\n\
             #   cargo db generate, cargo db migrate, cargo db push, cargo db up,\n\
             #   cargo db data migrate app, cargo db data reset app, cargo db aws check\n\
             [alias]\ndb = \"run -q --\"\n"
                .to_owned(),
        ),
        (
            "Cargo.toml",
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
                 [dependencies]\n\
                 # strata's library and command line, published as strata-pg (working from a\n\
                 # checkout of strata: strata = {{ package = \"strata-pg\", path = \"<checkout>/crates/strata\" }}).\n\
                 strata = {{ package = \"strata-pg\", version = \"0.1\" }}\n"
            ),
        ),
        (
            "src/main.rs",
            "//! strata's command line with this project's data migrations: `cargo db --help`.\n\n\
             mod data_migrations;\n\n\
             fn main() -> std::process::ExitCode {\n    strata::cli::run(data_migrations::registry())\n}\n"
                .to_owned(),
        ),
        (
            "src/data_migrations/mod.rs",
            "//! The central registry: every schema's data migrations, in the order they run.\n\n\
             pub mod app;\n\n\
             use strata::data::Registry;\n\n\
             /// Add a schema's list here when it gets its first data migration.\n\
             pub fn registry() -> Registry {\n    Registry::from([(\"app\", app::all())])\n}\n"
                .to_owned(),
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
        ),
        (
            "src/data_migrations/app/m0001_first_items.rs",
            "//! A sample data migration: loads the first items. Read JSON from S3 with\n\
             //! `cx.fetch_json(\"s3://bucket/items.json\")` and bulk-load with `cx.copy_in`.\n\n\
             use strata::data::{Context, DataMigration, DataResult};\n\n\
             pub struct Migration;\n\n\
             impl DataMigration for Migration {\n    \
                 fn name(&self) -> &str {\n        \"app_0001_first_items\"\n    }\n\n    \
                 async fn up(&self, cx: &mut Context<'_>) -> DataResult {\n        \
                     for name in [\"first\", \"second\"] {\n            \
                         cx.execute(\"INSERT INTO app.items (name) VALUES ($1)\", &[&name]).await?;\n        \
                     }\n        Ok(())\n    }\n\n    \
                 async fn down(&self, cx: &mut Context<'_>) -> DataResult {\n        \
                     cx.execute(\"DELETE FROM app.items WHERE name IN ('first', 'second')\", &[])\n            \
                         .await?;\n        Ok(())\n    }\n\
             }\n"
                .to_owned(),
        ),
    ]
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
