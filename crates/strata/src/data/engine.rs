//! Running data migrations: the tracking table, the lock, `migrate`, `reset` and `status`.
//!
//! The tracking table is the seed's, `data_migrations (id serial primary key, name text not null
//! unique, schema text not null, applied_at timestamp not null default now())`; strata adds
//! `execution_ms`, `applied_by`, `checksum` (of SQL migrations) and `inputs` (the objects a
//! migration read, with their ETags) with `ADD COLUMN IF NOT EXISTS`, so a table the
//! TypeScript scripts created is adopted as it is.

use std::time::{Duration, Instant};

use serde::Serialize;
use strata_core::catalog::QualName;
use strata_core::render::qualified;
use tokio_postgres::Client;

use super::{BoxError, Context, Migration, Registry};
use crate::fetch::Fetcher;
use crate::{Error, Result};

/// First key of the data-migrations lock ("STRD"); the second is a hash of the table's name.
const LOCK_CLASS: i32 = 0x5354_5244;

/// The tracking table.
#[derive(Debug, Clone)]
pub struct Tracking {
    table: QualName,
}

/// One row of the tracking table.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    /// The migration's name.
    pub name: String,
    /// Its PostgreSQL schema.
    pub schema: String,
    /// When it was applied (RFC 3339, UTC).
    pub applied_at: String,
    /// How long it ran (absent for rows the seed's scripts wrote).
    pub execution_ms: Option<i64>,
    /// The database user that applied it.
    pub applied_by: Option<String>,
}

/// One schema's data migrations against a database.
#[derive(Debug, Clone, Serialize)]
pub struct DataStatus {
    /// The PostgreSQL schema.
    pub schema: String,
    /// Applied migrations, in the order they were applied.
    pub applied: Vec<Applied>,
    /// Registered migrations not applied yet, in the order they run.
    pub pending: Vec<String>,
    /// Applied migrations the registry does not have (removed from the code?), of a schema it
    /// defines.
    pub missing: Vec<String>,
    /// The registry does not define the schema at all: its applied rows were written by other
    /// tooling (the scripts strata replaces) and are left alone.
    pub foreign: bool,
}

/// What `migrate` did.
#[derive(Debug, Default)]
pub(crate) struct MigrateOutcome {
    /// Applied migrations (or, in a dry run, run and rolled back) with their time in ms.
    pub applied: Vec<(String, u128)>,
    /// In a dry run: per migration, the rows it changed per table.
    pub rows: Vec<(String, Vec<TableRows>)>,
    /// Applied rows of schemas the registry does not define, left alone: (schema, names).
    pub left_alone: Vec<(String, Vec<String>)>,
    /// Applied rows missing from the registry that `--ignore-missing` let pass.
    pub ignored_missing: Vec<String>,
}

/// The rows a migration changed in one table (counted in its transaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableRows {
    pub table: String,
    pub inserted: i64,
    pub updated: i64,
    pub deleted: i64,
}

/// What `reset` did.
#[derive(Debug, Default)]
pub(crate) struct ResetOutcome {
    /// Migrations whose `down` ran, in that order.
    pub reset: Vec<String>,
}

impl Tracking {
    /// The tracking table `table`.
    pub fn new(table: QualName) -> Tracking {
        Tracking { table }
    }

    async fn exists(&self, client: &Client) -> Result<bool> {
        crate::postgres::table_exists(client, &self.table).await
    }

    /// Creates the table with the seed's definition when it is missing, and adds strata's
    /// columns when they are (take the lock first: two creators would race).
    pub async fn ensure(&self, client: &Client) -> Result<()> {
        let table = qualified(&self.table);
        let sql = format!(
            "CREATE SCHEMA IF NOT EXISTS {schema};\n\
             CREATE TABLE IF NOT EXISTS {table} (id serial primary key, name text not null unique, schema text not null, applied_at timestamp not null default now());\n\
             ALTER TABLE {table} ADD COLUMN IF NOT EXISTS execution_ms bigint;\n\
             ALTER TABLE {table} ADD COLUMN IF NOT EXISTS applied_by text DEFAULT current_user;\n\
             ALTER TABLE {table} ADD COLUMN IF NOT EXISTS checksum text;\n\
             ALTER TABLE {table} ADD COLUMN IF NOT EXISTS inputs jsonb",
            schema = strata_core::sql::quote_ident(&self.table.schema),
        );
        client
            .batch_execute(&sql)
            .await
            .map_err(|e| Error::db(format!("preparing the tracking table {}", self.table), e))
    }

    /// Every row, in the order the migrations were applied (none when the table is missing).
    pub async fn applied(&self, client: &Client) -> Result<Vec<Applied>> {
        if !self.exists(client).await? {
            return Ok(Vec::new());
        }
        // strata's columns may be missing from a table the seed's scripts created.
        let columns: Vec<String> = client
            .query(
                "SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
                &[&qualified(&self.table)],
            )
            .await
            .map_err(|e| Error::db(format!("reading {}", self.table), e))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        // A bare NULL would be text: typed, it reads as the column would.
        let optional = |column: &str, type_name: &str| {
            if columns.iter().any(|c| c == column) {
                column.to_owned()
            } else {
                format!("NULL::{type_name} AS {column}")
            }
        };
        let sql = format!(
            "SELECT name, schema, {}, {}, {} FROM {} ORDER BY id",
            crate::apply::history::RFC3339_APPLIED_AT,
            optional("execution_ms", "bigint"),
            optional("applied_by", "text"),
            qualified(&self.table)
        );
        let rows = client
            .query(&sql, &[])
            .await
            .map_err(|e| Error::db(format!("reading {}", self.table), e))?;
        Ok(rows
            .iter()
            .map(|r| Applied {
                name: r.get(0),
                schema: r.get(1),
                applied_at: r.get(2),
                execution_ms: r.get(3),
                applied_by: r.get(4),
            })
            .collect())
    }

    async fn lock(&self, client: &Client, wait: Duration, say: &dyn Fn(String)) -> Result<()> {
        crate::postgres::lock::acquire(
            client,
            LOCK_CLASS,
            &self.table.to_string(),
            wait,
            || {
                say(format!(
                    "waiting for another data migration run on this database (lock on {})",
                    self.table
                ))
            },
            &format!("data-migrations lock on {}", self.table),
        )
        .await
    }

    async fn unlock(&self, client: &Client) {
        crate::postgres::lock::release(client, LOCK_CLASS, &self.table.to_string()).await;
    }

    /// Each schema's status (only `schema` when given).
    pub async fn status(
        &self,
        client: &Client,
        registry: &Registry,
        schema: Option<&str>,
    ) -> Result<Vec<DataStatus>> {
        let applied = self.applied(client).await?;
        let mut schemas: Vec<String> = registry.schemas().map(|(s, _)| s.to_owned()).collect();
        for row in &applied {
            if !schemas.contains(&row.schema) {
                schemas.push(row.schema.clone());
            }
        }
        Ok(schemas
            .into_iter()
            .filter(|s| schema.is_none_or(|only| only == s))
            .map(|s| {
                let registered: Vec<String> = registry
                    .schemas()
                    .filter(|(name, _)| *name == s)
                    .flat_map(|(_, list)| list.iter().map(Migration::name))
                    .collect();
                let mine: Vec<Applied> =
                    applied.iter().filter(|r| r.schema == s).cloned().collect();
                let foreign = !registry.schemas().any(|(name, _)| name == s);
                DataStatus {
                    foreign,
                    pending: registered
                        .iter()
                        .filter(|n| !mine.iter().any(|r| &r.name == *n))
                        .cloned()
                        .collect(),
                    missing: mine
                        .iter()
                        .filter(|r| !foreign && !registered.contains(&r.name))
                        .map(|r| r.name.clone())
                        .collect(),
                    applied: mine,
                    schema: s,
                }
            })
            .collect())
    }
}

/// The registry's migrations of `schema` (all when `None`), in the order they run.
fn selected<'r>(registry: &'r Registry, schema: Option<&str>) -> Vec<(&'r str, &'r Migration)> {
    registry
        .schemas()
        .filter(|(s, _)| schema.is_none_or(|only| only == *s))
        .flat_map(|(s, list)| list.iter().map(move |m| (s, m)))
        .collect()
}

/// Refuses to run when the registry is malformed or the database has applied migrations of a
/// schema the registry defines that it does not know (unless `ignore_missing`). Rows of schemas
/// it does not define at all are not its business: they are left alone.
fn refuse_problems(registry: &Registry, status: &[DataStatus], ignore_missing: bool) -> Result<()> {
    let mut problems = registry.problems();
    for s in status.iter().filter(|_| !ignore_missing) {
        for name in &s.missing {
            problems.push(format!(
                "data migration `{name}` is applied to this database but not in the registry (removed from the code, or a branch not merged yet?); restore it before running data migrations of `{}`, or pass --ignore-missing to run the others anyway",
                s.schema
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "the data migrations need attention first; nothing was run:\n  {}",
        problems.join("\n  ")
    )))
}

/// The cause of a failed `up` or `down`: the server's message for a database error.
fn describe(error: &BoxError) -> String {
    match error.downcast_ref::<tokio_postgres::Error>() {
        Some(e) => match e.as_db_error() {
            Some(db) => {
                let mut text = format!("{} ({})", db.message(), db.code().code());
                if let Some(detail) = db.detail() {
                    text.push_str(&format!("; {detail}"));
                }
                text
            }
            None => e.to_string(),
        },
        None => error.to_string(),
    }
}

/// Row counts per table in the current transaction so far.
async fn row_counts(client: &tokio_postgres::Transaction<'_>) -> Result<Vec<TableRows>> {
    let rows = client
        .query(
            "SELECT relid::regclass::text, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables \
             WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY 1",
            &[],
        )
        .await
        .map_err(|e| Error::db("counting changed rows", e))?;
    Ok(rows
        .iter()
        .map(|r| TableRows {
            table: r.get(0),
            inserted: r.get(1),
            updated: r.get(2),
            deleted: r.get(3),
        })
        .collect())
}

/// Runs pending migrations of `schema` (all when `None`), each in one transaction with its
/// tracking row. A dry run runs them all in one transaction, counts the rows they change and
/// rolls back.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn migrate(
    client: &mut Client,
    tracking: &Tracking,
    registry: &Registry,
    fetcher: &Fetcher,
    (schema, dry_run, ignore_missing): (Option<&str>, bool, bool),
    wait: Duration,
    say: &dyn Fn(String),
) -> Result<MigrateOutcome> {
    tracking.lock(client, wait, say).await?;
    let result = migrate_locked(
        client,
        tracking,
        registry,
        fetcher,
        (schema, dry_run, ignore_missing),
        say,
    )
    .await;
    tracking.unlock(client).await;
    result
}

async fn migrate_locked(
    client: &mut Client,
    tracking: &Tracking,
    registry: &Registry,
    fetcher: &Fetcher,
    (schema, dry_run, ignore_missing): (Option<&str>, bool, bool),
    say: &dyn Fn(String),
) -> Result<MigrateOutcome> {
    if !dry_run {
        tracking.ensure(client).await?;
    }
    let status = tracking.status(client, registry, schema).await?;
    refuse_problems(registry, &status, ignore_missing)?;
    let left_alone: Vec<(String, Vec<String>)> = status
        .iter()
        .filter(|s| s.foreign)
        .map(|s| {
            (
                s.schema.clone(),
                s.applied.iter().map(|r| r.name.clone()).collect(),
            )
        })
        .collect();
    let ignored_missing: Vec<String> = status.iter().flat_map(|s| s.missing.clone()).collect();
    let pending: Vec<(&str, &Migration)> = selected(registry, schema)
        .into_iter()
        .filter(|(s, m)| {
            status
                .iter()
                .any(|st| st.schema == *s && st.pending.contains(&m.name()))
        })
        .collect();
    // Credentials are checked before the first migration, not halfway through a long run.
    if pending
        .iter()
        .flat_map(|(_, m)| m.inputs())
        .any(|url| url.starts_with("s3://"))
    {
        fetcher
            .aws()
            .await
            .credentials()
            .await
            .map_err(|e| Error::Invalid(format!("{e}; no data migration was run")))?;
    }
    let mut outcome = MigrateOutcome {
        left_alone,
        ignored_missing,
        ..MigrateOutcome::default()
    };
    if dry_run {
        let tx = client
            .transaction()
            .await
            .map_err(|e| Error::db("starting the dry run", e))?;
        let mut before = row_counts(&tx).await?;
        for (schema, migration) in pending {
            let name = migration.name();
            let started = Instant::now();
            fetcher
                .prefetch(&migration.inputs())
                .await
                .map_err(|e| Error::Invalid(format!("data migration {name}: {e}")))?;
            let mut cx = Context::new(&tx, schema, &name, fetcher);
            migration.up(&mut cx).await.map_err(|e| {
                Error::Invalid(format!(
                    "data migration {name} failed in the dry run: {}; nothing was changed",
                    describe(&e)
                ))
            })?;
            let after = row_counts(&tx).await?;
            let changed = after
                .iter()
                .map(|a| {
                    let b = before.iter().find(|b| b.table == a.table);
                    TableRows {
                        table: a.table.clone(),
                        inserted: a.inserted - b.map_or(0, |b| b.inserted),
                        updated: a.updated - b.map_or(0, |b| b.updated),
                        deleted: a.deleted - b.map_or(0, |b| b.deleted),
                    }
                })
                .filter(|t| t.inserted + t.updated + t.deleted > 0)
                .collect();
            outcome
                .applied
                .push((name.clone(), started.elapsed().as_millis()));
            outcome.rows.push((name, changed));
            before = after;
        }
        tx.rollback()
            .await
            .map_err(|e| Error::db("rolling back the dry run", e))?;
        return Ok(outcome);
    }
    let insert = format!(
        "INSERT INTO {} (name, schema, execution_ms, checksum, inputs) VALUES ($1, $2, $3, $4, ($5::text)::jsonb)",
        qualified(&tracking.table)
    );
    for (schema, migration) in pending {
        let name = migration.name();
        // Inputs are downloaded before the transaction opens: it never waits on the network.
        fetcher.prefetch(&migration.inputs()).await.map_err(|e| {
            Error::Invalid(format!(
                "data migration {name} was not run: fetching its inputs failed: {e}"
            ))
        })?;
        fetcher.take_inputs();
        let started = Instant::now();
        let tx = client
            .transaction()
            .await
            .map_err(|e| Error::db("starting a transaction", e))?;
        let mut cx = Context::new(&tx, schema, &name, fetcher);
        if let Err(e) = migration.up(&mut cx).await {
            drop(tx); // rolls back
            let kept = if outcome.applied.is_empty() {
                String::new()
            } else {
                format!(
                    "; the ones before it stay applied: {}",
                    outcome
                        .applied
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(Error::Invalid(format!(
                "data migration {name} failed: {}\nit was rolled back (its changes and its tracking row){kept}",
                describe(&e)
            )));
        }
        let ms = started.elapsed().as_millis();
        let inputs = fetcher.take_inputs();
        let inputs =
            (!inputs.is_empty()).then(|| serde_json::to_string(&inputs).expect("inputs serialise"));
        tx.execute(
            &insert,
            &[&name, &schema, &(ms as i64), &migration.checksum(), &inputs],
        )
        .await
        .map_err(|e| Error::db(format!("recording data migration {name}"), e))?;
        tx.commit()
            .await
            .map_err(|e| Error::db(format!("committing data migration {name}"), e))?;
        say(format!("applied {name} ({ms} ms)"));
        outcome.applied.push((name, ms));
    }
    Ok(outcome)
}

/// The applied migrations of `schema` (all when `None`) that `reset` would undo, newest first
/// in registry order.
pub(crate) async fn reset_plan(
    client: &Client,
    tracking: &Tracking,
    registry: &Registry,
    schema: Option<&str>,
) -> Result<Vec<String>> {
    let status = tracking.status(client, registry, schema).await?;
    refuse_problems(registry, &status, false)?;
    let applied: Vec<&str> = status
        .iter()
        .flat_map(|s| s.applied.iter().map(|r| r.name.as_str()))
        .collect();
    Ok(selected(registry, schema)
        .into_iter()
        .rev()
        .map(|(_, m)| m.name())
        .filter(|n| applied.contains(&n.as_str()))
        .collect())
}

/// Runs `down` of the applied migrations of `schema`, newest first, each in one transaction that
/// also deletes its tracking row; stops at an irreversible one.
pub(crate) async fn reset(
    client: &mut Client,
    tracking: &Tracking,
    registry: &Registry,
    fetcher: &Fetcher,
    schema: Option<&str>,
    wait: Duration,
    say: &dyn Fn(String),
) -> Result<ResetOutcome> {
    tracking.lock(client, wait, say).await?;
    let result = async {
        let plan = reset_plan(client, tracking, registry, schema).await?;
        let mut outcome = ResetOutcome::default();
        let delete = format!("DELETE FROM {} WHERE name = $1", qualified(&tracking.table));
        for name in plan {
            let (migration_schema, migration) = selected(registry, schema)
                .into_iter()
                .find(|(_, m)| m.name() == name)
                .expect("planned from the registry");
            let done = if outcome.reset.is_empty() {
                "nothing was reset".to_owned()
            } else {
                format!("reset before it: {}", outcome.reset.join(", "))
            };
            if !migration.reversible() {
                return Err(Error::Invalid(format!(
                    "data migration {name} is irreversible, so reset stops there; {done}"
                )));
            }
            let tx = client
                .transaction()
                .await
                .map_err(|e| Error::db("starting a transaction", e))?;
            let mut cx = Context::new(&tx, migration_schema, &name, fetcher);
            if let Err(e) = migration.down(&mut cx).await {
                drop(tx);
                return Err(Error::Invalid(format!(
                    "down of data migration {name} failed: {}\nit was rolled back and stays applied; {done}",
                    describe(&e)
                )));
            }
            tx.execute(&delete, &[&name])
                .await
                .map_err(|e| Error::db(format!("removing the tracking row of {name}"), e))?;
            tx.commit()
                .await
                .map_err(|e| Error::db(format!("committing the reset of {name}"), e))?;
            say(format!("reset {name}"));
            outcome.reset.push(name);
        }
        Ok(outcome)
    }
    .await;
    tracking.unlock(client).await;
    result
}
