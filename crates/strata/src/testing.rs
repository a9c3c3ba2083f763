//! Helpers for testing data migrations: a disposable database, and a check that a migration is
//! reversible.
//!
//! ```no_run
//! # async fn example(migration: strata::data::Migration) -> Result<(), Box<dyn std::error::Error>> {
//! use strata::testing::TestDatabase;
//!
//! let mut db = TestDatabase::new().await?;
//! db.execute("CREATE SCHEMA questions; CREATE TABLE questions.batteries (id serial, name text)")
//!     .await?;
//! db.assert_reversible("questions", &migration).await?;
//! db.drop().await?;
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;

use strata_core::catalog::Catalog;
use strata_core::render::qualified;
use tokio_postgres::Client;

use crate::data::{Context, Migration};
use crate::introspect::{Scope, introspect};
use crate::normalise::scratch::{ScratchDb, ScratchServer};
use crate::postgres::url::DbUrl;
use crate::{Error, Result};

/// A database that exists for one test: created empty on a server, dropped by
/// [`TestDatabase::drop`] (or, when a test panics first, by the next run's sweep).
pub struct TestDatabase {
    server: ScratchServer,
    db: ScratchDb,
    client: Client,
    fetcher: crate::fetch::Fetcher,
}

/// A database's state for comparison: its catalog and a fingerprint of every table's rows.
#[derive(Debug, PartialEq, Eq)]
struct State {
    catalog: Catalog,
    /// Table → (rows, md5 of the rows in order).
    contents: BTreeMap<String, (i64, String)>,
}

impl TestDatabase {
    /// A new database on `STRATA_TEST_URL` (a server where the user may create databases), else on
    /// the project's development database (started when needed).
    pub async fn new() -> Result<TestDatabase> {
        let url = match std::env::var("STRATA_TEST_URL") {
            Ok(url) if !url.is_empty() => DbUrl::new(url),
            _ => {
                let cwd = std::env::current_dir()
                    .map_err(|e| Error::io("reading the working directory", e))?;
                let project =
                    crate::config::Project::load(&cwd, None, crate::config::Env::from_process())?;
                let cluster = crate::dev::Cluster::new(
                    crate::dev::ClusterOptions {
                        data_dir: project.dev_data_dir(),
                        durable: true,
                    },
                    &project.env,
                )?;
                crate::dev::Cluster::url(cluster.start()?.port())
            }
        };
        TestDatabase::on(&url).await
    }

    /// A new database on the server of `url`.
    pub async fn on(url: &DbUrl) -> Result<TestDatabase> {
        let server = ScratchServer::with_prefix(url, "strata_testing_").await?;
        let db = server.create(None).await?;
        let client = crate::postgres::connect(db.url()).await?;
        Ok(TestDatabase {
            server,
            db,
            client,
            fetcher: crate::fetch::Fetcher::new(crate::config::Env::from_process()),
        })
    }

    /// Reads AWS settings for the migrations' inputs from `env` instead of the process
    /// environment (tests that point at their own object store).
    pub fn with_env(mut self, env: crate::config::Env) -> TestDatabase {
        self.fetcher = crate::fetch::Fetcher::new(env);
        self
    }

    /// The database's URL.
    pub fn url(&self) -> &DbUrl {
        self.db.url()
    }

    /// A connection to it.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs SQL (several statements separated by semicolons), e.g. to create the schema.
    pub async fn execute(&self, sql: &str) -> Result<()> {
        self.client
            .batch_execute(sql)
            .await
            .map_err(|e| Error::db("running SQL in the test database", e))
    }

    /// Runs a migration's `up` (committed), as `strata data migrate` would, without a tracking
    /// row.
    pub async fn up(&mut self, schema: &str, migration: &Migration) -> Result<()> {
        self.run(schema, migration, true).await
    }

    /// Runs a migration's `down` (committed).
    pub async fn down(&mut self, schema: &str, migration: &Migration) -> Result<()> {
        self.run(schema, migration, false).await
    }

    async fn run(&mut self, schema: &str, migration: &Migration, up: bool) -> Result<()> {
        let name = migration.name();
        let tx = self
            .client
            .transaction()
            .await
            .map_err(|e| Error::db("starting a transaction", e))?;
        let mut cx = Context::new(&tx, schema, &name, &self.fetcher);
        let result = if up {
            migration.up(&mut cx).await
        } else {
            migration.down(&mut cx).await
        };
        result.map_err(|e| {
            Error::Invalid(format!(
                "{} of {name} failed: {e}",
                if up { "up" } else { "down" }
            ))
        })?;
        tx.commit()
            .await
            .map_err(|e| Error::db(format!("committing {name}"), e))
    }

    /// Checks that `migration` is reversible here: `up`, then `down`, leaves the catalog and the
    /// contents of every table as they were, and `up` succeeds again afterwards. The error says
    /// which tables differ.
    pub async fn assert_reversible(&mut self, schema: &str, migration: &Migration) -> Result<()> {
        let name = migration.name();
        let start = self.state().await?;
        self.up(schema, migration).await?;
        self.down(schema, migration).await?;
        let end = self.state().await?;
        if start != end {
            let mut differences = Vec::new();
            if start.catalog != end.catalog {
                differences.push("the schema differs".to_owned());
            }
            let tables: std::collections::BTreeSet<&String> =
                start.contents.keys().chain(end.contents.keys()).collect();
            for table in tables {
                let before = start.contents.get(table);
                let after = end.contents.get(table);
                if before != after {
                    let rows = |s: Option<&(i64, String)>| s.map_or(0, |(n, _)| *n);
                    differences.push(format!(
                        "{table} had {} row(s) and has {} afterwards{}",
                        rows(before),
                        rows(after),
                        if rows(before) == rows(after) {
                            " (with different contents)"
                        } else {
                            ""
                        }
                    ));
                }
            }
            return Err(Error::Invalid(format!(
                "{name} is not reversible: after up and down, {}",
                differences.join("; ")
            )));
        }
        self.up(schema, migration)
            .await
            .map_err(|e| Error::Invalid(format!("{name}: up after down failed: {e}")))
    }

    async fn state(&self) -> Result<State> {
        let catalog = introspect(&self.client, &Scope::AllUserSchemas)
            .await?
            .catalog;
        let mut contents = BTreeMap::new();
        for table in catalog.tables.keys() {
            let sql = format!(
                "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM {} t",
                qualified(table)
            );
            let row = self
                .client
                .query_one(&sql, &[])
                .await
                .map_err(|e| Error::db(format!("reading {table}"), e))?;
            contents.insert(table.to_string(), (row.get(0), row.get(1)));
        }
        Ok(State { catalog, contents })
    }

    /// Drops the database.
    pub async fn drop(self) -> Result<()> {
        drop(self.client);
        self.server.drop_db(self.db).await
    }
}
