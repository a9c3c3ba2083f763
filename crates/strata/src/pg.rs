//! Connections to PostgreSQL, set up as libpq users expect ([`crate::libpq`], [`crate::tls`]),
//! and small helpers around them.
//!
//! Connecting never waits for ever: the whole of it (the TCP connection, the TLS handshake and
//! the server's first reply) must end within `connect_timeout` (10 s unless the URL or
//! `PGCONNECT_TIMEOUT` says otherwise); the driver's own timeout covers only the first of them,
//! and a server that accepts the connection and never answers would hang strata.

use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, NoTls};

use crate::config::Env;
use crate::libpq::Settings;
use crate::url::DbUrl;
use crate::{Error, Result};

pub use crate::libpq::APPLICATION_NAME;

/// Whether a table exists (`to_regclass`).
pub async fn table_exists(client: &Client, table: &strata_core::catalog::QualName) -> Result<bool> {
    let row = client
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL",
            &[&strata_core::render::qualified(table)],
        )
        .await
        .map_err(|e| Error::db(format!("looking for {table}"), e))?;
    Ok(row.get(0))
}

/// Opens a connection and drives it on the current tokio runtime, with libpq's defaults from
/// the process environment.
pub async fn connect(url: &DbUrl) -> Result<Client> {
    connect_with(url, &Env::from_process()).await
}

/// Opens a connection with libpq's defaults (`PGHOST`, `PGPASSWORD`, `~/.pgpass`, …) from `env`.
pub async fn connect_with(url: &DbUrl, env: &Env) -> Result<Client> {
    let settings = Settings::new(url, env)?;
    let connecting = open(url, &settings);
    match settings.timeout {
        None => connecting.await,
        Some(timeout) => tokio::time::timeout(timeout, connecting)
            .await
            .unwrap_or_else(|_| {
                Err(Error::ConnectTimeout {
                    url: url.to_string(),
                    hosts: settings.hosts(),
                    seconds: timeout.as_secs(),
                })
            }),
    }
}

async fn open(url: &DbUrl, settings: &Settings) -> Result<Client> {
    let connect_error = |error| Error::Connect {
        url: url.to_string(),
        error,
    };
    if settings.ssl == SslMode::Disable {
        let (client, connection) = settings
            .config
            .connect(NoTls)
            .await
            .map_err(connect_error)?;
        tokio::spawn(connection);
        return Ok(client);
    }
    let roots = settings.roots.clone().unwrap_or(crate::tls::Roots::System);
    let tls = crate::tls::connector(settings.verify, &roots)
        .map_err(|message| Error::Invalid(format!("{url}: {message}")))?;
    let (client, connection) = settings.config.connect(tls).await.map_err(connect_error)?;
    tokio::spawn(connection);
    Ok(client)
}

/// Where in `text` a failed statement's error points: the line and column of the server's error
/// position, else of the statement's start.
pub fn error_location(
    text: &str,
    statement: &strata_core::split::Statement,
    error: &tokio_postgres::Error,
) -> (usize, usize) {
    error_location_shifted(text, statement, error, 0)
}

/// As [`error_location`], for a statement sent after `shift` characters of other text.
pub fn error_location_shifted(
    text: &str,
    statement: &strata_core::split::Statement,
    error: &tokio_postgres::Error,
    shift: usize,
) -> (usize, usize) {
    match error.as_db_error().and_then(|d| d.position()) {
        Some(tokio_postgres::error::ErrorPosition::Original(position))
            if *position as usize > shift =>
        {
            statement.position(text, *position as usize - shift)
        }
        _ => (statement.line, statement.column),
    }
}

/// Runs `body` inside a transaction opened with `begin` (`BEGIN`, with options or `SET LOCAL`s):
/// commits when it succeeds, rolls back when it fails. `what` names the work in errors.
pub async fn in_transaction<T>(
    client: &Client,
    begin: &str,
    what: &str,
    body: impl AsyncFnOnce() -> Result<T>,
) -> Result<T> {
    client
        .batch_execute(begin)
        .await
        .map_err(|e| Error::db(format!("starting {what}"), e))?;
    match body().await {
        Ok(value) => {
            client
                .batch_execute("COMMIT")
                .await
                .map_err(|e| Error::db(format!("committing {what}"), e))?;
            Ok(value)
        }
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}
