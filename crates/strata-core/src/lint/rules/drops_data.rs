//! `drops-data`: statements that delete data for good.

use crate::lint::{Hit, Knowledge, Rule, Seen};
use crate::words::{Token, Words};

use super::alter_table;

/// The rule.
pub struct DropsData;

impl Rule for DropsData {
    fn id(&self) -> &'static str {
        "drops-data"
    }
    fn reason(&self) -> &'static str {
        "drops data that no later migration can bring back, and breaks code still reading it"
    }
    fn gentler(&self) -> Option<&'static str> {
        None
    }
    fn about_locks(&self) -> bool {
        false
    }
    fn check(&self, statement: &[Token], _seen: &Seen, _known: &Knowledge) -> Vec<Hit> {
        let mut w = Words::new(statement);
        if w.eat(&["DROP", "TABLE"]) {
            w.eat(&["IF", "EXISTS"]);
            let mut hits = Vec::new();
            while let Some(table) = w.table() {
                hits.push(Hit::on(
                    table.clone(),
                    format!("DROP TABLE {table} deletes its rows"),
                ));
                if w.peek() != Some(&Token::Punct(',')) {
                    break;
                }
                w = Words::new(&w.rest()[1..]);
            }
            return hits;
        }
        if w.eat(&["TRUNCATE"]) {
            w.eat(&["TABLE"]);
            w.eat(&["ONLY"]);
            return match w.table() {
                Some(table) => vec![Hit::on(
                    table.clone(),
                    format!("TRUNCATE {table} deletes its rows"),
                )],
                None => Vec::new(),
            };
        }
        if w.eat(&["DROP", "SCHEMA"]) && statement.iter().any(|t| t.is("CASCADE")) {
            return vec![Hit {
                table: None,
                message: "DROP SCHEMA … CASCADE deletes every table in it".into(),
            }];
        }
        let Some((table, actions)) = alter_table(statement) else {
            return Vec::new();
        };
        let mut hits = Vec::new();
        for action in actions {
            let mut a = Words::new(action);
            if a.eat(&["DROP"]) && !a.eat(&["CONSTRAINT"]) && !a.eat(&["DEFAULT"]) {
                a.eat(&["COLUMN"]);
                a.eat(&["IF", "EXISTS"]);
                if let Some(column) = a.name().and_then(|mut n| n.pop()) {
                    hits.push(Hit::on(
                        table.clone(),
                        format!("DROP COLUMN {table}.{column} deletes its values"),
                    ));
                }
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::rules::test::findings;

    const ID: &str = "drops-data";

    #[test]
    fn flags_drops() {
        assert_eq!(findings("DROP TABLE s.t", true), [ID]);
        assert_eq!(findings("ALTER TABLE t DROP COLUMN a", true), [ID]);
        assert_eq!(findings("TRUNCATE t", true), [ID]);
    }

    #[test]
    fn passes_drops_of_new_tables_and_constraints() {
        assert!(findings("CREATE TABLE t (a int);\nDROP TABLE t", true).is_empty());
        assert!(findings("ALTER TABLE t DROP CONSTRAINT c", true).is_empty());
    }

    #[test]
    fn respects_allow() {
        let text = "-- strata:allow drops-data the column was moved to t2 in 0007\nALTER TABLE t DROP COLUMN a";
        assert!(findings(text, true).is_empty());
    }
}
