//! What a data migration's `up` and `down` get: the migration's open transaction, and helpers.

use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Transaction};

/// The context of one run of `up` or `down`.
///
/// Everything goes through the migration's transaction: the tracking row is written in the same
/// transaction, so the change and its record commit together or not at all. Do not commit or
/// roll back yourself; return an error to roll back.
pub struct Context<'a> {
    tx: &'a Transaction<'a>,
    schema: &'a str,
    name: &'a str,
}

impl<'a> Context<'a> {
    pub(crate) fn new(tx: &'a Transaction<'a>, schema: &'a str, name: &'a str) -> Context<'a> {
        Context { tx, schema, name }
    }

    /// The migration's transaction, for anything the helpers do not cover (prepared statements,
    /// `COPY`, savepoints through [`Transaction::transaction`]).
    pub fn transaction(&self) -> &Transaction<'a> {
        self.tx
    }

    /// The PostgreSQL schema the migration belongs to.
    pub fn schema(&self) -> &str {
        self.schema
    }

    /// The migration's name.
    pub fn name(&self) -> &str {
        self.name
    }

    /// Runs one statement with parameters (`$1`, `$2`, …); returns the number of rows it changed.
    pub async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, tokio_postgres::Error> {
        self.tx.execute(sql, params).await
    }

    /// Runs statements without parameters, separated by semicolons.
    pub async fn batch_execute(&self, sql: &str) -> Result<(), tokio_postgres::Error> {
        self.tx.batch_execute(sql).await
    }

    /// Runs a query and returns its rows.
    pub async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        self.tx.query(sql, params).await
    }

    /// Runs a query that returns exactly one row.
    pub async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, tokio_postgres::Error> {
        self.tx.query_one(sql, params).await
    }

    /// Runs a query that returns at most one row.
    pub async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        self.tx.query_opt(sql, params).await
    }
}
