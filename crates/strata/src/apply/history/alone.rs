//! `-- strata:no-transaction` migrations: statement by statement, each recorded as it completes.
//!
//! A statement that can run in a transaction runs in one together with its progress record
//! (`BEGIN; statement; UPDATE …; COMMIT`, sent as one string): after a crash either both happened
//! or neither did, and a server that completes the string for a client that died commits both.
//! A statement that cannot (`CREATE INDEX CONCURRENTLY`, …) runs alone and is recorded after; before
//! one of those runs again, [`super::resume`] finds out what the server did with it. Statements
//! inside the file's own `BEGIN … COMMIT` run in that transaction, their records with them.
//!
//! The record is the number of statements done and a running hash of their text, so recording a
//! statement costs the same whatever its position in the file, and a resumed run still notices
//! that statements it skips were edited since they ran.

use std::time::Instant;

use sha2::{Digest as _, Sha256};
use strata_core::render::qualified;
use strata_core::split::Statement;
use strata_core::sql::quote_literal;
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::orphan::Beacon;
use super::resume::{Effect, Found, never_in_transaction};
use super::{Applied, History, MigrateOptions, backoff, is_lock_timeout};
use crate::source::migrations::{Migration, checksum, statement_error_shifted};
use crate::{Error, Result};

/// What a wrapped statement is preceded by; error positions are shifted back by its length.
pub(crate) const WRAP_BEGIN: &str = "BEGIN;\n";

/// The running hash of the statements done: `h(n) = sha256(h(n-1) ‖ statement n)`, `h(0) =
/// sha256("")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Progress([u8; 32]);

impl Progress {
    /// No statement done.
    pub(crate) fn start() -> Progress {
        Progress(Sha256::digest(b"").into())
    }

    /// The progress after one more statement.
    pub(crate) fn after(&self, statement: &str) -> Progress {
        let mut hash = Sha256::new();
        hash.update(self.0);
        hash.update(statement.as_bytes());
        Progress(hash.finalize().into())
    }

    /// The progress after the first `n` statements.
    pub(crate) fn of(statements: &[Statement], n: usize) -> Progress {
        statements[..n]
            .iter()
            .fold(Progress::start(), |p, s| p.after(&s.text))
    }

    /// As stored in the history row.
    pub(crate) fn text(&self) -> String {
        let hex: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}

/// The record strata 0.1 wrote: the checksum of the statements done, joined. Still accepted
/// when a partial migration it left is resumed.
fn legacy_progress(statements: &[Statement], n: usize) -> String {
    let text: Vec<&str> = statements[..n].iter().map(|s| s.text.as_str()).collect();
    checksum(text.join(";\n").as_bytes())
}

/// How a statement runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// In a transaction of its own, together with its record.
    Wrapped,
    /// Inside the file's own transaction (or a statement that controls it), its record after it
    /// in the same round trip.
    InBlock,
    /// Outside any transaction; the record follows.
    Alone,
}

impl Mode {
    /// The mode of `statement`, `in_block` when the file opened a transaction before it.
    pub(crate) fn of(statement: &Statement, in_block: bool) -> Mode {
        if in_block || statement.controls_transaction() {
            Mode::InBlock
        } else if never_in_transaction(statement) {
            Mode::Alone
        } else {
            Mode::Wrapped
        }
    }
}

/// Whether the file's own transaction is open after `statement`.
pub(crate) fn in_block_after(statement: &Statement, in_block: bool) -> bool {
    let words = statement.keywords(3);
    let word = |i: usize| words.get(i).map_or("", String::as_str);
    match word(0) {
        "BEGIN" => true,
        "START" => word(1) == "TRANSACTION" || in_block,
        "COMMIT" | "END" | "ABORT" => word(1) == "AND" && word(2) == "CHAIN",
        "ROLLBACK" => (word(1) == "TO") && in_block || word(1) == "AND" && word(2) == "CHAIN",
        "PREPARE" if word(1) == "TRANSACTION" => false,
        _ => in_block,
    }
}

/// Whether the file's own transaction is open before statement `index` (0-based).
pub(crate) fn in_block_before(statements: &[Statement], index: usize) -> bool {
    statements[..index.min(statements.len())]
        .iter()
        .fold(false, |open, s| in_block_after(s, open))
}

/// The start of a statement on one line, for messages.
pub(crate) fn summary(statement: &Statement) -> String {
    let text = statement
        .text
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ");
    if text.chars().count() > 72 {
        format!("{}…", text.chars().take(72).collect::<String>())
    } else {
        text
    }
}

/// What [`Run::trace`] found.
enum Traced {
    /// The statement's effect is there.
    Done,
    /// Run the statement.
    Run,
    /// Cleaning up what an earlier run left failed.
    Failed(tokio_postgres::Error),
}

/// Where a file's progress is recorded: a row of the history table (`migrate`), or of the
/// rollback records (`rollback`, running a down file).
pub(super) struct Ledger {
    /// The table, qualified.
    pub table: String,
    /// The condition that picks the row (`version = '0003'`).
    pub row: String,
    /// The command that continues a stopped run.
    pub command: &'static str,
    /// Inserts the row with no statement done: `$1` the progress, `$2` whether to record this
    /// backend's pid.
    pub start: String,
    /// Records the end: `$1` the time it took in ms.
    pub finish: String,
}

impl Ledger {
    /// The history row of `migration`, for `migrate`.
    pub(super) fn history(history: &History, migration: &Migration) -> Ledger {
        let table = qualified(history.table());
        let version = quote_literal(&migration.version);
        Ledger {
            start: format!(
                "INSERT INTO {table} (version, name, checksum, status, statements_done, progress_checksum, backend_pid) \
                 VALUES ({version}, {}, {}, 'partial', 0, $1, CASE WHEN $2 THEN pg_backend_pid() END)",
                quote_literal(&migration.name),
                quote_literal(&migration.checksum)
            ),
            finish: format!(
                "UPDATE {table} SET status = 'applied', checksum = {}, execution_ms = $1, applied_at = now(), \
                 statements_done = NULL, progress_checksum = NULL, error = NULL, backend_pid = NULL WHERE version = {version}",
                quote_literal(&migration.checksum)
            ),
            row: format!("version = {version}"),
            table,
            command: "migrate",
        }
    }
}

struct Run<'a> {
    client: &'a Client,
    ledger: &'a Ledger,
    migration: &'a Migration,
    statements: Vec<Statement>,
    options: &'a MigrateOptions,
    say: &'a dyn Fn(String),
}

/// Runs a `no-transaction` migration (or down file), continuing a partial one from where it
/// stopped, its progress recorded in `ledger`.
pub(super) async fn run_alone(
    client: &Client,
    ledger: &Ledger,
    migration: &Migration,
    partial: Option<&Applied>,
    options: &MigrateOptions,
    say: &dyn Fn(String),
) -> Result<()> {
    let run = Run {
        client,
        ledger,
        migration,
        statements: migration.statements(),
        options,
        say,
    };
    let started = Instant::now();
    // While it is held, a strata waiting for the lock knows this process is alive.
    let beacon = Beacon::hold(options.beacon.as_ref(), client).await;
    let (mut done, mut progress) = match partial {
        None => run.start(beacon.is_some()).await?,
        Some(row) => run.resume(row, beacon.is_some()).await?,
    };
    // A resumed run first finds out what the server did with the statement that was running.
    let mut trace = partial.is_some();
    let mut in_block = false;
    while done < run.statements.len() {
        let statement = &run.statements[done];
        let next = progress.after(&statement.text);
        run.execute(done, Mode::of(statement, in_block), &next, trace)
            .await?;
        trace = false;
        in_block = in_block_after(statement, in_block);
        progress = next;
        done += 1;
    }
    let ms = started.elapsed().as_millis() as i64;
    client
        .execute(&ledger.finish, &[&ms])
        .await
        .map_err(|e| Error::db(format!("recording the end of {}", migration.file_name), e))?;
    drop(beacon);
    Ok(())
}

impl Run<'_> {
    /// Records the start: a `partial` row with no statement done.
    async fn start(&self, beacon: bool) -> Result<(usize, Progress)> {
        let progress = Progress::start();
        self.client
            .execute(&self.ledger.start, &[&progress.text(), &beacon])
            .await
            .map_err(|e| Error::db("recording the migration's start", e))?;
        Ok((0, progress))
    }

    /// Where a partial migration continues: after the statements its row records, once it is
    /// certain they are the file's first statements (the first statement run then is traced).
    async fn resume(&self, row: &Applied, beacon: bool) -> Result<(usize, Progress)> {
        let total = self.statements.len();
        let file = &self.migration.file_name;
        let done = row.statements_done.unwrap_or(0).max(0) as usize;
        let progress = (done <= total).then(|| Progress::of(&self.statements, done));
        let recorded = row.progress_checksum.as_deref();
        let same = progress.as_ref().is_some_and(|p| {
            recorded == Some(&p.text())
                || recorded == Some(&legacy_progress(&self.statements, done))
        });
        let Some(progress) = progress.filter(|_| same) else {
            return Err(Error::Invalid(format!(
                "it stopped earlier after {done} of its statements, and those statements changed since; \
                 strata cannot tell what is applied. Restore the file as it was, or repair the database by hand and then \
                 DELETE FROM {} WHERE {}",
                self.ledger.table, self.ledger.row
            )));
        };
        self.client
            .execute(
                &format!(
                    "UPDATE {} SET backend_pid = CASE WHEN $1 THEN pg_backend_pid() END WHERE {}",
                    self.ledger.table, self.ledger.row
                ),
                &[&beacon],
            )
            .await
            .map_err(|e| Error::db("recording the migration's restart", e))?;
        let applied = match done {
            0 => "none of its statements is applied".to_owned(),
            n => format!("statements 1–{n} are applied"),
        };
        (self.say)(format!(
            "{file} stopped earlier after statement {done} of {total}{}; {applied}, continuing with statement {}",
            row.error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default(),
            done + 1
        ));
        Ok((done, progress))
    }

    /// Finds out what the server did with statement `index`, a statement that runs outside a
    /// transaction, and cleans up what a stopped run left.
    async fn trace(&self, index: usize) -> Result<Traced> {
        let statement = &self.statements[index];
        let Some(effect) = Effect::recognise(statement) else {
            return Ok(Traced::Run);
        };
        let about = format!(
            "{}: statement {} ({})",
            self.migration.file_name,
            index + 1,
            summary(statement)
        );
        let (why, sql, then) = match effect.inspect(self.client).await? {
            Found::NotStarted => return Ok(Traced::Run),
            Found::Done(what) => {
                (self.say)(format!(
                    "{about} was completed by the server: {what}; recorded as done"
                ));
                return Ok(Traced::Done);
            }
            Found::Cleanup { why, cleanup } => (why, cleanup, Traced::Run),
            Found::Finish { why, finish } => (why, finish, Traced::Done),
        };
        (self.say)(format!("{about}: {why}"));
        Ok(match self.client.batch_execute(&sql).await {
            Ok(()) => then,
            Err(e) => Traced::Failed(e),
        })
    }

    /// The statement that records `done` statements.
    fn record_sql(&self, done: usize, progress: &Progress) -> String {
        format!(
            "UPDATE {} SET statements_done = {done}, progress_checksum = {} WHERE {}",
            self.ledger.table,
            quote_literal(&progress.text()),
            self.ledger.row
        )
    }

    async fn record(&self, done: usize, progress: &Progress) -> Result<()> {
        self.client
            .batch_execute(&self.record_sql(done, progress))
            .await
            .map_err(|e| Error::db("recording the migration's progress", e))
    }

    /// Runs statement `index` and records it, retrying when it gives up on a lock; `trace`
    /// first finds out whether an earlier run's server did it already.
    async fn execute(
        &self,
        index: usize,
        mut mode: Mode,
        next: &Progress,
        trace: bool,
    ) -> Result<()> {
        let statement = &self.statements[index];
        let record = self.record_sql(index + 1, next);
        let mut trace = trace && mode == Mode::Alone;
        let mut attempt = 0;
        loop {
            let traced = if trace {
                self.trace(index).await?
            } else {
                Traced::Run
            };
            let outcome = match traced {
                Traced::Done => return self.record(index + 1, next).await,
                Traced::Failed(error) => Err(error),
                Traced::Run => self.attempt(mode, statement, &record).await,
            };
            let error = match outcome {
                Ok(()) if mode == Mode::Alone => return self.record(index + 1, next).await,
                Ok(()) => return Ok(()),
                Err(error) => error,
            };
            if mode == Mode::Wrapped && error.code() == Some(&SqlState::ACTIVE_SQL_TRANSACTION) {
                // The server refuses it in a transaction block, before doing anything.
                mode = Mode::Alone;
                continue;
            }
            if mode != Mode::InBlock
                && is_lock_timeout(&error)
                && attempt < self.options.lock_retries
            {
                attempt += 1;
                (self.say)(format!(
                    "{}: statement {} could not get a lock within lock_timeout; retrying ({attempt}/{})",
                    self.migration.file_name,
                    index + 1,
                    self.options.lock_retries
                ));
                tokio::time::sleep(backoff(attempt)).await;
                // A concurrent build that gave up leaves an INVALID index behind.
                trace = mode == Mode::Alone;
                continue;
            }
            return Err(self.failed(index, mode, error).await);
        }
    }

    /// One try of a statement (with its record unless it runs alone).
    async fn attempt(
        &self,
        mode: Mode,
        statement: &Statement,
        record: &str,
    ) -> Result<(), tokio_postgres::Error> {
        match mode {
            Mode::Wrapped => {
                let sql = format!("{WRAP_BEGIN}{}\n;\n{record};\nCOMMIT", statement.text);
                let outcome = self.client.batch_execute(&sql).await;
                if outcome.is_err() {
                    let _ = self.client.batch_execute("ROLLBACK").await;
                }
                outcome
            }
            Mode::InBlock => {
                let sql = format!("{}\n;\n{record}", statement.text);
                self.client.batch_execute(&sql).await
            }
            Mode::Alone => self.client.batch_execute(&statement.text).await,
        }
    }

    /// Records why statement `index` failed and says exactly what is applied.
    async fn failed(&self, index: usize, mode: Mode, error: tokio_postgres::Error) -> Error {
        let statement = &self.statements[index];
        let shift = if mode == Mode::Wrapped {
            WRAP_BEGIN.chars().count()
        } else {
            0
        };
        let error = statement_error_shifted(self.migration, statement, error, shift);
        if mode == Mode::InBlock {
            // The file's own transaction is aborted: what it held is rolled back, its records too.
            let _ = self.client.batch_execute("ROLLBACK").await;
        }
        let _ = self
            .client
            .execute(
                &format!(
                    "UPDATE {} SET error = $1, backend_pid = NULL WHERE {}",
                    self.ledger.table, self.ledger.row
                ),
                &[&error.to_string()],
            )
            .await;
        let done = self
            .client
            .query_opt(
                &format!(
                    "SELECT statements_done FROM {} WHERE {}",
                    self.ledger.table, self.ledger.row
                ),
                &[],
            )
            .await
            .ok()
            .flatten()
            .and_then(|row| row.get::<_, Option<i32>>(0))
            .unwrap_or(index as i32);
        let applied = match done {
            0 => "none of its statements is applied".to_owned(),
            n => format!("statements 1–{n} are applied and recorded"),
        };
        Error::Invalid(format!(
            "statement {} of {} failed: {error}\n{applied}; fix the cause and run `strata {}` again to continue from statement {}",
            index + 1,
            self.statements.len(),
            self.ledger.command,
            done + 1
        ))
    }
}

#[cfg(test)]
mod tests {
    use strata_core::split::split;

    use super::*;

    #[test]
    fn progress_is_a_running_hash() {
        let statements = split("CREATE TABLE a (x int);\nCREATE TABLE b (x int);\n");
        let step = Progress::start()
            .after(&statements[0].text)
            .after(&statements[1].text);
        assert_eq!(Progress::of(&statements, 2), step);
        assert_ne!(Progress::of(&statements, 1), step);
        assert_eq!(
            Progress::start().text(),
            legacy_progress(&statements, 0),
            "no statement done reads the same in both forms"
        );
    }

    #[test]
    fn modes_follow_the_files_own_transactions() {
        let statements = split(
            "CREATE INDEX CONCURRENTLY i ON t (a);\nUPDATE t SET a = 1;\nBEGIN;\nUPDATE t SET a = 2;\n\
             COMMIT;\nALTER TYPE e ADD VALUE 'x';\nSTART TRANSACTION;\nSAVEPOINT s;\nROLLBACK TO s;\nROLLBACK;\nVACUUM t;",
        );
        let mut open = false;
        let mut modes = Vec::new();
        for (i, s) in statements.iter().enumerate() {
            assert_eq!(in_block_before(&statements, i), open, "{}", s.text);
            modes.push(Mode::of(s, open));
            open = in_block_after(s, open);
        }
        use Mode::*;
        assert_eq!(
            modes,
            [
                Alone, Wrapped, InBlock, InBlock, InBlock, Wrapped, InBlock, InBlock, InBlock,
                InBlock, Alone
            ]
        );
        assert!(!open);
    }
}
