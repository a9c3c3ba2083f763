//! Declared schema files: `schemas/<schema>/*.sql`, the wanted state in plain SQL.
//!
//! PostgreSQL itself normalises them: the statements are applied to a scratch database and the
//! result is introspected like any database. Files may be written in any order and refer to each
//! other across folders: a statement that fails only because something it needs does not exist
//! yet is retried after the others, until nothing more can be applied. A real error (syntax, an
//! unknown type) is reported with the file, line and column, and a snippet of the source.

use std::path::{Path, PathBuf};

use strata_core::catalog::Catalog;
use strata_core::split::{Statement, split};
use tokio_postgres::error::SqlState;

use crate::introspect::{Scope, introspect};
use crate::normalise::scratch::ScratchServer;
use crate::postgres::in_transaction;
use crate::source::cache::{Cache, Key};
use crate::{Error, Result};

/// One declared file.
#[derive(Debug, Clone)]
pub struct DeclaredFile {
    /// Its path as the user wrote it (relative to the working directory when given so).
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

/// A folder of declared files.
#[derive(Debug, Clone)]
pub struct Declared {
    /// The folder.
    pub dir: PathBuf,
    /// Every `*.sql` file below it, sorted by path.
    pub files: Vec<DeclaredFile>,
    /// The managed schemas: the configured list, or the folder's sub-folders.
    pub schemas: Vec<String>,
}

impl Declared {
    /// Reads every `*.sql` file below `dir`. The managed schemas are `schemas` when given, else
    /// the names of `dir`'s sub-folders.
    pub fn load(dir: &Path, schemas: &[String]) -> Result<Declared> {
        if !dir.is_dir() {
            return Err(Error::Invalid(format!(
                "{}: no such folder of declared schema files",
                dir.display()
            )));
        }
        let mut paths = Vec::new();
        collect(dir, &mut paths)?;
        paths.sort();
        let files = paths
            .into_iter()
            .map(|path| {
                let text = crate::source::files::read_text(&path)?;
                Ok(DeclaredFile { path, text })
            })
            .collect::<Result<Vec<_>>>()?;
        let schemas = if schemas.is_empty() {
            // Folder names are escaped schema names (see `files`).
            crate::source::files::schema_folders(dir)?
        } else {
            schemas.to_vec()
        };
        Ok(Declared {
            dir: dir.to_path_buf(),
            files,
            schemas,
        })
    }

    /// The scope the declared files manage.
    pub fn scope(&self) -> Scope {
        Scope::Schemas(self.schemas.clone())
    }

    /// The normalised catalog, from `cache` when these files were normalised before on the same
    /// PostgreSQL major version, else as [`Declared::catalog`] (and then stored).
    pub async fn cached_catalog(
        &self,
        server: &ScratchServer,
        scope: &Scope,
        cache: &Cache,
    ) -> Result<Catalog> {
        let key = self.cache_key(server.server_version(), scope);
        if let Some(catalog) = cache.catalog("declared", &key) {
            return Ok(catalog);
        }
        let catalog = self.catalog(server, scope).await?;
        cache.store("declared", &key, &catalog);
        Ok(catalog)
    }

    pub(crate) fn cache_key(&self, server_version: u32, scope: &Scope) -> Key {
        let mut key = Key::new("declared", server_version);
        key.add_scope(scope);
        for file in &self.files {
            let relative = file.path.strip_prefix(&self.dir).unwrap_or(&file.path);
            key.add(relative.to_string_lossy().as_bytes())
                .add(file.text.as_bytes());
        }
        key
    }

    /// Applies the files to a new scratch database on `server`, introspects the managed
    /// schemas, and drops the database.
    pub async fn catalog(&self, server: &ScratchServer, scope: &Scope) -> Result<Catalog> {
        let db = server.create(None).await?;
        let result = async {
            let client = crate::postgres::connect(db.url()).await?;
            self.apply(&client).await?;
            Ok(introspect(&client, scope).await?.catalog)
        }
        .await;
        let dropped = server.drop_db(db).await;
        let catalog = result?;
        dropped?;
        Ok(catalog)
    }

    /// Every statement of every file, in order.
    pub fn statements(&self) -> Vec<(&DeclaredFile, Statement)> {
        self.files
            .iter()
            .flat_map(|file| split(&file.text).into_iter().map(move |s| (file, s)))
            .collect()
    }

    /// Runs every statement in one transaction (see [`run_statements`]).
    pub(crate) async fn apply(&self, client: &tokio_postgres::Client) -> Result<()> {
        client
            .batch_execute("SET check_function_bodies = false")
            .await
            .map_err(|e| Error::db("preparing the scratch database", e))?;
        let statements = self.statements();
        in_transaction(client, "BEGIN", "the declared schema", async || {
            run_statements(client, statements).await
        })
        .await
    }
}

/// Runs declared statements inside the transaction `client` has open. First in order, under one
/// savepoint; when one waits for an object a later statement creates, goes back to the savepoint
/// and runs each statement under a savepoint of its own, retrying those that wait, until nothing
/// more can be applied.
///
/// The first attempt takes no savepoint per statement: thousands of subtransactions in one
/// transaction overflow PostgreSQL's per-backend subtransaction cache, after which every catalog
/// lookup slows down (the cold `generate` of 1,000 tables spent most of its time there).
pub(crate) async fn run_statements(
    client: &tokio_postgres::Client,
    statements: Vec<(&DeclaredFile, Statement)>,
) -> Result<()> {
    let savepoint = |sql: &'static str| async move {
        client
            .batch_execute(sql)
            .await
            .map_err(|e| Error::db("setting a savepoint", e))
    };
    savepoint("SAVEPOINT strata_declared_all").await?;
    let mut waits = false;
    let mut failure = None;
    let mut progress = crate::progress::Progress::start(
        "normalising the declared files",
        statements.len() as u64,
        "statements",
    );
    if let Err((at, error)) = crate::postgres::run_pipelined(
        client,
        statements.iter().map(|(_, s)| s.text.as_str()),
        || progress.inc(),
    )
    .await
    {
        let (file, statement) = &statements[at];
        waits = waits_for_another_statement(&error);
        failure = Some(located(file, statement, &error));
    }
    progress.finish();
    match failure {
        None => savepoint("RELEASE SAVEPOINT strata_declared_all").await,
        Some(_) if waits => {
            savepoint("ROLLBACK TO SAVEPOINT strata_declared_all").await?;
            apply_out_of_order(client, statements).await
        }
        Some(error) => Err(error),
    }
}

/// Runs every statement under a savepoint, retrying those that wait for objects other
/// statements create, until a whole pass applies nothing more.
async fn apply_out_of_order(
    client: &tokio_postgres::Client,
    mut pending: Vec<(&DeclaredFile, Statement)>,
) -> Result<()> {
    loop {
        let mut waiting = Vec::new();
        let mut first_failure = None;
        let before = pending.len();
        for (file, statement) in pending {
            client
                .batch_execute("SAVEPOINT strata_declared")
                .await
                .map_err(|e| Error::db("setting a savepoint", e))?;
            match client.batch_execute(&statement.text).await {
                Ok(()) => client
                    .batch_execute("RELEASE SAVEPOINT strata_declared")
                    .await
                    .map_err(|e| Error::db("releasing a savepoint", e))?,
                Err(error) => {
                    client
                        .batch_execute("ROLLBACK TO SAVEPOINT strata_declared")
                        .await
                        .map_err(|e| Error::db("rolling back a savepoint", e))?;
                    if !waits_for_another_statement(&error) {
                        return Err(located(file, &statement, &error));
                    }
                    first_failure.get_or_insert_with(|| located(file, &statement, &error));
                    waiting.push((file, statement));
                }
            }
        }
        if waiting.is_empty() {
            return Ok(());
        }
        if waiting.len() == before {
            // No statement could be applied in a whole pass: what is missing is missing.
            return Err(first_failure.expect("a failure was recorded"));
        }
        pending = waiting;
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "sql") {
            out.push(path);
        }
    }
    Ok(())
}

/// Errors that mean "something this statement needs is not there yet".
fn waits_for_another_statement(error: &tokio_postgres::Error) -> bool {
    let Some(code) = error.code() else {
        return false;
    };
    [
        SqlState::UNDEFINED_TABLE,
        SqlState::UNDEFINED_OBJECT,
        SqlState::UNDEFINED_FUNCTION,
        SqlState::UNDEFINED_COLUMN,
        SqlState::INVALID_SCHEMA_NAME,
        SqlState::INVALID_FOREIGN_KEY,
    ]
    .contains(code)
}

/// An error in a declared file, with its position and a snippet of the source.
fn located(file: &DeclaredFile, statement: &Statement, error: &tokio_postgres::Error) -> Error {
    let (line, column, message) = match error.as_db_error() {
        Some(db) => {
            let (line, column) = crate::postgres::error_location(&file.text, statement, error);
            let mut message = format!("{} ({})", db.message(), db.code().code());
            if let Some(hint) = db.hint() {
                message.push_str(&format!("\n  hint: {hint}"));
            }
            (line, column, message)
        }
        None => (statement.line, statement.column, error.to_string()),
    };
    let source_line = file.text.lines().nth(line - 1).unwrap_or("");
    let gutter = line.to_string().len();
    Error::Invalid(format!(
        "{}:{line}:{column}: {message}\n{:gutter$} |\n{line} | {source_line}\n{:gutter$} | {}^\nfix the declared file and run again; nothing was changed",
        file.path.display(),
        "",
        "",
        " ".repeat(column.saturating_sub(1)),
    ))
}
