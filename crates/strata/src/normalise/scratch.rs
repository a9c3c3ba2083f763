//! Scratch databases: strata's normalisation space.
//!
//! strata applies declared SQL and migration histories to throwaway databases on the development
//! server, so that PostgreSQL itself puts every object into canonical form. A scratch database is
//! named with the `strata_scratch_` prefix and always dropped afterwards: explicitly, on Ctrl-C
//! (the CLI drops every live one before it exits), and, when the process was killed, by the next
//! strata run on that server.
//!
//! To tell a leftover from a database another process is still using, the process that creates a
//! scratch database holds a session-level advisory lock named after it on its admin connection
//! for as long as the database lives. The lock goes away with the connection, however the
//! process ends; `pg_locks` shows locks of every database on the server, so a sweep drops exactly
//! the scratch databases whose lock is gone.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use strata_core::sql::{quote_ident, quote_literal};
use tokio_postgres::Client;

use crate::postgres;
use crate::postgres::url::DbUrl;
use crate::{Error, Result};

/// The prefix of scratch database names.
pub const PREFIX: &str = "strata_scratch_";

/// First key of strata's two-key advisory locks on scratch databases ("STRA").
const LOCK_CLASS: i32 = 0x5354_5241;

/// A server on which strata creates and drops scratch databases.
pub struct ScratchServer {
    url: DbUrl,
    admin: Client,
    prefix: String,
    live: Mutex<BTreeSet<String>>,
    server_version: u32,
}

/// A scratch database. Drop it with [`ScratchServer::drop_db`]; one that is merely forgotten is
/// dropped by [`ScratchServer::drop_all`] or by the next sweep.
#[derive(Debug)]
pub struct ScratchDb {
    name: String,
    url: DbUrl,
}

impl ScratchDb {
    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its URL.
    pub fn url(&self) -> &DbUrl {
        &self.url
    }
}

impl ScratchServer {
    /// Connects to the server's maintenance database (the one `url` names) and drops the scratch
    /// databases that killed processes left behind.
    pub async fn connect(url: &DbUrl) -> Result<ScratchServer> {
        Self::with_prefix(url, PREFIX).await
    }

    /// As [`ScratchServer::connect`], for databases with another prefix (the test harness uses
    /// its own).
    pub async fn with_prefix(url: &DbUrl, prefix: &str) -> Result<ScratchServer> {
        let admin = postgres::connect(url).await?;
        let server_version = admin
            .query_one("SELECT current_setting('server_version_num')::int", &[])
            .await
            .map_err(|e| Error::db(format!("reading the server version of {url}"), e))?
            .get::<_, i32>(0) as u32;
        let server = ScratchServer {
            url: url.clone(),
            admin,
            prefix: prefix.to_owned(),
            live: Mutex::default(),
            server_version,
        };
        server.sweep().await?;
        Ok(server)
    }

    /// The maintenance database's URL.
    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// The connection to the maintenance database (for kept states, see [`crate::normalise::state`]).
    pub(crate) fn admin(&self) -> &Client {
        &self.admin
    }

    /// The server's `server_version_num` (e.g. 150018): what normalised catalogs depend on.
    pub fn server_version(&self) -> u32 {
        self.server_version
    }

    /// Drops every database with this server's prefix whose owner is gone. Returns their names.
    pub async fn sweep(&self) -> Result<Vec<String>> {
        let pattern = format!(
            "{}%",
            self.prefix
                .replace('\\', "\\\\")
                .replace('_', "\\_")
                .replace('%', "\\%")
        );
        let rows = self
            .admin
            .query(
                "SELECT d.datname FROM pg_database d \
                 WHERE d.datname LIKE $1 \
                   AND NOT EXISTS (SELECT 1 FROM pg_locks l \
                                   WHERE l.locktype = 'advisory' AND l.objsubid = 2 \
                                     AND l.classid = $2::int4::oid AND l.objid = ('x' || md5(d.datname))::bit(32)::int4 & 2147483647)",
                &[&pattern, &LOCK_CLASS],
            )
            .await
            .map_err(|e| Error::db(format!("listing leftover scratch databases on {}", self.url), e))?;
        let mut dropped = Vec::new();
        for row in rows {
            let name: String = row.get(0);
            // Another sweep may have dropped it meanwhile: IF EXISTS, and errors are not fatal.
            let sql = format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&name)
            );
            if self.admin.batch_execute(&sql).await.is_ok() {
                dropped.push(name);
            }
        }
        Ok(dropped)
    }

    /// Creates an empty scratch database, or a copy of `template` (which must have no other
    /// sessions connected).
    pub async fn create(&self, template: Option<&str>) -> Result<ScratchDb> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = loop {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let candidate = format!(
                "{}{}_{}_{:08x}",
                self.prefix,
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed),
                nanos
            );
            let locked: bool = self
                .admin
                .query_one(
                    "SELECT pg_try_advisory_lock($1, ('x' || md5($2))::bit(32)::int4 & 2147483647)",
                    &[&LOCK_CLASS, &candidate],
                )
                .await
                .map_err(|e| {
                    Error::db(
                        format!("locking a scratch database name on {}", self.url),
                        e,
                    )
                })?
                .get(0);
            // Taken only when two names share a hash: pick another.
            if locked {
                break candidate;
            }
        };
        let mut sql = format!("CREATE DATABASE {}", quote_ident(&name));
        if let Some(template) = template {
            sql.push_str(&format!(" TEMPLATE {}", quote_ident(template)));
        }
        if let Err(e) = self.admin.batch_execute(&sql).await {
            self.unlock(&name).await;
            return Err(Error::db(
                format!(
                    "creating scratch database {name} on {} (strata needs the CREATEDB privilege there)",
                    self.url
                ),
                e,
            ));
        }
        self.live
            .lock()
            .expect("scratch registry poisoned")
            .insert(name.clone());
        let url = self.url.with_database(&name);
        Ok(ScratchDb { name, url })
    }

    /// Drops a scratch database (ending its sessions first).
    pub async fn drop_db(&self, db: ScratchDb) -> Result<()> {
        self.drop_name(&db.name).await
    }

    /// Drops every scratch database this server object created and has not dropped yet.
    pub async fn drop_all(&self) -> Result<()> {
        let names: Vec<String> = self
            .live
            .lock()
            .expect("scratch registry poisoned")
            .iter()
            .cloned()
            .collect();
        let mut first_error = None;
        for name in names {
            if let Err(e) = self.drop_name(&name).await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The names of the scratch databases that are still live.
    pub fn live(&self) -> Vec<String> {
        self.live
            .lock()
            .expect("scratch registry poisoned")
            .iter()
            .cloned()
            .collect()
    }

    async fn drop_name(&self, name: &str) -> Result<()> {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name));
        self.admin.batch_execute(&sql).await.map_err(|e| {
            Error::db(
                format!("dropping scratch database {name} on {}", self.url),
                e,
            )
        })?;
        self.unlock(name).await;
        self.live
            .lock()
            .expect("scratch registry poisoned")
            .remove(name);
        Ok(())
    }

    async fn unlock(&self, name: &str) {
        // The lock dies with the connection anyway; a failure here leaks nothing.
        let sql = format!(
            "SELECT pg_advisory_unlock({LOCK_CLASS}, ('x' || md5({}))::bit(32)::int4 & 2147483647)",
            quote_literal(name)
        );
        let _ = self.admin.batch_execute(&sql).await;
    }
}
