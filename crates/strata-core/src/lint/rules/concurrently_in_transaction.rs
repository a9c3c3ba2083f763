//! `concurrently-in-transaction`: a concurrent form in a file that runs in one transaction,
//! which PostgreSQL refuses.

use crate::lint::{Hit, Knowledge, Rule, Seen};
use crate::words::Token;

/// The rule.
pub struct ConcurrentlyInTransaction;

impl Rule for ConcurrentlyInTransaction {
    fn id(&self) -> &'static str {
        "concurrently-in-transaction"
    }
    fn reason(&self) -> &'static str {
        "CONCURRENTLY cannot run inside a transaction block: the migration fails"
    }
    fn gentler(&self) -> Option<&'static str> {
        Some(
            "make `-- strata:no-transaction` the file's first line (strata then runs it statement by statement)",
        )
    }
    fn about_locks(&self) -> bool {
        false
    }
    fn check(&self, statement: &[Token], seen: &Seen, _known: &Knowledge) -> Vec<Hit> {
        let first = statement.first();
        let ddl = matches!(first, Some(Token::Word(w, _)) if matches!(w.as_str(), "CREATE" | "DROP" | "REINDEX" | "ALTER"));
        if seen.transactional && ddl && statement.iter().any(|t| t.is("CONCURRENTLY")) {
            vec![Hit {
                table: None,
                message: "CONCURRENTLY in a migration that runs in one transaction: PostgreSQL refuses it".into(),
            }]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::rules::test::findings;

    const ID: &str = "concurrently-in-transaction";

    #[test]
    fn flags_concurrently_in_a_transactional_file() {
        assert_eq!(findings("CREATE INDEX CONCURRENTLY i ON t (a)", true), [ID]);
    }

    #[test]
    fn passes_it_outside_a_transaction() {
        assert!(findings("CREATE INDEX CONCURRENTLY i ON t (a)", false).is_empty());
    }

    #[test]
    fn respects_allow() {
        let text = "-- strata:allow concurrently-in-transaction run by hand with psql\nDROP INDEX CONCURRENTLY i";
        assert!(findings(text, true).is_empty());
    }
}
