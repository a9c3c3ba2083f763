//! Sources of a schema state: anything that can become a [`Catalog`].
//!
//! Today a source is a database (its URL). Folders of declared SQL files and migration
//! histories become catalogs through scratch databases and join this list with the commands
//! that need them.

use strata_core::catalog::Catalog;

use crate::introspect::{Scope, introspect};
use crate::url::DbUrl;
use crate::{Error, Result};

/// Where a schema state comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A live database.
    Database(DbUrl),
}

impl Source {
    /// Reads a source given on the command line.
    pub fn parse(text: &str) -> Result<Source> {
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("postgres://")
            || lower.starts_with("postgresql://")
            || text.contains('=')
        {
            return Ok(Source::Database(DbUrl::new(text)));
        }
        Err(Error::Invalid(format!(
            "`{text}` is not a database URL; give one like postgres://user@host/db (declared-file folders are not a source yet)"
        )))
    }

    /// The catalog of the source's managed schemas.
    pub async fn catalog(&self, scope: &Scope) -> Result<Catalog> {
        match self {
            Source::Database(url) => {
                let client = crate::pg::connect(url).await?;
                Ok(introspect(&client, scope).await?.catalog)
            }
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Database(url) => write!(f, "{url}"),
        }
    }
}
