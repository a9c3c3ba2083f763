//! The migrations folder: `schema-migrations/NNNN_description.sql` files, their reverses
//! `NNNN_description.down.sql`, and `strata.sum`.
//!
//! A down file takes the database from the state after its migration back to the state before
//! it (`strata rollback` runs it; `generate` writes and verifies it). A migration without one is
//! irreversible: allowed, and said by `check`. A down file follows the same rules as a
//! migration (directives, emptiness, transaction control).
//!
//! A migration is plain SQL that `psql -f` would also run. Without directives it runs in one
//! transaction together with its history row; `-- strata:no-transaction` in its leading comments
//! makes it run statement by statement (for `CREATE INDEX CONCURRENTLY`). `strata.sum` holds the
//! SHA-256 of every file and a total on its first line, so an edited migration is noticed and two
//! branches that each add one conflict in git instead of interleaving silently.
//!
//! The history's schema state is found by replaying the files into a scratch database; the
//! result is cached by the files' content (see [`crate::source::cache`]).

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest as _, Sha256};
use strata_core::catalog::Catalog;
use strata_core::split::{Statement, line_column, split};
use tokio_postgres::Client;

use crate::introspect::{Scope, introspect};
use crate::normalise::scratch::ScratchServer;
use crate::source::cache::{Cache, Key};
use crate::{Error, Result};

/// The integrity file's name, inside the migrations folder.
pub const SUM_FILE: &str = "strata.sum";

/// The directive that makes a migration run statement by statement, outside a transaction.
pub const NO_TRANSACTION: &str = "-- strata:no-transaction";

/// The directive that gives a migration its own `lock_timeout` (`-- strata:lock-timeout 2s`),
/// instead of `[migrations] lock_timeout`.
pub const LOCK_TIMEOUT: &str = "-- strata:lock-timeout";

/// How a down file's name ends (`0001_init.down.sql` undoes `0001_init.sql`).
pub const DOWN_SUFFIX: &str = ".down.sql";

/// The directive that lets a migration hold no statement (`-- strata:empty <reason>`), recorded
/// as applied without running anything.
pub const EMPTY: &str = "-- strata:empty";

/// One migration file.
#[derive(Debug, Clone)]
pub struct Migration {
    /// Its number as written (`0001`, `20261124093000`).
    pub version: String,
    /// The number's value, for ordering.
    pub number: u128,
    /// The description after the number (`init`).
    pub name: String,
    /// The file name (`0001_init.sql`).
    pub file_name: String,
    /// The file's path.
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
    /// `sha256:<hex>` of the file's bytes.
    pub checksum: String,
    /// Whether it runs statement by statement outside a transaction.
    pub no_transaction: bool,
    /// Its down file (`NNNN_description.down.sql`), when there is one. A down file's own
    /// `down` is always `None`.
    pub down: Option<Box<Migration>>,
}

impl Migration {
    /// The statements, split the way `psql` splits them.
    pub fn statements(&self) -> Vec<Statement> {
        split(&self.text)
    }

    /// What is wrong with a migration that holds no statement (only comments or nothing),
    /// unless it says why with `-- strata:empty <reason>`; or with one that says so and does
    /// hold statements. Applied as it is, an empty file would be recorded without a word, and
    /// was most often saved before its SQL was written.
    pub fn emptiness(&self) -> Option<String> {
        let reason = leading_comments(&self.text)
            .find_map(|l| l.trim().strip_prefix(EMPTY))
            .map(str::trim);
        let empty = self.statements().is_empty();
        match reason {
            None if empty => Some(format!(
                "{} holds no statement (only comments); write its SQL, delete it, or mark it `{EMPTY} <reason>` to record it as applied without running anything",
                self.file_name
            )),
            Some("") => Some(format!(
                "{}: `{EMPTY}` needs a reason after it (`{EMPTY} superseded by 0007`)",
                self.file_name
            )),
            Some(_) if !empty => Some(format!(
                "{} is marked `{EMPTY}` but holds statements; remove the directive",
                self.file_name
            )),
            _ => None,
        }
    }

    /// The file's own `lock_timeout` (`-- strata:lock-timeout 2s` in its leading comments):
    /// a number with `ms`, `s`, `min` or `h`, or `0` for none. An unreadable value is an
    /// error naming the file and line.
    pub fn lock_timeout(&self) -> Result<Option<String>> {
        for (n, line) in leading_comments(&self.text).enumerate() {
            let Some(value) = line.trim().strip_prefix(LOCK_TIMEOUT) else {
                continue;
            };
            let value = value.trim();
            let digits = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let unit = &value[digits.len()..];
            let readable = !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_digit())
                && matches!(unit, "" | "ms" | "s" | "min" | "h");
            if !readable {
                return Err(Error::Invalid(format!(
                    "{}:{}: `{LOCK_TIMEOUT} {value}`: write a duration such as `{LOCK_TIMEOUT} 2s` (units ms, s, min, h; 0 waits without limit)",
                    self.path.display(),
                    n + 1
                )));
            }
            return Ok(Some(value.to_owned()));
        }
        Ok(None)
    }

    /// `file:line:col` of a 1-based character position in the file (as PostgreSQL reports
    /// positions in a script sent whole).
    pub fn location(&self, character: usize) -> String {
        let byte: usize = self
            .text
            .chars()
            .take(character.saturating_sub(1))
            .map(char::len_utf8)
            .sum();
        let (line, column) = line_column(&self.text, byte);
        format!("{}:{line}:{column}", self.path.display())
    }
}

/// Something wrong with the folder or a database's history, for `check` and the refusals of
/// `migrate` and `generate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// A stable name for scripts: `sum`, `duplicate`, `edited`, `missing`, `out_of_order`,
    /// `empty`, `partial`, `unsynced`, `drift`, `lint`, `codegen`.
    pub kind: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

impl Finding {
    fn new(kind: &'static str, message: impl Into<String>) -> Finding {
        Finding {
            kind,
            message: message.into(),
        }
    }
}

/// The migrations folder.
#[derive(Debug, Clone)]
pub struct MigrationsDir {
    /// The folder.
    pub dir: PathBuf,
    /// The migrations, by number (then file name).
    pub migrations: Vec<Migration>,
    /// The text of `strata.sum`, when there is one.
    pub sum: Option<String>,
    /// Down files whose migration is not in the folder.
    pub stray_downs: Vec<String>,
}

impl MigrationsDir {
    /// Reads the folder (a missing folder has no migrations). A file that is not
    /// `NNNN_description.sql`, or a transactional migration that controls transactions itself,
    /// is an error naming the file.
    pub fn load(dir: &Path) -> Result<MigrationsDir> {
        let mut migrations = Vec::new();
        let mut downs = Vec::new();
        let mut sum = None;
        if dir.is_dir() {
            let entries = std::fs::read_dir(dir)
                .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name();
                // A migration skipped because of its name would never run, without a word.
                if name.as_encoded_bytes().ends_with(b".sql") {
                    crate::source::files::utf8_name(&path, &name)?;
                }
                let Some(file_name) = name.to_str().map(str::to_owned) else {
                    continue;
                };
                if file_name == SUM_FILE {
                    sum = Some(
                        std::fs::read_to_string(&path)
                            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?,
                    );
                    continue;
                }
                if !path.is_file() || !file_name.ends_with(".sql") {
                    continue;
                }
                if file_name.ends_with(DOWN_SUFFIX) {
                    downs.push(read_migration(path, file_name)?);
                } else {
                    migrations.push(read_migration(path, file_name)?);
                }
            }
        }
        migrations.sort_by(|a, b| (a.number, &a.file_name).cmp(&(b.number, &b.file_name)));
        let mut stray_downs = Vec::new();
        for down in downs {
            let up = format!("{}.sql", down.file_name.trim_end_matches(DOWN_SUFFIX));
            match migrations.iter_mut().find(|m| m.file_name == up) {
                Some(migration) => migration.down = Some(Box::new(down)),
                None => stray_downs.push(down.file_name),
            }
        }
        stray_downs.sort();
        Ok(MigrationsDir {
            dir: dir.to_path_buf(),
            migrations,
            sum,
            stray_downs,
        })
    }

    /// Every file `strata.sum` records, in order: each migration, then its down file.
    fn files(&self) -> impl Iterator<Item = &Migration> {
        self.migrations
            .iter()
            .flat_map(|m| std::iter::once(m).chain(m.down.as_deref()))
    }

    /// What `strata.sum` must say: the total, then one line per file.
    pub fn sum_text(&self) -> String {
        let lines: String = self
            .files()
            .map(|m| format!("{} {}\n", m.file_name, m.checksum))
            .collect();
        format!("total {}\n{lines}", checksum(lines.as_bytes()))
    }

    /// Writes `strata.sum` for the files as they are.
    pub fn write_sum(&mut self) -> Result<()> {
        let text = self.sum_text();
        let path = self.dir.join(SUM_FILE);
        std::fs::write(&path, &text)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        self.sum = Some(text);
        Ok(())
    }

    /// Differences between the files and `strata.sum`, each naming the file.
    pub fn sum_findings(&self) -> Vec<Finding> {
        let resum = "review the files, then run `strata sum` to record them";
        let Some(sum) = &self.sum else {
            return if self.files().next().is_none() {
                Vec::new()
            } else {
                vec![Finding::new(
                    "sum",
                    format!("{} is missing; {resum}", self.dir.join(SUM_FILE).display()),
                )]
            };
        };
        let mut findings = Vec::new();
        let mut lines = sum.lines();
        let total = lines
            .next()
            .and_then(|l| l.strip_prefix("total "))
            .map(str::to_owned);
        let mut listed: Vec<(String, String)> = Vec::new();
        for line in lines.filter(|l| !l.trim().is_empty()) {
            match line.rsplit_once(' ') {
                Some((name, hash)) => listed.push((name.to_owned(), hash.to_owned())),
                None => findings.push(Finding::new(
                    "sum",
                    format!("{SUM_FILE}: cannot read the line `{line}`; {resum}"),
                )),
            }
        }
        for migration in self.files() {
            match listed.iter().find(|(name, _)| *name == migration.file_name) {
                None => findings.push(Finding::new(
                    "sum",
                    format!(
                        "{} is not in {SUM_FILE} (added by hand, or merged from another branch?); {resum}",
                        migration.file_name
                    ),
                )),
                Some((_, hash)) if *hash != migration.checksum => findings.push(Finding::new(
                    "sum",
                    format!(
                        "{} was edited after {SUM_FILE} recorded it; {resum}",
                        migration.file_name
                    ),
                )),
                Some(_) => {}
            }
        }
        for (name, _) in &listed {
            if !self.files().any(|m| m.file_name == *name) {
                findings.push(Finding::new(
                    "sum",
                    format!("{name} is in {SUM_FILE} but the file is gone; {resum}"),
                ));
            }
        }
        let expected_total = self.sum_text().lines().next().map(str::to_owned);
        if findings.is_empty() && total.as_deref().map(|t| format!("total {t}")) != expected_total {
            findings.push(Finding::new(
                "sum",
                format!("the total in {SUM_FILE} does not match its lines; {resum}"),
            ));
        }
        findings
    }

    /// Two files with the same number.
    pub fn duplicate_findings(&self) -> Vec<Finding> {
        self.migrations
            .windows(2)
            .filter(|pair| pair[0].number == pair[1].number)
            .map(|pair| {
                Finding::new(
                    "duplicate",
                    format!(
                        "{} and {} have the same number (merged from two branches?); renumber the newer one, then run `strata sum`",
                        pair[0].file_name, pair[1].file_name
                    ),
                )
            })
            .collect()
    }

    /// Down files without their migration.
    pub fn stray_findings(&self) -> Vec<Finding> {
        self.stray_downs
            .iter()
            .map(|name| {
                Finding::new(
                    "stray_down",
                    format!(
                        "{name} undoes {}.sql, which is not in {}; rename it after its migration or delete it, then run `strata sum`",
                        name.trim_end_matches(DOWN_SUFFIX),
                        self.dir.display()
                    ),
                )
            })
            .collect()
    }

    /// Every problem of the folder itself: the sum file, duplicate numbers, stray down files.
    pub fn findings(&self) -> Vec<Finding> {
        let mut all = self.duplicate_findings();
        all.extend(self.stray_findings());
        all.extend(self.sum_findings());
        all
    }

    /// The migration numbered `version` (`0003`, or `3`: compared by number).
    pub fn find(&self, version: &str) -> Option<&Migration> {
        let number = version.parse::<u128>().ok()?;
        self.migrations.iter().find(|m| m.number == number)
    }

    /// The number of the next migration: the next index (`0007`), or the current UTC time
    /// (`20261124093000`), always above every existing number.
    pub fn next_version(&self, timestamp: bool) -> String {
        let last = self.migrations.last().map_or(0, |m| m.number);
        if timestamp {
            let now = utc_timestamp();
            if now.parse::<u128>().unwrap_or(0) > last {
                now
            } else {
                (last + 1).to_string()
            }
        } else {
            let width = self.migrations.last().map_or(4, |m| m.version.len());
            format!("{:0width$}", last + 1)
        }
    }
}

fn read_migration(path: PathBuf, file_name: String) -> Result<Migration> {
    let stem = file_name
        .strip_suffix(DOWN_SUFFIX)
        .unwrap_or_else(|| file_name.trim_end_matches(".sql"));
    let (version, name) = stem
        .split_once('_')
        .filter(|(v, n)| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty())
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{}: a migration's name must be NNNN_description.sql; rename the file (or move it out of the migrations folder)",
                path.display()
            ))
        })?;
    let number = version
        .parse::<u128>()
        .map_err(|_| Error::Invalid(format!("{}: the number is too long", path.display())))?;
    let bytes =
        std::fs::read(&path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let text = String::from_utf8(bytes.clone())
        .map_err(|_| Error::Invalid(format!("{}: not UTF-8 text", path.display())))?;
    let no_transaction = leading_comments(&text).any(|l| l.trim() == NO_TRANSACTION);
    let migration = Migration {
        version: version.to_owned(),
        number,
        name: name.to_owned(),
        file_name,
        path,
        checksum: checksum(&bytes),
        text,
        no_transaction,
        down: None,
    };
    migration.lock_timeout()?;
    if !migration.no_transaction
        && let Some(statement) = migration
            .statements()
            .into_iter()
            .find(Statement::controls_transaction)
    {
        return Err(Error::Invalid(format!(
            "{}:{}:{}: `{}` controls the transaction, but strata runs each migration in a transaction of its own (with its history row); remove it, or put `{NO_TRANSACTION}` at the top of the file to run it statement by statement",
            migration.path.display(),
            statement.line,
            statement.column,
            statement.keywords(2).join(" ")
        )));
    }
    Ok(migration)
}

/// The comment lines before the first statement.
fn leading_comments(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .take_while(|l| l.trim().is_empty() || l.trim_start().starts_with("--"))
}

/// `sha256:<hex>` of some bytes.
pub fn checksum(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// The SHA-256 of some bytes in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The current UTC time as `YYYYMMDDHHMMSS`.
pub fn utc_timestamp() -> String {
    utc_timestamp_of(std::time::SystemTime::now())
}

/// A UTC time as `YYYYMMDDHHMMSS`.
pub fn utc_timestamp_of(time: std::time::SystemTime) -> String {
    let seconds = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Runs a migration's SQL on `client`, without a history row: a transactional file inside one
/// transaction, a `no-transaction` file statement by statement. A failure names the file, line
/// and column. Used to replay the history; `migrate` has its own loop that records progress.
pub async fn run_script(client: &Client, migration: &Migration) -> Result<()> {
    if migration.no_transaction {
        for statement in migration.statements() {
            client
                .batch_execute(&statement.text)
                .await
                .map_err(|e| statement_error(migration, &statement, e))?;
        }
        return Ok(());
    }
    client
        .batch_execute("BEGIN")
        .await
        .map_err(|e| Error::db("starting a transaction", e))?;
    if let Err(e) = client.batch_execute(&migration.text).await {
        let _ = client.batch_execute("ROLLBACK").await;
        return Err(script_error(migration, e));
    }
    client
        .batch_execute("COMMIT")
        .await
        .map_err(|e| script_error(migration, e))
}

/// A failure of a whole script, located in the file when the server says where.
pub fn script_error(migration: &Migration, error: tokio_postgres::Error) -> Error {
    let location = match error.as_db_error().and_then(|d| d.position()) {
        Some(tokio_postgres::error::ErrorPosition::Original(p)) => migration.location(*p as usize),
        _ => migration.path.display().to_string(),
    };
    Error::Db {
        context: location,
        error,
    }
}

/// A failure of one statement, located in the file.
pub fn statement_error(
    migration: &Migration,
    statement: &Statement,
    error: tokio_postgres::Error,
) -> Error {
    statement_error_shifted(migration, statement, error, 0)
}

/// As [`statement_error`], for a statement sent after `shift` characters of other text (the
/// server's error position counts them).
pub fn statement_error_shifted(
    migration: &Migration,
    statement: &Statement,
    error: tokio_postgres::Error,
    shift: usize,
) -> Error {
    let (line, column) =
        crate::postgres::error_location_shifted(&migration.text, statement, &error, shift);
    Error::Db {
        context: format!("{}:{line}:{column}", migration.path.display()),
        error,
    }
}

/// The catalog after `migrations` ran on an empty database: from `cache` when this exact
/// history was replayed before on the same PostgreSQL major version, else replayed in a scratch
/// database on `server` (and stored).
pub async fn replay(
    migrations: &[Migration],
    server: &ScratchServer,
    scope: &Scope,
    cache: &Cache,
) -> Result<Catalog> {
    let key = history_key(migrations, server.server_version(), scope);
    if let Some(catalog) = cache.catalog("history", &key) {
        return Ok(catalog);
    }
    let db = server.create(None).await?;
    let result = async {
        let client = crate::postgres::connect(db.url()).await?;
        client
            .batch_execute("SET check_function_bodies = false")
            .await
            .map_err(|e| Error::db("preparing the scratch database", e))?;
        for migration in migrations {
            run_script(&client, migration).await.map_err(|e| {
                Error::Invalid(format!(
                    "replaying the migration history in a scratch database: {e}\nfix {} (or the migration before it) and run again",
                    migration.file_name
                ))
            })?;
        }
        Ok(introspect(&client, scope).await?.catalog)
    }
    .await;
    let dropped = server.drop_db(db).await;
    let catalog = result?;
    dropped?;
    cache.store("history", &key, &catalog);
    Ok(catalog)
}

/// Records that `migrations` replay to `catalog` (a verified plan was just written), so the
/// next command does not replay them again.
pub fn remember(
    migrations: &[Migration],
    server_version: u32,
    scope: &Scope,
    cache: &Cache,
    catalog: &Catalog,
) {
    // The migrations create what the plan created: none of the objects strata does not model.
    let mut catalog = catalog.clone();
    catalog.unmodeled.clear();
    cache.store(
        "history",
        &history_key(migrations, server_version, scope),
        &catalog,
    );
}

pub(crate) fn history_key(migrations: &[Migration], server_version: u32, scope: &Scope) -> Key {
    let mut key = Key::new("history", server_version);
    key.add_scope(scope);
    for migration in migrations {
        key.add(migration.file_name.as_bytes())
            .add(migration.checksum.as_bytes());
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn files_are_ordered_by_number_and_directives_read() {
        let dir = folder(&[
            ("0010_later.sql", "SELECT 1;"),
            (
                "0002_index.sql",
                "-- strata:no-transaction\n-- why\nCREATE INDEX CONCURRENTLY i ON t (a);",
            ),
            (
                "0001_init.sql",
                "CREATE TABLE t (a int);\n-- strata:no-transaction is not a directive here\n",
            ),
            ("README.md", "not a migration"),
        ]);
        let folder = MigrationsDir::load(dir.path()).unwrap();
        let names: Vec<&str> = folder
            .migrations
            .iter()
            .map(|m| m.file_name.as_str())
            .collect();
        assert_eq!(names, ["0001_init.sql", "0002_index.sql", "0010_later.sql"]);
        let no_tx: Vec<bool> = folder.migrations.iter().map(|m| m.no_transaction).collect();
        assert_eq!(no_tx, [false, true, false]);
        assert_eq!(folder.next_version(false), "0011");
        assert!(folder.next_version(true).len() == 14);
    }

    #[test]
    fn bad_names_and_transaction_control_are_errors_naming_the_file() {
        let dir = folder(&[("init.sql", "SELECT 1;")]);
        let error = MigrationsDir::load(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains("init.sql") && error.contains("NNNN_description.sql"),
            "{error}"
        );

        let dir = folder(&[("0001_x.sql", "CREATE TABLE t (a int);\nCOMMIT;\n")]);
        let error = MigrationsDir::load(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains("0001_x.sql:2:1") && error.contains(NO_TRANSACTION),
            "{error}"
        );
    }

    #[test]
    fn the_sum_file_notices_edits_additions_removals_and_a_bad_total() {
        let dir = folder(&[("0001_a.sql", "SELECT 1;"), ("0002_b.sql", "SELECT 2;")]);
        let mut folder = MigrationsDir::load(dir.path()).unwrap();
        assert_eq!(folder.sum_findings().len(), 1, "no sum file yet");
        folder.write_sum().unwrap();
        let folder = MigrationsDir::load(dir.path()).unwrap();
        assert_eq!(folder.sum_findings(), []);
        assert!(folder.sum.as_deref().unwrap().starts_with("total sha256:"));

        std::fs::write(dir.path().join("0002_b.sql"), "SELECT 3;").unwrap();
        std::fs::write(dir.path().join("0003_c.sql"), "SELECT 4;").unwrap();
        std::fs::remove_file(dir.path().join("0001_a.sql")).unwrap();
        let findings = MigrationsDir::load(dir.path()).unwrap().sum_findings();
        let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(findings.len(), 3, "{messages:?}");
        assert!(
            messages[0].starts_with("0002_b.sql was edited"),
            "{messages:?}"
        );
        assert!(
            messages[1].starts_with("0003_c.sql is not in"),
            "{messages:?}"
        );
        assert!(
            messages[2].starts_with("0001_a.sql is in strata.sum but the file is gone"),
            "{messages:?}"
        );

        // Lines that agree with the files under a total that does not.
        let mut folder = MigrationsDir::load(dir.path()).unwrap();
        folder.write_sum().unwrap();
        let text = folder.sum.clone().unwrap();
        let tampered = text.replacen("total sha256:", "total sha256:0", 1);
        std::fs::write(dir.path().join(SUM_FILE), tampered).unwrap();
        let findings = MigrationsDir::load(dir.path()).unwrap().sum_findings();
        assert!(findings[0].message.contains("total"), "{findings:?}");
    }

    #[test]
    fn down_files_belong_to_their_migration_and_are_in_the_sum() {
        let dir = folder(&[
            ("0001_a.sql", "CREATE TABLE a (x int);"),
            ("0001_a.down.sql", "DROP TABLE a;"),
            ("0002_b.sql", "CREATE TABLE b (x int);"),
            (
                "0003_gone.down.sql",
                "-- strata:no-transaction\nDROP INDEX CONCURRENTLY i;",
            ),
        ]);
        let mut folder = MigrationsDir::load(dir.path()).unwrap();
        let names: Vec<&str> = folder
            .migrations
            .iter()
            .map(|m| m.file_name.as_str())
            .collect();
        assert_eq!(names, ["0001_a.sql", "0002_b.sql"]);
        let down = folder.migrations[0].down.as_deref().unwrap();
        assert_eq!(
            (
                down.file_name.as_str(),
                down.version.as_str(),
                down.name.as_str()
            ),
            ("0001_a.down.sql", "0001", "a")
        );
        assert!(folder.migrations[1].down.is_none());
        assert_eq!(folder.stray_downs, ["0003_gone.down.sql"]);
        assert_eq!(folder.stray_findings()[0].kind, "stray_down");
        assert_eq!(folder.next_version(false), "0003");

        folder.write_sum().unwrap();
        assert!(
            folder
                .sum
                .as_deref()
                .unwrap()
                .contains("\n0001_a.sql sha256:")
                && folder
                    .sum
                    .as_deref()
                    .unwrap()
                    .contains("\n0001_a.down.sql sha256:"),
            "{:?}",
            folder.sum
        );
        std::fs::write(dir.path().join("0001_a.down.sql"), "DROP TABLE a CASCADE;").unwrap();
        let findings = MigrationsDir::load(dir.path()).unwrap().sum_findings();
        assert!(
            findings[0]
                .message
                .starts_with("0001_a.down.sql was edited"),
            "{findings:?}"
        );
    }

    #[test]
    fn duplicate_numbers_are_found() {
        let dir = folder(&[("0002_a.sql", "SELECT 1;"), ("0002_b.sql", "SELECT 2;")]);
        let findings = MigrationsDir::load(dir.path())
            .unwrap()
            .duplicate_findings();
        assert_eq!(findings.len(), 1);
        assert!(findings[0].message.contains("0002_a.sql and 0002_b.sql"));
    }

    #[test]
    fn timestamps_are_civil_utc() {
        let stamp = utc_timestamp();
        assert_eq!(stamp.len(), 14);
        let year: u32 = stamp[..4].parse().unwrap();
        assert!((2024..3000).contains(&year), "{stamp}");
        let month: u32 = stamp[4..6].parse().unwrap();
        assert!((1..=12).contains(&month), "{stamp}");
    }
}
