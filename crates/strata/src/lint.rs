//! `strata lint` against files and a database: reading the migrations to judge, and the table
//! sizes that rank findings. The rules themselves are pure ([`strata_core::lint`]).

use std::collections::BTreeMap;
use std::path::Path;

use strata_core::catalog::{Catalog, QualName};
use strata_core::lint::{ALLOW, Finding, Knowledge, Level, Seen, Size, lint_text};
use strata_core::plan::{Plan, RunMode};
use tokio_postgres::Client;

use crate::source::migrations::NO_TRANSACTION;
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

/// A file `generate` wrote, with `-- strata:allow` before each statement that lint would
/// refuse and no gentler form avoids (a drop, a type change: the declared schema asks for
/// them, and the file says so). Generated files thus pass `strata lint`; the re-check makes a
/// generator that missed a gentler form fail loudly instead of writing the file.
pub fn acknowledge_generated(
    name: &str,
    text: &str,
    seen: &mut Seen,
    known: &Knowledge,
) -> Result<String> {
    let before = seen.clone();
    let findings = lint_text(name, text, seen, known)
        .map_err(|bad| Error::Invalid(format!("{name}:{}: {}", bad.line, bad.message)))?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut directives: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for finding in findings.iter().filter(|f| f.level == Level::Error) {
        let reason = match finding.rule {
            "drops-data" => "the declared schema no longer has it",
            "column-type-change" => "the declared type changed; PostgreSQL has no gentler form",
            "volatile-default" => "the declared default is computed per row; no gentler form",
            _ => "planned by strata generate; no gentler form applies to this object",
        };
        let directive = format!("{ALLOW} {} {reason}", finding.rule);
        let at = directives.entry(finding.line).or_default();
        if !at.contains(&directive) {
            at.push(directive);
        }
    }
    for (line, added) in directives.into_iter().rev() {
        let index = line.saturating_sub(1).min(lines.len());
        for directive in added.into_iter().rev() {
            lines.insert(index, directive);
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    let mut again = before;
    let left = lint_text(name, &out, &mut again, known)
        .map_err(|bad| Error::Invalid(format!("{name}:{}: {}", bad.line, bad.message)))?;
    if let Some(finding) = left.iter().find(|f| f.level == Level::Error) {
        return Err(Error::Invalid(format!(
            "{name}: strata's own lint refuses the file it planned ({}: {}); this is a bug in strata, please report it",
            finding.rule, finding.message
        )));
    }
    Ok(out)
}

/// The findings on a plan, judged as `generate` would write it (a file per run of steps with
/// the same run mode), against the catalog it starts from.
pub fn lint_plan(plan: &Plan, from: &Catalog) -> Result<Vec<Finding>> {
    let known = Knowledge {
        catalog: Some(from),
        sizes: Default::default(),
    };
    let mut seen = Seen::default();
    let mut findings = Vec::new();
    for (i, steps) in plan.groups().into_iter().enumerate() {
        seen.transactional = steps.iter().all(|s| s.run == RunMode::InTransaction);
        let text = Plan {
            steps: steps.to_vec(),
        }
        .to_sql();
        let name = format!("file {}", i + 1);
        findings.extend(
            lint_text(&name, &text, &mut seen, &known)
                .map_err(|bad| Error::Invalid(format!("{name}:{}: {}", bad.line, bad.message)))?,
        );
    }
    Ok(findings)
}
