//! Connections to PostgreSQL, set up as libpq users expect ([`crate::postgres::libpq`], [`crate::postgres::tls`]),
//! and small helpers around them.
//!
//! Connecting never waits for ever: the whole of it (the TCP connection, the TLS handshake and
//! the server's first reply) must end within `connect_timeout` (10 s unless the URL or
//! `PGCONNECT_TIMEOUT` says otherwise); the driver's own timeout covers only the first of them,
//! and a server that accepts the connection and never answers would hang strata.

pub mod environment;
mod libpq;
pub mod lock;
mod tls;
pub mod url;

use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, NoTls};

use crate::config::Env;
use crate::postgres::libpq::Settings;
use crate::postgres::url::DbUrl;
use crate::{Error, Result};

pub use crate::postgres::libpq::APPLICATION_NAME;

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

/// The server's `server_version_num` (e.g. 150018).
pub async fn server_version(client: &Client) -> Result<u32> {
    let row = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .map_err(|e| Error::db("reading the server version", e))?;
    Ok(row.get::<_, i32>(0) as u32)
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
    let roots = settings
        .roots
        .clone()
        .unwrap_or(crate::postgres::tls::Roots::System);
    let tls = crate::postgres::tls::connector(settings.verify, &roots)
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

/// Runs statements one after the other without waiting for each answer before sending the next
/// (pipelined on the one connection, in order, at most a few hundred in flight), calling
/// `done` as each completes. Stops at the first failure: its index and error. Inside a
/// transaction the statements after a failure fail too ("transaction is aborted"); those are
/// not the failure reported.
///
/// One round trip per statement is what makes applying thousands of statements slow when each
/// waits for the last; PostgreSQL runs them in the order sent either way.
pub async fn run_pipelined<'t>(
    client: &Client,
    statements: impl IntoIterator<Item = &'t str>,
    mut done: impl FnMut(),
) -> std::result::Result<(), (usize, tokio_postgres::Error)> {
    use futures_util::StreamExt as _;
    const IN_FLIGHT: usize = 256;
    let mut first_failure: Option<(usize, tokio_postgres::Error)> = None;
    let statements: Vec<&str> = statements.into_iter().collect();
    for (chunk_index, chunk) in statements.chunks(IN_FLIGHT).enumerate() {
        let mut running: futures_util::stream::FuturesOrdered<_> = chunk
            .iter()
            .enumerate()
            .map(|(i, sql)| async move {
                (chunk_index * IN_FLIGHT + i, client.batch_execute(sql).await)
            })
            .collect();
        while let Some((index, result)) = running.next().await {
            match result {
                Ok(()) => done(),
                Err(error) => {
                    let aborted = error.code()
                        == Some(&tokio_postgres::error::SqlState::IN_FAILED_SQL_TRANSACTION);
                    if first_failure.is_none()
                        || (!aborted
                            && first_failure.as_ref().is_some_and(|(_, e)| {
                                e.code()
                                    == Some(
                                        &tokio_postgres::error::SqlState::IN_FAILED_SQL_TRANSACTION,
                                    )
                            }))
                    {
                        first_failure = Some((index, error));
                    }
                }
            }
        }
        if first_failure.is_some() {
            break;
        }
    }
    first_failure.map_or(Ok(()), Err)
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
