//! `strata lint` against files and a database: reading the migrations to judge, and the table
//! sizes that rank findings. The rules themselves are pure ([`strata_core::lint`]).

use std::collections::BTreeMap;
use std::path::Path;

use strata_core::catalog::QualName;
use strata_core::lint::{Finding, Knowledge, Seen, Size, lint_text};
use tokio_postgres::Client;

use crate::migrations::NO_TRANSACTION;
use crate::{Error, Result};

/// A migration to judge.
#[derive(Debug, Clone)]
pub struct Input {
    /// Its name as the user sees it (a path relative to the project, or as given).
    pub name: String,
    /// Its text.
    pub text: String,
}

impl Input {
    /// Reads a file; `name` is how findings name it.
    pub fn read(path: &Path, name: String) -> Result<Input> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        Ok(Input { name, text })
    }

    /// Whether strata runs it in one transaction (no `-- strata:no-transaction` on top).
    pub fn transactional(&self) -> bool {
        !self
            .text
            .lines()
            .take_while(|l| l.trim().is_empty() || l.trim_start().starts_with("--"))
            .any(|l| l.trim() == NO_TRANSACTION)
    }
}

/// Lints files in order: a table one of them creates is new for the ones after it too (the
/// pending migrations of a deploy run one after the other, before the application writes).
pub fn lint(files: &[Input], known: &Knowledge) -> Result<Vec<Finding>> {
    let mut seen = Seen::default();
    let mut findings = Vec::new();
    for file in files {
        seen.transactional = file.transactional();
        let found = lint_text(&file.name, &file.text, &mut seen, known).map_err(|bad| {
            Error::Invalid(format!("{}:{}: {}", file.name, bad.line, bad.message))
        })?;
        findings.extend(found);
    }
    Ok(findings)
}

/// The estimated rows and bytes of every table, materialized view and partitioned table.
pub async fn sizes(client: &Client) -> Result<BTreeMap<QualName, Size>> {
    let rows = client
        .query(
            "SELECT n.nspname, c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p', 'm')
               AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg\\_toast%'",
            &[],
        )
        .await
        .map_err(|e| Error::db("reading table sizes", e))?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                QualName::new(r.get::<_, String>(0), r.get::<_, String>(1)),
                Size {
                    rows: r.get(2),
                    bytes: r.get(3),
                },
            )
        })
        .collect())
}
