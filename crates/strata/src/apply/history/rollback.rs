//! `rollback`: applied migrations undone newest first with their down files
//! (`NNNN_description.down.sql`).
//!
//! A transactional down file runs in one transaction together with the removal of its
//! migration's history row and the insertion of a rollback record: either the migration is
//! undone and says so, or nothing happened. A `no-transaction` down file runs statement by
//! statement like a `no-transaction` migration ([`super::alone`]): its progress is a `partial`
//! rollback record, so a rollback that stopped (or was killed) continues where it stopped; the
//! history row goes, and the record becomes `done`, in one statement at the end.
//!
//! The rollback records (`<history table>_rollbacks`) keep who undid which migration and when,
//! after its history row is gone: the migration is pending again, and `status`, `check` and
//! the history tell that it was rolled back.

use std::time::Instant;

use serde::Serialize;
use strata_core::catalog::QualName;
use strata_core::render::qualified;
use strata_core::split::Statement;
use strata_core::sql::{quote_ident, quote_literal};
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::alone::{self, Ledger};
use super::resume::Parser;
use super::{Applied, History, LOCK_CLASS, MigrateOptions, orphan};
use crate::source::migrations::{Migration, MigrationsDir};
use crate::{Error, Result};

/// One rollback record: a migration undone (or being undone) by its down file.
#[derive(Debug, Clone, Serialize)]
pub struct RolledBack {
    /// The migration's number as written.
    pub version: String,
    /// Its description.
    pub name: String,
    /// `sha256:` of the down file that ran.
    pub checksum: String,
    /// When the migration had been applied.
    pub applied_at: Option<String>,
    /// Who had applied it.
    pub applied_by: Option<String>,
    /// When it was rolled back (for a `partial` record: when the rollback started).
    pub rolled_back_at: String,
    /// The database user that rolled it back.
    pub rolled_back_by: String,
    /// How long the down file ran.
    pub execution_ms: i64,
    /// `done`, or `partial` for a `no-transaction` down file that stopped.
    pub status: String,
    /// For a partial rollback: how many statements of the down file are applied.
    pub statements_done: Option<i32>,
    /// For a partial rollback: the checksum of the statements applied.
    pub progress_checksum: Option<String>,
    /// For a partial rollback: why it stopped.
    pub error: Option<String>,
}

impl RolledBack {
    /// The down file's name.
    pub fn file_name(&self) -> String {
        format!(
            "{}_{}{}",
            self.version,
            self.name,
            crate::source::migrations::DOWN_SUFFIX
        )
    }

    /// As a history row, for the code that resumes a partial file.
    fn as_progress(&self) -> Applied {
        Applied {
            version: self.version.clone(),
            name: self.name.clone(),
            checksum: self.checksum.clone(),
            applied_at: self.rolled_back_at.clone(),
            execution_ms: self.execution_ms,
            applied_by: self.rolled_back_by.clone(),
            catalog_hash: None,
            status: self.status.clone(),
            statements_done: self.statements_done,
            progress_checksum: self.progress_checksum.clone(),
            error: self.error.clone(),
        }
    }
}

/// The rollback records' table of the history table `table`: `<table>_rollbacks` beside it.
pub fn rollbacks_table(table: &QualName) -> QualName {
    QualName::new(table.schema.clone(), format!("{}_rollbacks", table.name))
}

impl History {
    /// The rollback records' table.
    pub fn rollbacks(&self) -> QualName {
        rollbacks_table(self.table())
    }

    /// Creates the rollback records' table when it is missing (under the lock).
    async fn ensure_rollbacks(&self, client: &Client) -> Result<()> {
        let table = self.rollbacks();
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {qualified} (\n\
               id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n\
               version text NOT NULL,\n\
               name text NOT NULL,\n\
               checksum text NOT NULL,\n\
               applied_at timestamptz,\n\
               applied_by text,\n\
               rolled_back_at timestamptz NOT NULL DEFAULT now(),\n\
               rolled_back_by text NOT NULL DEFAULT current_user,\n\
               execution_ms bigint NOT NULL DEFAULT 0,\n\
               status text NOT NULL DEFAULT 'done' CHECK (status IN ('done', 'partial')),\n\
               statements_done integer,\n\
               progress_checksum text,\n\
               error text,\n\
               backend_pid integer\n\
             );\n\
             CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {qualified} (version) WHERE status = 'partial'",
            qualified = qualified(&table),
            index = quote_ident(&format!("{}_partial", table.name)),
        );
        client
            .batch_execute(&sql)
            .await
            .map_err(|e| Error::db(format!("creating {table}"), e))
    }

    /// Every rollback record, oldest first (none when the table does not exist).
    pub async fn read_rollbacks(&self, client: &Client) -> Result<Vec<RolledBack>> {
        let table = self.rollbacks();
        if !crate::postgres::table_exists(client, &table).await? {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT version, name, checksum, {applied_at}, applied_by, {rolled_back_at}, \
                    rolled_back_by, execution_ms, status, statements_done, progress_checksum, error \
             FROM {table} ORDER BY id",
            applied_at = super::rfc3339("applied_at"),
            rolled_back_at = super::rfc3339("rolled_back_at"),
            table = qualified(&table)
        );
        let rows = client
            .query(&sql, &[])
            .await
            .map_err(|e| Error::db(format!("reading {table}"), e))?;
        Ok(rows
            .iter()
            .map(|r| RolledBack {
                version: r.get(0),
                name: r.get(1),
                checksum: r.get(2),
                applied_at: r.get(3),
                applied_by: r.get(4),
                rolled_back_at: r.get(5),
                rolled_back_by: r.get(6),
                execution_ms: r.get(7),
                status: r.get(8),
                statements_done: r.get(9),
                progress_checksum: r.get(10),
                error: r.get(11),
            })
            .collect())
    }
}

/// How `rollback` runs.
#[derive(Debug, Clone)]
pub struct RollbackOptions {
    /// Undo the migrations numbered above this (`None`: the newest applied one only).
    pub to: Option<u128>,
    /// Report and change nothing.
    pub dry_run: bool,
    /// The timeouts, lock wait, scope and beacon, as for `migrate` (its `to`, `dry_run` and
    /// `allow_out_of_order` are not read).
    pub settings: MigrateOptions,
}

/// Data a down file deletes, counted on the database before anything runs.
#[derive(Debug, Clone, Serialize)]
pub struct Loss {
    /// The down file.
    pub file: String,
    /// The statement, on one line.
    pub statement: String,
    /// What goes (`rows of "app"."t"`).
    pub what: String,
    /// How many rows (or values) go; `None`: strata cannot count them.
    pub rows: Option<i64>,
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.rows {
            Some(n) => write!(
                f,
                "{}: `{}` deletes {n} {}",
                self.file, self.statement, self.what
            ),
            None => write!(
                f,
                "{}: `{}` deletes {} (not counted)",
                self.file, self.statement, self.what
            ),
        }
    }
}

/// What `rollback` did (or would do).
#[derive(Debug, Default)]
pub struct RollbackReport {
    /// The migrations undone (or that would be), newest first, with their down file's time in
    /// ms.
    pub undone: Vec<(String, u128)>,
    /// The down files that run (or would), newest first.
    pub downs: Vec<Migration>,
    /// The data their statements delete.
    pub losses: Vec<Loss>,
    /// Whether the losses were not confirmed: nothing ran.
    pub refused: bool,
}

/// Undoes applied migrations newest first under the migrate lock. `confirm` is asked when the
/// down files delete data (with what they delete); `false` changes nothing. `say` receives
/// progress lines.
pub async fn rollback(
    client: &Client,
    history: &History,
    folder: &MigrationsDir,
    options: &RollbackOptions,
    confirm: &mut dyn FnMut(&[Loss]) -> Result<bool>,
    say: &dyn Fn(String),
) -> Result<RollbackReport> {
    let key = history.table().to_string();
    let what = format!("migrate lock on {key} (raise migrations.lock_wait_seconds to wait longer)");
    let mut watch = orphan::Watch::new(history, folder);
    let mut said = false;
    crate::postgres::lock::acquire_watching(
        client,
        LOCK_CLASS,
        &key,
        options.settings.lock_wait,
        &what,
        async || {
            let orphan = watch.check(client, say).await?;
            if !orphan && !said {
                say(format!(
                    "waiting for another strata migrate or rollback of this database to finish (lock on {key})"
                ));
            }
            said = true;
            Ok(())
        },
    )
    .await?;
    let result = rollback_locked(client, history, folder, options, confirm, say).await;
    history.unlock(client).await;
    result
}

async fn rollback_locked(
    client: &Client,
    history: &History,
    folder: &MigrationsDir,
    options: &RollbackOptions,
    confirm: &mut dyn FnMut(&[Loss]) -> Result<bool>,
    say: &dyn Fn(String),
) -> Result<RollbackReport> {
    let applied = history.read(client).await?;
    if let Some(row) = applied.iter().find(|r| r.status == "partial") {
        return Err(Error::Invalid(format!(
            "{} stopped halfway when it was applied; finish it with `strata migrate` first (its down file undoes all of it, not a part); nothing was rolled back",
            row.file_name()
        )));
    }
    let mut targets: Vec<&Applied> = applied
        .iter()
        .rev()
        .filter(|r| options.to.is_none_or(|to| r.number() > to))
        .collect();
    if options.to.is_none() {
        targets.truncate(1);
    }
    let mut report = RollbackReport::default();
    if targets.is_empty() {
        return Ok(report);
    }
    let mut problems = Vec::new();
    for row in &targets {
        let Some(migration) = folder.migrations.iter().find(|m| m.version == row.version) else {
            problems.push(format!(
                "{} was applied ({}) but its file is gone from {}; restore it from version control",
                row.file_name(),
                row.applied_at,
                folder.dir.display()
            ));
            continue;
        };
        if migration.checksum != row.checksum {
            problems.push(format!(
                "{} changed after it was applied; restore it as it ran (its down file undoes what ran)",
                migration.file_name
            ));
        }
        match &migration.down {
            None => problems.push(format!(
                "{} has no down file: it is irreversible; `strata generate --down-for {}` writes one from the history, or write {}_{}{} by hand",
                migration.file_name,
                migration.version,
                migration.version,
                migration.name,
                crate::source::migrations::DOWN_SUFFIX
            )),
            Some(down) => {
                if let Some(message) = down.emptiness() {
                    problems.push(message);
                }
                report.downs.push((**down).clone());
            }
        }
    }
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        return Err(Error::Invalid(format!(
            "cannot roll back:\n{}\nnothing was rolled back",
            list.join("\n")
        )));
    }
    let records = history.read_rollbacks(client).await?;
    let partial = |version: &str| {
        records
            .iter()
            .find(|r| r.status == "partial" && r.version == version)
    };
    // What is already done of a stopped rollback is not counted again.
    for down in &report.downs {
        let done = partial(&down.version)
            .and_then(|r| r.statements_done)
            .unwrap_or(0)
            .max(0) as usize;
        report
            .losses
            .extend(count_losses(client, down, done).await?);
    }
    if options.dry_run {
        for (row, down) in targets.iter().zip(&report.downs) {
            say(format!(
                "would roll back {} with {}",
                row.file_name(),
                down.file_name
            ));
            report.undone.push((row.file_name(), 0));
        }
        return Ok(report);
    }
    if !report.losses.is_empty() && !confirm(&report.losses)? {
        report.refused = true;
        return Ok(report);
    }
    history.ensure_rollbacks(client).await?;
    let settings = &options.settings;
    client
        .batch_execute(&format!(
            "SET check_function_bodies = false; SET lock_timeout = {}; SET statement_timeout = {}",
            quote_literal(&settings.lock_timeout),
            quote_literal(&settings.statement_timeout)
        ))
        .await
        .map_err(|e| {
            Error::db(
                "setting lock_timeout and statement_timeout (check the [migrations] settings)",
                e,
            )
        })?;
    let downs = report.downs.clone();
    for (row, down) in targets.iter().zip(&downs) {
        let started = Instant::now();
        let own = super::own_lock_timeout(client, down).await?;
        let outcome = if down.no_transaction {
            let ledger = ledger(history, row, down);
            let stopped = partial(&row.version).map(RolledBack::as_progress);
            alone::run_alone(client, &ledger, down, stopped.as_ref(), settings, say).await
        } else {
            run_in_transaction(client, history, row, down, settings, say).await
        };
        if own && outcome.is_ok() {
            super::restore_lock_timeout(client, &settings.lock_timeout).await?;
        }
        if let Err(error) = outcome {
            let state = match report.undone.last() {
                Some((file, _)) => format!("the database is as before {file}"),
                None => "no migration was rolled back in this run".to_owned(),
            };
            return Err(Error::Invalid(format!(
                "{} failed: {error}\n{state}",
                down.file_name
            )));
        }
        let ms = started.elapsed().as_millis();
        say(format!("rolled back {} ({ms} ms)", row.file_name()));
        report.undone.push((row.file_name(), ms));
    }
    // The newest migration left is what the schema now is: its catalog hash is what `check`
    // and `status` compare the database with.
    let left = history.read(client).await?;
    if let Some(last) = left.iter().rev().find(|r| r.status == "applied") {
        super::record_catalog_hash(client, history, &last.version, settings).await?;
    }
    Ok(report)
}

/// The rollback record of a `no-transaction` down file in progress.
fn ledger(history: &History, row: &Applied, down: &Migration) -> Ledger {
    let table = qualified(&history.rollbacks());
    let version = quote_literal(&row.version);
    let row_sql = format!("version = {version} AND status = 'partial'");
    Ledger {
        start: format!(
            "INSERT INTO {table} (version, name, checksum, applied_at, applied_by, status, statements_done, progress_checksum, backend_pid) \
             SELECT version, name, {}, applied_at, applied_by, 'partial', 0, $1, CASE WHEN $2 THEN pg_backend_pid() END \
             FROM {} WHERE version = {version}",
            quote_literal(&down.checksum),
            qualified(history.table())
        ),
        finish: format!(
            "WITH gone AS (DELETE FROM {} WHERE version = {version}) \
             UPDATE {table} SET status = 'done', execution_ms = $1, rolled_back_at = now(), \
             statements_done = NULL, progress_checksum = NULL, error = NULL, backend_pid = NULL WHERE {row_sql}",
            qualified(history.table())
        ),
        row: row_sql,
        table,
        command: "rollback",
    }
}

/// Runs a transactional down file, the removal of the history row and the rollback record in
/// one transaction, retrying when it gives up on a lock.
async fn run_in_transaction(
    client: &Client,
    history: &History,
    row: &Applied,
    down: &Migration,
    settings: &MigrateOptions,
    say: &dyn Fn(String),
) -> Result<()> {
    let record = format!(
        "WITH gone AS (DELETE FROM {} WHERE version = $1 RETURNING name, applied_at, applied_by) \
         INSERT INTO {} (version, name, checksum, applied_at, applied_by, execution_ms, status) \
         SELECT $1, name, $2, applied_at, applied_by, $3, 'done' FROM gone",
        qualified(history.table()),
        qualified(&history.rollbacks())
    );
    super::run_file_in_transaction(
        client,
        down,
        settings,
        say,
        super::Record {
            sql: &record,
            params: &[&row.version, &down.checksum],
            what: "the rollback",
            left: ", and the migration is still applied",
        },
    )
    .await
}

/// What a statement deletes, as strata reads it from the statement itself (whoever wrote the
/// file): the query that counts it and what it counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Deletes {
    /// Every row of a table or materialized view (`DROP TABLE`, `TRUNCATE`, `DELETE FROM`).
    Rows(String),
    /// A column's values (`ALTER TABLE … DROP COLUMN`).
    Values { table: String, column: String },
    /// Every row of every table of a schema (`DROP SCHEMA … CASCADE`; without CASCADE a
    /// schema that holds tables is not dropped).
    Schema(String),
    /// A sequence's position (`DROP SEQUENCE`).
    Sequence(String),
}

/// The objects whose data `statement` deletes (names as written).
pub(crate) fn deletes(statement: &Statement) -> Vec<Deletes> {
    let mut p = Parser::of(&statement.text);
    let names = |p: &mut Parser| {
        let mut names = Vec::new();
        while let Some(name) = p.name() {
            names.push(name);
            if !p.punct(',') {
                break;
            }
        }
        names
    };
    if p.keyword("DROP") {
        let materialized = p.keyword("MATERIALIZED");
        let kind = if p.keyword("TABLE") || (materialized && p.keyword("VIEW")) {
            "table"
        } else if p.keyword("SCHEMA") {
            "schema"
        } else if p.keyword("SEQUENCE") {
            "sequence"
        } else {
            return Vec::new();
        };
        if p.keyword("IF") {
            p.keyword("EXISTS");
        }
        let found = names(&mut p);
        return match kind {
            "table" => found.into_iter().map(Deletes::Rows).collect(),
            "sequence" => found.into_iter().map(Deletes::Sequence).collect(),
            // Without CASCADE a schema that holds anything is not dropped: its tables' rows
            // are counted where they are dropped.
            _ if p.keyword("CASCADE") => found.into_iter().map(Deletes::Schema).collect(),
            _ => Vec::new(),
        };
    }
    if p.keyword("TRUNCATE") {
        p.keyword("TABLE");
        p.keyword("ONLY");
        return names(&mut p).into_iter().map(Deletes::Rows).collect();
    }
    if p.keyword("DELETE") {
        if !p.keyword("FROM") {
            return Vec::new();
        }
        p.keyword("ONLY");
        return p.name().map(Deletes::Rows).into_iter().collect();
    }
    if !(p.keyword("ALTER") && p.keyword("TABLE")) {
        return Vec::new();
    }
    if p.keyword("IF") {
        p.keyword("EXISTS");
    }
    p.keyword("ONLY");
    let Some(table) = p.name() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    // Every action of the statement: `DROP [COLUMN] [IF EXISTS] c`, but not DROP CONSTRAINT,
    // DEFAULT, NOT NULL, IDENTITY or EXPRESSION.
    while p.at < p.tokens.len() {
        if p.keyword("DROP") {
            let column = p.keyword("COLUMN");
            if !column
                && ["CONSTRAINT", "DEFAULT", "NOT", "IDENTITY", "EXPRESSION"]
                    .iter()
                    .any(|k| p.keyword(k))
            {
                continue;
            }
            if p.keyword("IF") {
                p.keyword("EXISTS");
            }
            if let Some(column) = p.name() {
                found.push(Deletes::Values {
                    table: table.clone(),
                    column,
                });
            }
        } else {
            p.at += 1;
        }
    }
    found
}

/// Whether the statement's leading comments say that it deletes data (`-- hazard: deletes
/// data`, as `generate` writes).
fn marked_deleting(statement: &Statement) -> bool {
    statement
        .text
        .lines()
        .take_while(|l| l.trim_start().starts_with("--") || l.trim().is_empty())
        .any(|l| {
            l.contains("hazard") && l.contains(strata_core::plan::Hazard::DeletesData.describe())
        })
}

/// The data the statements of `down` after the first `skip` delete, counted on `client`'s
/// database: rows and values that are there, and statements marked as deleting data that
/// strata cannot count. Nothing to lose is not listed.
async fn count_losses(client: &Client, down: &Migration, skip: usize) -> Result<Vec<Loss>> {
    let mut losses = Vec::new();
    for statement in down.statements().iter().skip(skip) {
        let summary = alone::summary(statement);
        let found = deletes(statement);
        if found.is_empty() {
            if marked_deleting(statement) {
                losses.push(Loss {
                    file: down.file_name.clone(),
                    statement: summary,
                    what: "data (the file says so)".into(),
                    rows: None,
                });
            }
            continue;
        }
        for deleted in found {
            let (what, rows) = count(client, &deleted).await?;
            if rows != Some(0) {
                losses.push(Loss {
                    file: down.file_name.clone(),
                    statement: summary.clone(),
                    what,
                    rows,
                });
            }
        }
    }
    Ok(losses)
}

/// What `deleted` names and how much of it there is (`Some(0)` when the object does not exist).
async fn count(client: &Client, deleted: &Deletes) -> Result<(String, Option<i64>)> {
    let missing = |e: &tokio_postgres::Error| {
        matches!(e.code(), Some(c) if *c == SqlState::UNDEFINED_TABLE
            || *c == SqlState::UNDEFINED_COLUMN
            || *c == SqlState::INVALID_SCHEMA_NAME)
    };
    let one = async |sql: &str| -> Result<i64> {
        match client.query_one(sql, &[]).await {
            Ok(row) => Ok(row.get(0)),
            Err(e) if missing(&e) => Ok(0),
            Err(e) => Err(Error::db(format!("counting what `{sql}` finds"), e)),
        }
    };
    Ok(match deleted {
        Deletes::Rows(table) => (
            format!("rows of {table}"),
            Some(one(&format!("SELECT count(*) FROM {table}")).await?),
        ),
        Deletes::Values { table, column } => (
            format!("values of {table}.{column}"),
            Some(
                one(&format!(
                    "SELECT count(*) FROM {table} WHERE {column} IS NOT NULL"
                ))
                .await?,
            ),
        ),
        Deletes::Sequence(sequence) => (
            format!("the position of the sequence {sequence}"),
            Some(one(&format!("SELECT count(*) FROM {sequence} WHERE is_called")).await?),
        ),
        Deletes::Schema(schema) => {
            let tables: Vec<String> = client
                .query(
                    "SELECT c.oid::regclass::text FROM pg_class c \
                     WHERE c.relnamespace = to_regnamespace($1) AND c.relkind IN ('r', 'm') ORDER BY 1",
                    &[schema],
                )
                .await
                .map_err(|e| Error::db(format!("listing the tables of {schema}"), e))?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let mut total = 0;
            for table in &tables {
                total += one(&format!("SELECT count(*) FROM {table}")).await?;
            }
            (
                format!("rows of the tables of schema {schema}"),
                Some(total),
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deletes_of(sql: &str) -> Vec<Deletes> {
        deletes(&Statement {
            text: sql.to_owned(),
            offset: 0,
            line: 1,
            column: 1,
        })
    }

    #[test]
    fn statements_that_delete_data_are_read() {
        assert_eq!(
            deletes_of(
                "-- hazard: deletes data\nDROP TABLE IF EXISTS \"app\".\"t\", app.u CASCADE"
            ),
            [
                Deletes::Rows("\"app\".\"t\"".into()),
                Deletes::Rows("app.u".into())
            ]
        );
        assert_eq!(
            deletes_of(
                "ALTER TABLE ONLY \"app\".\"t\" DROP COLUMN \"note\", DROP CONSTRAINT c, DROP x"
            ),
            [
                Deletes::Values {
                    table: "\"app\".\"t\"".into(),
                    column: "\"note\"".into()
                },
                Deletes::Values {
                    table: "\"app\".\"t\"".into(),
                    column: "x".into()
                }
            ]
        );
        assert_eq!(
            deletes_of("ALTER TABLE t ALTER COLUMN a DROP NOT NULL, DROP CONSTRAINT k"),
            []
        );
        assert_eq!(
            deletes_of("DROP SCHEMA app CASCADE"),
            [Deletes::Schema("app".into())]
        );
        assert_eq!(deletes_of("DROP SCHEMA \"app\""), []);
        assert_eq!(
            deletes_of("drop materialized view m"),
            [Deletes::Rows("m".into())]
        );
        assert_eq!(deletes_of("DROP VIEW v"), []);
        assert_eq!(deletes_of("DROP INDEX CONCURRENTLY app.i"), []);
        assert_eq!(
            deletes_of("TRUNCATE TABLE a, b"),
            [Deletes::Rows("a".into()), Deletes::Rows("b".into())]
        );
    }

    #[test]
    fn generated_hazard_comments_mark_a_statement() {
        let st = |sql: &str| Statement {
            text: sql.to_owned(),
            offset: 0,
            line: 1,
            column: 1,
        };
        assert!(marked_deleting(&st(
            "-- hazard: deletes data, cannot be undone\nDROP EXTENSION hstore"
        )));
        assert!(!marked_deleting(&st("DROP EXTENSION hstore")));
    }
}
