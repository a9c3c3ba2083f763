//! `set-not-null-scan`: `SET NOT NULL` that scans the table under an ACCESS EXCLUSIVE lock.

use crate::lint::{Hit, Knowledge, Rule, Seen};
use crate::words::{Token, Words};

use super::{alter_table, altered_column};

/// The rule.
pub struct SetNotNullScan;

impl Rule for SetNotNullScan {
    fn id(&self) -> &'static str {
        "set-not-null-scan"
    }
    fn reason(&self) -> &'static str {
        "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock unless a validated CHECK proves it"
    }
    fn gentler(&self) -> Option<&'static str> {
        Some(
            "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c (separately committed); SET NOT NULL (no scan); DROP CONSTRAINT c",
        )
    }
    fn check(&self, statement: &[Token], seen: &Seen, known: &Knowledge) -> Vec<Hit> {
        let Some((table, actions)) = alter_table(statement) else {
            return Vec::new();
        };
        if known.not_ordinary(&table) {
            return Vec::new();
        }
        let proven = |column: &str| {
            seen.proven_not_null
                .contains(&(table.name.clone(), column.to_owned()))
        };
        let mut hits = Vec::new();
        for action in actions {
            let column = if let Some((column, rest)) = altered_column(action) {
                let mut r = Words::new(rest);
                if !r.eat(&["SET", "NOT", "NULL"]) {
                    continue;
                }
                column
            } else {
                // PostgreSQL 18: ADD CONSTRAINT c NOT NULL col.
                let mut a = Words::new(action);
                if !a.eat(&["ADD", "CONSTRAINT"]) || a.name().is_none() || !a.eat(&["NOT", "NULL"])
                {
                    continue;
                }
                if a.rest().iter().any(|t| t.is("VALID")) {
                    continue;
                }
                match a.name().and_then(|mut n| n.pop()) {
                    Some(column) => column,
                    None => continue,
                }
            };
            if !proven(&column) {
                hits.push(Hit::on(
                    table.clone(),
                    format!("SET NOT NULL on {table}.{column} scans the table under an ACCESS EXCLUSIVE lock"),
                ));
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::rules::test::findings;

    const ID: &str = "set-not-null-scan";

    #[test]
    fn flags_an_unproven_set_not_null() {
        assert_eq!(
            findings("ALTER TABLE t ALTER COLUMN a SET NOT NULL", true),
            [ID]
        );
        assert_eq!(
            findings("ALTER TABLE t ADD CONSTRAINT n NOT NULL a", true),
            [ID]
        );
    }

    #[test]
    fn passes_the_proven_form() {
        let text = "ALTER TABLE t ADD CONSTRAINT h CHECK (a IS NOT NULL) NOT VALID;\n\
                    ALTER TABLE t VALIDATE CONSTRAINT h;\n\
                    ALTER TABLE t ALTER COLUMN a SET NOT NULL;\n\
                    ALTER TABLE t DROP CONSTRAINT h;";
        assert!(
            findings(text, false).is_empty(),
            "{:?}",
            findings(text, false)
        );
    }

    #[test]
    fn respects_allow() {
        let text = "ALTER TABLE t ADD b int;\n-- strata:allow set-not-null-scan tiny table\nALTER TABLE t ALTER a SET NOT NULL";
        assert!(findings(text, true).is_empty());
    }
}
