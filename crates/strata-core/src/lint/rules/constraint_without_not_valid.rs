//! `constraint-without-not-valid`: a FOREIGN KEY or CHECK added with its validation under the
//! lock.

use crate::lint::{Hit, Knowledge, Rule, Seen};
use crate::words::{Token, Words, contains};

use super::alter_table;

/// The rule.
pub struct ConstraintWithoutNotValid;

impl Rule for ConstraintWithoutNotValid {
    fn id(&self) -> &'static str {
        "constraint-without-not-valid"
    }
    fn reason(&self) -> &'static str {
        "adding a FOREIGN KEY or CHECK checks every row while holding its lock (a foreign key locks the referenced table too)"
    }
    fn gentler(&self) -> Option<&'static str> {
        Some(
            "ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT in a separate transaction (a no-transaction migration)",
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
            let kind = if a.eat(&["FOREIGN", "KEY"]) {
                "FOREIGN KEY"
            } else if a.eat(&["CHECK"]) {
                "CHECK"
            } else {
                continue;
            };
            if !contains(a.rest(), &["NOT", "VALID"]) {
                hits.push(Hit::on(
                    table.clone(),
                    format!(
                        "ADD {kind} on {table} without NOT VALID checks every row under the lock"
                    ),
                ));
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::rules::test::findings;

    const ID: &str = "constraint-without-not-valid";

    #[test]
    fn flags_validated_adds() {
        assert_eq!(
            findings(
                "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (p) REFERENCES p (id)",
                true
            ),
            [ID]
        );
        assert_eq!(findings("ALTER TABLE t ADD CHECK (a > 0)", true), [ID]);
    }

    #[test]
    fn passes_not_valid_and_new_tables() {
        assert!(
            findings(
                "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID",
                true
            )
            .is_empty()
        );
        assert!(
            findings(
                "CREATE TABLE t (a int);\nALTER TABLE t ADD CHECK (a > 0)",
                true
            )
            .is_empty()
        );
    }

    #[test]
    fn respects_allow() {
        let text = "-- strata:allow constraint-without-not-valid reviewed: t is empty\nALTER TABLE t ADD CHECK (a > 0)";
        assert!(findings(text, true).is_empty());
    }
}
