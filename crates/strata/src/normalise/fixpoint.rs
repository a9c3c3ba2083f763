//! Deparsed text compared at its fixed point, with PostgreSQL as the judge.
//!
//! Two catalogs can hold different text for the same expression (see
//! [`strata_core::fixpoint`]): a `CHECK (status IN (…))` on a `varchar` column reads back in
//! another form once a plan re-creates it. Before two catalogs are diffed, every site whose text
//! differs is parsed again by PostgreSQL, on temporary objects, until the text stops changing;
//! sites whose texts reach the same fixed point are equal, and the diff plans nothing for them.
//!
//! The cost follows what differs, not the schema's size: only texts that differ are probed, all
//! probes of a round go to the server in one request, and each step (text → text PostgreSQL
//! reads back) is cached in the project's `.strata/cache`, keyed by the server's major version,
//! strata's version, the site's kind, what the text depends on (the owner's columns, the objects
//! it names) and the text itself. A failed probe is never cached.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest as _, Sha256};
use strata_core::catalog::Catalog;
use strata_core::diff::{Rename, deparse_pairs, diff_with};
use strata_core::fixpoint::{self, Pair, Site, Step};
use strata_core::plan::Plan;
use tokio::sync::OnceCell;
use tokio_postgres::Client;

use crate::introspect::Scope;
use crate::normalise::scratch::{ScratchDb, ScratchServer};
use crate::{Error, Result};

/// How many times a text is parsed again before strata gives up on its fixed point (PostgreSQL's
/// texts settle after one or two).
const LIMIT: usize = 6;

/// Bumped when what a cached step means changes.
const FORMAT: &str = "1";

/// The name of the cache file in the project's cache folder.
const FILE: &str = "fixpoint.json";

/// At most this many steps are kept on disk.
const KEEP: usize = 50_000;

/// The steps found so far, and where they are kept between runs.
pub struct Fixpoint {
    steps: Mutex<HashMap<String, Step>>,
    path: Option<PathBuf>,
    added: Mutex<bool>,
}

/// Where probes run: a database that holds the objects the texts hang on.
pub struct Probes<'a> {
    place: Place<'a>,
}

enum Place<'a> {
    /// A connection to such a database: the live database (probes only create temporary
    /// objects, rolled back), or a scratch copy. `in_transaction` when the connection is inside
    /// a transaction the probes must not end (they then use a savepoint).
    On {
        client: &'a Client,
        server_version: u32,
        in_transaction: bool,
    },
    /// A scratch database built from `catalog` on first need.
    Scratch {
        server: &'a ScratchServer,
        catalog: &'a Catalog,
        scope: &'a Scope,
        built: Box<OnceCell<(ScratchDb, Client)>>,
    },
}

impl<'a> Probes<'a> {
    /// Probes on `client`'s database, which is not inside a transaction.
    pub fn on(client: &'a Client, server_version: u32) -> Probes<'a> {
        Probes {
            place: Place::On {
                client,
                server_version,
                in_transaction: false,
            },
        }
    }

    /// Probes on `client`'s database inside the transaction it has open.
    pub fn in_transaction(client: &'a Client, server_version: u32) -> Probes<'a> {
        Probes {
            place: Place::On {
                client,
                server_version,
                in_transaction: true,
            },
        }
    }

    /// Probes on a scratch database of `server` holding `catalog`, built only if a probe is
    /// needed (see [`Probes::close`]).
    pub fn scratch(
        server: &'a ScratchServer,
        catalog: &'a Catalog,
        scope: &'a Scope,
    ) -> Probes<'a> {
        Probes {
            place: Place::Scratch {
                server,
                catalog,
                scope,
                built: Box::default(),
            },
        }
    }

    fn server_version(&self) -> u32 {
        match &self.place {
            Place::On { server_version, .. } => *server_version,
            Place::Scratch { server, .. } => server.server_version(),
        }
    }

    async fn client(&self) -> Result<(&Client, bool)> {
        match &self.place {
            Place::On {
                client,
                in_transaction,
                ..
            } => Ok((client, *in_transaction)),
            Place::Scratch {
                server,
                catalog,
                scope,
                built,
            } => {
                let (_, client) = built
                    .get_or_try_init(|| crate::apply::verify::build(server, catalog, scope))
                    .await?;
                Ok((client, false))
            }
        }
    }

    /// Drops the scratch database, if one was built.
    pub async fn close(self) -> Result<()> {
        if let Place::Scratch { server, built, .. } = self.place
            && let Some((db, client)) = (*built).into_inner()
        {
            drop(client);
            server.drop_db(db).await?;
        }
        Ok(())
    }
}

impl Fixpoint {
    /// Steps kept in `cache_dir` (a project's `.strata/cache`), or only in memory.
    pub fn new(cache_dir: Option<&Path>) -> Fixpoint {
        let path = cache_dir.map(|dir| dir.join(FILE));
        // A damaged or unreadable file is a cache miss, never an error.
        let steps = path
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| serde_json::from_slice::<HashMap<String, String>>(&bytes).ok())
            .map(|stored| stored.into_iter().map(|(k, v)| (k, Ok(v))).collect())
            .unwrap_or_default();
        Fixpoint {
            steps: Mutex::new(steps),
            path,
            added: Mutex::new(false),
        }
    }

    /// The plan from `from` to `to`, planning nothing for texts that only PostgreSQL's printing
    /// tells apart.
    pub async fn diff(
        &self,
        from: &Catalog,
        to: &Catalog,
        renames: &[Rename],
        probes: &Probes<'_>,
    ) -> Result<Plan> {
        let pairs = deparse_pairs(from, to, renames).map_err(|e| Error::Invalid(e.to_string()))?;
        let same = self.same(&pairs, to, probes).await?;
        diff_with(from, to, renames, &same, probes.server_version())
            .map_err(|e| Error::Invalid(e.to_string()))
    }

    /// The sites of `pairs` whose two texts reach the same fixed point. `context` is the catalog
    /// that describes the sites' owners (the wanted one).
    pub async fn same(
        &self,
        pairs: &[Pair],
        context: &Catalog,
        probes: &Probes<'_>,
    ) -> Result<BTreeSet<Site>> {
        if pairs.is_empty() {
            return Ok(BTreeSet::new());
        }
        let major = probes.server_version() / 10_000;
        let key = |site: &Site, text: &str| -> String {
            let mut hash = Sha256::new();
            for part in [
                FORMAT,
                env!("CARGO_PKG_VERSION"),
                &major.to_string(),
                &fixpoint::context(context, site, text),
                text,
            ] {
                hash.update((part.len() as u64).to_le_bytes());
                hash.update(part.as_bytes());
            }
            hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
        };
        let starts: Vec<(&Site, &str)> = pairs
            .iter()
            .flat_map(|p| [(&p.site, p.from.as_str()), (&p.site, p.to.as_str())])
            .collect();
        for _ in 0..LIMIT {
            // The first text of each chain whose next step is unknown.
            let mut wanted: Vec<(&Site, String)> = Vec::new();
            {
                let steps = self.steps.lock().expect("fixpoint steps poisoned");
                for (site, text) in &starts {
                    let mut current = text.to_string();
                    for _ in 0..LIMIT {
                        match steps.get(&key(site, &current)) {
                            Some(Ok(next)) if *next != current => current = next.clone(),
                            Some(_) => break,
                            None => {
                                if !wanted.iter().any(|(s, t)| s == site && *t == current) {
                                    wanted.push((site, current));
                                }
                                break;
                            }
                        }
                    }
                }
            }
            if wanted.is_empty() {
                break;
            }
            let found = self.run(&wanted, context, probes).await?;
            let mut steps = self.steps.lock().expect("fixpoint steps poisoned");
            for ((site, text), step) in wanted.iter().zip(found) {
                if step.is_ok() {
                    *self.added.lock().expect("fixpoint flag poisoned") = true;
                }
                steps.insert(key(site, text), step);
            }
        }
        let steps = self.steps.lock().expect("fixpoint steps poisoned");
        let point = |site: &Site, text: &str| {
            fixpoint::fixed_point(|t| steps.get(&key(site, t)).cloned(), text, LIMIT)
        };
        Ok(pairs
            .iter()
            .filter(|p| {
                let a = point(&p.site, &p.from);
                a.is_some() && a == point(&p.site, &p.to)
            })
            .map(|p| p.site.clone())
            .collect())
    }

    /// Runs one probe per text, all in one request; a text that cannot be probed gets an error.
    async fn run(
        &self,
        texts: &[(&Site, String)],
        context: &Catalog,
        probes: &Probes<'_>,
    ) -> Result<Vec<Step>> {
        let built: Vec<Option<fixpoint::Probe>> = texts
            .iter()
            .map(|(site, text)| fixpoint::probe(context, site, text))
            .collect();
        let statements: Vec<String> = built
            .iter()
            .map(|p| {
                p.as_ref()
                    .map_or_else(String::new, |p| p.statements.clone())
            })
            .collect();
        let reads: Vec<String> = built
            .iter()
            .map(|p| p.as_ref().map_or_else(String::new, |p| p.read.clone()))
            .collect();
        let (client, in_transaction) = probes.client().await?;
        let rows = run_probes(client, in_transaction, &statements, &reads).await?;
        Ok(texts
            .iter()
            .zip(built)
            .zip(rows)
            .map(
                |(((site, _), probe), (result, error))| match (probe, result) {
                    (None, _) => Err(format!("{site} cannot be parsed again")),
                    (Some(_), Some(text)) => Ok(fixpoint::read_back(site, &text)),
                    (Some(_), None) => Err(error.unwrap_or_else(|| "no text read back".into())),
                },
            )
            .collect())
    }

    /// Writes the steps found to the cache file (aside, then renamed). Failing to write only
    /// costs speed: it is ignored.
    pub fn save(&self) {
        let Some(path) = &self.path else { return };
        if !*self.added.lock().expect("fixpoint flag poisoned") {
            return;
        }
        let steps = self.steps.lock().expect("fixpoint steps poisoned");
        let stored: HashMap<&String, &String> = steps
            .iter()
            .filter_map(|(k, v)| v.as_ref().ok().map(|v| (k, v)))
            .take(KEEP)
            .collect();
        let Ok(bytes) = serde_json::to_vec(&stored) else {
            return;
        };
        let _ = (|| -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let partial = path.with_extension(format!("json.{}", std::process::id()));
            std::fs::write(&partial, bytes)?;
            std::fs::rename(&partial, path)
        })();
    }
}

/// The function that runs the probes: each in a subtransaction that it rolls back, keeping the
/// text read back (PL/pgSQL variables survive the rollback).
const RUNNER: &str = "CREATE FUNCTION pg_temp.strata_probe_run(statements text[], reads text[])
RETURNS TABLE (result text, error text) LANGUAGE plpgsql AS $strata$
BEGIN
  FOR i IN 1 .. coalesce(array_length(statements, 1), 0) LOOP
    result := NULL;
    error := NULL;
    IF statements[i] <> '' THEN
      BEGIN
        EXECUTE statements[i];
        EXECUTE reads[i] INTO result;
        RAISE EXCEPTION USING ERRCODE = 'SP000';
      EXCEPTION
        WHEN SQLSTATE 'SP000' THEN NULL;
        WHEN OTHERS THEN error := SQLERRM;
      END;
    END IF;
    RETURN NEXT;
  END LOOP;
END
$strata$";

/// Runs the probes in one request, inside a transaction (or a savepoint) that is rolled back.
async fn run_probes(
    client: &Client,
    in_transaction: bool,
    statements: &[String],
    reads: &[String],
) -> Result<Vec<(Option<String>, Option<String>)>> {
    let (begin, end) = if in_transaction {
        (
            "SAVEPOINT strata_fixpoint",
            "ROLLBACK TO SAVEPOINT strata_fixpoint; RELEASE SAVEPOINT strata_fixpoint",
        )
    } else {
        ("BEGIN", "ROLLBACK")
    };
    // Temporary objects only, never a wait for a lock the application holds for long.
    let setup = format!(
        "{begin}; SET LOCAL search_path = pg_catalog, pg_temp; SET LOCAL check_function_bodies = false; \
         SET LOCAL lock_timeout = '5s'; {RUNNER}"
    );
    let result = async {
        client
            .batch_execute(&setup)
            .await
            .map_err(|e| Error::db("preparing to compare expressions", e))?;
        client
            .query(
                "SELECT result, error FROM pg_temp.strata_probe_run($1::text[], $2::text[])",
                &[&statements, &reads],
            )
            .await
            .map_err(|e| Error::db("comparing expressions", e))
    }
    .await;
    let ended = client.batch_execute(end).await;
    let rows = result?;
    ended.map_err(|e| Error::db("ending the comparison of expressions", e))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}
