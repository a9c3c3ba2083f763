//! `blocking-index-build`: `CREATE INDEX` without `CONCURRENTLY` on a table with rows.

use crate::lint::{Hit, Knowledge, Rule, Seen};
use crate::words::{Token, Words};

/// The rule.
pub struct BlockingIndexBuild;

impl Rule for BlockingIndexBuild {
    fn id(&self) -> &'static str {
        "blocking-index-build"
    }
    fn reason(&self) -> &'static str {
        "builds an index under a SHARE lock: every write to the table waits for the whole build"
    }
    fn gentler(&self) -> Option<&'static str> {
        Some("CREATE INDEX CONCURRENTLY in a `-- strata:no-transaction` migration")
    }
    fn check(&self, statement: &[Token], _seen: &Seen, known: &Knowledge) -> Vec<Hit> {
        let mut w = Words::new(statement);
        if w.eat(&["REINDEX"]) {
            let what = w.peek().and_then(Token::name).unwrap_or("").to_owned();
            w.eat(&["INDEX"]);
            w.eat(&["TABLE"]);
            if w.eat(&["CONCURRENTLY"]) || !(what == "index" || what == "table") {
                return Vec::new();
            }
            return match w.table() {
                Some(t) => vec![Hit::on(
                    t.clone(),
                    format!(
                        "REINDEX of {t} blocks writes (and reads that use the index) while it runs"
                    ),
                )],
                None => Vec::new(),
            };
        }
        if !w.eat(&["CREATE"]) {
            return Vec::new();
        }
        w.eat(&["UNIQUE"]);
        if !w.eat(&["INDEX"]) || w.eat(&["CONCURRENTLY"]) {
            return Vec::new();
        }
        let rest = w.rest();
        let Some(on) = rest.iter().position(|t| t.is("ON")) else {
            return Vec::new();
        };
        let mut w = Words::new(&rest[on + 1..]);
        w.eat(&["ONLY"]);
        let Some(table) = w.table() else {
            return Vec::new();
        };
        // A partitioned table's index cannot be built concurrently; a foreign table has none.
        if known.not_ordinary(&table) {
            return Vec::new();
        }
        vec![Hit::on(
            table.clone(),
            format!(
                "CREATE INDEX on {table} without CONCURRENTLY blocks writes to it for the whole build"
            ),
        )]
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::rules::test::findings;

    const ID: &str = "blocking-index-build";

    #[test]
    fn flags_a_plain_build_on_an_existing_table() {
        assert_eq!(findings("CREATE INDEX i ON s.t (a);", true), [ID]);
        assert_eq!(
            findings("create unique index on t using btree (a)", true),
            [ID]
        );
    }

    #[test]
    fn passes_the_concurrent_build_and_new_tables() {
        assert!(findings("CREATE INDEX CONCURRENTLY i ON s.t (a);", false).is_empty());
        assert!(
            findings(
                "CREATE TABLE s.t (a int);\nCREATE INDEX i ON s.t (a);",
                true
            )
            .is_empty()
        );
    }

    #[test]
    fn respects_allow() {
        let text = "-- strata:allow blocking-index-build the table holds ten rows\nCREATE INDEX i ON t (a);";
        assert!(findings(text, true).is_empty());
    }
}
