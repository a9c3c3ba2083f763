//! Introspection: a database's managed schemas read into a [`Catalog`].
//!
//! Everything is read in a fixed number of set-based queries (see [`queries`]), pipelined on one
//! connection inside one `REPEATABLE READ READ ONLY` transaction, so the picture is consistent and
//! the cost does not grow with one round trip per table. Objects in the managed schemas that the
//! catalog does not model are listed in the catalog's census ([`Catalog::unmodeled`], kinds in
//! [`CENSUS`]), never silently ignored.

mod queries;
mod rows;
mod tracking;

pub use queries::CENSUS;

use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::de::DeserializeOwned;
use strata_core::catalog::{Catalog, Unmodeled};
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

use crate::{Error, Result};

/// Which schemas to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Scope {
    /// Every schema that is not a system or extension schema.
    #[default]
    AllUserSchemas,
    /// These schemas (those that do not exist are simply absent from the catalog).
    Schemas(Vec<String>),
}

/// The result of introspecting a database.
#[derive(Debug, Clone)]
pub struct Introspection {
    /// The catalog of the managed schemas, its census included.
    pub catalog: Catalog,
    /// The server's `server_version_num` (e.g. 150018).
    pub server_version: u32,
    /// How many requests introspection sent to the server (fixed, whatever the schema's size).
    pub statements: usize,
}

static QUERIES: LazyLock<queries::Queries> = LazyLock::new(|| queries::Queries::new(140_000));
/// The queries for PostgreSQL 13, which lacks columns that reading through `to_jsonb` would
/// make slow for every column of a large schema.
static QUERIES_13: LazyLock<queries::Queries> = LazyLock::new(|| queries::Queries::new(130_000));

/// Reads the catalog of the managed schemas.
///
/// Runs in its own `REPEATABLE READ READ ONLY` transaction on `client`, which must not be inside
/// a transaction already.
pub async fn introspect(client: &Client, scope: &Scope) -> Result<Introspection> {
    let session = Session {
        client,
        statements: AtomicUsize::new(0),
    };
    // JIT would compile the large catalog queries for longer than they run.
    session
        .batch(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL search_path = pg_catalog; SET LOCAL jit = off",
        )
        .await
        .map_err(|e| Error::db("starting the introspection transaction", e))?;
    let result = read(&session, scope).await;
    // Read-only: rolling back and committing are the same; rollback also ends a failed one.
    let end = session.batch("ROLLBACK").await;
    let mut introspection = result?;
    end.map_err(|e| Error::db("ending the introspection transaction", e))?;
    introspection.statements = session.statements.load(Ordering::Relaxed);
    Ok(introspection)
}

/// Reads the catalog inside the transaction `client` has open (which should be `REPEATABLE
/// READ` for a consistent picture), seeing that transaction's own changes: a plan applied in a
/// transaction is checked before it commits. Changes `search_path` for the rest of the
/// transaction, so read last, then commit or roll back. `tables` are left out as in
/// [`introspect_without`].
pub async fn introspect_within(
    client: &Client,
    scope: &Scope,
    tables: &[strata_core::catalog::QualName],
) -> Result<Introspection> {
    let session = Session {
        client,
        statements: AtomicUsize::new(0),
    };
    session
        .batch("SET LOCAL search_path = pg_catalog; SET LOCAL jit = off")
        .await
        .map_err(|e| Error::db("preparing to read the catalog", e))?;
    let mut introspection = read(&session, scope).await?;
    introspection.statements = session.statements.load(Ordering::Relaxed);
    without(introspection, tables)
}

/// As [`introspect`], leaving out `tables` (strata's tracking tables, which live in user
/// schemas but are not part of the user's schema).
pub async fn introspect_without(
    client: &Client,
    scope: &Scope,
    tables: &[strata_core::catalog::QualName],
) -> Result<Introspection> {
    without(introspect(client, scope).await?, tables)
}

/// The introspection with `tables` and what they own removed from its catalog, and a schema
/// they leave empty. A table at one of those names that does not have the shape of a tracking
/// table is the user's: that is an error, never a table silently left out.
fn without(
    mut introspection: Introspection,
    tables: &[strata_core::catalog::QualName],
) -> Result<Introspection> {
    let catalog = &mut introspection.catalog;
    for table in tables {
        if let Some(found) = catalog.tables.get(table) {
            if !tracking::is_tracking_table(found) {
                return Err(tracking::clash(table, found));
            }
            catalog.remove_table(table);
            // A schema that only held tracking tables (Drizzle Kit's `drizzle`) goes too.
            if table.schema != "public" && catalog.schema_is_empty(&table.schema) {
                catalog.schemas.remove(&table.schema);
            }
        }
    }
    Ok(introspection)
}

/// The connection, counting every request sent through it (a batch of simple statements counts
/// once: it is one round trip).
struct Session<'a> {
    client: &'a Client,
    statements: AtomicUsize,
}

impl Session<'_> {
    async fn batch(&self, sql: &str) -> Result<(), tokio_postgres::Error> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        self.client.batch_execute(sql).await
    }

    async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<tokio_postgres::Row, tokio_postgres::Error> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        self.client.query_one(sql, params).await
    }
}

async fn read(client: &Session<'_>, scope: &Scope) -> Result<Introspection> {
    let schemas: Option<Vec<String>> = match scope {
        Scope::AllUserSchemas => None,
        Scope::Schemas(names) => Some(names.clone()),
    };
    // The version first: the queries are written for it.
    let version = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await;
    let q = match &version {
        Ok(row) if row.get::<_, i32>(0) < 140_000 => &*QUERIES_13,
        _ => &*QUERIES,
    };
    // Sent together: tokio-postgres pipelines concurrent queries on one connection.
    let (
        schema_rows,
        extensions,
        relations,
        columns,
        constraints,
        indexes,
        triggers,
        policies,
        sequences,
        types,
        functions,
        default_privileges,
        dependencies,
        objects,
        unmodeled,
    ) = tokio::join!(
        fetch::<rows::SchemaRow>(client, &q.schemas, &schemas, "schemas"),
        fetch::<rows::ExtensionRow>(client, &q.extensions, &schemas, "extensions"),
        fetch::<rows::RelationRow>(client, &q.relations, &schemas, "tables and views"),
        fetch::<rows::ColumnRow>(client, &q.columns, &schemas, "columns"),
        fetch::<rows::ConstraintRow>(client, &q.constraints, &schemas, "constraints"),
        fetch::<rows::IndexRow>(client, &q.indexes, &schemas, "indexes"),
        fetch::<rows::TriggerRow>(client, &q.triggers, &schemas, "triggers"),
        fetch::<rows::PolicyRow>(client, &q.policies, &schemas, "policies"),
        fetch::<rows::SequenceRow>(client, &q.sequences, &schemas, "sequences"),
        fetch::<rows::TypeRow>(client, &q.types, &schemas, "types"),
        fetch::<rows::FunctionRow>(client, &q.functions, &schemas, "functions"),
        fetch::<rows::DefaultPrivilegeRow>(
            client,
            &q.default_privileges,
            &schemas,
            "default privileges"
        ),
        fetch::<rows::DependencyRow>(client, &q.dependencies, &schemas, "view dependencies"),
        fetch_object::<rows::ObjectRows>(
            client,
            &q.objects,
            &schemas,
            "collations, statistics, rules, wrappers, servers, operators, casts"
        ),
        fetch::<Unmodeled>(client, &q.unmodeled, &schemas, "unmodelled objects"),
    );
    // With pipelining, one failing query aborts the transaction under the others: report the
    // failure that caused it, not "current transaction is aborted".
    let version = version.map_err(|e| Error::db("reading the server version", e));
    let root_cause = [
        version.as_ref().err(),
        schema_rows.as_ref().err(),
        extensions.as_ref().err(),
        relations.as_ref().err(),
        columns.as_ref().err(),
        constraints.as_ref().err(),
        indexes.as_ref().err(),
        triggers.as_ref().err(),
        policies.as_ref().err(),
        sequences.as_ref().err(),
        types.as_ref().err(),
        functions.as_ref().err(),
        default_privileges.as_ref().err(),
        dependencies.as_ref().err(),
        objects.as_ref().err(),
        unmodeled.as_ref().err(),
    ]
    .into_iter()
    .flatten()
    .find(|e| !is_aborted_transaction(e));
    if let Some(root_cause) = root_cause {
        return Err(Error::Invalid(root_cause.to_string()));
    }
    let server_version = version?.get::<_, i32>(0) as u32;
    let rows = rows::Rows {
        schemas: schema_rows?,
        extensions: extensions?,
        relations: relations?,
        columns: columns?,
        constraints: constraints?,
        indexes: indexes?,
        triggers: triggers?,
        policies: policies?,
        sequences: sequences?,
        types: types?,
        functions: functions?,
        default_privileges: default_privileges?,
        dependencies: dependencies?,
        objects: objects?,
    };
    let mut catalog = rows.into_catalog()?;
    catalog.unmodeled = unmodeled?;
    Ok(Introspection {
        catalog,
        server_version,
        statements: 0,
    })
}

fn is_aborted_transaction(error: &Error) -> bool {
    matches!(error, Error::Db { error, .. } if error.code() == Some(&tokio_postgres::error::SqlState::IN_FAILED_SQL_TRANSACTION))
}

/// Each catalog query with a name, for profiling (`strata-bench --profile`); `$1` is the
/// managed schemas as `text[]`, or NULL for every user schema.
#[doc(hidden)]
pub fn query_texts() -> Vec<(&'static str, &'static str)> {
    let q = &*QUERIES;
    vec![
        ("schemas", &q.schemas),
        ("extensions", &q.extensions),
        ("relations", &q.relations),
        ("columns", &q.columns),
        ("constraints", &q.constraints),
        ("indexes", &q.indexes),
        ("triggers", &q.triggers),
        ("policies", &q.policies),
        ("sequences", &q.sequences),
        ("types", &q.types),
        ("functions", &q.functions),
        ("default_privileges", &q.default_privileges),
        ("dependencies", &q.dependencies),
        ("objects", &q.objects),
        ("unmodeled", &q.unmodeled),
    ]
}

/// Runs one catalog query and parses its JSON array of rows.
async fn fetch<T: DeserializeOwned>(
    client: &Session<'_>,
    sql: &str,
    schemas: &Option<Vec<String>>,
    what: &str,
) -> Result<Vec<T>> {
    fetch_object(client, sql, schemas, what).await
}

/// Runs one catalog query and parses its JSON value.
async fn fetch_object<T: DeserializeOwned>(
    client: &Session<'_>,
    sql: &str,
    schemas: &Option<Vec<String>>,
    what: &str,
) -> Result<T> {
    let row = client
        .query_one(sql, &[schemas])
        .await
        .map_err(|e| Error::db(format!("reading the catalog ({what})"), e))?;
    let json: &str = row.get(0);
    serde_json::from_str(json)
        .map_err(|e| Error::Invalid(format!("unexpected catalog rows ({what}): {e}")))
}
