//! A strata that died while the server still runs its statement.
//!
//! When the client of a session dies, PostgreSQL notices only when it next talks to it: a
//! statement that was running goes on to its end (a concurrent index build for minutes), holding
//! the migrate lock. A strata that waits for the lock wants to know whether the holder is another
//! strata at work or such an orphan, and for an orphan, whether its statement will count.
//!
//! While it runs a no-transaction migration, strata holds a second connection, the *beacon*, with
//! an advisory lock named after the backend that runs the statements, and writes that backend's
//! pid into the migration's history row. The client's death closes the idle beacon at once, so
//! "the lock holder is the backend of a partial row, and its beacon is gone" means an orphan. Its
//! statement is then waited for when the server's work will count (a statement committed with its
//! progress record, or a concurrent build the next run recognises as done), and ended when it
//! cannot (a statement inside the file's own transaction, which can never commit now, or one whose
//! effect strata could not recognise afterwards).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use strata_core::render::qualified;
use strata_core::split::Statement;
use tokio_postgres::Client;

use super::alone::{Mode, in_block_before, summary};
use super::resume::Effect;
use super::{History, LOCK_CLASS};
use crate::config::Env;
use crate::postgres::url::DbUrl;
use crate::source::migrations::MigrationsDir;
use crate::{Error, Result};

/// First key of the beacon lock ("STRB"); the second is the pid of the backend it vouches for.
const BEACON_CLASS: i32 = 0x5354_5242;

/// How long an orphan may take to end after a cancel request before it is terminated.
const CANCEL_GRACE: Duration = Duration::from_secs(5);

/// The beacon connection of a running no-transaction migration; dropping it closes it.
pub(super) struct Beacon {
    _client: Client,
}

impl Beacon {
    /// Opens the beacon for the backend of `client`, or `None` when it cannot be had (then no
    /// pid is recorded, and waiters treat the holder as alive).
    pub(super) async fn hold(target: Option<&(DbUrl, Env)>, client: &Client) -> Option<Beacon> {
        let (url, env) = target?;
        let pid: i32 = client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .ok()?
            .get(0);
        let beacon = crate::postgres::connect_with(url, env).await.ok()?;
        beacon
            .execute("SELECT pg_advisory_lock($1, $2)", &[&BEACON_CLASS, &pid])
            .await
            .ok()?;
        Some(Beacon { _client: beacon })
    }
}

/// A backend that holds the migrate lock for a strata that is gone.
#[derive(Debug, Clone)]
struct Orphan {
    pid: i32,
    version: String,
    /// Whether it runs the migration's down file (a `rollback`), not the migration.
    down: bool,
    /// Statements its migration had recorded: it runs the next one (or one inside the file's
    /// own transaction that the next one opened).
    done: usize,
    /// What it runs, as `pg_stat_activity` shows it.
    query: String,
    seconds: f64,
}

/// What a waiting `migrate` does about orphans, remembered across polls of the lock.
pub(super) struct Watch<'a> {
    history: &'a History,
    folder: &'a MigrationsDir,
    /// Whether the history table can name a backend (an older strata's table cannot, nor a
    /// table not created yet).
    tracks_backends: Option<bool>,
    /// Orphans reported, and when each was asked to cancel.
    seen: HashMap<i32, Option<Instant>>,
}

impl<'a> Watch<'a> {
    pub(super) fn new(history: &'a History, folder: &'a MigrationsDir) -> Watch<'a> {
        Watch {
            history,
            folder,
            tracks_backends: None,
            seen: HashMap::new(),
        }
    }

    /// Looks at the lock's holder; reports an orphan once, and waits for it or ends it.
    /// `true` when the holder is an orphan.
    pub(super) async fn check(&mut self, client: &Client, say: &dyn Fn(String)) -> Result<bool> {
        let Some(orphan) = self.find(client).await? else {
            return Ok(false);
        };
        let (end, why, what) = self.judge(&orphan);
        match self.seen.get(&orphan.pid).copied() {
            None => {
                say(format!(
                    "the migrate lock is held by backend {} of a strata {} that is gone (killed?); it has been running {what} for {:.0} s. {}: {why}",
                    orphan.pid,
                    if orphan.down { "rollback" } else { "migrate" },
                    orphan.seconds,
                    if end {
                        "Ending it (pg_cancel_backend)"
                    } else {
                        "Waiting for the server to finish it"
                    }
                ));
                if end {
                    signal(client, "pg_cancel_backend", orphan.pid).await?;
                }
                self.seen.insert(orphan.pid, end.then(Instant::now));
            }
            Some(Some(asked)) if asked.elapsed() > CANCEL_GRACE => {
                say(format!(
                    "backend {} did not end on cancel within {} s: terminating it (pg_terminate_backend)",
                    orphan.pid,
                    CANCEL_GRACE.as_secs()
                ));
                signal(client, "pg_terminate_backend", orphan.pid).await?;
                self.seen.insert(orphan.pid, None);
            }
            Some(_) => {}
        }
        Ok(true)
    }

    async fn find(&mut self, client: &Client) -> Result<Option<Orphan>> {
        let table = self.history.table();
        // Asked until the answer is yes: the holder may create the table while this one waits.
        if self.tracks_backends != Some(true) {
            let row = client
                .query_one(
                    "SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass($1) \
                     AND attname = 'backend_pid' AND NOT attisdropped)",
                    &[&qualified(table)],
                )
                .await
                .map_err(|e| Error::db(format!("looking at {table}"), e))?;
            self.tracks_backends = Some(row.get(0));
        }
        if self.tracks_backends != Some(true) {
            return Ok(None);
        }
        // Partial rows of the history (a migrate) and of the rollback records (a rollback).
        let rollbacks = self.history.rollbacks();
        let has_rollbacks = crate::postgres::table_exists(client, &rollbacks).await?;
        let partial = if has_rollbacks {
            format!(
                "(SELECT version, statements_done, backend_pid, false AS down FROM {history} WHERE status = 'partial' \
                 UNION ALL SELECT version, statements_done, backend_pid, true FROM {rollbacks} WHERE status = 'partial')",
                history = qualified(table),
                rollbacks = qualified(&rollbacks)
            )
        } else {
            format!(
                "(SELECT version, statements_done, backend_pid, false AS down FROM {} WHERE status = 'partial')",
                qualified(table)
            )
        };
        let sql = format!(
            "SELECT l.pid, h.version, coalesce(h.statements_done, 0), \
                    coalesce(extract(epoch FROM now() - a.query_start)::float8, 0), \
                    coalesce(left(a.query, 500), ''), h.down \
             FROM pg_locks l \
             JOIN {partial} h ON h.backend_pid = l.pid \
             LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 \
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND l.classid = ($1::int4)::oid AND l.objid = (hashtext($2))::oid \
               AND NOT EXISTS (SELECT FROM pg_locks b WHERE b.locktype = 'advisory' AND b.granted \
                   AND b.objsubid = 2 AND b.database = l.database \
                   AND b.classid = ($3::int4)::oid AND b.objid = (l.pid)::oid)"
        );
        let row = client
            .query_opt(&sql, &[&LOCK_CLASS, &table.to_string(), &BEACON_CLASS])
            .await
            .map_err(|e| Error::db("looking at the holder of the migrate lock", e))?;
        Ok(row.map(|row| Orphan {
            pid: row.get(0),
            version: row.get(1),
            done: row.get::<_, i32>(2).max(0) as usize,
            seconds: row.get(3),
            query: row.get(4),
            down: row.get(5),
        }))
    }

    /// Whether to end the orphan's statement, why, and what it is.
    fn judge(&self, orphan: &Orphan) -> (bool, &'static str, String) {
        // A statement sent with its record shows as `BEGIN; statement …`.
        let query = orphan
            .query
            .strip_prefix(super::alone::WRAP_BEGIN)
            .unwrap_or(&orphan.query);
        let running = summary(&Statement {
            text: query.split("\n;\n").next().unwrap_or(query).to_owned(),
            offset: 0,
            line: 1,
            column: 1,
        });
        let migration = self
            .folder
            .migrations
            .iter()
            .find(|m| m.version == orphan.version)
            .and_then(|m| {
                if orphan.down {
                    m.down.as_deref()
                } else {
                    Some(m)
                }
            });
        let Some(migration) = migration else {
            return (
                false,
                "its migration is not in this folder",
                format!("`{running}` of migration {}", orphan.version),
            );
        };
        let what = format!("`{running}` of {}", migration.file_name);
        let statements = migration.statements();
        let Some(statement) = statements.get(orphan.done) else {
            return (false, "it is recording the end of its migration", what);
        };
        let (end, why) = match Mode::of(statement, in_block_before(&statements, orphan.done)) {
            Mode::Wrapped => (
                false,
                "it commits together with its progress record, so this run continues after it",
            ),
            Mode::Alone if Effect::recognise(statement).is_some() => (
                false,
                "this run then finds its result in the catalog and does not repeat it",
            ),
            Mode::Alone => (
                true,
                "strata could not tell afterwards whether it ran, and repeats it",
            ),
            Mode::InBlock => (
                true,
                "it runs inside the file's own transaction, which can never commit now",
            ),
        };
        (end, why, what)
    }
}

async fn signal(client: &Client, function: &str, pid: i32) -> Result<()> {
    client
        .query_one(&format!("SELECT {function}($1)"), &[&pid])
        .await
        .map_err(|e| {
            Error::db(
                format!("{function}({pid}) (it needs the same role, or pg_signal_backend)"),
                e,
            )
        })?;
    Ok(())
}
