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

use crate::migrations::sha256_hex;
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
}

impl DrizzleMigration {
    /// The file name in strata's migrations folder (the same as Drizzle Kit's).
    pub fn file_name(&self) -> String {
        format!("{}.sql", self.tag)
    }
}

/// Reads the journal (`meta/_journal.json`) of a Drizzle Kit migrations folder and its SQL files.
pub fn read(dir: &Path) -> Result<Vec<DrizzleMigration>> {
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
    let mut migrations = Vec::new();
    for (position, entry) in journal.entries.into_iter().enumerate() {
        if entry.idx != position {
            return Err(Error::Invalid(format!(
                "{}: entry {position} has idx {}; the journal is damaged (fix the idx values in order)",
                journal_path.display(),
                entry.idx
            )));
        }
        let valid = entry.tag.split_once('_').is_some_and(|(n, d)| {
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !d.is_empty()
        });
        if !valid {
            return Err(Error::Invalid(format!(
                "{}: entry {} has tag {:?}; strata needs NNNN_description tags: rename the file and the tag",
                journal_path.display(),
                entry.idx,
                entry.tag
            )));
        }
        let path = dir.join(format!("{}.sql", entry.tag));
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::io(
                format!(
                    "reading {} (named by entry {} of {})",
                    path.display(),
                    entry.idx,
                    journal_path.display()
                ),
                e,
            )
        })?;
        migrations.push(DrizzleMigration {
            idx: entry.idx,
            when: entry.when,
            hash: sha256_hex(text.as_bytes()),
            converted: convert(&entry.tag, &text, entry.breakpoints),
            tag: entry.tag,
            path,
        });
    }
    Ok(migrations)
}

/// A Drizzle Kit migration file in strata's format: the same SQL, one statement per breakpoint.
pub fn convert(tag: &str, text: &str, breakpoints: bool) -> String {
    let chunks: Vec<&str> = if breakpoints {
        text.split(BREAKPOINT).collect()
    } else {
        vec![text]
    };
    let mut out = format!(
        "-- {tag}.sql: imported from Drizzle Kit by `strata import drizzle` (one statement per breakpoint).\n"
    );
    for chunk in chunks.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
        out.push('\n');
        out.push_str(chunk);
        if !chunk.ends_with(';') {
            // On a line of its own: the chunk may end in a comment.
            out.push_str("\n;");
        }
        out.push('\n');
    }
    out
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
    if !crate::pg::table_exists(client, table).await? {
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
            converted: convert("t", text, true),
        }
    }

    #[test]
    fn converts_one_statement_per_breakpoint() {
        let text = "CREATE SCHEMA \"a\";\n--> statement-breakpoint\nCREATE TABLE \"a\".\"t\" (id int)\n--> statement-breakpoint\n";
        assert_eq!(
            convert("0000_x", text, true),
            "-- 0000_x.sql: imported from Drizzle Kit by `strata import drizzle` (one statement per breakpoint).\n\nCREATE SCHEMA \"a\";\n\nCREATE TABLE \"a\".\"t\" (id int)\n;\n"
        );
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
