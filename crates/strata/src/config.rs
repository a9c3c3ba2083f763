//! Project configuration: `strata.toml`, `.env`, and which database a command talks to.
//!
//! The configuration file is found in the working directory or its parents (`--config PATH`
//! overrides). Its folder is the project root: relative paths in it are relative to that folder.
//! A `.env` file beside it is read too; variables already set in the environment win, as with
//! every dotenv tool.
//!
//! The database a command uses is, in order: `--url`, `DATABASE_URL`, `database.url` in the file,
//! and otherwise the embedded development cluster.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use strata_core::catalog::QualName;

use crate::postgres::url::DbUrl;
use crate::{Error, Result};

/// The configuration file's name.
pub const FILE_NAME: &str = "strata.toml";

/// The contents of `strata.toml`. Every section and key is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigFile {
    /// `[database]`
    pub database: DatabaseSection,
    /// `[dev]`
    pub dev: DevSection,
    /// `[schema]`
    pub schema: SchemaSection,
    /// `[migrations]`
    pub migrations: MigrationsSection,
    /// `[data]`
    pub data: DataSection,
    /// `[codegen]`
    pub codegen: CodegenSection,
}

/// `[codegen]`: Rust types generated from the declared schema for typed data migrations.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodegenSection {
    /// The Rust file to write, relative to the project root (`src/schema.rs`); none: no code.
    pub rust: Option<PathBuf>,
}

/// `[database]`: the target database and the server used for scratch databases.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSection {
    /// The database to migrate. `${VAR}` is replaced by the environment variable, so the file
    /// need not hold a password.
    pub url: Option<String>,
    /// A server on which strata may create scratch databases (default: the development cluster).
    pub dev_url: Option<String>,
}

/// `[dev]`: the embedded development cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DevSection {
    /// Data directory of the cluster, relative to the project root.
    pub data_dir: PathBuf,
}

impl Default for DevSection {
    fn default() -> Self {
        DevSection {
            data_dir: PathBuf::from(".strata/pg"),
        }
    }
}

/// `[schema]`: the declared schema files.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchemaSection {
    /// Folder of declared SQL files, one sub-folder per PostgreSQL schema.
    pub dir: PathBuf,
    /// The managed PostgreSQL schemas (default: the sub-folders of `dir`).
    pub schemas: Vec<String>,
    /// Whether the file sets `dir` or `schemas`: then the folder must exist (a project without
    /// declared files just has no `schemas/`).
    #[serde(skip)]
    pub named: bool,
    /// Objects strata does not model are an error, not a warning (as `--strict`).
    pub strict: bool,
    /// Objects strata does not model that are acknowledged: `kind:schema.name` entries (as the
    /// warnings name them), left alone without a word.
    pub ignore: Vec<String>,
}

impl Default for SchemaSection {
    fn default() -> Self {
        SchemaSection {
            dir: PathBuf::from("schemas"),
            schemas: Vec::new(),
            named: false,
            strict: false,
            ignore: Vec::new(),
        }
    }
}

/// `[migrations]`: versioned schema migrations.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MigrationsSection {
    /// Folder of migration files.
    pub dir: PathBuf,
    /// History table, schema-qualified.
    pub table: String,
    /// Numbers of new migrations: `index` (0001, 0002, …) or `timestamp` (UTC, YYYYMMDDHHMMSS).
    pub prefix: Prefix,
    /// How long a statement may wait for a lock before it gives up (PostgreSQL's
    /// `lock_timeout`): a migration never queues traffic behind it for long.
    pub lock_timeout: String,
    /// How many times a migration that gave up on a lock is retried, with backoff.
    pub lock_retries: u32,
    /// PostgreSQL's `statement_timeout` for migrations (`0`: none).
    pub statement_timeout: String,
    /// How long `migrate` waits for another `migrate` of the same database to finish, in seconds.
    pub lock_wait_seconds: u64,
    /// Drizzle Kit's history table, kept after `strata import drizzle`: never part of a catalog
    /// (written by the import when Drizzle Kit kept it elsewhere than its default).
    pub drizzle_table: String,
}

/// How new migrations are numbered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prefix {
    /// 0001, 0002, …
    #[default]
    Index,
    /// The UTC time of `generate`: fewer clashes between branches, still ordered.
    Timestamp,
}

impl Default for MigrationsSection {
    fn default() -> Self {
        MigrationsSection {
            dir: PathBuf::from("schema-migrations"),
            table: "public.strata_migrations".into(),
            prefix: Prefix::Index,
            lock_timeout: "10s".into(),
            lock_retries: 3,
            statement_timeout: "0".into(),
            lock_wait_seconds: 600,
            drizzle_table: crate::import::drizzle::TABLE.into(),
        }
    }
}

/// `[data]`: data migrations.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSection {
    /// Folder of SQL data migrations, one sub-folder per PostgreSQL schema.
    pub dir: PathBuf,
    /// Tracking table, schema-qualified.
    pub table: String,
}

impl Default for DataSection {
    fn default() -> Self {
        DataSection {
            dir: PathBuf::from("data-migrations"),
            table: "public.data_migrations".into(),
        }
    }
}

/// A configured table name: `schema.table`, or `table` in `public`.
pub fn table_name(key: &str, text: &str) -> Result<QualName> {
    let qualified = if text.contains('.') {
        text.to_owned()
    } else {
        format!("public.{text}")
    };
    qualified.parse().map_err(|e| {
        Error::Invalid(format!(
            "{key} = \"{text}\" is not a table name ({e}); write schema.table"
        ))
    })
}

/// Environment variables as strata sees them: the process environment, over `.env`.
///
/// strata never writes `.env` values into its own process environment (that is not thread-safe);
/// it looks them up here.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// The current process environment.
    pub fn from_process() -> Self {
        Env {
            vars: std::env::vars().collect(),
        }
    }

    /// An environment holding exactly these variables (for tests and embedding).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of a variable; an empty value counts as unset.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Adds the variables of a `.env` file that are not set already.
    fn load_dotenv(&mut self, path: &Path) -> Result<()> {
        let entries = dotenvy::from_path_iter(path).map_err(|e| dotenv_error(path, e))?;
        for entry in entries {
            let (key, value) = entry.map_err(|e| dotenv_error(path, e))?;
            self.vars.entry(key).or_insert(value);
        }
        Ok(())
    }
}

fn dotenv_error(path: &Path, error: dotenvy::Error) -> Error {
    match error {
        dotenvy::Error::LineParse(line, column) => Error::Invalid(format!(
            "{}: cannot parse the line `{}` (at character {column}); write it as KEY=value",
            path.display(),
            line.trim()
        )),
        other => Error::Invalid(format!("{}: {other}", path.display())),
    }
}

/// A loaded project: its root folder, configuration and environment.
#[derive(Debug, Clone)]
pub struct Project {
    /// The folder holding `strata.toml` (or the working directory when there is none).
    pub root: PathBuf,
    /// The configuration file, when one was found.
    pub config_path: Option<PathBuf>,
    /// The parsed configuration (defaults when there is no file).
    pub config: ConfigFile,
    /// Environment variables, `.env` included.
    pub env: Env,
}

/// Where the URL of the target database came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlOrigin {
    /// The `--url` flag.
    Flag,
    /// The `DATABASE_URL` environment variable (or `.env`).
    Environment,
    /// `database.url` in `strata.toml`.
    ConfigFile,
}

/// The database a command works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A database given by URL.
    Url {
        /// The URL (redacted when shown).
        url: DbUrl,
        /// Where it came from.
        origin: UrlOrigin,
    },
    /// Nothing configured: the embedded development cluster.
    Dev,
}

impl Project {
    /// Finds and loads the project that `cwd` belongs to.
    ///
    /// With `explicit`, that file must exist. Otherwise `strata.toml` is looked for in `cwd` and its
    /// parents; with none, the project root is `cwd` and every setting has its default.
    pub fn load(cwd: &Path, explicit: Option<&Path>, mut env: Env) -> Result<Project> {
        let config_path = match explicit {
            Some(path) => {
                let path = cwd.join(path);
                if !path.is_file() {
                    return Err(Error::Invalid(format!(
                        "{}: no such configuration file; check the --config path",
                        path.display()
                    )));
                }
                Some(path)
            }
            None => cwd
                .ancestors()
                .map(|dir| dir.join(FILE_NAME))
                .find(|path| path.is_file()),
        };
        let (root, config) = match &config_path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
                let config = parse_config(path, &text)?;
                (
                    path.parent()
                        .map_or_else(|| cwd.to_path_buf(), Path::to_path_buf),
                    config,
                )
            }
            None => (cwd.to_path_buf(), ConfigFile::default()),
        };
        let dotenv = root.join(".env");
        if dotenv.is_file() {
            env.load_dotenv(&dotenv)?;
        }
        Ok(Project {
            root,
            config_path,
            config,
            env,
        })
    }

    /// The database to work on: `--url`, then `DATABASE_URL`, then `database.url`, then the
    /// development cluster.
    pub fn target(&self, flag_url: Option<&str>) -> Result<Target> {
        if let Some(url) = flag_url.filter(|u| !u.is_empty()) {
            return Ok(Target::Url {
                url: DbUrl::new(url),
                origin: UrlOrigin::Flag,
            });
        }
        if let Some(url) = self.env.get("DATABASE_URL") {
            return Ok(Target::Url {
                url: DbUrl::new(url),
                origin: UrlOrigin::Environment,
            });
        }
        if let Some(url) = &self.config.database.url {
            let url = self.expand(url, "database.url")?;
            return Ok(Target::Url {
                url: DbUrl::new(url),
                origin: UrlOrigin::ConfigFile,
            });
        }
        Ok(Target::Dev)
    }

    /// The server for scratch databases, when the user has their own: `STRATA_DEV_URL`, then
    /// `database.dev_url`. `None` means the development cluster.
    pub fn dev_url(&self) -> Result<Option<DbUrl>> {
        if let Some(url) = self.env.get("STRATA_DEV_URL") {
            return Ok(Some(DbUrl::new(url)));
        }
        match &self.config.database.dev_url {
            Some(url) => Ok(Some(DbUrl::new(self.expand(url, "database.dev_url")?))),
            None => Ok(None),
        }
    }

    /// The tracking tables (strata's schema history and data migrations, Drizzle Kit's history):
    /// never part of a catalog.
    pub fn tracking_tables(&self) -> Result<Vec<QualName>> {
        let mut tables: Vec<QualName> = [
            ("migrations.table", self.config.migrations.table.as_str()),
            ("data.table", self.config.data.table.as_str()),
            // Drizzle Kit's history, kept after `strata import drizzle`.
            (
                "migrations.drizzle_table",
                self.config.migrations.drizzle_table.as_str(),
            ),
        ]
        .into_iter()
        .map(|(key, text)| table_name(key, text))
        .collect::<Result<_>>()?;
        // The histories of Prisma Migrate and sqlx, kept after `strata import prisma|sqlx`.
        for text in [
            crate::import::foreign::PRISMA_TABLE,
            crate::import::foreign::SQLX_TABLE,
        ] {
            tables.push(table_name("", text)?);
        }
        // The rollback records beside the history table.
        tables.push(crate::apply::history::rollbacks_table(&tables[0]));
        Ok(tables)
    }

    /// The development cluster's data directory, as configured (absolute).
    pub fn dev_data_dir(&self) -> PathBuf {
        self.root.join(&self.config.dev.data_dir)
    }

    /// Replaces `${VAR}` with the variable's value.
    fn expand(&self, text: &str, key: &str) -> Result<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let Some(len) = rest[start + 2..].find('}') else {
                return Err(self.invalid(key, "has `${` without a closing `}`"));
            };
            let name = &rest[start + 2..start + 2 + len];
            let value = self.env.get(name).ok_or_else(|| {
                self.invalid(
                    key,
                    &format!(
                        "uses ${{{name}}}, which is not set; set it in the environment or in .env"
                    ),
                )
            })?;
            out.push_str(value);
            rest = &rest[start + 3 + len..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn invalid(&self, key: &str, what: &str) -> Error {
        let file = self
            .config_path
            .as_deref()
            .map_or_else(|| FILE_NAME.to_owned(), |p| p.display().to_string());
        Error::Invalid(format!("{file}: {key} {what}"))
    }
}

fn parse_config(path: &Path, text: &str) -> Result<ConfigFile> {
    let mut config: ConfigFile = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |span| span.start);
        let (line, column) = line_column(text, offset);
        Error::Config {
            path: path.to_path_buf(),
            line,
            column,
            message: format!(
                "{}; see the configuration reference in the README",
                e.message().trim_end()
            ),
        }
    })?;
    let schema = toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|table| table.get("schema").and_then(|s| s.as_table()).cloned());
    config.schema.named =
        schema.is_some_and(|s| s.contains_key("dir") || s.contains_key("schemas"));
    Ok(config)
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(
        dir: &Path,
        toml: Option<&str>,
        dotenv: Option<&str>,
        env: &[(&str, &str)],
    ) -> Result<Project> {
        if let Some(toml) = toml {
            std::fs::write(dir.join(FILE_NAME), toml).unwrap();
        }
        if let Some(dotenv) = dotenv {
            std::fs::write(dir.join(".env"), dotenv).unwrap();
        }
        Project::load(dir, None, Env::from_pairs(env.iter().copied()))
    }

    #[test]
    fn url_precedence_is_flag_env_file_dev() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(
            dir.path(),
            Some("[database]\nurl = \"postgres://file/db\"\n"),
            None,
            &[("DATABASE_URL", "postgres://env/db")],
        )
        .unwrap();
        assert_eq!(
            p.target(Some("postgres://flag/db")).unwrap(),
            Target::Url {
                url: DbUrl::new("postgres://flag/db"),
                origin: UrlOrigin::Flag
            }
        );
        assert_eq!(
            p.target(None).unwrap(),
            Target::Url {
                url: DbUrl::new("postgres://env/db"),
                origin: UrlOrigin::Environment
            }
        );

        let p = project(dir.path(), None, None, &[]).unwrap();
        assert_eq!(
            p.target(None).unwrap(),
            Target::Url {
                url: DbUrl::new("postgres://file/db"),
                origin: UrlOrigin::ConfigFile
            }
        );

        std::fs::remove_file(dir.path().join(FILE_NAME)).unwrap();
        let p = project(dir.path(), None, None, &[]).unwrap();
        assert_eq!(p.target(None).unwrap(), Target::Dev);
    }

    #[test]
    fn dotenv_fills_in_but_does_not_override_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(
            dir.path(),
            None,
            Some("DATABASE_URL=postgres://dotenv/db\nOTHER=1\n"),
            &[],
        )
        .unwrap();
        assert_eq!(
            p.target(None).unwrap(),
            Target::Url {
                url: DbUrl::new("postgres://dotenv/db"),
                origin: UrlOrigin::Environment
            }
        );
        let p = project(
            dir.path(),
            None,
            None,
            &[("DATABASE_URL", "postgres://real/db")],
        )
        .unwrap();
        assert_eq!(
            p.target(None).unwrap(),
            Target::Url {
                url: DbUrl::new("postgres://real/db"),
                origin: UrlOrigin::Environment
            }
        );
    }

    #[test]
    fn config_is_found_in_a_parent_and_paths_are_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "[dev]\ndata_dir = \"var/pg\"\n").unwrap();
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        let p = Project::load(&sub, None, Env::default()).unwrap();
        assert_eq!(p.root, dir.path());
        assert_eq!(p.dev_data_dir(), dir.path().join("var/pg"));
    }

    #[test]
    fn config_url_expands_variables() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(
            dir.path(),
            Some("[database]\nurl = \"postgres://app:${PGPASS}@h/db\"\n"),
            None,
            &[("PGPASS", "pw")],
        )
        .unwrap();
        assert_eq!(
            p.target(None).unwrap(),
            Target::Url {
                url: DbUrl::new("postgres://app:pw@h/db"),
                origin: UrlOrigin::ConfigFile
            }
        );
        let p = project(dir.path(), None, None, &[]).unwrap();
        let err = p.target(None).unwrap_err().to_string();
        assert!(
            err.contains("${PGPASS}") && err.contains("not set"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_names_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let err = project(
            dir.path(),
            Some("[database]\nurl = \"x\"\nuser = \"y\"\n"),
            None,
            &[],
        )
        .unwrap_err();
        let Error::Config {
            line,
            column,
            message,
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!((*line, *column), (3, 1), "{message}");
        assert!(message.contains("unknown field `user`"), "{message}");
        assert!(err.to_string().contains("strata.toml:3:1"), "{err}");
    }

    #[test]
    fn explicit_config_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let err =
            Project::load(dir.path(), Some(Path::new("nope.toml")), Env::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("nope.toml: no such configuration file"),
            "{err}"
        );
    }

    #[test]
    fn malformed_dotenv_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = project(dir.path(), None, Some("GOOD=1\nthis is not env\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(".env") && err.contains("this is not env"),
            "{err}"
        );
    }

    #[test]
    fn dev_url_prefers_environment() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(
            dir.path(),
            Some("[database]\ndev_url = \"postgres://file/x\"\n"),
            None,
            &[("STRATA_DEV_URL", "postgres://env/x")],
        )
        .unwrap();
        assert_eq!(p.dev_url().unwrap(), Some(DbUrl::new("postgres://env/x")));
        let p = project(dir.path(), None, None, &[]).unwrap();
        assert_eq!(p.dev_url().unwrap(), Some(DbUrl::new("postgres://file/x")));
    }
}
