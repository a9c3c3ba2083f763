//! `rename-breaks-code`: renaming a table or column that running code still uses.

use crate::lint::{Hit, Knowledge, Level, Rule, Seen};
use crate::words::{Token, Words};

use super::alter_table;

/// The rule.
pub struct RenameBreaksCode;

impl Rule for RenameBreaksCode {
    fn id(&self) -> &'static str {
        "rename-breaks-code"
    }
    fn reason(&self) -> &'static str {
        "the application version still running uses the old name and fails from the moment the rename commits"
    }
    fn gentler(&self) -> Option<&'static str> {
        None
    }
    fn about_locks(&self) -> bool {
        false
    }
    fn level(&self) -> Level {
        Level::Warning
    }
    fn check(&self, statement: &[Token], _seen: &Seen, _known: &Knowledge) -> Vec<Hit> {
        let Some((table, actions)) = alter_table(statement) else {
            return Vec::new();
        };
        let mut hits = Vec::new();
        for action in actions {
            let mut a = Words::new(action);
            if !a.eat(&["RENAME"]) {
                continue;
            }
            if a.eat(&["TO"]) {
                hits.push(Hit::on(
                    table.clone(),
                    format!("renaming the table {table} breaks the code that still uses its name; deploy code that reads both first, or keep a view of the old name"),
                ));
            } else if !a.eat(&["CONSTRAINT"]) {
                a.eat(&["COLUMN"]);
                if let Some(column) = a.name().and_then(|mut n| n.pop()) {
                    hits.push(Hit::on(
                        table.clone(),
                        format!("renaming {table}.{column} breaks the code that still uses it; deploy code that reads both names first"),
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

    const ID: &str = "rename-breaks-code";

    #[test]
    fn flags_renames() {
        assert_eq!(findings("ALTER TABLE t RENAME COLUMN a TO b", true), [ID]);
        assert_eq!(findings("ALTER TABLE t RENAME TO u", true), [ID]);
    }

    #[test]
    fn passes_constraint_renames_and_new_tables() {
        assert!(findings("ALTER TABLE t RENAME CONSTRAINT a TO b", true).is_empty());
        assert!(findings("CREATE TABLE t (a int);\nALTER TABLE t RENAME a TO b", true).is_empty());
    }

    #[test]
    fn respects_allow() {
        let text =
            "-- strata:allow rename-breaks-code nothing reads t yet\nALTER TABLE t RENAME a TO b";
        assert!(findings(text, true).is_empty());
    }
}
