//! strata's test harness: one PostgreSQL server per test run, one fresh database per test, and
//! an in-process S3-protocol server ([`s3::s3`]).
//!
//! The server is the one `STRATA_TEST_URL` names (a superuser URL of a server the run may create
//! databases on), or else a throwaway cluster that the first test of the process starts in a
//! temporary folder with the same machinery as `strata dev` (fsync off). A watcher stops that
//! cluster and deletes its folder when the test process exits, however it exits.
//!
//! Each [`TestDb`] is a database of its own, named `strata_test_…`, dropped when the value is
//! dropped. The process that created it holds an advisory lock for it, so a database left behind
//! by a killed test run is dropped by the next run on the same server, never one in use.
//!
//! ```no_run
//! # async fn example() {
//! let db = strata_testkit::TestDb::new().await;
//! let client = db.client().await;
//! client.batch_execute("CREATE TABLE t (id int)").await.unwrap();
//! # }
//! ```

pub mod dump;
pub mod generator;
pub mod requires;
pub mod s3;

use std::path::PathBuf;
use std::sync::OnceLock;

use strata::config::Env;
use strata::dev::Cluster;
use strata::normalise::scratch::ScratchServer;
use strata::postgres::url::DbUrl;
use strata_core::sql::quote_ident;
use tokio_postgres::Client;

/// Prefix of the databases the harness creates.
pub const PREFIX: &str = "strata_test_";

/// The server of this test run.
#[derive(Debug)]
pub struct TestServer {
    url: DbUrl,
    /// Set when the harness started its own cluster.
    data_dir: Option<PathBuf>,
}

impl TestServer {
    /// URL of the server's maintenance database (a superuser connection).
    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// The data directory of the harness's own cluster; `None` with `STRATA_TEST_URL`.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.data_dir.as_deref()
    }
}

/// The test run's server, started on first use.
///
/// # Panics
///
/// When no server can be had: the message says why (no PostgreSQL binaries, a bad URL).
pub fn server() -> &'static TestServer {
    static SERVER: OnceLock<Result<TestServer, String>> = OnceLock::new();
    match SERVER.get_or_init(start_server) {
        Ok(server) => server,
        Err(message) => panic!("strata-testkit: no PostgreSQL server for the tests: {message}"),
    }
}

fn start_server() -> Result<TestServer, String> {
    let env = Env::from_process();
    if let Some(url) = env.get("STRATA_TEST_URL") {
        return Ok(TestServer {
            url: DbUrl::new(url),
            data_dir: None,
        });
    }
    let (cluster, port) = Cluster::throwaway("strata-test", &env).map_err(|e| e.to_string())?;
    Ok(TestServer {
        url: Cluster::url(port),
        data_dir: Some(cluster.data_dir().to_path_buf()),
    })
}

/// A database of its own for one test, dropped when this value is dropped.
pub struct TestDb {
    name: String,
    url: DbUrl,
    // Holds the advisory lock that marks the database as in use; dropped last.
    _owner: ScratchServer,
}

impl TestDb {
    /// Creates a fresh, empty database on the test run's server.
    pub async fn new() -> TestDb {
        let server = server();
        let owner = ScratchServer::with_prefix(server.url(), PREFIX)
            .await
            .unwrap_or_else(|e| panic!("strata-testkit: {e}"));
        let db = owner
            .create(None)
            .await
            .unwrap_or_else(|e| panic!("strata-testkit: {e}"));
        TestDb {
            name: db.name().to_owned(),
            url: db.url().clone(),
            _owner: owner,
        }
    }

    /// A new database holding a copy of this one, as `CREATE DATABASE … TEMPLATE` makes it
    /// (sessions still connected to this one are ended first: a template must have none).
    pub async fn copy(&self) -> TestDb {
        let server = server();
        let owner = ScratchServer::with_prefix(server.url(), PREFIX)
            .await
            .unwrap_or_else(|e| panic!("strata-testkit: {e}"));
        let admin = strata::postgres::connect(server.url())
            .await
            .unwrap_or_else(|e| panic!("strata-testkit: {e}"));
        let mut attempts = 0;
        let db = loop {
            admin
                .query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                    &[&self.name],
                )
                .await
                .unwrap_or_else(|e| panic!("strata-testkit: {e}"));
            match owner.create(Some(&self.name)).await {
                Ok(db) => break db,
                // A session that was just ended may still be leaving.
                Err(_) if attempts < 100 => {
                    attempts += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => panic!("strata-testkit: {e}"),
            }
        };
        TestDb {
            name: db.name().to_owned(),
            url: db.url().clone(),
            _owner: owner,
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database's URL (superuser).
    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// A new connection to the database.
    pub async fn client(&self) -> Client {
        strata::postgres::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("strata-testkit: {e}"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be re-entered: use a thread with a
        // runtime of its own.
        let admin = server().url().clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let client = strata::postgres::connect(&admin)
                    .await
                    .map_err(|e| e.to_string())?;
                let sql = format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    quote_ident(&name)
                );
                client.batch_execute(&sql).await.map_err(|e| e.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            // The lock goes with `_owner`, so the next run sweeps the database: say so, don't panic in drop.
            Ok(Err(e)) => eprintln!("strata-testkit: could not drop {}: {e}", self.name),
            Err(_) => eprintln!("strata-testkit: could not drop {}", self.name),
        }
    }
}
