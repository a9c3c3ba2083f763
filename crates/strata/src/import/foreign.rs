//! Adopting a project that Prisma Migrate or sqlx managed: its migration files become strata
//! migrations, and the rows of its history table are matched to them by checksum.
//!
//! - Prisma Migrate: `prisma/migrations/<timestamp>_<name>/migration.sql`, history in
//!   `_prisma_migrations` (`migration_name`, `checksum`: the SHA-256 of the file in hex,
//!   `finished_at`, `rolled_back_at`). A row without `finished_at` and not rolled back is a
//!   failed migration, which Prisma itself refuses to go on from.
//! - sqlx: `migrations/<version>_<description>.sql` (or `.up.sql` with a `.down.sql`), history in
//!   `_sqlx_migrations` (`version`, `checksum`: the SHA-384 of the file, `success`). A first
//!   line `-- no-transaction` runs the file outside a transaction.
//!
//! Only what matches exactly is recorded: a row whose file changed, a row with no file and a
//! failed migration are refused, each named.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256, Sha384};
use strata_core::catalog::QualName;
use strata_core::render::qualified;
use strata_core::split::{Statement, split};
use tokio_postgres::Client;

use crate::source::migrations::NO_TRANSACTION;
use crate::{Error, Result};

/// The tools whose migrations strata adopts besides Drizzle Kit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// Prisma Migrate.
    Prisma,
    /// sqlx (`sqlx migrate`).
    Sqlx,
}

/// Prisma Migrate's history table.
pub const PRISMA_TABLE: &str = "public._prisma_migrations";
/// sqlx's history table.
pub const SQLX_TABLE: &str = "public._sqlx_migrations";

impl Tool {
    /// The tool's name, as users know it.
    pub fn title(self) -> &'static str {
        match self {
            Tool::Prisma => "Prisma Migrate",
            Tool::Sqlx => "sqlx",
        }
    }

    /// The history table.
    pub fn table(self) -> QualName {
        let text = match self {
            Tool::Prisma => PRISMA_TABLE,
            Tool::Sqlx => SQLX_TABLE,
        };
        crate::config::table_name("", text).expect("a valid name")
    }

    /// The migrations folder the tool uses by default, relative to the project.
    pub fn default_dir(self) -> &'static str {
        match self {
            Tool::Prisma => "prisma/migrations",
            Tool::Sqlx => "migrations",
        }
    }
}

/// One migration of the other tool.
#[derive(Debug, Clone)]
pub struct ForeignMigration {
    /// The number (a Prisma timestamp, a sqlx version).
    pub version: String,
    /// The description (`init`).
    pub name: String,
    /// The file as the tool wrote it.
    pub path: PathBuf,
    /// The tool's checksum of the file, as it records it (hex).
    pub checksum: String,
    /// The file in strata's format.
    pub converted: String,
}

impl ForeignMigration {
    /// The file name in strata's migrations folder.
    pub fn file_name(&self) -> String {
        format!("{}_{}.sql", self.version, self.name)
    }
}

/// Reads the tool's migrations folder, in order. Every problem is reported in one error.
pub fn read(tool: Tool, dir: &Path) -> Result<Vec<ForeignMigration>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::io(
            format!(
                "reading {} (is it {}'s migrations folder? pass --dir)",
                dir.display(),
                tool.title()
            ),
            e,
        )
    })?;
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut problems = Vec::new();
    let mut migrations = Vec::new();
    for entry in names {
        let (stem, path) = match tool {
            Tool::Prisma => {
                let path = dir.join(&entry).join("migration.sql");
                if !dir.join(&entry).is_dir() {
                    continue; // migration_lock.toml
                }
                (entry.clone(), path)
            }
            Tool::Sqlx => {
                if entry.ends_with(".down.sql") || !entry.ends_with(".sql") {
                    continue;
                }
                let stem = entry
                    .strip_suffix(".up.sql")
                    .or_else(|| entry.strip_suffix(".sql"))
                    .expect("ends with .sql")
                    .to_owned();
                (stem, dir.join(&entry))
            }
        };
        let Some((version, name)) = stem.split_once('_').filter(|(v, n)| {
            !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty()
        }) else {
            problems.push(format!(
                "{}: not a {} migration name (NUMBER_description)",
                dir.join(&entry).display(),
                tool.title()
            ));
            continue;
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                problems.push(format!("{}: cannot be read ({e})", path.display()));
                continue;
            }
        };
        let checksum = match tool {
            Tool::Prisma => hex(&Sha256::digest(text.as_bytes())),
            Tool::Sqlx => hex(&Sha384::digest(text.as_bytes())),
        };
        let no_transaction = tool == Tool::Sqlx
            && text
                .lines()
                .next()
                .is_some_and(|l| l.trim() == "-- no-transaction");
        if !no_transaction
            && let Some(statement) = split(&text)
                .into_iter()
                .find(Statement::controls_transaction)
        {
            problems.push(format!(
                "{}:{}:{}: `{}` controls the transaction, but strata runs each migration in a transaction of its own; rewrite the file without it",
                path.display(),
                statement.line,
                statement.column,
                statement.keywords(2).join(" ")
            ));
            continue;
        }
        let mut converted = format!(
            "-- {version}_{name}.sql: imported from {} by `strata import {}`.\n",
            tool.title(),
            match tool {
                Tool::Prisma => "prisma",
                Tool::Sqlx => "sqlx",
            }
        );
        if no_transaction {
            converted.push_str(NO_TRANSACTION);
            converted.push('\n');
        }
        converted.push('\n');
        converted.push_str(&text);
        if !text.ends_with('\n') {
            converted.push('\n');
        }
        migrations.push(ForeignMigration {
            version: version.to_owned(),
            name: name.to_owned(),
            path,
            checksum,
            converted,
        });
    }
    migrations.sort_by_key(|m| m.version.parse::<u128>().unwrap_or(u128::MAX));
    for pair in migrations.windows(2) {
        if pair[0].version.parse::<u128>().ok() == pair[1].version.parse::<u128>().ok() {
            problems.push(format!(
                "{} and {} have the same number",
                pair[0].path.display(),
                pair[1].path.display()
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(format!(
            "{} cannot be imported:\n  {}\nnothing was written",
            dir.display(),
            problems.join("\n  ")
        )));
    }
    Ok(migrations)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One row of the tool's history table.
#[derive(Debug, Clone)]
pub struct Row {
    /// What identifies the migration: Prisma's `migration_name`, sqlx's `version`.
    pub key: String,
    /// The checksum (hex).
    pub checksum: String,
    /// Whether it finished (Prisma: `finished_at` set; sqlx: `success`).
    pub finished: bool,
}

/// The applied rows of the tool's history table (rolled-back Prisma rows left out), `None`
/// when the table does not exist.
pub async fn rows(client: &Client, tool: Tool) -> Result<Option<Vec<Row>>> {
    let table = tool.table();
    if !crate::postgres::table_exists(client, &table).await? {
        return Ok(None);
    }
    let sql = match tool {
        Tool::Prisma => format!(
            "SELECT migration_name::text, checksum::text, finished_at IS NOT NULL FROM {} \
             WHERE rolled_back_at IS NULL ORDER BY started_at, migration_name",
            qualified(&table)
        ),
        Tool::Sqlx => format!(
            "SELECT version::text, encode(checksum, 'hex'), success FROM {} ORDER BY version",
            qualified(&table)
        ),
    };
    let rows = client
        .query(&sql, &[])
        .await
        .map_err(|e| Error::db(format!("reading {table}"), e))?;
    Ok(Some(
        rows.iter()
            .map(|r| Row {
                key: r.get(0),
                checksum: r.get(1),
                finished: r.get(2),
            })
            .collect(),
    ))
}

/// The key a row of `tool` has for `migration`: Prisma's folder name, sqlx's version as the
/// number it stores (`0001` is 1).
fn key(tool: Tool, migration: &ForeignMigration) -> String {
    match tool {
        Tool::Prisma => format!("{}_{}", migration.version, migration.name),
        Tool::Sqlx => match migration.version.trim_start_matches('0') {
            "" => "0".to_owned(),
            digits => digits.to_owned(),
        },
    }
}

/// Which files the database applied: `true` per migration whose row has its checksum; the
/// problems (a changed file, a failed migration, a row with no file), one sentence each.
pub fn matching(
    tool: Tool,
    migrations: &[ForeignMigration],
    rows: &[Row],
) -> (Vec<bool>, Vec<String>) {
    let mut problems = Vec::new();
    let mut applied = vec![false; migrations.len()];
    for row in rows {
        let Some(i) = migrations.iter().position(|m| key(tool, m) == row.key) else {
            problems.push(format!(
                "{} row {:?} matches no file: applied, but its file is gone; restore it",
                tool.table(),
                row.key
            ));
            continue;
        };
        let file = migrations[i].path.display();
        if !row.finished {
            problems.push(format!(
                "{file}: failed or unfinished in {} ({}); resolve it with {} first",
                tool.table(),
                row.key,
                match tool {
                    Tool::Prisma => "`prisma migrate resolve`",
                    Tool::Sqlx => "sqlx (fix the database, delete the row)",
                }
            ));
        } else if !row.checksum.eq_ignore_ascii_case(&migrations[i].checksum) {
            problems.push(format!(
                "{file}: changed after it was applied (the checksum in {} differs); restore the file as it ran",
                tool.table()
            ));
        } else {
            applied[i] = true;
        }
    }
    (applied, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlx_keys_are_versions_without_leading_zeros() {
        let migration = |version: &str| ForeignMigration {
            version: version.into(),
            name: "x".into(),
            path: PathBuf::new(),
            checksum: String::new(),
            converted: String::new(),
        };
        assert_eq!(key(Tool::Sqlx, &migration("0001")), "1");
        assert_eq!(
            key(Tool::Sqlx, &migration("20240101120000")),
            "20240101120000"
        );
        assert_eq!(key(Tool::Sqlx, &migration("000")), "0");
        assert_eq!(
            key(Tool::Prisma, &migration("20240101120000")),
            "20240101120000_x"
        );
    }

    #[test]
    fn checksums_are_the_tools() {
        // sha384("abc"), as sqlx records it (hex of the bytea).
        assert!(hex(&Sha384::digest(b"abc")).starts_with("cb00753f45a35e8b"));
    }
}
