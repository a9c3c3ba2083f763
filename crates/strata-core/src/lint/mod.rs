//! `strata lint`: lock and data-loss hazards of migration files, judged statement by statement.
//!
//! Each rule lives in a file of its own under `rules/`, with its id, a one-line reason, the
//! gentler form when PostgreSQL offers one, and its tests. The rules read the words of a
//! statement ([`words`]) and what the file did before it ([`Seen`]): a table the migration
//! creates holds no rows yet, so what would block on a table with rows is harmless on it. With
//! what the database says ([`Knowledge`]: the catalog before the migration and the tables'
//! sizes) findings on small tables are warnings and tables the rule cannot apply to (a
//! partitioned table has no concurrent index build) are left alone.
//!
//! A file acknowledges a finding with `-- strata:allow RULE reason` in the comments before the
//! statement, or before its first statement for the whole file.

mod rules;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::catalog::{Catalog, QualName, TableKind};
use crate::split::split;
use crate::words::{self, TableName, Token, Words, tokens};

pub use rules::RULES;

/// The directive that acknowledges a finding: `-- strata:allow RULE reason`.
pub const ALLOW: &str = "-- strata:allow";

/// Tables with at most this many rows (estimated) and under [`SMALL_BYTES`] are small: a
/// finding about locks on them is a warning.
pub const SMALL_ROWS: i64 = 10_000;

/// See [`SMALL_ROWS`].
pub const SMALL_BYTES: i64 = 8 << 20;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Worth a look; does not fail the lint.
    Warning,
    /// Fails the lint (exit 1) unless acknowledged.
    Error,
}

impl Level {
    /// `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// One lint rule.
pub trait Rule: Sync {
    /// Its stable id (`blocking-index-build`).
    fn id(&self) -> &'static str;
    /// Why the form is a problem, in one line.
    fn reason(&self) -> &'static str;
    /// The gentler form PostgreSQL offers, when there is one.
    fn gentler(&self) -> Option<&'static str>;
    /// Its level on a table of unknown or large size.
    fn level(&self) -> Level {
        Level::Error
    }
    /// Whether the finding is about a lock or a scan: a warning on a small table. (Nothing
    /// is found on a table the migration creates.)
    fn about_locks(&self) -> bool {
        true
    }
    /// What it finds in one statement.
    fn check(&self, statement: &[Token], seen: &Seen, known: &Knowledge) -> Vec<Hit>;
}

/// What a rule found in one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The table it concerns, when there is one.
    pub table: Option<TableName>,
    /// What is wrong, naming the object.
    pub message: String,
}

impl Hit {
    /// A hit about `table`.
    pub fn on(table: TableName, message: impl Into<String>) -> Hit {
        Hit {
            table: Some(table),
            message: message.into(),
        }
    }
}

/// A table's size, read from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Size {
    /// Estimated rows (`pg_class.reltuples`; -1 when never analysed).
    pub rows: i64,
    /// Bytes, with indexes and TOAST.
    pub bytes: i64,
}

/// What the database says, when the lint may ask it.
#[derive(Debug, Clone, Default)]
pub struct Knowledge<'a> {
    /// The catalog before the migrations run.
    pub catalog: Option<&'a Catalog>,
    /// Table sizes.
    pub sizes: BTreeMap<QualName, Size>,
}

impl Knowledge<'_> {
    /// The table of the catalog this name means (unqualified: the only one of that name).
    pub fn resolve(&self, table: &TableName) -> Option<QualName> {
        let catalog = self.catalog?;
        match &table.schema {
            Some(schema) => {
                let name = QualName::new(schema.clone(), table.name.clone());
                catalog.tables.contains_key(&name).then_some(name)
            }
            None => only_one_named(catalog.tables.keys(), &table.name),
        }
    }

    /// The kind of an existing table, when the catalog is known.
    pub fn kind(&self, table: &TableName) -> Option<TableKind> {
        let name = self.resolve(table)?;
        Some(self.catalog?.tables[&name].kind.clone())
    }

    /// Whether the table is partitioned or foreign (no concurrent forms apply to it).
    pub fn not_ordinary(&self, table: &TableName) -> bool {
        self.kind(table).is_some_and(|k| k != TableKind::Ordinary)
            || self.resolve(table).is_some_and(|n| {
                self.catalog
                    .is_some_and(|c| c.tables[&n].partition_of.is_some())
            })
    }

    fn size(&self, table: &TableName) -> Option<Size> {
        let name = match &table.schema {
            Some(schema) => QualName::new(schema.clone(), table.name.clone()),
            None => self
                .resolve(table)
                .or_else(|| only_one_named(self.sizes.keys(), &table.name))?,
        };
        self.sizes.get(&name).copied()
    }
}

/// The one name among `names` called `name` in whatever schema; none when several are.
fn only_one_named<'a>(names: impl Iterator<Item = &'a QualName>, name: &str) -> Option<QualName> {
    let mut found = names.filter(|k| k.name == name);
    let first = found.next()?.clone();
    found.next().is_none().then_some(first)
}

/// What the statements before this one did, in this file and the files linted before it.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Whether this file runs in one transaction.
    pub transactional: bool,
    /// Tables created by the migrations being linted (they hold no rows yet).
    pub new_tables: BTreeSet<TableName>,
    /// Constraints added `NOT VALID` in this file: (table, constraint).
    pub added_not_valid: BTreeSet<(String, String)>,
    /// `CHECK (c IS NOT NULL) NOT VALID` constraints added in this file: constraint → (table,
    /// column).
    pub not_null_checks: BTreeMap<String, (String, String)>,
    /// Columns proven NOT NULL by a validated check in this file: (table, column).
    pub proven_not_null: BTreeSet<(String, String)>,
    /// Whether the file turned `lock_timeout` off (`RESET ALL`, `SET lock_timeout = 0`) and
    /// has not set it again.
    pub lock_timeout_off: bool,
    /// Whether a statement run without `lock_timeout` was reported already (once per stretch:
    /// a `pg_dump` script sets it to 0 for all that follows).
    pub lock_timeout_reported: bool,
}

impl Seen {
    /// Whether the migrations being linted create this table.
    pub fn is_new(&self, table: &TableName) -> bool {
        self.new_tables.iter().any(|t| {
            t.name == table.name
                && (t.schema.is_none() || table.schema.is_none() || t.schema == table.schema)
        })
    }

    /// Takes note of what a statement does, for the statements after it.
    fn observe(&mut self, statement: &[Token]) {
        let mut w = Words::new(statement);
        if w.eat(&["CREATE"]) {
            w.eat(&["GLOBAL"]);
            w.eat(&["LOCAL"]);
            let _ = w.eat(&["TEMPORARY"]) || w.eat(&["TEMP"]) || w.eat(&["UNLOGGED"]);
            // A materialized view holds rows at once, but nothing reads it before the
            // migration commits.
            if w.eat(&["TABLE"]) || w.eat(&["MATERIALIZED", "VIEW"]) {
                w.eat(&["IF", "NOT", "EXISTS"]);
                if let Some(table) = w.table() {
                    self.new_tables.insert(table);
                }
            }
            return;
        }
        if let Some((table, actions)) = rules::alter_table(statement) {
            for action in actions {
                let mut a = Words::new(action);
                if a.eat(&["ADD", "CONSTRAINT"]) {
                    let Some(name) = a.name().and_then(|mut n| n.pop()) else {
                        continue;
                    };
                    if words::contains(action, &["NOT", "VALID"]) {
                        self.added_not_valid
                            .insert((table.name.clone(), name.clone()));
                        if let [
                            Token::Word(c, _),
                            Token::Punct('('),
                            column,
                            Token::Word(is, _),
                            Token::Word(not, _),
                            Token::Word(null, _),
                            Token::Punct(')'),
                            ..,
                        ] = a.rest()
                            && c == "CHECK"
                            && is == "IS"
                            && not == "NOT"
                            && null == "NULL"
                            && let Some(column) = column.name()
                        {
                            self.not_null_checks
                                .insert(name, (table.name.clone(), column.to_owned()));
                        }
                    }
                } else if a.eat(&["VALIDATE", "CONSTRAINT"])
                    && let Some(name) = a.name().and_then(|mut n| n.pop())
                    && let Some(proven) = self.not_null_checks.get(&name)
                {
                    self.proven_not_null.insert(proven.clone());
                }
            }
            return;
        }
        let resets = match statement {
            [Token::Word(a, _), Token::Word(b, setting)] => {
                (a == "RESET" || a == "DISCARD") && b == "ALL"
                    || a == "RESET" && setting == "lock_timeout"
            }
            _ => false,
        };
        if resets {
            self.lock_timeout_off = true;
            self.lock_timeout_reported = false;
        }
    }

    /// `SET [SESSION|LOCAL] lock_timeout …`: off when set to 0 or DEFAULT, on otherwise (the
    /// value is a literal, which the tokens do not keep: the text decides).
    fn observe_lock_timeout(&mut self, text: &str) {
        let lower = crate::split::strip_comments(text).to_ascii_lowercase();
        let mut w = lower.split_whitespace();
        if w.next() != Some("set") {
            return;
        }
        let rest: Vec<&str> = w.filter(|x| *x != "session" && *x != "local").collect();
        let Some(setting) = rest.first() else { return };
        if !setting.starts_with("lock_timeout") {
            return;
        }
        let value = rest
            .join(" ")
            .trim_start_matches("lock_timeout")
            .trim()
            .trim_start_matches('=')
            .trim_start_matches("to ")
            .trim()
            .trim_matches(['\'', ' '])
            .to_owned();
        let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
        self.lock_timeout_off =
            value == "default" || (!digits.is_empty() && digits.chars().all(|c| c == '0'));
        self.lock_timeout_reported = false;
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line of the statement.
    pub line: usize,
    /// 1-based column of the statement.
    pub column: usize,
    /// The rule's id.
    pub rule: &'static str,
    /// How bad it is.
    pub level: Level,
    /// What is wrong.
    pub message: String,
    /// The gentler form, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<&'static str>,
    /// The table's estimated rows, when the database was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<i64>,
}

/// Bad input: a directive the lint cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadDirective {
    /// 1-based line.
    pub line: usize,
    /// What is wrong and what to write instead.
    pub message: String,
}

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static dyn Rule> {
    RULES.iter().copied().find(|r| r.id() == id)
}

/// Lints one file. `seen` carries what earlier files of the same run created; its
/// `transactional` says how this file runs.
pub fn lint_text(
    file: &str,
    text: &str,
    seen: &mut Seen,
    known: &Knowledge,
) -> Result<Vec<Finding>, BadDirective> {
    let statements = split(text);
    let mut file_allows: BTreeSet<String> = BTreeSet::new();
    let mut findings = Vec::new();
    seen.added_not_valid.clear();
    seen.not_null_checks.clear();
    seen.proven_not_null.clear();
    seen.lock_timeout_off = false;
    seen.lock_timeout_reported = false;
    for (n, statement) in statements.iter().enumerate() {
        let allows = allows(&statement.text, statement.line)?;
        if n == 0 {
            file_allows = allows.clone();
        }
        let words = tokens(&statement.text);
        if words.is_empty() {
            continue;
        }
        // Where the statement itself begins, after the comments that lead it.
        let (line, column) =
            crate::split::line_column(text, statement.offset + after_comments(&statement.text));
        for rule in RULES {
            if allows.contains(rule.id()) || file_allows.contains(rule.id()) {
                continue;
            }
            for hit in rule.check(&words, seen, known) {
                let mut level = rule.level();
                let mut rows = None;
                if let Some(table) = &hit.table {
                    if seen.is_new(table) {
                        continue;
                    }
                    if let Some(size) = known.size(table) {
                        rows = Some(size.rows).filter(|r| *r >= 0);
                        if rule.about_locks() && size.rows <= SMALL_ROWS && size.bytes < SMALL_BYTES
                        {
                            level = Level::Warning;
                        }
                    }
                }
                findings.push(Finding {
                    file: file.to_owned(),
                    line,
                    column,
                    rule: rule.id(),
                    level,
                    message: hit.message,
                    help: rule.gentler(),
                    rows,
                });
            }
        }
        if findings
            .last()
            .is_some_and(|f: &Finding| f.rule == "missing-lock-timeout" && f.line == line)
        {
            seen.lock_timeout_reported = true;
        }
        seen.observe_lock_timeout(&statement.text);
        seen.observe(&words);
    }
    Ok(findings)
}

/// The byte offset of the first character of `text` that is not white space or a comment.
fn after_comments(text: &str) -> usize {
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start();
        if let Some(line) = trimmed.strip_prefix("--") {
            rest = line.find('\n').map_or("", |end| &line[end..]);
        } else if trimmed.starts_with("/*") {
            let mut depth = 0;
            let mut end = trimmed.len();
            let bytes = trimmed.as_bytes();
            let mut i = 0;
            while i + 1 < bytes.len() {
                if &bytes[i..i + 2] == b"/*" {
                    depth += 1;
                    i += 2;
                } else if &bytes[i..i + 2] == b"*/" {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            rest = &trimmed[end..];
        } else {
            return text.len() - trimmed.len();
        }
    }
}

/// The rules a statement's leading comments acknowledge.
fn allows(text: &str, line: usize) -> Result<BTreeSet<String>, BadDirective> {
    let mut out = BTreeSet::new();
    for (k, l) in text.lines().enumerate() {
        let l = l.trim();
        if !l.starts_with("--") {
            if l.is_empty() {
                continue;
            }
            break;
        }
        let Some(rest) = l.strip_prefix(ALLOW) else {
            continue;
        };
        let mut parts = rest.split_whitespace();
        let Some(id) = parts.next() else {
            return Err(BadDirective {
                line: line + k,
                message: format!("`{ALLOW}` names no rule: write `{ALLOW} RULE reason`"),
            });
        };
        if rule(id).is_none() {
            let ids: Vec<&str> = RULES.iter().map(|r| r.id()).collect();
            return Err(BadDirective {
                line: line + k,
                message: format!("`{ALLOW} {id}`: no such rule (rules: {})", ids.join(", ")),
            });
        }
        if parts.next().is_none() {
            return Err(BadDirective {
                line: line + k,
                message: format!(
                    "`{ALLOW} {id}` gives no reason: say why the finding is acceptable after the rule"
                ),
            });
        }
        out.insert(id.to_owned());
    }
    Ok(out)
}
