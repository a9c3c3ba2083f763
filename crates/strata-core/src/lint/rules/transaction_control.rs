//! `transaction-control`: `BEGIN`, `COMMIT` and the like in a file that strata runs in one
//! transaction (with its history row): they would end strata's transaction early.

use crate::lint::{Hit, Knowledge, Rule, Seen};
use crate::words::Token;

/// The rule.
pub struct TransactionControl;

impl Rule for TransactionControl {
    fn id(&self) -> &'static str {
        "transaction-control"
    }
    fn reason(&self) -> &'static str {
        "strata runs the file in one transaction together with its history row: a COMMIT inside would record half a migration"
    }
    fn gentler(&self) -> Option<&'static str> {
        Some(
            "remove it (the file is atomic already), or split the file and mark the part that must commit alone `-- strata:no-transaction`",
        )
    }
    fn about_locks(&self) -> bool {
        false
    }
    fn check(&self, statement: &[Token], seen: &Seen, _known: &Knowledge) -> Vec<Hit> {
        let word = |i: usize| match statement.get(i) {
            Some(Token::Word(w, _)) => w.as_str(),
            _ => "",
        };
        let controls = match word(0) {
            "BEGIN" | "COMMIT" | "ROLLBACK" | "ABORT" | "END" | "SAVEPOINT" | "RELEASE" => true,
            "START" => word(1) == "TRANSACTION",
            _ => false,
        };
        if seen.transactional && controls && statement.len() <= 4 {
            vec![Hit {
                table: None,
                message: format!(
                    "{} inside a migration that runs in one transaction",
                    word(0)
                ),
            }]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::rules::test::findings;

    const ID: &str = "transaction-control";

    #[test]
    fn flags_transaction_control() {
        assert_eq!(
            findings("BEGIN;\nCREATE TABLE t (a int);\nCOMMIT;", true),
            [ID, ID]
        );
    }

    #[test]
    fn passes_outside_a_transaction() {
        assert!(findings("BEGIN;\nCREATE TABLE t (a int);\nCOMMIT;", false).is_empty());
    }

    #[test]
    fn respects_allow() {
        let text = "-- strata:allow transaction-control read by another tool too\nBEGIN;\nCOMMIT;";
        assert!(findings(text, true).is_empty());
    }
}
