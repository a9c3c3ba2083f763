//! `pg_dump --schema-only` of test databases, for comparing two databases object by object.
//!
//! PostgreSQL's deparsed text is not always a fixed point (`varchar_col IN (…)` reads back with
//! its casts moved), so two databases that hold the same schema can print differently when one
//! was built from the other's printed text. [`fixed_point`] restores a dump into a fresh
//! database and dumps it again until the text stops changing: dumps compared at that point are
//! equal exactly when the schemas are.
//!
//! The client programs come from `STRATA_PG_BIN` when it holds them (the server's own major
//! version), else from `PATH`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use strata::postgres::url::DbUrl;

use crate::TestDb;

/// A PostgreSQL client program: from `STRATA_PG_BIN` when it is there, else by name.
pub fn client_program(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("STRATA_PG_BIN") {
        let path = PathBuf::from(dir).join(name);
        if path.is_file() {
            return path;
        }
    }
    PathBuf::from(name)
}

/// The raw `pg_dump --schema-only --no-owner` of the database at `url`, without the tables
/// `exclude` names (`schema.table`).
pub fn raw(url: &DbUrl, exclude: &[&str]) -> Result<String, String> {
    let out = Command::new(client_program("pg_dump"))
        .args(["--schema-only", "--no-owner", "-d", url.expose()])
        .args(exclude.iter().map(|t| format!("--exclude-table={t}")))
        .output()
        .map_err(|e| {
            format!("running pg_dump: {e} (install the PostgreSQL client, or set STRATA_PG_BIN)")
        })?;
    if !out.status.success() {
        return Err(format!(
            "pg_dump failed (a pg_dump older than the server refuses it: set STRATA_PG_BIN to a folder with the server's own pg_dump): {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("pg_dump printed non-UTF-8: {e}"))
}

/// A dump without what says nothing about the schema: comments, `SET` lines, blank lines, and
/// the `\restrict` guards of newer `pg_dump`; and with each run of `GRANT`/`REVOKE` lines
/// sorted, since pg_dump prints an object's privileges in the order they were granted, which
/// means nothing (`{a=r, b=r}` and `{b=r, a=r}` are the same privileges).
pub fn comparable(dump: &str) -> String {
    let lines: Vec<&str> = dump
        .lines()
        .filter(|l| {
            !l.starts_with("--")
                && !l.starts_with("SET ")
                && !l.starts_with("SELECT pg_catalog.set_config")
                && !l.starts_with("\\restrict")
                && !l.starts_with("\\unrestrict")
                && !l.trim().is_empty()
        })
        .collect();
    let is_acl = |l: &str| l.starts_with("GRANT ") || l.starts_with("REVOKE ");
    let mut out: Vec<&str> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let end = (i..lines.len())
            .find(|&j| !is_acl(lines[j]))
            .unwrap_or(lines.len());
        if end > i {
            let mut run = lines[i..end].to_vec();
            run.sort_unstable();
            out.extend(run);
            i = end;
        } else {
            out.push(lines[i]);
            i += 1;
        }
    }
    out.join("\n")
}

/// The comparable schema dump of `db`, without the tables `exclude` names.
pub fn schema(db: &TestDb, exclude: &[&str]) -> Result<String, String> {
    raw(db.url(), exclude).map(|d| comparable(&d))
}

/// The comparable schema dump of `db` at its fixed point: restored into fresh databases and
/// dumped again until it no longer changes.
pub async fn fixed_point(db: &TestDb, exclude: &[&str]) -> Result<String, String> {
    let mut current = raw(db.url(), exclude)?;
    for _ in 0..4 {
        let copy = TestDb::new().await;
        restore(copy.url(), &current)?;
        let next = raw(copy.url(), &[])?;
        if comparable(&next) == comparable(&current) {
            return Ok(comparable(&next));
        }
        current = next;
    }
    Err("the dump does not reach a fixed point in four restores".into())
}

/// Runs a dump (or any script) with `psql`, stopping at the first error.
pub fn restore(url: &DbUrl, script: &str) -> Result<(), String> {
    let mut child = Command::new(client_program("psql"))
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url.expose(),
            "-f",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running psql: {e}"))?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(script.as_bytes())
        .map_err(|e| format!("writing to psql: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("waiting for psql: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Compares the schemas of two databases: their dumps, and when those differ, their dumps at
/// the fixed point. `Err` shows both sides.
pub async fn same_schema(got: &TestDb, want: &TestDb) -> Result<(), String> {
    same_schema_without(got, want, &[]).await
}

/// As [`same_schema`], leaving out the tables `exclude` names (`schema.table`) in both.
pub async fn same_schema_without(
    got: &TestDb,
    want: &TestDb,
    exclude: &[&str],
) -> Result<(), String> {
    let (a, b) = (schema(got, exclude)?, schema(want, exclude)?);
    if a == b {
        return Ok(());
    }
    let (a, b) = (
        fixed_point(got, exclude).await?,
        fixed_point(want, exclude).await?,
    );
    if a == b {
        return Ok(());
    }
    Err(format!(
        "pg_dump differs (at its fixed point); lines only in the database built (+) or only in the wanted one (-):\n{}",
        line_differences(&a, &b)
    ))
}

/// The lines only one of two texts has (as many times as it has more of them), marked `-`
/// (only in `want`) and `+` (only in `got`), in the order they appear.
pub fn line_differences(got: &str, want: &str) -> String {
    use std::collections::HashMap;
    let count = |text: &str| {
        let mut counts: HashMap<String, isize> = HashMap::new();
        for line in text.lines() {
            *counts.entry(line.to_owned()).or_default() += 1;
        }
        counts
    };
    let (in_got, in_want) = (count(got), count(want));
    let mut out = Vec::new();
    let mut extra =
        |text: &str, mine: &HashMap<String, isize>, theirs: &HashMap<String, isize>, mark: char| {
            let mut left: HashMap<&str, isize> = mine
                .iter()
                .map(|(l, n)| (l.as_str(), n - theirs.get(l).copied().unwrap_or(0)))
                .collect();
            for line in text.lines() {
                if let Some(n) = left.get_mut(line)
                    && *n > 0
                {
                    out.push(format!("{mark} {line}"));
                    *n -= 1;
                }
            }
        };
    extra(want, &in_want, &in_got, '-');
    extra(got, &in_got, &in_want, '+');
    out.join("\n")
}
