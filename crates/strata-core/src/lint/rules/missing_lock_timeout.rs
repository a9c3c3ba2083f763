//! `missing-lock-timeout`: a file that turns `lock_timeout` off, then waits for locks.
//!
//! `strata migrate` sets `lock_timeout` for every migration: a statement that waits for a busy
//! table gives up (and is retried) instead of queueing every other session behind it. A file
//! that resets its session (`RESET ALL`, `SET lock_timeout = 0`) loses that.

use crate::lint::{Hit, Knowledge, Level, Rule, Seen};
use crate::words::Token;

/// The rule.
pub struct MissingLockTimeout;

/// Statements that take a lock on a table.
fn takes_locks(statement: &[Token]) -> bool {
    matches!(
        statement.first(),
        Some(Token::Word(w, _)) if matches!(w.as_str(), "ALTER" | "CREATE" | "DROP" | "TRUNCATE" | "REINDEX" | "LOCK" | "VACUUM" | "CLUSTER")
    )
}

impl Rule for MissingLockTimeout {
    fn id(&self) -> &'static str {
        "missing-lock-timeout"
    }
    fn reason(&self) -> &'static str {
        "without lock_timeout a statement waiting for a busy table makes every later query on it wait too"
    }
    fn gentler(&self) -> Option<&'static str> {
        Some("set lock_timeout again after resetting the session (SET lock_timeout = '5s')")
    }
    fn level(&self) -> Level {
        Level::Warning
    }
    fn about_locks(&self) -> bool {
        false
    }
    fn check(&self, statement: &[Token], seen: &Seen, _known: &Knowledge) -> Vec<Hit> {
        if seen.lock_timeout_off && !seen.lock_timeout_reported && takes_locks(statement) {
            vec![Hit {
                table: None,
                message: "this statement, and those after it, run with lock_timeout turned off by an earlier statement of the file".into(),
            }]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::rules::test::findings;

    const ID: &str = "missing-lock-timeout";

    #[test]
    fn flags_locks_after_a_reset() {
        assert_eq!(findings("RESET ALL;\nALTER TABLE t ADD a int;", true), [ID]);
        assert_eq!(findings("SET lock_timeout = 0;\nDROP INDEX i;", true), [ID]);
    }

    #[test]
    fn reports_a_stretch_without_it_once() {
        let text = "SET lock_timeout = 0;\nCREATE TABLE a (x int);\nALTER TABLE t ADD a int;\n\
                    SET lock_timeout = '1s';\nRESET ALL;\nDROP INDEX i;\nDROP INDEX j;";
        assert_eq!(findings(text, true), [ID, ID]);
    }

    #[test]
    fn passes_a_file_that_sets_it_again() {
        assert!(
            findings(
                "RESET ALL;\nSET lock_timeout = '3s';\nALTER TABLE t ADD a int;",
                true
            )
            .is_empty()
        );
        assert!(findings("SET lock_timeout TO '1s';\nALTER TABLE t ADD a int;", true).is_empty());
    }

    #[test]
    fn respects_allow() {
        let text = "-- strata:allow missing-lock-timeout runs in the maintenance window\nRESET ALL;\nALTER TABLE t ADD a int;";
        assert!(findings(text, true).is_empty());
    }
}
