//! `validate-in-transaction`: `VALIDATE CONSTRAINT` in the transaction that added the
//! constraint, which keeps the ADD's ACCESS EXCLUSIVE lock through the scan.

use crate::lint::{Hit, Knowledge, Rule, Seen};
use crate::words::{Token, Words};

use super::alter_table;

/// The rule.
pub struct ValidateInTransaction;

impl Rule for ValidateInTransaction {
    fn id(&self) -> &'static str {
        "validate-in-transaction"
    }
    fn reason(&self) -> &'static str {
        "a transaction keeps its locks to the end: validating in the transaction that added the constraint NOT VALID scans under the ADD's ACCESS EXCLUSIVE lock"
    }
    fn gentler(&self) -> Option<&'static str> {
        Some("VALIDATE CONSTRAINT in a `-- strata:no-transaction` migration (or the next one)")
    }
    fn check(&self, statement: &[Token], seen: &Seen, _known: &Knowledge) -> Vec<Hit> {
        if !seen.transactional {
            return Vec::new();
        }
        let Some((table, actions)) = alter_table(statement) else {
            return Vec::new();
        };
        let mut hits = Vec::new();
        for action in actions {
            let mut a = Words::new(action);
            if a.eat(&["VALIDATE", "CONSTRAINT"])
                && let Some(name) = a.name().and_then(|mut n| n.pop())
                && seen
                    .added_not_valid
                    .contains(&(table.name.clone(), name.clone()))
            {
                hits.push(Hit::on(
                    table.clone(),
                    format!("VALIDATE CONSTRAINT {name} runs in the transaction that added it: the scan holds the ACCESS EXCLUSIVE lock"),
                ));
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::rules::test::findings;

    const ID: &str = "validate-in-transaction";
    const BOTH: &str = "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c;";

    #[test]
    fn flags_validation_in_the_adding_transaction() {
        assert_eq!(findings(BOTH, true), [ID]);
    }

    #[test]
    fn passes_validation_committed_apart() {
        assert!(findings(BOTH, false).is_empty());
        assert!(findings("ALTER TABLE t VALIDATE CONSTRAINT c;", true).is_empty());
    }

    #[test]
    fn respects_allow() {
        let text = format!("-- strata:allow validate-in-transaction small table\n{BOTH}");
        assert!(findings(&text, true).is_empty());
    }
}
