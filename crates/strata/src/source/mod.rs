//! Sources of a schema state: anything that can become a [`Catalog`].
//!
//! A source is a database (its URL), a folder of declared SQL files (normalised in a scratch
//! database), or a migrations folder (replayed in a scratch database).

pub mod cache;
pub mod declared;
pub mod files;
pub mod migrations;

use strata_core::catalog::{Catalog, QualName};

use crate::introspect::{Scope, introspect_without};
use crate::normalise::scratch::ScratchServer;
use crate::postgres::url::DbUrl;
use crate::source::cache::Cache;
use crate::source::declared::Declared;
use crate::source::migrations::MigrationsDir;
use crate::{Error, Result};

/// Where a schema state comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A live database.
    Database(DbUrl),
    /// A folder of declared SQL files, one sub-folder per schema.
    Declared(std::path::PathBuf),
    /// A migrations folder (`NNNN_description.sql` files): the state its migrations give.
    Migrations(std::path::PathBuf),
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
            let folder = MigrationsDir::load(&path);
            if path.join(crate::source::migrations::SUM_FILE).is_file()
                || folder.is_ok_and(|f| !f.migrations.is_empty())
            {
                return Ok(Source::Migrations(path));
            }
            return Ok(Source::Declared(path));
        }
        Err(Error::Invalid(format!(
            "`{text}` is neither a database URL (postgres://user@host/db) nor a folder (declared schema files, or migrations)"
        )))
    }

    /// The catalog of the source's managed schemas. Declared files need a server for a scratch
    /// database.
    /// `tracking` names strata's tracking tables, left out of a database's catalog; folders are
    /// normalised through `cache`.
    pub async fn catalog(
        &self,
        scope: &Scope,
        scratch: Option<&ScratchServer>,
        tracking: &[QualName],
        cache: &Cache,
    ) -> Result<Catalog> {
        let scratch =
            || scratch.ok_or_else(|| Error::Invalid("a folder needs a scratch server".into()));
        match self {
            Source::Database(url) => {
                let client = crate::postgres::connect(url).await?;
                Ok(introspect_without(&client, scope, tracking).await?.catalog)
            }
            Source::Declared(dir) => {
                let declared = Declared::load(dir, &[])?;
                declared.cached_catalog(scratch()?, scope, cache).await
            }
            Source::Migrations(dir) => {
                let folder = MigrationsDir::load(dir)?;
                crate::source::migrations::replay(&folder.migrations, scratch()?, scope, cache)
                    .await
            }
        }
    }

    /// The schemas a declared folder manages (`None` for a database).
    pub fn declared_schemas(&self) -> Result<Option<Vec<String>>> {
        match self {
            Source::Database(_) | Source::Migrations(_) => Ok(None),
            Source::Declared(dir) => Ok(Some(Declared::load(dir, &[])?.schemas)),
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Database(url) => write!(f, "{url}"),
            Source::Declared(dir) | Source::Migrations(dir) => write!(f, "{}", dir.display()),
        }
    }
}
