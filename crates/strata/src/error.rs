//! The error type shared by strata's library functions.

use std::path::PathBuf;

/// A `Result` whose error is strata's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop a strata command. Each message says what went wrong and, where
/// there is one, what to do about it. Every variant maps to exit code 2 on the command line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration file could not be read or parsed.
    #[error("{path}:{line}:{column}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong and what to do.
        message: String,
    },

    /// A setting is missing or contradicts another one.
    #[error("{0}")]
    Invalid(String),

    /// The PostgreSQL server binaries could not be found or used.
    #[error("{0}")]
    PgBinaries(String),

    /// The development cluster could not be initialised, started or stopped.
    #[error("{message}")]
    Cluster {
        /// What failed, and the tail of the server log when there is one.
        message: String,
    },

    /// A connection to a database failed. The URL is already redacted.
    #[error("cannot connect to {url}: {}", pg_message(.error))]
    Connect {
        /// Redacted URL of the database.
        url: String,
        /// The driver's error (its text is part of this error's message).
        error: tokio_postgres::Error,
    },

    /// Connecting took longer than `connect_timeout`. The URL is already redacted.
    #[error(
        "cannot connect to {url}: {hosts} did not complete the connection (TCP, TLS handshake and the server's first reply) within {seconds} s (connect_timeout); check that the server runs and answers there, or raise connect_timeout in the URL or PGCONNECT_TIMEOUT"
    )]
    ConnectTimeout {
        /// Redacted URL of the database.
        url: String,
        /// The hosts and ports tried.
        hosts: String,
        /// The timeout, in seconds.
        seconds: u64,
    },

    /// A statement or query failed.
    #[error("{context}: {}", pg_message(.error))]
    Db {
        /// What strata was doing.
        context: String,
        /// The driver's error (its text is part of this error's message).
        error: tokio_postgres::Error,
    },

    /// A file or process operation failed.
    #[error("{context}: {error}")]
    Io {
        /// What strata was doing, naming the file or program.
        context: String,
        /// The operating system's error (its text is part of this error's message).
        error: std::io::Error,
    },

    /// A plan, applied to a scratch copy, did not reach the wanted state. This is a bug in
    /// strata: nothing was written or run.
    #[error(
        "{what} does not converge: applied to a scratch copy, a second diff still finds\n  {}\n\
         nothing was written or run; please report this with the schemas involved",
        remaining.join("\n  ")
    )]
    NotConverged {
        /// What did not converge.
        what: String,
        /// The first line of each step the second diff still finds.
        remaining: Vec<String>,
    },

    /// The command needs a project (a `strata.toml` in the working folder or a parent) and
    /// there is none, nor a database URL to work on instead. Nothing was started or written.
    #[error("no strata.toml here or above; run `strata init`")]
    NoProject,

    /// The command was interrupted (Ctrl-C); cleanup has run.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            error: source,
        }
    }

    pub(crate) fn db(context: impl Into<String>, source: tokio_postgres::Error) -> Self {
        Error::Db {
            context: context.into(),
            error: source,
        }
    }
}

/// The server's own message for a database error (with detail and hint), or the driver's text.
fn pg_message(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = format!("{} ({})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(&format!("\n  detail: {detail}"));
            }
            if let Some(hint) = db.hint() {
                text.push_str(&format!("\n  hint: {hint}"));
            }
            text
        }
        // The driver's own text for I/O and protocol errors, with its cause.
        None => match std::error::Error::source(error) {
            Some(cause) => format!("{error}: {cause}"),
            None => error.to_string(),
        },
    }
}
