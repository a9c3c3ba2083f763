//! Which environment a database is (`production`, `staging`, …): the production guard.
//!
//! Commands that destroy data (`data reset`) refuse a production database. Whether it is one
//! comes from two places, and either is enough: the mark stored on the database itself (`strata
//! data env production`, an `ALTER DATABASE … SET strata.env`), and `STRATA_ENV` in the
//! environment of the command.
//!
//! The mark is read from the database's own setting in `pg_db_role_setting`, not with
//! `current_setting`: a role's setting (`ALTER ROLE … SET strata.env`) or the connection's
//! (`?options=-c strata.env=dev`) would override it there. A `strata.env` in the server's
//! configuration file counts too, when the user may read it (`pg_file_settings`). Names are compared trimmed and
//! without regard to case, `prod` means `production`, and a name strata does not know is never
//! stored, and makes the guard refuse rather than guess.

use std::fmt;

use tokio_postgres::Client;

use crate::{Error, Result};

/// An environment strata knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// `production` (or `prod`): destructive commands refuse it.
    Production,
    /// `staging` (or `stage`).
    Staging,
    /// `development` (or `dev`).
    Development,
    /// `test`.
    Test,
}

/// The names `parse` accepts, for messages.
const KNOWN: &str = "production (prod), staging, development (dev) or test";

impl Environment {
    /// Reads a name: trimmed, any case, with the usual short forms.
    pub fn parse(text: &str) -> Option<Environment> {
        match text.trim().to_lowercase().as_str() {
            "production" | "prod" => Some(Environment::Production),
            "staging" | "stage" => Some(Environment::Staging),
            "development" | "dev" => Some(Environment::Development),
            "test" | "testing" => Some(Environment::Test),
            _ => None,
        }
    }

    /// The name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Staging => "staging",
            Environment::Development => "development",
            Environment::Test => "test",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads a name given on the command line, refusing one strata does not know.
pub fn parse_given(text: &str) -> Result<Environment> {
    Environment::parse(text).ok_or_else(|| {
        Error::Invalid(format!(
            "`{text}` is not an environment strata knows; use {KNOWN}; nothing was changed"
        ))
    })
}

/// The mark stored on the connected database (`ALTER DATABASE … SET strata.env`), as written.
pub async fn database_mark(client: &Client) -> Result<Option<String>> {
    let row = client
        .query_one(
            "SELECT (SELECT nullif(substr(c, length('strata.env=') + 1), '') \
                     FROM unnest(s.setconfig) AS c WHERE c LIKE 'strata.env=%' LIMIT 1) \
             FROM pg_database d \
             LEFT JOIN pg_db_role_setting s ON s.setdatabase = d.oid AND s.setrole = 0 \
             WHERE d.datname = current_database()",
            &[],
        )
        .await
        .map_err(|e| Error::db("reading the database's environment mark", e))?;
    Ok(row.get(0))
}

/// `strata.env` in the server's configuration file, when this user may read it (superusers and
/// `pg_read_all_settings`; for others it stays unknown, and the database's mark decides).
async fn server_mark(client: &Client) -> Option<String> {
    client
        .query_opt(
            "SELECT setting FROM pg_file_settings WHERE name = 'strata.env' AND applied",
            &[],
        )
        .await
        .ok()
        .flatten()
        .and_then(|row| row.get::<_, Option<String>>(0))
        .filter(|s| !s.trim().is_empty())
}

/// Marks the connected database as `env`; new sessions see it.
pub async fn mark_database(client: &Client, env: Environment) -> Result<()> {
    let database: String = client
        .query_one("SELECT current_database()", &[])
        .await
        .map_err(|e| Error::db("reading the database name", e))?
        .get(0);
    let sql = format!(
        "ALTER DATABASE {} SET strata.env = {}",
        strata_core::sql::quote_ident(&database),
        strata_core::sql::quote_literal(env.as_str())
    );
    client.batch_execute(&sql).await.map_err(|e| {
        Error::db(
            "marking the database (this needs its owner or a superuser)",
            e,
        )
    })
}

/// Refuses `action` on a production database: marked so, or `STRATA_ENV` says so. A mark or a
/// `STRATA_ENV` that names no known environment is refused too: it may have meant production.
pub async fn refuse_production(
    client: &Client,
    strata_env: Option<&str>,
    action: &str,
    url: &str,
) -> Result<()> {
    let mark = database_mark(client).await?;
    let server = server_mark(client).await;
    for (name, source) in [
        (mark.as_deref(), "the database's mark (strata data env)"),
        (server.as_deref(), "the server's configuration file"),
        (strata_env, "STRATA_ENV"),
    ] {
        let Some(name) = name else {
            continue;
        };
        match Environment::parse(name) {
            Some(Environment::Production) => {
                return Err(Error::Invalid(format!(
                    "refusing to {action} on {url}: it is a production database ({source} says `{name}`); nothing was changed"
                )));
            }
            Some(_) => {}
            None => {
                return Err(Error::Invalid(format!(
                    "refusing to {action} on {url}: {source} says `{name}`, which is not an environment strata knows, so it may be production; \
                     use {KNOWN}; nothing was changed"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_any_case() {
        for name in [
            "production",
            "Production",
            "PRODUCTION",
            " production ",
            "prod",
            "PROD\n",
        ] {
            assert_eq!(
                Environment::parse(name),
                Some(Environment::Production),
                "{name:?}"
            );
        }
        assert_eq!(Environment::parse("Dev"), Some(Environment::Development));
        assert_eq!(Environment::parse("prodution"), None);
        assert!(parse_given("prodution").is_err());
    }
}
