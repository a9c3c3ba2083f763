//! What a data migration's `up` and `down` get: the migration's open transaction, and helpers.

use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::de::DeserializeOwned;
use strata_core::catalog::QualName;
use strata_core::render::qualified;
use strata_core::sql::quote_ident;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Row, Transaction};

use super::DataResult;
use crate::fetch::{Fetcher, Records};

/// The context of one run of `up` or `down`.
///
/// Everything goes through the migration's transaction: the tracking row is written in the same
/// transaction, so the change and its record commit together or not at all. Do not commit or
/// roll back yourself; return an error to roll back.
pub struct Context<'a> {
    tx: &'a Transaction<'a>,
    schema: &'a str,
    name: &'a str,
    fetcher: &'a Fetcher,
}

impl<'a> Context<'a> {
    pub(crate) fn new(
        tx: &'a Transaction<'a>,
        schema: &'a str,
        name: &'a str,
        fetcher: &'a Fetcher,
    ) -> Context<'a> {
        Context {
            tx,
            schema,
            name,
            fetcher,
        }
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

    /// Reads a whole object (`s3://bucket/key`, `file:///path`, `https://…`; gunzipped when it
    /// ends in `.gz` or says so). Use [`Context::ndjson`] or [`Context::csv`] for large inputs.
    pub async fn fetch_bytes(&self, url: &str) -> DataResult<Vec<u8>> {
        Ok(self.fetcher.bytes(url).await?)
    }

    /// Reads a JSON object as `T` (`serde_json::Value` for untyped data). An error names the
    /// object and the field.
    pub async fn fetch_json<T: DeserializeOwned>(&self, url: &str) -> DataResult<T> {
        Ok(self.fetcher.json(url).await?)
    }

    /// Streams the records of an NDJSON object (one JSON value per line), parsed as they arrive.
    pub async fn ndjson<T: DeserializeOwned>(&self, url: &str) -> DataResult<Records<T>> {
        Ok(self.fetcher.ndjson(url).await?)
    }

    /// Streams the records of a CSV object with a header line, parsed as they arrive
    /// (`HashMap<String, String>` for untyped data).
    pub async fn csv<T: DeserializeOwned>(&self, url: &str) -> DataResult<Records<T>> {
        Ok(self.fetcher.csv(url).await?)
    }

    /// Bulk-loads rows into `table` (`schema.table`) through binary `COPY FROM STDIN`: write
    /// each row with [`CopyIn::write`], then [`CopyIn::finish`].
    pub async fn copy_in(&self, table: &str, columns: &[&str]) -> DataResult<CopyIn<'a>> {
        CopyIn::start(self.tx, table, columns, None).await
    }

    /// As [`Context::copy_in`], but rows whose `keys` already exist are updated instead of
    /// failing: the rows go to a temporary staging table, then one `INSERT … ON CONFLICT (keys)
    /// DO UPDATE`. A migration written this way can run again safely.
    pub async fn upsert(
        &self,
        table: &str,
        columns: &[&str],
        keys: &[&str],
    ) -> DataResult<CopyIn<'a>> {
        CopyIn::start(self.tx, table, columns, Some(keys)).await
    }
}

/// A bulk load in progress (see [`Context::copy_in`] and [`Context::upsert`]).
pub struct CopyIn<'a> {
    tx: &'a Transaction<'a>,
    writer: Pin<Box<BinaryCopyInWriter>>,
    /// For an upsert: the statements that move the staged rows into the table.
    merge: Option<String>,
}

impl<'a> CopyIn<'a> {
    async fn start(
        tx: &'a Transaction<'a>,
        table: &str,
        columns: &[&str],
        keys: Option<&[&str]>,
    ) -> DataResult<CopyIn<'a>> {
        static STAGES: AtomicU32 = AtomicU32::new(0);
        let target = match table.parse::<QualName>() {
            Ok(name) => qualified(&name),
            Err(_) => quote_ident(table),
        };
        let list: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
        let list = list.join(", ");
        // The columns' types, custom ones included, as the server describes them.
        let described = tx
            .prepare(&format!("SELECT {list} FROM {target} LIMIT 0"))
            .await?;
        let types: Vec<Type> = described
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        let (into, merge) = match keys {
            None => (target, None),
            Some(keys) => {
                let stage = format!("strata_stage_{}", STAGES.fetch_add(1, Ordering::Relaxed));
                tx.batch_execute(&format!(
                    "CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {list} FROM {target} WITH NO DATA"
                ))
                .await?;
                let keys: Vec<String> = keys.iter().map(|k| quote_ident(k)).collect();
                let updates: Vec<String> = columns
                    .iter()
                    .map(|c| quote_ident(c))
                    .filter(|c| !keys.contains(c))
                    .map(|c| format!("{c} = EXCLUDED.{c}"))
                    .collect();
                let action = if updates.is_empty() {
                    "NOTHING".to_owned()
                } else {
                    format!("UPDATE SET {}", updates.join(", "))
                };
                let merge = format!(
                    "INSERT INTO {target} ({list}) SELECT {list} FROM {stage} ON CONFLICT ({}) DO {action}",
                    keys.join(", ")
                );
                (stage.clone(), Some(format!("{merge};DROP TABLE {stage}")))
            }
        };
        let sink = tx
            .copy_in::<_, bytes::Bytes>(&format!("COPY {into} ({list}) FROM STDIN BINARY"))
            .await?;
        Ok(CopyIn {
            tx,
            writer: Box::pin(BinaryCopyInWriter::new(sink, &types)),
            merge,
        })
    }

    /// Writes one row: a value per column, in the order given.
    pub async fn write(&mut self, row: &[&(dyn ToSql + Sync)]) -> DataResult {
        self.writer.as_mut().write(row).await?;
        Ok(())
    }

    /// Ends the load; returns the number of rows written (for an upsert: inserted or updated).
    pub async fn finish(mut self) -> DataResult<u64> {
        let copied = self.writer.as_mut().finish().await?;
        match self.merge {
            None => Ok(copied),
            Some(merge) => {
                let (insert, drop) = merge.split_once(';').expect("merge and drop");
                let merged = self.tx.execute(insert, &[]).await?;
                self.tx.batch_execute(drop).await?;
                Ok(merged)
            }
        }
    }
}
