//! What the server did with a statement that runs outside a transaction, found out before it is
//! repeated.
//!
//! A `CREATE INDEX CONCURRENTLY` is not atomic: when strata dies during it, the server finishes
//! the build on its own (the index is then VALID), or stops halfway (an INVALID index stays), and
//! strata's progress record never hears of it. Repeating the statement then fails with "already
//! exists". So before a statement of this kind runs again (after a crash, or after it gave up on
//! a lock), strata looks at the catalog: done, half done (cleaned up first), or not started.
//!
//! Statements that can run in a transaction need none of this: strata runs each of them in a
//! transaction together with its progress record, so either both happened or neither did.

use strata_core::split::Statement;
use tokio_postgres::Client;

use crate::{Error, Result};

/// A statement whose effect strata can recognise in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] index ON [ONLY] table …`: the index
    /// name as written (unqualified) and the table as written.
    CreateIndex { index: String, table: String },
    /// `DROP INDEX CONCURRENTLY [IF EXISTS] index`: the index as written.
    DropIndex { index: String },
    /// `ALTER TABLE parent DETACH PARTITION partition CONCURRENTLY` (or `FINALIZE`).
    DetachPartition { parent: String, partition: String },
    /// `ALTER TYPE type ADD VALUE [IF NOT EXISTS] 'label' …`.
    AddEnumValue { type_name: String, label: String },
}

/// What the catalog says about a recognised statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    /// Its effect is there: record it as done, with this explanation.
    Done(String),
    /// Half done: run `cleanup` first (explained by `why`), then the statement.
    Cleanup { why: String, cleanup: String },
    /// Half done in a way one statement completes (a pending detach): run `finish` instead of
    /// the statement, then record it as done.
    Finish { why: String, finish: String },
    /// No trace of it: run it.
    NotStarted,
}

impl Effect {
    /// Recognises the statement kinds that cannot run in a transaction block and leave a trace.
    pub(crate) fn recognise(statement: &Statement) -> Option<Effect> {
        let tokens = tokens(&statement.text);
        let mut p = Parser { tokens, at: 0 };
        if p.keyword("CREATE") {
            p.keyword("UNIQUE");
            if !(p.keyword("INDEX") && p.keyword("CONCURRENTLY")) {
                return None;
            }
            if p.keyword("IF") && !(p.keyword("NOT") && p.keyword("EXISTS")) {
                return None;
            }
            let index = p.name()?;
            if index.contains('.') || !p.keyword("ON") {
                return None;
            }
            p.keyword("ONLY");
            let table = p.name()?;
            return Some(Effect::CreateIndex { index, table });
        }
        if p.keyword("DROP") {
            if !(p.keyword("INDEX") && p.keyword("CONCURRENTLY")) {
                return None;
            }
            if p.keyword("IF") && !p.keyword("EXISTS") {
                return None;
            }
            let index = p.name()?;
            return Some(Effect::DropIndex { index });
        }
        if !p.keyword("ALTER") {
            return None;
        }
        if p.keyword("TYPE") {
            let type_name = p.name()?;
            if !(p.keyword("ADD") && p.keyword("VALUE")) {
                return None;
            }
            if p.keyword("IF") && !(p.keyword("NOT") && p.keyword("EXISTS")) {
                return None;
            }
            let label = p.string()?;
            return Some(Effect::AddEnumValue { type_name, label });
        }
        if !p.keyword("TABLE") {
            return None;
        }
        if p.keyword("IF") && !p.keyword("EXISTS") {
            return None;
        }
        p.keyword("ONLY");
        let parent = p.name()?;
        if !(p.keyword("DETACH") && p.keyword("PARTITION")) {
            return None;
        }
        let partition = p.name()?;
        (p.keyword("CONCURRENTLY") || p.keyword("FINALIZE"))
            .then_some(Effect::DetachPartition { parent, partition })
    }

    /// Looks in the catalog for the statement's effect.
    pub(crate) async fn inspect(&self, client: &Client) -> Result<Found> {
        let failed = |e| Error::db("looking at what the server did with the statement", e);
        match self {
            Effect::CreateIndex { index, table } => {
                // The index lives in its table's schema; to_regclass parses the name as written.
                let row = client
                    .query_opt(
                        "SELECT i.indisvalid, format('%I.%I', n.nspname, c.relname) \
                         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                         JOIN pg_namespace n ON n.oid = c.relnamespace \
                         WHERE i.indrelid = to_regclass($2) \
                           AND i.indexrelid = to_regclass(format('%I.', n.nspname) || $1)",
                        &[index, table],
                    )
                    .await
                    .map_err(failed)?;
                Ok(match row {
                    Some(row) if row.get::<_, bool>(0) => Found::Done(format!(
                        "the index {} exists and is valid",
                        row.get::<_, String>(1)
                    )),
                    Some(row) => {
                        let name: String = row.get(1);
                        Found::Cleanup {
                            why: format!(
                                "the build of the index {name} stopped halfway: dropping the INVALID index it left and building it again"
                            ),
                            cleanup: format!("DROP INDEX CONCURRENTLY IF EXISTS {name}"),
                        }
                    }
                    None => Found::NotStarted,
                })
            }
            Effect::DropIndex { index } => {
                let gone: bool = client
                    .query_one("SELECT to_regclass($1) IS NULL", &[index])
                    .await
                    .map_err(failed)?
                    .get(0);
                Ok(if gone {
                    Found::Done(format!("the index {index} is gone"))
                } else {
                    Found::NotStarted
                })
            }
            Effect::DetachPartition { parent, partition } => {
                let row = client
                    .query_one(
                        "SELECT to_regclass($2) IS NOT NULL, \
                                (SELECT i.inhdetachpending FROM pg_inherits i \
                                 WHERE i.inhrelid = to_regclass($2) AND i.inhparent = to_regclass($1))",
                        &[parent, partition],
                    )
                    .await
                    .map_err(failed)?;
                let exists: bool = row.get(0);
                Ok(match row.get::<_, Option<bool>>(1) {
                    None if exists => {
                        Found::Done(format!("{partition} is no longer a partition of {parent}"))
                    }
                    None => Found::NotStarted,
                    Some(true) => Found::Finish {
                        why: format!(
                            "the detach of {partition} from {parent} stopped halfway: finishing it"
                        ),
                        finish: format!(
                            "ALTER TABLE {parent} DETACH PARTITION {partition} FINALIZE"
                        ),
                    },
                    Some(false) => Found::NotStarted,
                })
            }
            Effect::AddEnumValue { type_name, label } => {
                let there: bool = client
                    .query_one(
                        "SELECT EXISTS (SELECT FROM pg_enum WHERE enumtypid = to_regtype($1) AND enumlabel = $2)",
                        &[type_name, label],
                    )
                    .await
                    .map_err(failed)?
                    .get(0);
                Ok(if there {
                    Found::Done(format!("{type_name} has the value '{label}'"))
                } else {
                    Found::NotStarted
                })
            }
        }
    }
}

/// Whether a statement can never run inside a transaction block, known from its first words
/// (others are found out when the server refuses them).
pub(crate) fn never_in_transaction(statement: &Statement) -> bool {
    let words = statement.keywords(4);
    let word = |i: usize| words.get(i).map_or("", String::as_str);
    match word(0) {
        "VACUUM" | "REINDEX" => true,
        "CREATE" => {
            word(1) == "INDEX" && word(2) == "CONCURRENTLY"
                || word(1) == "UNIQUE" && word(2) == "INDEX" && word(3) == "CONCURRENTLY"
        }
        "DROP" => word(1) == "INDEX" && word(2) == "CONCURRENTLY",
        "ALTER" => matches!(
            Effect::recognise(statement),
            Some(Effect::DetachPartition { .. })
        ),
        _ => false,
    }
}

/// One token of a statement: enough of SQL's lexical rules to read names and string literals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    /// An unquoted word or a quoted identifier, as written.
    Name(String),
    /// A string literal's value.
    Str(String),
    /// Any other character.
    Punct(char),
}

pub(super) fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' || c == '\'' {
            let start = i;
            let mut value = String::new();
            i += 1;
            while i < chars.len() {
                if chars[i] == c && chars.get(i + 1) == Some(&c) {
                    value.push(c);
                    i += 2;
                } else if chars[i] == c {
                    i += 1;
                    break;
                } else {
                    value.push(chars[i]);
                    i += 1;
                }
            }
            out.push(if c == '"' {
                Token::Name(chars[start..i].iter().collect())
            } else {
                Token::Str(value)
            });
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '$')) {
                i += 1;
            }
            out.push(Token::Name(chars[start..i].iter().collect()));
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    out
}

pub(super) struct Parser {
    pub(super) tokens: Vec<Token>,
    pub(super) at: usize,
}

impl Parser {
    /// A parser at the start of `text`.
    pub(super) fn of(text: &str) -> Parser {
        Parser {
            tokens: tokens(text),
            at: 0,
        }
    }

    /// Consumes the punctuation character when it comes next.
    pub(super) fn punct(&mut self, c: char) -> bool {
        if self.tokens.get(self.at) == Some(&Token::Punct(c)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// Consumes the keyword when it comes next.
    pub(super) fn keyword(&mut self, keyword: &str) -> bool {
        match self.tokens.get(self.at) {
            Some(Token::Name(word)) if word.eq_ignore_ascii_case(keyword) => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    /// A possibly qualified name, as written (`app."My Table"`).
    pub(super) fn name(&mut self) -> Option<String> {
        let mut name = String::new();
        loop {
            match self.tokens.get(self.at) {
                Some(Token::Name(part)) => name.push_str(part),
                _ => return None,
            }
            self.at += 1;
            if self.tokens.get(self.at) != Some(&Token::Punct('.')) {
                return Some(name);
            }
            name.push('.');
            self.at += 1;
        }
    }

    /// A string literal's value.
    fn string(&mut self) -> Option<String> {
        match self.tokens.get(self.at) {
            Some(Token::Str(value)) => {
                self.at += 1;
                Some(value.clone())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recognise(sql: &str) -> Option<Effect> {
        Effect::recognise(&Statement {
            text: sql.to_owned(),
            offset: 0,
            line: 1,
            column: 1,
        })
    }

    #[test]
    fn recognises_concurrent_index_builds() {
        assert_eq!(
            recognise("CREATE INDEX CONCURRENTLY \"Idx\" ON \"app\".\"t\" USING btree (a)"),
            Some(Effect::CreateIndex {
                index: "\"Idx\"".into(),
                table: "\"app\".\"t\"".into()
            })
        );
        assert_eq!(
            recognise(
                "-- why\ncreate unique index concurrently if not exists idx_a on only app.t(a)"
            ),
            Some(Effect::CreateIndex {
                index: "idx_a".into(),
                table: "app.t".into()
            })
        );
        assert_eq!(
            recognise("CREATE INDEX CONCURRENTLY \"a \"\"b\"\" c\" ON \"sp ace\".\"ünï\" (a)"),
            Some(Effect::CreateIndex {
                index: "\"a \"\"b\"\" c\"".into(),
                table: "\"sp ace\".\"ünï\"".into()
            })
        );
        assert_eq!(recognise("CREATE INDEX idx ON t (a)"), None);
        assert_eq!(recognise("CREATE INDEX CONCURRENTLY ON t (a)"), None);
    }

    #[test]
    fn recognises_the_other_kinds() {
        assert_eq!(
            recognise("DROP INDEX CONCURRENTLY IF EXISTS app.\"I\""),
            Some(Effect::DropIndex {
                index: "app.\"I\"".into()
            })
        );
        assert_eq!(
            recognise("ALTER TABLE app.m DETACH PARTITION app.m_2024 CONCURRENTLY"),
            Some(Effect::DetachPartition {
                parent: "app.m".into(),
                partition: "app.m_2024".into()
            })
        );
        assert_eq!(
            recognise("ALTER TABLE app.m DETACH PARTITION app.m_2024"),
            None
        );
        assert_eq!(
            recognise("ALTER TYPE app.mood ADD VALUE IF NOT EXISTS 'it''s' BEFORE 'sad'"),
            Some(Effect::AddEnumValue {
                type_name: "app.mood".into(),
                label: "it's".into()
            })
        );
        assert_eq!(recognise("ALTER TABLE t ADD COLUMN a int"), None);
    }

    #[test]
    fn statements_that_never_run_in_a_transaction() {
        let st = |sql: &str| Statement {
            text: sql.to_owned(),
            offset: 0,
            line: 1,
            column: 1,
        };
        assert!(never_in_transaction(&st(
            "create unique index concurrently i on t (a)"
        )));
        assert!(never_in_transaction(&st("DROP INDEX CONCURRENTLY i")));
        assert!(never_in_transaction(&st("VACUUM t")));
        assert!(never_in_transaction(&st(
            "ALTER TABLE m DETACH PARTITION p CONCURRENTLY"
        )));
        assert!(!never_in_transaction(&st("CREATE INDEX i ON t (a)")));
        assert!(!never_in_transaction(&st("ALTER TYPE mood ADD VALUE 'x'")));
    }
}
