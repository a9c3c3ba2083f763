//! What a data migration's `up` and `down` get: the migration's open transaction, and helpers.

use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::de::DeserializeOwned;
use strata_core::catalog::QualName;
use strata_core::render::qualified;
use strata_core::sql::quote_ident;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{FromSql, ToSql, Type};
use tokio_postgres::{Row, Transaction};

use super::DataResult;
use crate::codegen::{Column, ColumnDef, Insert, Key, Set, Table, Value};
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

// Typed operations on the types `strata codegen` generates (see `crate::codegen`).
impl<'a> Context<'a> {
    /// Inserts one row; returns the number of rows inserted (1).
    pub async fn insert<R: Insert>(&self, row: &R) -> DataResult<u64> {
        self.insert_many(std::slice::from_ref(row)).await
    }

    /// Inserts one row and returns one of its columns (an identity, a default):
    /// `INSERT … RETURNING column`.
    pub async fn insert_returning<R: Insert, V>(
        &self,
        row: &R,
        column: Column<R::Table, V>,
    ) -> DataResult<V>
    where
        V: for<'r> FromSql<'r>,
    {
        let (sql, params) = insert_sql::<R>(std::slice::from_ref(row));
        let sql = format!("{sql} RETURNING {}", quote_ident(column.name));
        Ok(self.tx.query_one(&sql, &params).await?.try_get(0)?)
    }

    /// Inserts rows with multi-row `INSERT`s (as many rows per statement as PostgreSQL's
    /// parameter limit allows); returns the number of rows inserted.
    pub async fn insert_many<R: Insert>(&self, rows: &[R]) -> DataResult<u64> {
        let mut inserted = 0;
        // `DEFAULT VALUES` is one row: a table whose columns all take defaults gets one each.
        let per_statement = if R::COLUMNS.is_empty() {
            1
        } else {
            chunk_rows::<R>()
        };
        for chunk in rows.chunks(per_statement) {
            let (sql, params) = insert_sql(chunk);
            inserted += self.tx.execute(&sql, &params).await?;
        }
        Ok(inserted)
    }

    /// Inserts rows, updating those whose `key` (a primary key or unique constraint) already
    /// exists: `INSERT … ON CONFLICT ON CONSTRAINT key DO UPDATE` of the columns the rows give.
    /// A migration written this way can run again safely. Returns the rows inserted or updated.
    pub async fn upsert_rows<R: Insert>(&self, key: Key<R::Table>, rows: &[R]) -> DataResult<u64> {
        // The key's columns, as the database has them (they are not updated).
        let key_columns: Vec<String> = self
            .tx
            .query(
                "SELECT a.attname::text FROM pg_catalog.pg_constraint c \
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) \
                 WHERE c.conrelid = $1::text::regclass AND c.conname = $2",
                &[&<R::Table as Table>::QUALIFIED_NAME, &key.name],
            )
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        if key_columns.is_empty() {
            return Err(format!(
                "upsert_rows: {} has no key {}; regenerate the Rust types (`strata codegen`)",
                <R::Table as Table>::QUALIFIED_NAME,
                key.name
            )
            .into());
        }
        let mut changed = 0;
        for chunk in rows.chunks(chunk_rows::<R>()) {
            let (sql, params) = insert_sql(chunk);
            let updates: Vec<String> = R::COLUMNS
                .iter()
                .filter(|c| !key_columns.iter().any(|k| k == c.name))
                .map(|c| {
                    let c = quote_ident(c.name);
                    format!("{c} = EXCLUDED.{c}")
                })
                .collect();
            let action = if updates.is_empty() {
                "NOTHING".to_owned()
            } else {
                format!("UPDATE SET {}", updates.join(", "))
            };
            let sql = format!(
                "{sql} ON CONFLICT ON CONSTRAINT {} DO {action}",
                quote_ident(key.name)
            );
            changed += self.tx.execute(&sql, &params).await?;
        }
        Ok(changed)
    }

    /// Bulk-loads rows through binary `COPY FROM STDIN`. The columns are those the first row
    /// gives (a column whose value is `None` takes its default); every row must give the same.
    /// Columns sent as another type (domains, types without a native mapping) are copied into
    /// a temporary table first and cast on the way into the table. Returns the rows loaded.
    pub async fn copy_rows<R: Insert>(&self, rows: &[R]) -> DataResult<u64> {
        let Some(first) = rows.first() else {
            return Ok(0);
        };
        let given: Vec<bool> = first
            .values()
            .iter()
            .map(|v| matches!(v, Value::Param(_)))
            .collect();
        let columns: Vec<&ColumnDef> = R::COLUMNS
            .iter()
            .zip(&given)
            .filter_map(|(c, g)| g.then_some(c))
            .collect();
        let list: Vec<String> = columns.iter().map(|c| quote_ident(c.name)).collect();
        let list = list.join(", ");
        let table = <R::Table as Table>::QUALIFIED_NAME;
        let staged = columns.iter().any(|c| c.sent_as.is_some());
        let into = if staged {
            static STAGES: AtomicU32 = AtomicU32::new(0);
            let stage = format!("strata_copy_{}", STAGES.fetch_add(1, Ordering::Relaxed));
            let definitions: Vec<String> = columns
                .iter()
                .map(|c| {
                    format!(
                        "{} {}",
                        quote_ident(c.name),
                        c.sent_as.unwrap_or(c.sql_type)
                    )
                })
                .collect();
            self.tx
                .batch_execute(&format!(
                    "CREATE TEMP TABLE {stage} ({}) ON COMMIT DROP",
                    definitions.join(", ")
                ))
                .await?;
            stage
        } else {
            table.to_owned()
        };
        // The types as the server describes them: enums and arrays of them by their OIDs.
        let described = self
            .tx
            .prepare(&format!("SELECT {list} FROM {into} LIMIT 0"))
            .await?;
        let types: Vec<Type> = described
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        let sink = self
            .tx
            .copy_in::<_, bytes::Bytes>(&format!("COPY {into} ({list}) FROM STDIN BINARY"))
            .await?;
        let mut writer = Box::pin(BinaryCopyInWriter::new(sink, &types));
        for (n, row) in rows.iter().enumerate() {
            let values = row.values();
            let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(columns.len());
            for (value, given) in values.iter().zip(&given) {
                match (value, given) {
                    (Value::Param(p), true) => params.push(*p),
                    (Value::Default, false) => {}
                    _ => {
                        return Err(format!(
                            "copy_rows into {table}: row {} gives other columns than the first \
                             (a default where the first has a value, or the reverse); \
                             use insert_many for such rows",
                            n + 1
                        )
                        .into());
                    }
                }
            }
            writer.as_mut().write(&params).await?;
        }
        let copied = writer.as_mut().finish().await?;
        if staged {
            let casts: Vec<String> = columns
                .iter()
                .map(|c| match c.sent_as {
                    Some(_) => format!("{}::{}", quote_ident(c.name), c.sql_type),
                    None => quote_ident(c.name),
                })
                .collect();
            self.tx
                .batch_execute(&format!(
                    "INSERT INTO {table} ({list}) SELECT {} FROM {into}; DROP TABLE {into}",
                    casts.join(", ")
                ))
                .await?;
        }
        Ok(copied)
    }

    /// Deletes the rows whose `column` equals `value` (SQL's `=`: `None` matches no row);
    /// returns how many.
    pub async fn delete_by<T: Table, V: ToSql + Sync>(
        &self,
        column: Column<T, V>,
        value: &V,
    ) -> DataResult<u64> {
        let sql = format!(
            "DELETE FROM {} WHERE {} = {}",
            T::QUALIFIED_NAME,
            quote_ident(column.name),
            column_def::<T>(column.name).param(1)
        );
        Ok(self.tx.execute(&sql, &[value]).await?)
    }

    /// Sets columns of the rows whose `column` equals `value`
    /// (`update_by(Batteries::NAME, &name, &[Batteries::PREFIX.set(prefix)])`); returns how
    /// many rows changed.
    pub async fn update_by<T: Table, V: ToSql + Sync>(
        &self,
        column: Column<T, V>,
        value: &V,
        set: &[Set<T>],
    ) -> DataResult<u64> {
        if set.is_empty() {
            return Ok(0);
        }
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![value];
        let assignments: Vec<String> = set
            .iter()
            .enumerate()
            .map(|(i, s)| {
                params.push(&*s.value);
                format!(
                    "{} = {}",
                    quote_ident(s.column),
                    column_def::<T>(s.column).param(i + 2)
                )
            })
            .collect();
        let sql = format!(
            "UPDATE {} SET {} WHERE {} = {}",
            T::QUALIFIED_NAME,
            assignments.join(", "),
            quote_ident(column.name),
            column_def::<T>(column.name).param(1)
        );
        Ok(self.tx.execute(&sql, &params).await?)
    }
}

/// The description of `T`'s column `name` (generated together, so it is there).
fn column_def<T: Table>(name: &str) -> ColumnDef {
    T::COLUMNS
        .iter()
        .find(|c| c.name == name)
        .copied()
        .unwrap_or(ColumnDef::new("", "", None))
}

/// Rows per `INSERT`: PostgreSQL takes at most 65,535 parameters in one statement.
fn chunk_rows<R: Insert>() -> usize {
    (u16::MAX as usize / R::COLUMNS.len().max(1)).max(1)
}

/// `INSERT INTO table (columns) VALUES (…), (…)` with `DEFAULT` for defaulted values.
fn insert_sql<R: Insert>(rows: &[R]) -> (String, Vec<&(dyn ToSql + Sync)>) {
    let list: Vec<String> = R::COLUMNS.iter().map(|c| quote_ident(c.name)).collect();
    let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
    let mut tuples = Vec::with_capacity(rows.len());
    for row in rows {
        let values: Vec<String> = row
            .values()
            .into_iter()
            .zip(R::COLUMNS)
            .map(|(value, column)| match value {
                Value::Default => "DEFAULT".to_owned(),
                Value::Param(p) => {
                    params.push(p);
                    column.param(params.len())
                }
            })
            .collect();
        tuples.push(format!("({})", values.join(", ")));
    }
    let table = <R::Table as Table>::QUALIFIED_NAME;
    let sql = if list.is_empty() {
        format!("INSERT INTO {table} DEFAULT VALUES")
    } else {
        format!(
            "INSERT INTO {table} ({}) VALUES {}",
            list.join(", "),
            tuples.join(", ")
        )
    };
    (sql, params)
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
