//! `unique-without-index`: `ADD … UNIQUE`/`PRIMARY KEY` that builds its index under the lock.

use crate::lint::{Hit, Knowledge, Rule, Seen};
use crate::words::{Token, Words, contains};

use super::alter_table;

/// The rule.
pub struct UniqueWithoutIndex;

impl Rule for UniqueWithoutIndex {
    fn id(&self) -> &'static str {
        "unique-without-index"
    }
    fn reason(&self) -> &'static str {
        "adding a UNIQUE or PRIMARY KEY constraint builds its index under an ACCESS EXCLUSIVE lock: reads and writes wait"
    }
    fn gentler(&self) -> Option<&'static str> {
        Some(
            "CREATE UNIQUE INDEX CONCURRENTLY i ON t (…) in a no-transaction migration, then ALTER TABLE t ADD CONSTRAINT c UNIQUE USING INDEX i",
        )
    }
    fn check(&self, statement: &[Token], _seen: &Seen, known: &Knowledge) -> Vec<Hit> {
        let Some((table, actions)) = alter_table(statement) else {
            return Vec::new();
        };
        if known.not_ordinary(&table) {
            return Vec::new();
        }
        let mut hits = Vec::new();
        for action in actions {
            let mut a = Words::new(action);
            if !a.eat(&["ADD"]) {
                continue;
            }
            if a.eat(&["CONSTRAINT"]) {
                a.name();
            }
            let key = if a.eat(&["UNIQUE"]) {
                "UNIQUE"
            } else if a.eat(&["PRIMARY", "KEY"]) {
                "PRIMARY KEY"
            } else {
                continue;
            };
            if !contains(a.rest(), &["USING", "INDEX"]) {
                hits.push(Hit::on(
                    table.clone(),
                    format!("ADD {key} on {table} builds its index while holding an ACCESS EXCLUSIVE lock"),
                ));
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::rules::test::findings;

    const ID: &str = "unique-without-index";

    #[test]
    fn flags_keys_that_build_their_index() {
        assert_eq!(
            findings("ALTER TABLE t ADD CONSTRAINT k UNIQUE (a)", true),
            [ID]
        );
        assert_eq!(findings("ALTER TABLE s.t ADD PRIMARY KEY (id)", true), [ID]);
    }

    #[test]
    fn passes_using_index_and_new_tables() {
        assert!(findings("ALTER TABLE t ADD CONSTRAINT k UNIQUE USING INDEX k", true).is_empty());
        assert!(
            findings(
                "CREATE TABLE t (a int);\nALTER TABLE t ADD PRIMARY KEY (a)",
                true
            )
            .is_empty()
        );
    }

    #[test]
    fn respects_allow() {
        let text =
            "-- strata:allow unique-without-index empty lookup table\nALTER TABLE t ADD UNIQUE (a)";
        assert!(findings(text, true).is_empty());
    }
}
