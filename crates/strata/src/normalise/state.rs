//! Kept states: databases on the scratch server that hold a project's last normalised declared
//! files and its last replayed migration history, so that the everyday loop (edit a table,
//! generate or push) costs work in proportion to the edit, not to the schema.
//!
//! - **Declared state.** After the declared files are normalised, the database stays, named
//!   after the project. When the files change, only the units of statements that changed (see
//!   [`strata_core::units`]) are applied again in it, inside one transaction: their objects are
//!   dropped with `CASCADE` and their statements run (with the units whose meaning depends on
//!   them: a view on a changed table, a table whose default calls a changed function). The new
//!   catalog is the previous one with those units' objects read back from the database; what the
//!   cascade took from other units is restored there from the previous catalog, and the result
//!   is read back and required to equal the catalog computed (texts at their fixed point). Any
//!   failure rolls back and normalises the files from scratch, which reports errors in the files
//!   as usual. (Tests hold the incremental catalog equal to normalising from scratch for every
//!   fixture edit and for random edit sequences.)
//! - **History state.** The replayed history stays too. New migrations (a `git pull`) are applied
//!   to it, and `generate` verifies its plan on it: the plan's end state is the history state of
//!   the folder with the new migration, so the next command replays nothing.
//!
//! What a kept database holds is written in its comment (the cache key of the files or the
//! migrations it holds), in the same transaction as its content where one transaction is
//! possible, else cleared before and written after. A kept database whose comment does not
//! match is rebuilt, never trusted. Each is used under a session-level advisory lock on the
//! scratch server, so two strata processes of one project take turns.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use strata_core::catalog::Catalog;
use strata_core::diff::Rename;
use strata_core::plan::{Plan, RunMode};
use strata_core::sql::{quote_ident, quote_literal};
use strata_core::units;
use tokio_postgres::Client;

use crate::introspect::{Scope, introspect, introspect_within};
use crate::normalise::fixpoint::{Fixpoint, Probes};
use crate::normalise::scratch::ScratchServer;
use crate::source::cache::{Cache, Key};
use crate::source::declared::{Declared, DeclaredFile};
use crate::source::migrations::Migration;
use crate::{Error, Result};

/// The prefix of kept databases (the scratch sweep leaves them alone).
pub const PREFIX: &str = "strata_state_";

/// First key of the advisory locks on kept databases ("STKP").
const LOCK_CLASS: i32 = 0x5354_4b50;

/// Bumped when what a kept database's comment means changes.
const FORMAT: u32 = 1;

/// What a kept database holds, as written in its comment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Meta {
    format: u32,
    /// The project folder and the machine it is on: once the folder is gone, the database is
    /// dropped by the next sweep on that machine.
    root: String,
    host: String,
    /// The cache key of the declared files or of the migrations it holds.
    key: String,
    /// For a history: `file name checksum` of each migration applied, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    migrations: Vec<String>,
}

/// The declared files as cached beside their catalog, for the next incremental run.
#[derive(Debug, Serialize, Deserialize)]
struct Files {
    files: Vec<(String, String)>,
}

/// How the declared catalog was had, for messages and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Normalised {
    /// From the cache: nothing ran.
    Cached,
    /// Only the units that changed ran again, in the kept database.
    Incremental {
        /// How many units ran again.
        units: usize,
    },
    /// Every statement ran, in a new kept database; when an incremental run was tried first,
    /// why it was not used.
    Full {
        /// Why the units that changed could not run alone (`None`: nothing to start from).
        fallback: Option<String>,
    },
}

/// The kept databases of one project on a scratch server.
pub struct States<'a> {
    server: &'a ScratchServer,
    project: String,
    root: String,
}

/// A kept database in use: its name, a connection to it, and the advisory lock that makes it
/// this process's until [`Kept::release`].
pub struct Kept<'a> {
    server: &'a ScratchServer,
    name: String,
    client: Option<Client>,
    /// Whose it is (the project folder and machine), written even when it holds nothing known.
    owner: Meta,
}

impl Kept<'_> {
    /// The connection to the kept database.
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("a kept database is connected")
    }

    async fn set_meta(&self, meta: &Meta) -> Result<()> {
        let json = serde_json::to_string(meta).expect("meta serialises");
        self.client()
            .batch_execute(&format!(
                "COMMENT ON DATABASE {} IS {}",
                quote_ident(&self.name),
                quote_literal(&json)
            ))
            .await
            .map_err(|e| Error::db(format!("recording what {} holds", self.name), e))
    }

    /// Records that it holds nothing known (yet), keeping whose it is.
    async fn clear_meta(&self) -> Result<()> {
        self.set_meta(&self.owner.clone()).await
    }

    /// Closes the connection and lets other processes use the database.
    pub async fn release(mut self) {
        self.client.take();
        unlock(self.server, &self.name).await;
    }
}

impl<'a> States<'a> {
    /// The kept databases of the project at `root`, on `server`.
    pub fn new(server: &'a ScratchServer, root: &Path) -> States<'a> {
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let digest = Sha256::digest(root.to_string_lossy().as_bytes());
        let project: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        States {
            server,
            project,
            root: root.to_string_lossy().into_owned(),
        }
    }

    fn meta(&self, key: &Key, migrations: Vec<String>) -> Meta {
        Meta {
            format: FORMAT,
            root: self.root.clone(),
            host: host(),
            key: key.hex(),
            migrations,
        }
    }

    fn name(&self, kind: &str) -> String {
        format!("{PREFIX}{}_{kind}", self.project)
    }

    /// Takes the kept database of `kind` (waiting for another process that uses it) and reads
    /// what it holds; `None` when it does not exist.
    async fn open(&self, kind: &str) -> Result<(Kept<'a>, Option<Meta>)> {
        let name = self.name(kind);
        lock(self.server, &name).await?;
        let row = self
            .server
            .admin()
            .query_opt(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
                &[&name],
            )
            .await
            .map_err(|e| Error::db("reading the kept databases", e));
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                unlock(self.server, &name).await;
                return Err(e);
            }
        };
        let mut kept = Kept {
            server: self.server,
            name: name.clone(),
            client: None,
            owner: Meta {
                format: FORMAT,
                root: self.root.clone(),
                host: host(),
                ..Meta::default()
            },
        };
        let Some(row) = row else {
            return Ok((kept, None));
        };
        let meta = row
            .get::<_, Option<String>>(0)
            .and_then(|json| serde_json::from_str::<Meta>(&json).ok())
            .filter(|m| m.format == FORMAT && !m.key.is_empty());
        match crate::postgres::connect(&self.server.url().with_database(&name)).await {
            Ok(client) => {
                kept.client = Some(client);
                Ok((kept, meta))
            }
            Err(_) => Ok((kept, None)),
        }
    }

    /// Drops and creates the kept database empty, connected.
    async fn recreate(&self, kept: &mut Kept<'a>) -> Result<()> {
        kept.client.take();
        let quoted = quote_ident(&kept.name);
        let admin = self.server.admin();
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            .await
            .map_err(|e| Error::db(format!("dropping {}", kept.name), e))?;
        admin
            .batch_execute(&format!("CREATE DATABASE {quoted}"))
            .await
            .map_err(|e| {
                Error::db(
                    format!(
                        "creating {} on {} (strata needs the CREATEDB privilege there)",
                        kept.name,
                        self.server.url()
                    ),
                    e,
                )
            })?;
        kept.client =
            Some(crate::postgres::connect(&self.server.url().with_database(&kept.name)).await?);
        kept.clear_meta().await
    }

    /// Drops the kept database of `kind` (its content is not what its comment says).
    async fn discard(&self, kept: Kept<'a>) {
        let mut kept = kept;
        kept.client.take();
        let _ = self
            .server
            .admin()
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&kept.name)
            ))
            .await;
        kept.release().await;
    }

    /// The normalised catalog of `declared`: from `cache`; else from the kept declared state,
    /// applying again only the units of statements that changed; else normalised from scratch
    /// into a new kept state.
    pub async fn declared(
        &self,
        declared: &Declared,
        scope: &Scope,
        cache: &Cache,
        fixpoint: &Fixpoint,
    ) -> Result<(Catalog, Normalised)> {
        let started = std::time::Instant::now();
        let key = declared.cache_key(self.server.server_version(), scope);
        if let Some(catalog) = cache.catalog("declared", &key) {
            crate::progress::debug_timed("declared catalog from the cache", started);
            return Ok((catalog, Normalised::Cached));
        }
        let (mut kept, meta) = self.open("declared").await?;
        let result = async {
            let previous = meta.as_ref().and_then(|m| {
                Some((
                    cache.json_hex::<Catalog>("declared", &m.key)?,
                    cache.json_hex::<Files>("declared-files", &m.key)?,
                ))
            });
            let mut fallback = None;
            if let (Some((catalog, files)), Some(_)) = (previous, kept.client.as_ref()) {
                let meta = self.meta(&key, Vec::new());
                match incremental(&kept, declared, &catalog, &files, scope, fixpoint, &meta).await {
                    Ok((catalog, units)) => {
                        return Ok((catalog, Normalised::Incremental { units }));
                    }
                    Err(reason) => {
                        tracing_debug(&format!(
                            "normalising the declared files from scratch: {reason}"
                        ));
                        fallback = Some(reason);
                    }
                }
            }
            self.recreate(&mut kept).await?;
            let client = kept.client();
            declared.apply(client).await?;
            let catalog = introspect(client, scope).await?.catalog;
            kept.set_meta(&self.meta(&key, Vec::new())).await?;
            Ok((catalog, Normalised::Full { fallback }))
        }
        .await;
        kept.release().await;
        let (catalog, how) = result?;
        crate::progress::debug_timed(&format!("declared catalog ({how:?})"), started);
        cache.store("declared", &key, &catalog);
        cache.store_json("declared-files", &key, &files_of(declared));
        crate::progress::debug_timed("stored in the cache", started);
        Ok((catalog, how))
    }

    /// The kept declared state when it holds `declared` (for probes that compare texts at their
    /// fixed point on it), or `None`. Release it when done.
    pub async fn declared_db(
        &self,
        declared: &Declared,
        scope: &Scope,
    ) -> Result<Option<Kept<'a>>> {
        let key = declared.cache_key(self.server.server_version(), scope);
        let (kept, meta) = self.open("declared").await?;
        if meta.is_some_and(|m| m.key == key.hex()) && kept.client.is_some() {
            Ok(Some(kept))
        } else {
            kept.release().await;
            Ok(None)
        }
    }

    /// The catalog after `migrations` ran on an empty database: from `cache`; else from the kept
    /// history when it holds them or a beginning of them (the rest is applied there); else
    /// replayed into a new kept history.
    pub async fn history(
        &self,
        migrations: &[Migration],
        scope: &Scope,
        cache: &Cache,
    ) -> Result<Catalog> {
        let started = std::time::Instant::now();
        let key =
            crate::source::migrations::history_key(migrations, self.server.server_version(), scope);
        if let Some(catalog) = cache.catalog("history", &key) {
            crate::progress::debug_timed("history catalog from the cache", started);
            return Ok(catalog);
        }
        let (mut kept, meta) = self.open("history").await?;
        let result = self.advance(&mut kept, meta, migrations, &key, scope).await;
        kept.release().await;
        let catalog = result?;
        cache.store("history", &key, &catalog);
        Ok(catalog)
    }

    /// Brings the kept history to `migrations` (applying the missing end, or replaying all) and
    /// reads its catalog.
    async fn advance(
        &self,
        kept: &mut Kept<'a>,
        meta: Option<Meta>,
        migrations: &[Migration],
        key: &Key,
        scope: &Scope,
    ) -> Result<Catalog> {
        let wanted: Vec<String> = migrations.iter().map(history_entry).collect();
        let done = meta
            .filter(|m| kept.client.is_some() && wanted.starts_with(&m.migrations))
            .map_or(0, |m| m.migrations.len());
        if done == 0 {
            self.recreate(kept).await?;
        }
        let client = kept.client();
        kept.clear_meta().await?;
        client
            .batch_execute("SET check_function_bodies = false")
            .await
            .map_err(|e| Error::db("preparing the kept history", e))?;
        let mut progress = crate::progress::Progress::start(
            "replaying the migration history",
            (migrations.len() - done) as u64,
            "migrations",
        );
        for migration in &migrations[done..] {
            progress.inc();
            crate::source::migrations::run_script(client, migration)
                .await
                .map_err(|e| {
                    Error::Invalid(format!(
                        "replaying the migration history in a scratch database: {e}\nfix {} (or the migration before it) and run again",
                        migration.file_name
                    ))
                })?;
        }
        progress.finish();
        let catalog = introspect(client, scope).await?.catalog;
        kept.set_meta(&self.meta(key, wanted)).await?;
        Ok(catalog)
    }

    /// Checks that `files` (a plan split into the migration files it is written as, run in
    /// order) take the history of `migrations` (whose catalog is `from`) to `to`, on the kept
    /// history itself: applied there, read back, compared at the fixed point. On success the
    /// kept history holds the state after the plan; [`Advanced::record`] then names the
    /// migrations that give it (once they are written). On failure it is discarded.
    ///
    /// With `downs` (the renames the plan makes), the reverse of each file is planned too (the
    /// state after it back to the state before it) and verified the same way: newest first,
    /// each must give back the state before its file; then the files run again. Returned in
    /// the order of `files`. Down migrations that cannot be planned or do not verify are an
    /// error of their own, beside a verified plan: the migration is still good, only not
    /// reversible (the kept history is then discarded, its state unknown).
    pub async fn verify_on_history(
        &self,
        migrations: &[Migration],
        (from, files): (&Catalog, &[Plan]),
        to: &Catalog,
        scope: &Scope,
        fixpoint: &Fixpoint,
        downs: Option<&[Rename]>,
    ) -> Result<(Advanced<'a>, Result<Vec<Plan>>)> {
        let key =
            crate::source::migrations::history_key(migrations, self.server.server_version(), scope);
        // A kept history trusted for what its comment says, and found wrong (changed by hand),
        // is replayed once from scratch before the plan is judged.
        let mut trusted_once = false;
        loop {
            let (mut kept, meta) = self.open("history").await?;
            let holds = !trusted_once
                && meta
                    .as_ref()
                    .is_some_and(|m| m.key == key.hex() && kept.client.is_some());
            if !holds {
                let meta = meta.filter(|_| !trusted_once);
                if let Err(e) = self.advance(&mut kept, meta, migrations, &key, scope).await {
                    self.discard(kept).await;
                    return Err(e);
                }
            }
            let states = match self.check_plan(&kept, files, to, scope, fixpoint).await {
                Ok(states) => states,
                Err(e) => {
                    self.discard(kept).await;
                    if !holds {
                        return Err(e);
                    }
                    trusted_once = true;
                    continue;
                }
            };
            let meta = self.meta(&key, Vec::new());
            let Some(renames) = downs else {
                return Ok((
                    Advanced {
                        kept: Some(kept),
                        meta,
                    },
                    Ok(Vec::new()),
                ));
            };
            return match self
                .check_downs(&kept, (from, files), states, to, scope, fixpoint, renames)
                .await
            {
                Ok(downs) => Ok((
                    Advanced {
                        kept: Some(kept),
                        meta,
                    },
                    Ok(downs),
                )),
                Err(e) => {
                    self.discard(kept).await;
                    Ok((Advanced { kept: None, meta }, Err(e)))
                }
            };
        }
    }

    /// Applies `files` to the kept history and requires it to then hold `to`. Returns the
    /// catalogs read after each file but the last, and after the last.
    async fn check_plan(
        &self,
        kept: &Kept<'a>,
        files: &[Plan],
        to: &Catalog,
        scope: &Scope,
        fixpoint: &Fixpoint,
    ) -> Result<Vec<Catalog>> {
        let started = std::time::Instant::now();
        kept.clear_meta().await?;
        let client = kept.client();
        let probes = Probes::on(client, self.server.server_version());
        let mut states = Vec::new();
        for (i, plan) in files.iter().enumerate() {
            crate::apply::apply(client, plan).await.map_err(|f| {
                Error::Invalid(format!(
                    "the plan fails on a copy of the starting state: {f}"
                ))
            })?;
            if i + 1 < files.len() {
                states.push(introspect(client, scope).await?.catalog);
            }
        }
        crate::progress::debug_timed("applied the plan to the kept history", started);
        let end = introspect(client, scope).await?.catalog;
        let converged =
            crate::apply::verify::converged(fixpoint, &end, to, &probes, "the plan").await;
        crate::progress::debug_timed("verified the plan", started);
        converged?;
        states.push(end);
        Ok(states)
    }

    /// Plans the reverse of each of `files` (`after[i]` is the state after file `i`, `from` the
    /// state before the first) and verifies them on the kept history, which holds the state
    /// after the last file and holds it again on success.
    #[allow(clippy::too_many_arguments)]
    async fn check_downs(
        &self,
        kept: &Kept<'a>,
        (from, files): (&Catalog, &[Plan]),
        after: Vec<Catalog>,
        to: &Catalog,
        scope: &Scope,
        fixpoint: &Fixpoint,
        renames: &[Rename],
    ) -> Result<Vec<Plan>> {
        let started = std::time::Instant::now();
        let client = kept.client();
        let version = self.server.server_version();
        let reversed = Rename::reversed(renames);
        let mut downs = Vec::new();
        for (i, end) in after.iter().enumerate() {
            let before = if i == 0 { from } else { &after[i - 1] };
            let probes = Probes::on(client, version);
            // With several files, a rename belongs to one of them: the others are planned
            // without renames when the diff refuses them.
            let plan = match fixpoint.diff(end, before, &reversed, &probes).await {
                Err(_) if files.len() > 1 => fixpoint.diff(end, before, &[], &probes).await,
                planned => planned,
            }
            .map_err(|e| Error::Invalid(format!("no down migration can be planned: {e}")))?;
            downs.push(plan);
        }
        crate::progress::debug_timed("planned the down migrations", started);
        let transactional = |p: &Plan| p.steps.iter().all(|s| s.run == RunMode::InTransaction);
        if let [down] = downs.as_slice()
            && transactional(down)
        {
            // One transactional down: checked inside a transaction that is rolled back, so the
            // kept history needs no second run of the plan.
            client
                .batch_execute("BEGIN; SET LOCAL check_function_bodies = false")
                .await
                .map_err(|e| Error::db("checking the down migration", e))?;
            let checked = async {
                crate::postgres::run_pipelined(client, down.steps.iter().map(|s| s.sql.as_str()), || {})
                    .await
                    .map_err(|(at, e)| {
                        Error::db(
                            format!(
                                "the down migration fails on a copy of the state after the migration, at `{}`",
                                first_line(&down.steps[at].sql)
                            ),
                            e,
                        )
                    })?;
                let back = introspect_within(client, scope, &[]).await?.catalog;
                let probes = Probes::in_transaction(client, version);
                crate::apply::verify::converged(fixpoint, &back, from, &probes, "the down migration")
                    .await
            }
            .await;
            let _ = client.batch_execute("ROLLBACK").await;
            checked?;
        } else {
            for (i, down) in downs.iter().enumerate().rev() {
                let before = if i == 0 { from } else { &after[i - 1] };
                crate::apply::apply(client, down).await.map_err(|f| {
                    Error::Invalid(format!(
                        "the down migration fails on a copy of the state after the migration: {f}"
                    ))
                })?;
                let back = introspect(client, scope).await?.catalog;
                let probes = Probes::on(client, version);
                crate::apply::verify::converged(
                    fixpoint,
                    &back,
                    before,
                    &probes,
                    "the down migration",
                )
                .await?;
            }
            // And up again: the kept history holds the state after the plan.
            for plan in files {
                crate::apply::apply(client, plan).await.map_err(|f| {
                    Error::Invalid(format!("the plan fails after its down migration ran: {f}"))
                })?;
            }
            let end = introspect(client, scope).await?.catalog;
            let probes = Probes::on(client, version);
            crate::apply::verify::converged(fixpoint, &end, to, &probes, "the plan after its down")
                .await?;
        }
        crate::progress::debug_timed("verified the down migrations", started);
        Ok(downs)
    }
}

/// The kept history after a verified plan, waiting to be told which migrations give it.
pub struct Advanced<'a> {
    /// `None` when it was discarded after the plan was verified.
    kept: Option<Kept<'a>>,
    meta: Meta,
}

impl Advanced<'_> {
    /// Records that the kept history holds what `migrations` give (the plan was written as the
    /// last of them), and lets it go.
    pub async fn record(self, migrations: &[Migration], server_version: u32, scope: &Scope) {
        let key = crate::source::migrations::history_key(migrations, server_version, scope);
        let meta = Meta {
            key: key.hex(),
            migrations: migrations.iter().map(history_entry).collect(),
            ..self.meta
        };
        if let Some(kept) = self.kept {
            let _ = kept.set_meta(&meta).await;
            kept.release().await;
        }
    }

    /// Lets the kept history go without recording anything (it holds no known state).
    pub async fn abandon(self) {
        if let Some(kept) = self.kept {
            kept.release().await;
        }
    }
}

fn history_entry(migration: &Migration) -> String {
    format!("{} {}", migration.file_name, migration.checksum)
}

fn files_of(declared: &Declared) -> Files {
    Files {
        files: declared
            .files
            .iter()
            .map(|f| {
                let relative = f.path.strip_prefix(&declared.dir).unwrap_or(&f.path);
                (relative.to_string_lossy().into_owned(), f.text.clone())
            })
            .collect(),
    }
}

/// Applies again, in the kept declared state (holding `previous`, normalised from `files`), the
/// units whose statements differ in `declared`; returns the new catalog and how many units ran.
/// Any failure leaves the kept state as it was (one transaction, rolled back).
async fn incremental(
    kept: &Kept<'_>,
    declared: &Declared,
    previous: &Catalog,
    files: &Files,
    scope: &Scope,
    fixpoint: &Fixpoint,
    meta: &Meta,
) -> std::result::Result<(Catalog, usize), String> {
    let old_files: Vec<DeclaredFile> = files
        .files
        .iter()
        .map(|(path, text)| DeclaredFile {
            path: declared.dir.join(path),
            text: text.clone(),
        })
        .collect();
    let old_statements: Vec<String> = old_files
        .iter()
        .flat_map(|f| strata_core::split::split(&f.text))
        .map(|s| s.text)
        .collect();
    let new_statements = declared.statements();
    let old_units = units::group(old_statements.iter().map(String::as_str), previous)
        .ok_or("a statement of the previous files has no unit")?;
    let new_units = units::group(
        new_statements.iter().map(|(_, s)| s.text.as_str()),
        previous,
    )
    .ok_or("a statement has no unit")?;
    let changed = units::changed(&old_units, &new_units, previous)
        .ok_or("a statement of no unit came, went or names an object that runs again")?;
    let to_run: Vec<(&DeclaredFile, strata_core::split::Statement)> = new_statements
        .iter()
        .filter(|(_, s)| units::unit_of(&s.text, previous).is_some_and(|u| changed.contains(&u)))
        .map(|(f, s)| (*f, s.clone()))
        .collect();
    let client = kept.client();
    let outcome = crate::postgres::in_transaction(
        client,
        "BEGIN; SET LOCAL check_function_bodies = false",
        "the declared schema",
        async || {
            let started = std::time::Instant::now();
            for drop in units::drops(&changed, previous) {
                client
                    .batch_execute(&drop)
                    .await
                    .map_err(|e| Error::db(format!("running `{drop}`"), e))?;
            }
            crate::source::declared::run_statements(client, to_run).await?;
            crate::progress::debug_timed("dropped and ran the changed units", started);
            let applied = introspect_within(client, scope, &[]).await?.catalog;
            crate::progress::debug_timed("read the catalog", started);
            let wanted = units::replace_units(previous, &applied, &changed);
            let version = crate::postgres::server_version(client).await?;
            let probes = Probes::in_transaction(client, version);
            let restore = fixpoint.diff(&applied, &wanted, &[], &probes).await?;
            for step in &restore.steps {
                let sql = without_concurrently(&step.sql);
                client
                    .batch_execute(&sql)
                    .await
                    .map_err(|e| Error::db(format!("restoring `{}`", first_line(&sql)), e))?;
            }
            crate::progress::debug_timed("restored what the cascade took", started);
            // The database must now hold the catalog computed for it: a unit whose meaning
            // depended on a changed one and was restored as it was would show here. When
            // nothing needed restoring, nothing ran since `applied` was read, and the empty
            // `restore` plan already says that it holds `wanted`.
            if !restore.steps.is_empty() {
                let result = introspect_within(client, scope, &[]).await?.catalog;
                crate::apply::verify::converged(
                    fixpoint,
                    &result,
                    &wanted,
                    &probes,
                    "the declared state",
                )
                .await?;
                crate::progress::debug_timed("checked the declared state", started);
            }
            kept.set_meta(meta).await?;
            Ok(wanted)
        },
    )
    .await;
    outcome
        .map(|catalog| (catalog, changed.len()))
        .map_err(|e| e.to_string())
}

/// A step as it runs inside a transaction in a scratch state: `CONCURRENTLY` only spares a live
/// table's readers and writers, the catalog is the same.
fn without_concurrently(sql: &str) -> String {
    sql.replacen("INDEX CONCURRENTLY ", "INDEX ", 1)
}

fn first_line(sql: &str) -> &str {
    sql.lines().next().unwrap_or("")
}

/// A debug line, printed when `STRATA_LOG` asks for it.
fn tracing_debug(message: &str) {
    if crate::progress::debug_enabled() {
        eprintln!("strata: debug: {message}");
    }
}

/// Takes the kept database's advisory lock, polling (a waiter blocked in `pg_advisory_lock`
/// holds a snapshot, which a `CREATE INDEX CONCURRENTLY` of the holder would wait for).
async fn lock(server: &ScratchServer, name: &str) -> Result<()> {
    let mut delay = std::time::Duration::from_millis(20);
    let mut said = false;
    loop {
        let locked: bool = server
            .admin()
            .query_one(
                "SELECT pg_try_advisory_lock($1, ('x' || md5($2))::bit(32)::int4 & 2147483647)",
                &[&LOCK_CLASS, &name],
            )
            .await
            .map_err(|e| Error::db(format!("waiting for {name}"), e))?
            .get(0);
        if locked {
            return Ok(());
        }
        if !said {
            said = true;
            eprintln!("strata: waiting for another strata process of this project ({name})");
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(std::time::Duration::from_millis(500));
    }
}

async fn unlock(server: &ScratchServer, name: &str) {
    // The lock dies with the connection anyway; a failure here leaks nothing.
    let _ = server
        .admin()
        .query_one(
            "SELECT pg_advisory_unlock($1, ('x' || md5($2))::bit(32)::int4 & 2147483647)",
            &[&LOCK_CLASS, &name],
        )
        .await;
}

/// The name of this machine, to tell its project folders from other machines' on a shared
/// server.
fn host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default()
}

/// Drops the kept databases of this machine's projects whose folder is gone, unless a process
/// uses them. Returns their names.
pub async fn sweep(server: &ScratchServer) -> Result<Vec<String>> {
    let rows = server
        .admin()
        .query(
            "SELECT d.datname, shobj_description(d.oid, 'pg_database') FROM pg_database d \
             WHERE d.datname LIKE 'strata\\_state\\_%' \
               AND NOT EXISTS (SELECT 1 FROM pg_locks l \
                               WHERE l.locktype = 'advisory' AND l.objsubid = 2 \
                                 AND l.classid = $1::int4::oid \
                                 AND l.objid = ('x' || md5(d.datname))::bit(32)::int4 & 2147483647)",
            &[&LOCK_CLASS],
        )
        .await
        .map_err(|e| Error::db("listing kept databases", e))?;
    let here = host();
    let mut dropped = Vec::new();
    for row in rows {
        let name: String = row.get(0);
        let Some(meta) = row
            .get::<_, Option<String>>(1)
            .and_then(|json| serde_json::from_str::<Meta>(&json).ok())
        else {
            continue;
        };
        if meta.host == here && !meta.root.is_empty() && !Path::new(&meta.root).exists() {
            let sql = format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&name)
            );
            if server.admin().batch_execute(&sql).await.is_ok() {
                dropped.push(name);
            }
        }
    }
    Ok(dropped)
}

/// Drops the kept databases of the project at `root` (its cache of normalised states).
pub async fn forget(server: &ScratchServer, root: &Path) -> Result<()> {
    let states = States::new(server, root);
    for kind in ["declared", "history"] {
        let name = states.name(kind);
        lock(server, &name).await?;
        let dropped = server
            .admin()
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&name)
            ))
            .await
            .map_err(|e| Error::db(format!("dropping {name}"), e));
        unlock(server, &name).await;
        dropped?;
    }
    Ok(())
}
