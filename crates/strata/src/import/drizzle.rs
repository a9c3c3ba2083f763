//! Adopting a project that Drizzle Kit managed: its journal and SQL files become strata
//! migrations, and the rows of its `__drizzle_migrations` table are matched to them.
//!
//! Drizzle Kit records a migration as the SHA-256 of its file and the journal's `when`. Its
//! migrator runs a file only when `when` is later than the newest recorded `created_at`, so an
//! entry merged from another branch with an older `when` is skipped without a word; the import
//! finds those, and files edited after they ran, and rows whose file is gone.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use strata_core::catalog::QualName;
use strata_core::render::qualified;
use tokio_postgres::Client;

use strata_core::split::{Statement, line_column, split};

use crate::source::migrations::{NO_TRANSACTION, sha256_hex};
use crate::{Error, Result};

/// Drizzle Kit's history table (its default name).
pub const TABLE: &str = "drizzle.__drizzle_migrations";

/// What separates statements in a Drizzle Kit migration file.
const BREAKPOINT: &str = "--> statement-breakpoint";

#[derive(Debug, Deserialize)]
struct Journal {
    dialect: String,
    entries: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    idx: usize,
    when: i64,
    tag: String,
    #[serde(default = "yes")]
    breakpoints: bool,
}

fn yes() -> bool {
    true
}

/// One migration of a Drizzle Kit journal.
#[derive(Debug, Clone)]
pub struct DrizzleMigration {
    /// Its position in the journal.
    pub idx: usize,
    /// The journal's `when` (milliseconds since 1970), which Drizzle Kit records as `created_at`.
    pub when: i64,
    /// Its tag: the file name without `.sql`.
    pub tag: String,
    /// The SQL file.
    pub path: PathBuf,
    /// The SHA-256 of the file (hex), as Drizzle Kit records it.
    pub hash: String,
    /// The file in strata's format: one statement per breakpoint.
    pub converted: String,
    /// The file as Drizzle Kit wrote it.
    pub original: String,
}

impl DrizzleMigration {
    /// The file name in strata's migrations folder (the same as Drizzle Kit's).
    pub fn file_name(&self) -> String {
        format!("{}.sql", self.tag)
    }
}

/// A Drizzle Kit migrations folder, read: its migrations in the journal's order, and what the
/// reading found worth saying (gaps in `idx`, converted transaction control, SQL files the
/// journal does not name).
#[derive(Debug, Clone)]
pub struct Folder {
    /// The journal's entries, in the journal's order.
    pub migrations: Vec<DrizzleMigration>,
    /// Notes and warnings, one sentence each.
    pub notes: Vec<String>,
}

/// Reads the journal (`meta/_journal.json`) of a Drizzle Kit migrations folder and its SQL files.
/// Every problem of every file is reported in one error, each with its file and line.
pub fn read(dir: &Path) -> Result<Folder> {
    let journal_path = dir.join("meta").join("_journal.json");
    let text = std::fs::read_to_string(&journal_path).map_err(|e| {
        Error::io(
            format!(
                "reading {} (is {} a Drizzle Kit migrations folder? pass --dir)",
                journal_path.display(),
                dir.display()
            ),
            e,
        )
    })?;
    let journal: Journal = serde_json::from_str(&text).map_err(|e| {
        Error::Invalid(format!(
            "{}:{}:{}: not a Drizzle Kit journal: {e}",
            journal_path.display(),
            e.line(),
            e.column()
        ))
    })?;
    if !matches!(journal.dialect.as_str(), "postgresql" | "pg") {
        return Err(Error::Invalid(format!(
            "{}: the journal is for {}; strata imports PostgreSQL migrations only",
            journal_path.display(),
            journal.dialect
        )));
    }
    let mut notes = Vec::new();
    let mut problems = Vec::new();
    // Drizzle Kit's migrator reads the entries in order and never looks at `idx`: a gap (an
    // entry deleted by hand, a merge) is no damage, and the order is the entries'.
    let idx: Vec<usize> = journal.entries.iter().map(|e| e.idx).collect();
    if idx
        .iter()
        .enumerate()
        .any(|(position, idx)| *idx != position)
    {
        notes.push(format!(
            "{}: the idx values ({}) are not 0, 1, 2, …; the migrations are taken in the order of the entries, as Drizzle Kit takes them",
            journal_path.display(),
            idx.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut migrations = Vec::new();
    for (position, entry) in journal.entries.into_iter().enumerate() {
        if let Some(first) = migrations
            .iter()
            .position(|m: &DrizzleMigration| m.tag == entry.tag)
        {
            problems.push(format!(
                "{}: entries {first} and {position} both have tag {:?}; the journal is damaged: keep one",
                journal_path.display(),
                entry.tag
            ));
            continue;
        }
        let valid = entry.tag.split_once('_').is_some_and(|(n, d)| {
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !d.is_empty()
        });
        if !valid {
            problems.push(format!(
                "{}: entry {position} has tag {:?}; strata needs NNNN_description tags: rename the file and the tag",
                journal_path.display(),
                entry.tag
            ));
            continue;
        }
        let path = dir.join(format!("{}.sql", entry.tag));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                problems.push(format!(
                    "{}: cannot be read ({e}); entry {position} of {} names it",
                    path.display(),
                    journal_path.display()
                ));
                continue;
            }
        };
        let converted = convert(&entry.tag, &text, entry.breakpoints);
        for problem in &converted.problems {
            problems.push(format!("{}:{problem}", path.display()));
        }
        if !converted.dropped.is_empty() {
            notes.push(format!(
                "{}: dropped {} (strata runs each migration in a transaction of its own){}",
                path.display(),
                converted.dropped.join(", "),
                if converted.no_transaction {
                    format!("; marked `{NO_TRANSACTION}`: it runs statement by statement")
                } else {
                    String::new()
                }
            ));
        }
        migrations.push(DrizzleMigration {
            idx: entry.idx,
            when: entry.when,
            hash: sha256_hex(text.as_bytes()),
            converted: converted.text,
            original: text,
            tag: entry.tag,
            path,
        });
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(format!(
            "the Drizzle Kit folder {} cannot be imported:\n  {}\nnothing was written",
            dir.display(),
            problems.join("\n  ")
        )));
    }
    // Files Drizzle Kit never runs: said, since a file the journal forgot is easy to miss.
    let mut strays: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql") && !migrations.iter().any(|m| m.file_name() == *name))
        .collect();
    strays.sort();
    for name in strays {
        notes.push(format!(
            "warning: {} is not in the journal: Drizzle Kit never ran it, and it is not imported",
            dir.join(name).display()
        ));
    }
    Ok(Folder { migrations, notes })
}

/// A Drizzle Kit file converted to strata's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// The file in strata's format.
    pub text: String,
    /// The transaction-control statements left out, with their lines (`COMMIT (line 4)`).
    pub dropped: Vec<String>,
    /// Whether the file is marked `-- strata:no-transaction`.
    pub no_transaction: bool,
    /// What cannot be converted, as `line:column: message`.
    pub problems: Vec<String>,
}

/// A Drizzle Kit migration file in strata's format: the same SQL, one statement per breakpoint.
///
/// Drizzle Kit runs every pending file in one transaction; a file that needs to escape it (a
/// concurrent index build, a procedure that commits, a new enum value used at once) says
/// `COMMIT;` and `BEGIN;`. strata runs each migration in a transaction of its own, so
/// `BEGIN`/`COMMIT` are left out, and the file is marked `-- strata:no-transaction` when they
/// split it (statements before and after a commit) or when a statement cannot run in a
/// transaction. `ROLLBACK`, `SAVEPOINT` and the like have no such translation: problems.
pub fn convert(tag: &str, text: &str, breakpoints: bool) -> Converted {
    let mut chunks: Vec<(usize, &str)> = Vec::new();
    if breakpoints {
        let mut offset = 0;
        for chunk in text.split(BREAKPOINT) {
            chunks.push((offset, chunk));
            offset += chunk.len() + BREAKPOINT.len();
        }
    } else {
        chunks.push((0, text));
    }
    let mut dropped = Vec::new();
    let mut problems = Vec::new();
    // Per chunk: its text as written, or its statements once transaction control is left out.
    let mut kept: Vec<Vec<String>> = Vec::new();
    // Statement kinds in order: true for one kept, false for a dropped BEGIN/COMMIT.
    let mut sequence: Vec<bool> = Vec::new();
    let mut needs_alone = false;
    for (offset, chunk) in &chunks {
        let statements = split(chunk);
        if !statements.iter().any(Statement::controls_transaction) {
            sequence.extend(statements.iter().map(|_| true));
            needs_alone |= statements.iter().any(outside_transaction);
            let trimmed = chunk.trim();
            kept.push(if trimmed.is_empty() {
                Vec::new()
            } else {
                vec![trimmed.to_owned()]
            });
            continue;
        }
        let mut texts = Vec::new();
        for statement in &statements {
            if !statement.controls_transaction() {
                sequence.push(true);
                needs_alone |= outside_transaction(statement);
                texts.push(format!("{};", statement.text));
                continue;
            }
            let (line, column) = line_column(text, offset + statement.offset);
            let keywords = statement.keywords(2);
            let droppable = match keywords[0].as_str() {
                "BEGIN" | "COMMIT" | "END" => true,
                "START" => keywords.get(1).is_some_and(|w| w == "TRANSACTION"),
                _ => false,
            };
            if droppable {
                sequence.push(false);
                dropped.push(format!("{} (line {line})", keywords[0]));
            } else {
                problems.push(format!(
                    "{line}:{column}: `{}` has no equivalent in a strata migration (each runs in a transaction of its own, or statement by statement with `{NO_TRANSACTION}`); rewrite the file without it",
                    keywords.join(" ")
                ));
            }
        }
        kept.push(texts);
    }
    // A commit between two kept statements splits the file into transactions.
    let first = sequence.iter().position(|k| *k);
    let last = sequence.iter().rposition(|k| *k);
    let split_by_control = match (first, last) {
        (Some(first), Some(last)) => sequence[first..last].iter().any(|k| !k),
        _ => false,
    };
    let no_transaction = !dropped.is_empty() && (split_by_control || needs_alone);
    let mut out = format!(
        "-- {tag}.sql: imported from Drizzle Kit by `strata import drizzle` (one statement per breakpoint).\n"
    );
    if no_transaction {
        out.push_str(NO_TRANSACTION);
        out.push('\n');
    }
    for chunk in kept.iter().flatten() {
        out.push('\n');
        out.push_str(chunk);
        if !chunk.ends_with(';') {
            // On a line of its own: the chunk may end in a comment.
            out.push_str("\n;");
        }
        out.push('\n');
    }
    Converted {
        text: out,
        dropped,
        no_transaction,
        problems,
    }
}

/// Whether PostgreSQL refuses the statement inside a transaction block, or it is a procedure
/// call (which may commit).
fn outside_transaction(statement: &Statement) -> bool {
    let words = statement.keywords(6);
    match words.first().map(String::as_str) {
        Some("VACUUM" | "CALL") => true,
        Some("CREATE" | "DROP" | "REINDEX") => words.iter().any(|w| {
            w == "CONCURRENTLY" || w == "DATABASE" || w == "TABLESPACE" || w == "SUBSCRIPTION"
        }),
        Some("ALTER") => words.get(1).is_some_and(|w| w == "SYSTEM"),
        _ => false,
    }
}

/// One row of Drizzle Kit's history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Its id.
    pub id: i64,
    /// The SHA-256 of the file that ran.
    pub hash: String,
    /// The journal's `when` of the file that ran.
    pub created_at: Option<i64>,
}

/// The rows of Drizzle Kit's history table `table`, by id (`None` when there is no table).
pub async fn rows(client: &Client, table: &QualName) -> Result<Option<Vec<Row>>> {
    if !crate::postgres::table_exists(client, table).await? {
        return Ok(None);
    }
    let sql = format!(
        "SELECT id::bigint, hash::text, created_at::bigint FROM {} ORDER BY id",
        qualified(table)
    );
    let rows = client
        .query(&sql, &[])
        .await
        .map_err(|e| Error::db(format!("reading {table}"), e))?;
    Ok(Some(
        rows.iter()
            .map(|r| Row {
                id: r.get(0),
                hash: r.get(1),
                created_at: r.get(2),
            })
            .collect(),
    ))
}

/// What the database says of one journal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// A row has the file's hash.
    Applied,
    /// No row has the file's hash, but one has its `when`: the file changed after it ran.
    Edited {
        /// The row's id.
        row: i64,
    },
    /// Never applied, and older than the newest applied migration: Drizzle Kit skips it.
    Skipped {
        /// The newest recorded `created_at`.
        newest: i64,
    },
    /// Not applied yet.
    Pending,
}

impl State {
    /// Whether this is a mismatch that needs `--force`.
    pub fn is_mismatch(&self) -> bool {
        matches!(self, State::Edited { .. } | State::Skipped { .. })
    }
}

/// The journal matched with the history rows.
#[derive(Debug, Clone)]
pub struct Matching {
    /// One state per journal entry, in journal order.
    pub states: Vec<State>,
    /// Rows that match no file, by hash or by `when`.
    pub orphans: Vec<Row>,
}

impl Matching {
    /// The mismatches, one sentence each.
    pub fn mismatches(&self, migrations: &[DrizzleMigration]) -> Vec<String> {
        let mut out = Vec::new();
        for (migration, state) in migrations.iter().zip(&self.states) {
            match state {
                State::Edited { row } => out.push(format!(
                    "{}: edited after it was applied (row {row} has its `when`, {}, but another hash)",
                    migration.file_name(),
                    migration.when
                )),
                State::Skipped { newest } => out.push(format!(
                    "{}: never applied, and its `when` ({}) is older than the newest applied migration ({newest}); Drizzle Kit skips it without a word",
                    migration.file_name(),
                    migration.when
                )),
                State::Applied | State::Pending => {}
            }
        }
        for row in &self.orphans {
            out.push(format!(
                "row {} of the Drizzle history (hash {}…, created_at {}) matches no file in the journal: applied, but its file is gone",
                row.id,
                &row.hash[..row.hash.len().min(12)],
                row.created_at
                    .map_or_else(|| "null".to_owned(), |c| c.to_string())
            ));
        }
        out
    }
}

/// Matches history rows to journal entries: by hash first, then by `when` for a file edited
/// after it ran. Each row matches at most one entry.
pub fn matching(migrations: &[DrizzleMigration], rows: &[Row]) -> Matching {
    let mut used = vec![false; rows.len()];
    let mut states = vec![State::Pending; migrations.len()];
    for (i, migration) in migrations.iter().enumerate() {
        if let Some(r) = (0..rows.len()).find(|&r| !used[r] && rows[r].hash == migration.hash) {
            used[r] = true;
            states[i] = State::Applied;
        }
    }
    for (i, migration) in migrations.iter().enumerate() {
        if states[i] != State::Pending {
            continue;
        }
        if let Some(r) =
            (0..rows.len()).find(|&r| !used[r] && rows[r].created_at == Some(migration.when))
        {
            used[r] = true;
            states[i] = State::Edited { row: rows[r].id };
        }
    }
    let newest = rows.iter().filter_map(|r| r.created_at).max();
    for (i, migration) in migrations.iter().enumerate() {
        if states[i] == State::Pending
            && let Some(newest) = newest
            && migration.when <= newest
        {
            states[i] = State::Skipped { newest };
        }
    }
    let orphans = rows
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(row, _)| row.clone())
        .collect();
    Matching { states, orphans }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migration(idx: usize, when: i64, text: &str) -> DrizzleMigration {
        DrizzleMigration {
            idx,
            when,
            tag: format!("{idx:04}_m"),
            path: PathBuf::new(),
            hash: sha256_hex(text.as_bytes()),
            converted: convert("t", text, true).text,
            original: text.to_owned(),
        }
    }

    #[test]
    fn converts_one_statement_per_breakpoint() {
        let text = "CREATE SCHEMA \"a\";\n--> statement-breakpoint\nCREATE TABLE \"a\".\"t\" (id int)\n--> statement-breakpoint\n";
        assert_eq!(
            convert("0000_x", text, true).text,
            "-- 0000_x.sql: imported from Drizzle Kit by `strata import drizzle` (one statement per breakpoint).\n\nCREATE SCHEMA \"a\";\n\nCREATE TABLE \"a\".\"t\" (id int)\n;\n"
        );
    }

    #[test]
    fn transaction_control_is_dropped_and_splits_mark_the_file() {
        // Wrapping the whole file: the same in one transaction of strata's.
        let wrapped = convert(
            "0001_w",
            "BEGIN;\n--> statement-breakpoint\nCREATE TABLE t (a int);\n--> statement-breakpoint\nCOMMIT;",
            true,
        );
        assert_eq!(wrapped.dropped, ["BEGIN (line 1)", "COMMIT (line 5)"]);
        assert!(!wrapped.no_transaction && wrapped.problems.is_empty());
        assert!(!wrapped.text.contains("BEGIN") && !wrapped.text.contains("COMMIT"));
        assert!(wrapped.text.contains("CREATE TABLE t (a int);"));

        // Escaping Drizzle's transaction for a concurrent build: statement by statement.
        let escaped = convert(
            "0002_i",
            "ALTER TYPE k ADD VALUE 'x';\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON t (a);\nBEGIN;\nUPDATE t SET a = 1;",
            false,
        );
        assert_eq!(escaped.dropped, ["COMMIT (line 2)", "BEGIN (line 4)"]);
        assert!(escaped.no_transaction);
        assert!(
            escaped.text.lines().nth(1) == Some(NO_TRANSACTION),
            "{}",
            escaped.text
        );
        assert_eq!(split(&escaped.text).len(), 3);

        // What has no translation is a problem at its own line.
        let savepoint = convert(
            "0003_s",
            "CREATE TABLE t (a int);\n\n  SAVEPOINT s;\n",
            false,
        );
        assert_eq!(savepoint.problems.len(), 1);
        assert!(
            savepoint.problems[0].starts_with("3:3: `SAVEPOINT S`"),
            "{:?}",
            savepoint.problems
        );

        // Without transaction control, the file is kept as it was.
        let plain = convert("0004_p", "CREATE INDEX CONCURRENTLY i ON t (a);", false);
        assert!(plain.dropped.is_empty() && !plain.no_transaction);
    }

    #[test]
    fn the_hash_is_drizzle_kits() {
        // sha256("abc"), as node's crypto.createHash('sha256').update('abc').digest('hex').
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn matches_by_hash_then_when() {
        let files = [
            migration(0, 100, "a"),
            migration(1, 200, "b"),
            migration(2, 150, "c"),
            migration(3, 300, "d"),
        ];
        let rows = [
            Row {
                id: 1,
                hash: files[0].hash.clone(),
                created_at: Some(100),
            },
            Row {
                id: 2,
                hash: sha256_hex(b"b before the edit"),
                created_at: Some(200),
            },
            Row {
                id: 3,
                hash: sha256_hex(b"gone"),
                created_at: Some(250),
            },
        ];
        let matching = matching(&files, &rows);
        assert_eq!(
            matching.states,
            [
                State::Applied,
                State::Edited { row: 2 },
                State::Skipped { newest: 250 },
                State::Pending
            ]
        );
        assert_eq!(matching.orphans, [rows[2].clone()]);
        assert_eq!(matching.mismatches(&files).len(), 3);
    }
}
