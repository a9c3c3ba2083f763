//! The registry: a project's data migrations, per PostgreSQL schema, in the order they run.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;

use strata_core::split::split;

use super::{Context, DataMigration, DataResult};
use crate::{Error, Result};

/// One data migration, written in Rust or SQL.
pub struct Migration {
    kind: Kind,
}

enum Kind {
    Rust(Box<dyn Erased>),
    Sql(SqlMigration),
}

/// A data migration written as SQL files.
#[derive(Debug, Clone)]
pub struct SqlMigration {
    /// The PostgreSQL schema (its folder in `data-migrations/`).
    pub schema: String,
    /// The file name without `.up.sql`: `0002_fix_codes`.
    pub file: String,
    /// The `up` SQL.
    pub up: String,
    /// The `down` SQL; `None` when the migration is irreversible.
    pub down: Option<String>,
}

/// [`DataMigration`] with its futures boxed, so that migrations of different types share a list.
trait Erased {
    fn name(&self) -> &str;
    fn reversible(&self) -> bool;
    fn inputs(&self) -> Vec<String>;
    fn up<'a>(&'a self, cx: &'a mut Context<'_>) -> Pin<Box<dyn Future<Output = DataResult> + 'a>>;
    fn down<'a>(
        &'a self,
        cx: &'a mut Context<'_>,
    ) -> Pin<Box<dyn Future<Output = DataResult> + 'a>>;
}

impl<T: DataMigration> Erased for T {
    fn name(&self) -> &str {
        DataMigration::name(self)
    }

    fn reversible(&self) -> bool {
        DataMigration::reversible(self)
    }

    fn inputs(&self) -> Vec<String> {
        DataMigration::inputs(self)
    }

    fn up<'a>(&'a self, cx: &'a mut Context<'_>) -> Pin<Box<dyn Future<Output = DataResult> + 'a>> {
        Box::pin(DataMigration::up(self, cx))
    }

    fn down<'a>(
        &'a self,
        cx: &'a mut Context<'_>,
    ) -> Pin<Box<dyn Future<Output = DataResult> + 'a>> {
        Box::pin(DataMigration::down(self, cx))
    }
}

impl Migration {
    /// A migration written in Rust.
    pub fn new(migration: impl DataMigration + 'static) -> Migration {
        Migration {
            kind: Kind::Rust(Box::new(migration)),
        }
    }

    /// A migration written as SQL (see [`sql_migration!`](crate::sql_migration)).
    pub fn sql(migration: SqlMigration) -> Migration {
        Migration {
            kind: Kind::Sql(migration),
        }
    }

    /// Its name, `{schema}_{NNNN}_{description}`.
    pub fn name(&self) -> String {
        match &self.kind {
            Kind::Rust(m) => m.name().to_owned(),
            Kind::Sql(m) => format!("{}_{}", m.schema, m.file),
        }
    }

    /// Whether `down` undoes `up`.
    pub fn reversible(&self) -> bool {
        match &self.kind {
            Kind::Rust(m) => m.reversible(),
            Kind::Sql(m) => m.down.is_some(),
        }
    }

    /// The URLs it reads, downloaded before its transaction opens.
    pub fn inputs(&self) -> Vec<String> {
        match &self.kind {
            Kind::Rust(m) => m.inputs(),
            Kind::Sql(_) => Vec::new(),
        }
    }

    /// `sha256:` of a SQL migration's `up` (Rust code has none: it is compiled in).
    pub fn checksum(&self) -> Option<String> {
        match &self.kind {
            Kind::Rust(_) => None,
            Kind::Sql(m) => Some(crate::source::migrations::checksum(m.up.as_bytes())),
        }
    }

    pub(crate) async fn up(&self, cx: &mut Context<'_>) -> DataResult {
        match &self.kind {
            Kind::Rust(m) => m.up(cx).await,
            Kind::Sql(m) => run_sql(cx, &m.up, &format!("{}.up.sql", m.file)).await,
        }
    }

    pub(crate) async fn down(&self, cx: &mut Context<'_>) -> DataResult {
        match &self.kind {
            Kind::Rust(m) => m.down(cx).await,
            Kind::Sql(SqlMigration { down: None, .. }) => {
                Err("it is irreversible (there is no .down.sql)".into())
            }
            Kind::Sql(
                m @ SqlMigration {
                    down: Some(down), ..
                },
            ) => run_sql(cx, down, &format!("{}.down.sql", m.file)).await,
        }
    }
}

impl std::fmt::Debug for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// Runs a SQL file statement by statement, so that an error names its line.
async fn run_sql(cx: &mut Context<'_>, sql: &str, file: &str) -> DataResult {
    for statement in split(sql) {
        if let Err(e) = cx.batch_execute(&statement.text).await {
            let (line, column) = crate::postgres::error_location(sql, &statement, &e);
            let message = e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_owned());
            return Err(format!("{file}:{line}:{column}: {message}").into());
        }
    }
    Ok(())
}

/// The number and description of a migration name that belongs to `schema`
/// (`questions_0001_dem_characteristics` → 1, `dem_characteristics`).
pub fn parse_name(name: &str, schema: &str) -> std::result::Result<(u32, String), String> {
    let rest = name
        .strip_prefix(schema)
        .and_then(|r| r.strip_prefix('_'))
        .ok_or_else(|| {
            format!(
                "data migration `{name}` is registered under schema `{schema}` but its name does not start with `{schema}_`; name it {schema}_NNNN_description"
            )
        })?;
    let (number, description) = rest.split_once('_').unwrap_or((rest, ""));
    if number.is_empty()
        || !number.bytes().all(|b| b.is_ascii_digit())
        || description.is_empty()
        || !description
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(format!(
            "data migration `{name}` is not named {schema}_NNNN_description (digits, then letters, digits and `_`)"
        ));
    }
    let number = number
        .parse()
        .map_err(|_| format!("data migration `{name}`: the number is too large"))?;
    Ok((number, description.to_owned()))
}

/// The data migrations of a project, per PostgreSQL schema, each schema's in the order they run.
#[derive(Debug, Default)]
pub struct Registry {
    schemas: Vec<(String, Vec<Migration>)>,
}

impl<S: Into<String>, const N: usize> From<[(S, Vec<Migration>); N]> for Registry {
    fn from(schemas: [(S, Vec<Migration>); N]) -> Registry {
        schemas.into_iter().collect()
    }
}

impl<S: Into<String>> FromIterator<(S, Vec<Migration>)> for Registry {
    fn from_iter<I: IntoIterator<Item = (S, Vec<Migration>)>>(iter: I) -> Registry {
        let mut registry = Registry::new();
        for (schema, migrations) in iter {
            registry = registry.schema(schema, migrations);
        }
        registry
    }
}

impl Registry {
    /// An empty registry (the `strata` binary's: SQL migrations are found on disk).
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a schema's migrations (to those it has already).
    pub fn schema(mut self, schema: impl Into<String>, migrations: Vec<Migration>) -> Registry {
        let schema = schema.into();
        match self.schemas.iter_mut().find(|(s, _)| *s == schema) {
            Some((_, list)) => list.extend(migrations),
            None => self.schemas.push((schema, migrations)),
        }
        self
    }

    /// The schemas and their migrations, in order.
    pub fn schemas(&self) -> impl Iterator<Item = (&str, &[Migration])> {
        self.schemas.iter().map(|(s, m)| (s.as_str(), m.as_slice()))
    }

    /// Adds the SQL migrations found in `dir` (`<schema>/NNNN_description.up.sql` and
    /// `.down.sql`) that the registry does not include already, and orders each schema's
    /// migrations by number.
    pub fn with_folder(mut self, dir: &Path) -> Result<Registry> {
        for migration in read_folder(dir)? {
            let name = format!("{}_{}", migration.schema, migration.file);
            if self
                .schemas
                .iter()
                .flat_map(|(_, list)| list)
                .any(|m| m.name() == name)
            {
                continue;
            }
            let schema = migration.schema.clone();
            self = self.schema(schema, vec![Migration::sql(migration)]);
        }
        for (schema, list) in &mut self.schemas {
            list.sort_by_key(|m| parse_name(&m.name(), schema).map_or(u32::MAX, |(n, _)| n));
        }
        Ok(self)
    }

    /// Malformed names, names whose schema part is not their schema's, duplicate names and
    /// duplicate numbers within a schema.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for (schema, list) in &self.schemas {
            let mut numbers: Vec<(u32, String)> = Vec::new();
            for migration in list {
                let name = migration.name();
                if names.contains(&name) {
                    problems.push(format!(
                        "data migration `{name}` is registered twice; remove one"
                    ));
                }
                names.push(name.clone());
                match parse_name(&name, schema) {
                    Ok((number, _)) => {
                        if let Some((_, other)) = numbers.iter().find(|(n, _)| *n == number) {
                            if *other != name {
                                problems.push(format!(
                                    "data migrations `{other}` and `{name}` have the same number; renumber the newer one"
                                ));
                            }
                        } else {
                            numbers.push((number, name));
                        }
                    }
                    Err(problem) => problems.push(problem),
                }
            }
        }
        problems
    }

    /// The next free number of a schema.
    pub fn next_number(&self, schema: &str) -> u32 {
        self.schemas
            .iter()
            .filter(|(s, _)| s == schema)
            .flat_map(|(_, list)| list)
            .filter_map(|m| parse_name(&m.name(), schema).ok().map(|(n, _)| n))
            .max()
            .unwrap_or(0)
            + 1
    }
}

/// The SQL migrations in a `data-migrations` folder.
fn read_folder(dir: &Path) -> Result<Vec<SqlMigration>> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))
    };
    let mut schemas: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    schemas.sort();
    for folder in schemas {
        let Some(schema) = folder
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
        else {
            continue;
        };
        let mut files: Vec<_> = std::fs::read_dir(&folder)
            .map_err(|e| Error::io(format!("reading {}", folder.display()), e))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        files.sort();
        for path in &files {
            let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if let Some(stem) = file_name.strip_suffix(".up.sql") {
                let down_path = folder.join(format!("{stem}.down.sql"));
                let migration = SqlMigration {
                    schema: schema.clone(),
                    file: stem.to_owned(),
                    up: read(path)?,
                    down: if down_path.is_file() {
                        Some(read(&down_path)?)
                    } else {
                        None
                    },
                };
                parse_name(&format!("{schema}_{stem}"), &schema).map_err(|_| {
                    Error::Invalid(format!(
                        "{}: a SQL data migration is named NNNN_description.up.sql (with NNNN_description.down.sql beside it); rename it",
                        path.display()
                    ))
                })?;
                out.push(migration);
            } else if let Some(stem) = file_name.strip_suffix(".down.sql") {
                if !folder.join(format!("{stem}.up.sql")).is_file() {
                    return Err(Error::Invalid(format!(
                        "{}: there is no {stem}.up.sql beside it; add it or remove this file",
                        path.display()
                    )));
                }
            } else {
                return Err(Error::Invalid(format!(
                    "{}: SQL data migrations are NNNN_description.up.sql and NNNN_description.down.sql; rename it",
                    path.display()
                )));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_belong_to_their_schema() {
        assert_eq!(
            parse_name("questions_0001_dem_characteristics", "questions"),
            Ok((1, "dem_characteristics".into()))
        );
        assert_eq!(
            parse_name("survey_data_0012_x", "survey_data"),
            Ok((12, "x".into()))
        );
        assert!(
            parse_name("responses_0001_x", "questions")
                .unwrap_err()
                .contains("does not start with `questions_`")
        );
        assert!(
            parse_name("questions_01a_x", "questions")
                .unwrap_err()
                .contains("NNNN_description")
        );
        assert!(parse_name("questions_0001", "questions").is_err());
    }

    fn sql(schema: &str, file: &str) -> Migration {
        Migration::sql(SqlMigration {
            schema: schema.into(),
            file: file.into(),
            up: "SELECT 1".into(),
            down: None,
        })
    }

    #[test]
    fn problems_are_reported_by_name() {
        let registry = Registry::from([
            (
                "questions",
                vec![sql("questions", "0001_a"), sql("questions", "0001_b")],
            ),
            (
                "responses",
                vec![sql("questions", "0002_c"), sql("responses", "x_y")],
            ),
        ]);
        let problems = registry.problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].contains("`questions_0001_a` and `questions_0001_b` have the same number")
        );
        assert!(problems[1].contains("registered under schema `responses`"));
        assert!(problems[2].contains("`responses_x_y` is not named"));
        assert_eq!(registry.next_number("questions"), 2);
        assert_eq!(registry.next_number("analytics"), 1);
    }

    #[test]
    fn folders_add_sql_migrations_in_number_order() {
        let dir = tempfile::tempdir().unwrap();
        let questions = dir.path().join("questions");
        std::fs::create_dir_all(&questions).unwrap();
        std::fs::write(questions.join("0003_late.up.sql"), "SELECT 3").unwrap();
        std::fs::write(questions.join("0001_early.up.sql"), "SELECT 1").unwrap();
        std::fs::write(questions.join("0001_early.down.sql"), "SELECT -1").unwrap();
        let registry = Registry::from([("questions", vec![sql("questions", "0002_rust")])])
            .with_folder(dir.path())
            .unwrap();
        let names: Vec<String> = registry
            .schemas()
            .flat_map(|(_, l)| l.iter().map(Migration::name))
            .collect();
        assert_eq!(
            names,
            [
                "questions_0001_early",
                "questions_0002_rust",
                "questions_0003_late"
            ]
        );
        let reversible: Vec<bool> = registry
            .schemas()
            .flat_map(|(_, l)| l.iter().map(Migration::reversible))
            .collect();
        assert_eq!(reversible, [true, false, false]);

        std::fs::write(questions.join("notes.sql"), "").unwrap();
        let error = Registry::new()
            .with_folder(dir.path())
            .unwrap_err()
            .to_string();
        assert!(error.contains("notes.sql"), "{error}");
    }
}
