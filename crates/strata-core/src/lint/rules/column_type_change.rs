//! `column-type-change`: `ALTER COLUMN … TYPE` that may rewrite the table.

use crate::lint::{Hit, Knowledge, Rule, Seen};
use crate::words::{Token, Words};

use super::{alter_table, altered_column};

/// The rule.
pub struct ColumnTypeChange;

impl Rule for ColumnTypeChange {
    fn id(&self) -> &'static str {
        "column-type-change"
    }
    fn reason(&self) -> &'static str {
        "changing a column's type rewrites the table and its indexes under an ACCESS EXCLUSIVE lock unless the types are binary compatible"
    }
    fn gentler(&self) -> Option<&'static str> {
        None
    }
    fn check(&self, statement: &[Token], _seen: &Seen, known: &Knowledge) -> Vec<Hit> {
        let Some((table, actions)) = alter_table(statement) else {
            return Vec::new();
        };
        let mut hits = Vec::new();
        for action in actions {
            let Some((column, rest)) = altered_column(action) else {
                continue;
            };
            let mut r = Words::new(rest);
            r.eat(&["SET", "DATA"]);
            if !r.eat(&["TYPE"]) {
                continue;
            }
            let to: Vec<&str> = r.rest().iter().filter_map(Token::name).collect();
            if widens_text(known, &table, &column, &to) {
                continue;
            }
            hits.push(Hit::on(
                table.clone(),
                format!("changing the type of {table}.{column} may rewrite the table under an ACCESS EXCLUSIVE lock; to avoid it, add a new column, backfill it in batches and switch readers over"),
            ));
        }
        hits
    }
}

/// `varchar(n)` to `text` or unbounded `varchar`: no rewrite, no scan (known from the catalog).
fn widens_text(
    known: &Knowledge,
    table: &crate::words::TableName,
    column: &str,
    to: &[&str],
) -> bool {
    let unbounded = matches!(to, ["text"] | ["varchar"] | ["character", "varying"]);
    unbounded
        && known.resolve(table).is_some_and(|name| {
            known.catalog.is_some_and(|c| {
                c.tables[&name]
                    .columns
                    .iter()
                    .any(|col| col.name == column && col.data_type.starts_with("character varying"))
            })
        })
}

#[cfg(test)]
mod tests {
    use crate::lint::rules::test::findings;

    const ID: &str = "column-type-change";

    #[test]
    fn flags_a_type_change_on_an_existing_table() {
        assert_eq!(
            findings("ALTER TABLE t ALTER COLUMN a TYPE bigint", true),
            [ID]
        );
        assert_eq!(
            findings(
                "ALTER TABLE t ALTER a SET DATA TYPE text USING a::text",
                true
            ),
            [ID]
        );
    }

    #[test]
    fn passes_new_tables_and_other_alters() {
        assert!(
            findings(
                "CREATE TABLE t (a int);\nALTER TABLE t ALTER a TYPE bigint",
                true
            )
            .is_empty()
        );
        assert!(findings("ALTER TABLE t ALTER a SET DEFAULT 1", true).is_empty());
    }

    #[test]
    fn respects_allow() {
        let text = "-- strata:allow column-type-change a maintenance window is booked\nALTER TABLE t ALTER a TYPE bigint";
        assert!(findings(text, true).is_empty());
    }
}
