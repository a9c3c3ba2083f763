//! The schema history table and `migrate`: pending migrations applied under a lock, each in a
//! transaction together with its history row.
//!
//! A `no-transaction` migration cannot be atomic: it records its progress with every statement
//! ([`alone`]), so a failure (or a killed process) leaves a `partial` row that says what is
//! applied, and the next run explains it, finds out what the server did with the statement that
//! was running ([`resume`]; a dead strata's statement may even still run, [`orphan`]), and
//! continues from there.
//!
//! The lock is a session advisory lock taken by polling `pg_try_advisory_lock` with backoff: a
//! waiter blocked in `pg_advisory_lock` would sit in a transaction that `CREATE INDEX
//! CONCURRENTLY` in the lock holder waits for, a deadlock.

mod alone;
mod orphan;
mod resume;
mod rollback;

pub use rollback::{Loss, RollbackOptions, RollbackReport, RolledBack, rollback, rollbacks_table};

use std::time::{Duration, Instant};

use serde::Serialize;
use strata_core::catalog::QualName;
use strata_core::render::qualified;
use strata_core::sql::quote_literal;
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use crate::introspect::{Scope, introspect_without};
use crate::postgres::url::DbUrl;
use crate::source::migrations::{Finding, Migration, MigrationsDir, script_error};
use crate::{Error, Result};

/// First key of the migrate lock ("STRM"); the second is a hash of the history table's name.
const LOCK_CLASS: i32 = 0x5354_524D;

/// The columns of the history table, those of every version of strata (a table at the history
/// table's name with other columns is a user's own, see `introspect::tracking`).
pub const COLUMNS: &[&str] = &[
    "version",
    "name",
    "checksum",
    "applied_at",
    "execution_ms",
    "applied_by",
    "catalog_hash",
    "status",
    "statements_done",
    "progress_checksum",
    "error",
    "backend_pid",
];

/// The history table.
#[derive(Debug, Clone)]
pub struct History {
    table: QualName,
}

/// `applied_at` as RFC 3339 in UTC with microseconds, whatever the column's type: the seed's
/// `data_migrations` has a `timestamp` written by `now()` in the session's time zone, strata's
/// history a `timestamptz`.
pub(crate) const RFC3339_APPLIED_AT: &str =
    "to_char(applied_at::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";

/// A `timestamptz` column as RFC 3339 in UTC with microseconds, like [`RFC3339_APPLIED_AT`].
pub(crate) fn rfc3339(column: &str) -> String {
    format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
}

/// One row of the history table.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    /// The migration's number as written.
    pub version: String,
    /// Its description.
    pub name: String,
    /// `sha256:` of the file when it was applied.
    pub checksum: String,
    /// When it was applied (RFC 3339, UTC).
    pub applied_at: String,
    /// How long it ran.
    pub execution_ms: i64,
    /// The database user that applied it.
    pub applied_by: String,
    /// The catalog hash of the managed schemas after it (recorded for the last migration of each
    /// run).
    pub catalog_hash: Option<String>,
    /// `applied`, or `partial` for a no-transaction migration that stopped.
    pub status: String,
    /// For a partial migration: how many statements are applied.
    pub statements_done: Option<i32>,
    /// For a partial migration: the checksum of the statements applied.
    pub progress_checksum: Option<String>,
    /// For a partial migration: why it stopped.
    pub error: Option<String>,
}

impl Applied {
    /// The file name it was applied from.
    pub fn file_name(&self) -> String {
        format!("{}_{}.sql", self.version, self.name)
    }

    fn number(&self) -> u128 {
        self.version.parse().unwrap_or(0)
    }
}

impl History {
    /// The history table `table`.
    pub fn new(table: QualName) -> History {
        History { table }
    }

    /// The table's name.
    pub fn table(&self) -> &QualName {
        &self.table
    }

    /// Whether the table exists.
    pub async fn exists(&self, client: &Client) -> Result<bool> {
        crate::postgres::table_exists(client, &self.table).await
    }

    /// Creates the table when it is missing (take the lock first: two creators would race).
    /// Its columns are [`COLUMNS`].
    pub async fn ensure(&self, client: &Client) -> Result<()> {
        let sql = format!(
            "CREATE SCHEMA IF NOT EXISTS {schema};\n\
             CREATE TABLE IF NOT EXISTS {table} (\n\
               version text PRIMARY KEY,\n\
               name text NOT NULL,\n\
               checksum text NOT NULL,\n\
               applied_at timestamptz NOT NULL DEFAULT now(),\n\
               execution_ms bigint NOT NULL DEFAULT 0,\n\
               applied_by text NOT NULL DEFAULT current_user,\n\
               catalog_hash text,\n\
               status text NOT NULL DEFAULT 'applied' CHECK (status IN ('applied', 'partial')),\n\
               statements_done integer,\n\
               progress_checksum text,\n\
               error text,\n\
               backend_pid integer\n\
             )",
            schema = strata_core::sql::quote_ident(&self.table.schema),
            table = qualified(&self.table)
        );
        client
            .batch_execute(&sql)
            .await
            .map_err(|e| Error::db(format!("creating the history table {}", self.table), e))?;
        self.add_backend_pid(client).await
    }

    /// A table an older strata created has no `backend_pid` column (which names the backend
    /// running a no-transaction migration); it is added once, not by an `ALTER TABLE` each run.
    async fn add_backend_pid(&self, client: &Client) -> Result<()> {
        let has: bool = client
            .query_one(
                "SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass($1) \
                 AND attname = 'backend_pid' AND NOT attisdropped)",
                &[&qualified(&self.table)],
            )
            .await
            .map_err(|e| Error::db(format!("looking at {}", self.table), e))?
            .get(0);
        if has {
            return Ok(());
        }
        client
            .batch_execute(&format!(
                "ALTER TABLE {} ADD COLUMN IF NOT EXISTS backend_pid integer",
                qualified(&self.table)
            ))
            .await
            .map_err(|e| Error::db(format!("adding backend_pid to {}", self.table), e))
    }

    /// Every row, by number (none when the table does not exist).
    pub async fn read(&self, client: &Client) -> Result<Vec<Applied>> {
        if !self.exists(client).await? {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT version, name, checksum, {RFC3339_APPLIED_AT}, execution_ms, applied_by, catalog_hash, \
                    status, statements_done, progress_checksum, error FROM {}",
            qualified(&self.table)
        );
        let rows = client
            .query(&sql, &[])
            .await
            .map_err(|e| Error::db(format!("reading {}", self.table), e))?;
        let mut applied: Vec<Applied> = rows
            .iter()
            .map(|r| Applied {
                version: r.get(0),
                name: r.get(1),
                checksum: r.get(2),
                applied_at: r.get(3),
                execution_ms: r.get(4),
                applied_by: r.get(5),
                catalog_hash: r.get(6),
                status: r.get(7),
                statements_done: r.get(8),
                progress_checksum: r.get(9),
                error: r.get(10),
            })
            .collect();
        applied.sort_by(|a, b| (a.number(), &a.name).cmp(&(b.number(), &b.name)));
        Ok(applied)
    }

    /// Runs `body` under the migrate lock of this history, released afterwards whatever
    /// `body` returns. The lock is polled with backoff for at most `wait`; `waiting` is called
    /// once when someone else holds it.
    pub async fn locked<T>(
        &self,
        client: &Client,
        wait: Duration,
        waiting: impl FnOnce(),
        body: impl AsyncFnOnce() -> Result<T>,
    ) -> Result<T> {
        self.lock(client, wait, waiting).await?;
        let result = body().await;
        self.unlock(client).await;
        result
    }

    /// Takes the migrate lock of this history, polling with backoff for at most `wait`;
    /// `waiting` is called once when someone else holds it.
    async fn lock(&self, client: &Client, wait: Duration, waiting: impl FnOnce()) -> Result<()> {
        let what = format!(
            "migrate lock on {} (raise migrations.lock_wait_seconds to wait longer)",
            self.table
        );
        crate::postgres::lock::acquire(
            client,
            LOCK_CLASS,
            &self.table.to_string(),
            wait,
            waiting,
            &what,
        )
        .await
    }

    /// Releases the lock (closing the session releases it too).
    async fn unlock(&self, client: &Client) {
        crate::postgres::lock::release(client, LOCK_CLASS, &self.table.to_string()).await;
    }
}

/// The migrations folder compared with a database's history.
#[derive(Debug, Default)]
pub struct Comparison<'a> {
    /// Files not applied yet (a partial one included), in order.
    pub pending: Vec<&'a Migration>,
    /// Rows of migrations that stopped halfway.
    pub partial: Vec<Applied>,
    /// Applied migrations whose file changed or disappeared, and pending ones older than the
    /// newest applied one.
    pub findings: Vec<Finding>,
}

/// Compares the files with the history rows.
pub fn compare<'a>(folder: &'a MigrationsDir, applied: &[Applied]) -> Comparison<'a> {
    let mut comparison = Comparison::default();
    let newest_file = folder.migrations.last();
    for row in applied {
        let file = folder.migrations.iter().find(|m| m.version == row.version);
        match file {
            // Newer than every file: the folder of an earlier release (`up` or `migrate` of an
            // older deploy), which cannot go back by itself.
            None if newest_file.is_none_or(|m| row.number() > m.number) => {
                comparison.findings.push(Finding {
                    kind: "missing",
                    message: format!(
                        "{} was applied ({}) but {} ends before it (the folder of an earlier release?); migrate never undoes: \
                         to go back, run `strata rollback --to {}` with the folder that has it and its down file",
                        row.file_name(),
                        row.applied_at,
                        folder.dir.display(),
                        newest_file.map_or("0", |m| m.version.as_str())
                    ),
                })
            }
            None => comparison.findings.push(Finding {
                kind: "missing",
                message: format!(
                    "{} was applied ({}) but its file is gone from {}; restore it from version control",
                    row.file_name(),
                    row.applied_at,
                    folder.dir.display()
                ),
            }),
            Some(_) if row.status == "partial" => comparison.partial.push(row.clone()),
            Some(file) if file.checksum != row.checksum => comparison.findings.push(Finding {
                kind: "edited",
                message: format!(
                    "{} changed after it was applied ({}); an applied migration must stay as it ran: restore it from version control and put the change in a new migration (`strata generate`)",
                    file.file_name, row.applied_at
                ),
            }),
            Some(_) => {}
        }
    }
    let newest = applied
        .iter()
        .filter(|r| r.status == "applied")
        .map(Applied::number)
        .max();
    for migration in &folder.migrations {
        match applied.iter().find(|r| r.version == migration.version) {
            Some(row) if row.status == "applied" => {}
            _ => {
                if let Some(newest) = newest
                    && migration.number < newest
                    && !applied.iter().any(|r| r.version == migration.version)
                {
                    comparison.findings.push(Finding {
                        kind: "out_of_order",
                        message: format!(
                            "{} is older than the newest applied migration ({newest}) but was never applied (merged from another branch?); renumber it above the newest and run `strata sum`, or pass --allow-out-of-order to apply it anyway",
                            migration.file_name
                        ),
                    });
                }
                if let Some(message) = migration.emptiness() {
                    comparison.findings.push(Finding {
                        kind: "empty",
                        message,
                    });
                }
                comparison.pending.push(migration);
            }
        }
    }
    comparison
}

/// How `migrate` runs.
#[derive(Debug, Clone)]
pub struct MigrateOptions {
    /// Apply up to and including this number.
    pub to: Option<u128>,
    /// Report and change nothing.
    pub dry_run: bool,
    /// Apply pending migrations older than the newest applied one.
    pub allow_out_of_order: bool,
    /// `lock_timeout` for the migrations' statements.
    pub lock_timeout: String,
    /// Retries of a migration that gave up on a lock.
    pub lock_retries: u32,
    /// `statement_timeout` for the migrations' statements.
    pub statement_timeout: String,
    /// How long to wait for another migrate.
    pub lock_wait: Duration,
    /// The managed schemas, for the catalog hash recorded after the run.
    pub scope: Scope,
    /// strata's tracking tables, left out of the catalog hash.
    pub tracking: Vec<QualName>,
    /// The database's URL, for the second connection that tells waiting processes this one is
    /// alive while it runs a no-transaction migration (`None`: no such connection).
    pub beacon: Option<(DbUrl, crate::config::Env)>,
}

/// What `migrate` did.
#[derive(Debug, Default)]
pub struct MigrateReport {
    /// The migrations applied (or that would be, in a dry run), with their time in ms.
    pub applied: Vec<(String, u128)>,
}

/// Applies pending migrations. `say` receives progress lines.
pub async fn migrate(
    client: &Client,
    history: &History,
    folder: &MigrationsDir,
    options: &MigrateOptions,
    say: &dyn Fn(String),
) -> Result<MigrateReport> {
    let key = history.table().to_string();
    let what = format!("migrate lock on {key} (raise migrations.lock_wait_seconds to wait longer)");
    let mut watch = orphan::Watch::new(history, folder);
    let mut said = false;
    crate::postgres::lock::acquire_watching(
        client,
        LOCK_CLASS,
        &key,
        options.lock_wait,
        &what,
        async || {
            let orphan = watch.check(client, say).await?;
            if !orphan && !said {
                say(format!(
                    "waiting for another strata migrate of this database to finish (lock on {key})"
                ));
            }
            said = true;
            Ok(())
        },
    )
    .await?;
    let result = migrate_locked(client, history, folder, options, say).await;
    history.unlock(client).await;
    result
}

async fn migrate_locked(
    client: &Client,
    history: &History,
    folder: &MigrationsDir,
    options: &MigrateOptions,
    say: &dyn Fn(String),
) -> Result<MigrateReport> {
    if !options.dry_run {
        history.ensure(client).await?;
    }
    let applied = history.read(client).await?;
    // A rollback that stopped halfway left its migration recorded as applied while part of it
    // is undone: applying anything on top would build on a state no file describes.
    if let Some(stopped) = history
        .read_rollbacks(client)
        .await?
        .iter()
        .find(|r| r.status == "partial")
    {
        return Err(Error::Invalid(format!(
            "the rollback of {}_{}.sql stopped after statement {} of {}; run `strata rollback` to finish it first; nothing was applied",
            stopped.version,
            stopped.name,
            stopped.statements_done.unwrap_or(0),
            stopped.file_name()
        )));
    }
    let comparison = compare(folder, &applied);
    let blocking: Vec<&Finding> = comparison
        .findings
        .iter()
        .filter(|f| !(options.allow_out_of_order && f.kind == "out_of_order"))
        .collect();
    if !blocking.is_empty() {
        let list: Vec<String> = blocking
            .iter()
            .map(|f| format!("  {}", f.message))
            .collect();
        return Err(Error::Invalid(format!(
            "the migrations in {} and the history of this database need attention first:\n{}\nnothing was applied",
            folder.dir.display(),
            list.join("\n")
        )));
    }
    let pending: Vec<&Migration> = comparison
        .pending
        .iter()
        .copied()
        .filter(|m| options.to.is_none_or(|to| m.number <= to))
        .collect();
    let mut report = MigrateReport::default();
    if options.dry_run {
        for migration in pending {
            say(format!("would apply {}", migration.file_name));
            report.applied.push((migration.file_name.clone(), 0));
        }
        return Ok(report);
    }
    client
        .batch_execute(&format!(
            "SET check_function_bodies = false; SET lock_timeout = {}; SET statement_timeout = {}",
            quote_literal(&options.lock_timeout),
            quote_literal(&options.statement_timeout)
        ))
        .await
        .map_err(|e| {
            Error::db(
                "setting lock_timeout and statement_timeout (check the [migrations] settings)",
                e,
            )
        })?;
    let mut last_done: Option<&Migration> = None;
    for migration in pending {
        let started = Instant::now();
        let partial = comparison
            .partial
            .iter()
            .find(|r| r.version == migration.version);
        let own = own_lock_timeout(client, migration).await?;
        let outcome = if migration.no_transaction {
            let ledger = alone::Ledger::history(history, migration);
            alone::run_alone(client, &ledger, migration, partial, options, say).await
        } else {
            run_in_transaction(client, history, migration, options, say).await
        };
        if own && outcome.is_ok() {
            restore_lock_timeout(client, &options.lock_timeout).await?;
        }
        if let Err(error) = outcome {
            let state = match last_done {
                Some(m) => format!("the database is as after {}", m.file_name),
                None => "no migration was applied in this run".to_owned(),
            };
            // The first migration of an empty history finding its objects already there: the
            // database was built another way (push, by hand, another tool).
            let hint = if last_done.is_none()
                && !applied.iter().any(|r| r.status == "applied")
                && error.to_string().contains("already exists")
            {
                "\nthe database already holds what the migrations create (built by `strata push`, by hand or by another tool?): \
                 `strata baseline` records them as applied once a replay proves the database equals them"
            } else {
                ""
            };
            return Err(Error::Invalid(format!(
                "{} failed: {error}\n{state}{hint}",
                migration.file_name
            )));
        }
        let ms = started.elapsed().as_millis();
        say(format!("applied {} ({ms} ms)", migration.file_name));
        report.applied.push((migration.file_name.clone(), ms));
        last_done = Some(migration);
    }
    if let Some(last) = last_done {
        record_catalog_hash(client, history, &last.version, options).await?;
    }
    Ok(report)
}

/// Records the database's catalog hash on migration `version`, the newest applied: what `check`
/// and `status` compare the database with.
pub(crate) async fn record_catalog_hash(
    client: &Client,
    history: &History,
    version: &str,
    options: &MigrateOptions,
) -> Result<()> {
    let catalog = introspect_without(client, &options.scope, &options.tracking)
        .await?
        .catalog;
    client
        .execute(
            &format!(
                "UPDATE {} SET catalog_hash = $1 WHERE version = $2",
                qualified(history.table())
            ),
            &[&catalog.hash(), &version],
        )
        .await
        .map_err(|e| Error::db("recording the catalog hash", e))?;
    Ok(())
}

/// The server gave up waiting for a lock (`lock_timeout`).
fn is_lock_timeout(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::LOCK_NOT_AVAILABLE)
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200 * 2u64.pow(attempt.min(6)))
}

async fn run_in_transaction(
    client: &Client,
    history: &History,
    migration: &Migration,
    options: &MigrateOptions,
    say: &dyn Fn(String),
) -> Result<()> {
    let insert = format!(
        "INSERT INTO {} (version, name, checksum, execution_ms) VALUES ($1, $2, $3, $4)",
        qualified(history.table())
    );
    run_file_in_transaction(
        client,
        migration,
        options,
        say,
        Record {
            sql: &insert,
            params: &[&migration.version, &migration.name, &migration.checksum],
            what: "the migration",
            left: "",
        },
    )
    .await
}

/// What a transactional file writes beside its statements, in the same transaction: `sql`,
/// given `params` and then the file's run time in ms (`$n` for the last).
pub(crate) struct Record<'a> {
    pub sql: &'a str,
    pub params: &'a [&'a (dyn tokio_postgres::types::ToSql + Sync)],
    /// What the record is, for errors (`the migration`).
    pub what: &'a str,
    /// What a failure leaves as it was, said after "none of its statements is applied".
    pub left: &'a str,
}

/// Runs a transactional migration or down file and its `record` in one transaction, retrying
/// the whole when a lock was not free within `lock_timeout`.
/// Sets a file's own `lock_timeout` (`-- strata:lock-timeout`) for its run: whether it did
/// (then [`restore_lock_timeout`] after it).
pub(crate) async fn own_lock_timeout(client: &Client, file: &Migration) -> Result<bool> {
    let Some(value) = file.lock_timeout()? else {
        return Ok(false);
    };
    client
        .batch_execute(&format!("SET lock_timeout = {}", quote_literal(&value)))
        .await
        .map_err(|e| {
            Error::db(
                format!("{}: setting its lock_timeout {value}", file.file_name),
                e,
            )
        })?;
    Ok(true)
}

/// Back to the run's `lock_timeout` after a file that set its own.
pub(crate) async fn restore_lock_timeout(client: &Client, value: &str) -> Result<()> {
    client
        .batch_execute(&format!("SET lock_timeout = {}", quote_literal(value)))
        .await
        .map_err(|e| Error::db("setting lock_timeout back", e))
}

pub(crate) async fn run_file_in_transaction(
    client: &Client,
    file: &Migration,
    options: &MigrateOptions,
    say: &dyn Fn(String),
    record: Record<'_>,
) -> Result<()> {
    let mut attempt = 0;
    loop {
        let started = Instant::now();
        client
            .batch_execute("BEGIN")
            .await
            .map_err(|e| Error::db("starting a transaction", e))?;
        if let Err(error) = client.batch_execute(&file.text).await {
            let _ = client.batch_execute("ROLLBACK").await;
            if is_lock_timeout(&error) && attempt < options.lock_retries {
                attempt += 1;
                say(format!(
                    "{}: a lock was not free within lock_timeout; rolled back, retrying ({attempt}/{})",
                    file.file_name, options.lock_retries
                ));
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            return Err(Error::Invalid(format!(
                "{}\nit was rolled back: none of its statements is applied{}",
                script_error(file, error),
                record.left
            )));
        }
        let ms = started.elapsed().as_millis() as i64;
        let mut params = record.params.to_vec();
        params.push(&ms);
        if let Err(e) = client.execute(record.sql, &params).await {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(Error::db(
                format!("recording {} (rolled back)", record.what),
                e,
            ));
        }
        return client
            .batch_execute("COMMIT")
            .await
            .map_err(|e| script_error(file, e));
    }
}
