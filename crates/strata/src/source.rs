//! Sources of a schema state: anything that can become a [`Catalog`].
//!
//! A source is a database (its URL) or a folder of declared SQL files (normalised in a scratch
//! database). Migration histories join this list with the commands that need them.

use strata_core::catalog::{Catalog, QualName};

use crate::declared::Declared;
use crate::introspect::{Scope, introspect_without};
use crate::scratch::ScratchServer;
use crate::url::DbUrl;
use crate::{Error, Result};

/// Where a schema state comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A live database.
    Database(DbUrl),
    /// A folder of declared SQL files, one sub-folder per schema.
    Declared(std::path::PathBuf),
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
        let path = std::path::PathBuf::from(text);
        if path.is_dir() {
            return Ok(Source::Declared(path));
        }
        Err(Error::Invalid(format!(
            "`{text}` is neither a database URL (postgres://user@host/db) nor a folder of declared schema files"
        )))
    }

    /// The catalog of the source's managed schemas. Declared files need a server for a scratch
    /// database.
    /// `tracking` names strata's tracking tables, left out of a database's catalog.
    pub async fn catalog(
        &self,
        scope: &Scope,
        scratch: Option<&ScratchServer>,
        tracking: &[QualName],
    ) -> Result<Catalog> {
        match self {
            Source::Database(url) => {
                let client = crate::pg::connect(url).await?;
                Ok(introspect_without(&client, scope, tracking).await?.catalog)
            }
            Source::Declared(dir) => {
                let declared = Declared::load(dir, &[])?;
                let server = scratch
                    .ok_or_else(|| Error::Invalid("declared files need a scratch server".into()))?;
                declared.catalog(server, scope).await
            }
        }
    }

    /// The schemas a declared folder manages (`None` for a database).
    pub fn declared_schemas(&self) -> Result<Option<Vec<String>>> {
        match self {
            Source::Database(_) => Ok(None),
            Source::Declared(dir) => Ok(Some(Declared::load(dir, &[])?.schemas)),
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Database(url) => write!(f, "{url}"),
            Source::Declared(dir) => write!(f, "{}", dir.display()),
        }
    }
}
