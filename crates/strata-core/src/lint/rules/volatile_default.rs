//! `volatile-default`: a column added with a value computed per row, which rewrites the table.

use crate::lint::{Hit, Knowledge, Rule, Seen};
use crate::words::{Token, Words};

use super::alter_table;

/// Functions whose value differs per row: a default calling one is computed for every row.
const VOLATILE: &[&str] = &[
    "random",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "txid_current",
];

/// Types that add a sequence default (`serial`): volatile too.
const SERIALS: &[&str] = &[
    "serial",
    "serial4",
    "serial8",
    "bigserial",
    "smallserial",
    "serial2",
];

/// The rule.
pub struct VolatileDefault;

impl Rule for VolatileDefault {
    fn id(&self) -> &'static str {
        "volatile-default"
    }
    fn reason(&self) -> &'static str {
        "a column added with a volatile default (or a stored generated value) rewrites the table under an ACCESS EXCLUSIVE lock"
    }
    // Not a form a generator could pick: the existing rows need a backfill (a data
    // migration), which the message describes.
    fn gentler(&self) -> Option<&'static str> {
        None
    }
    fn check(&self, statement: &[Token], _seen: &Seen, _known: &Knowledge) -> Vec<Hit> {
        let Some((table, actions)) = alter_table(statement) else {
            return Vec::new();
        };
        let mut hits = Vec::new();
        for action in actions {
            let mut a = Words::new(action);
            if !a.eat(&["ADD"]) || a.eat(&["CONSTRAINT"]) {
                continue;
            }
            a.eat(&["COLUMN"]);
            a.eat(&["IF", "NOT", "EXISTS"]);
            let Some(column) = a.name().and_then(|mut n| n.pop()) else {
                continue;
            };
            let rest = a.rest();
            let serial = rest
                .first()
                .and_then(Token::name)
                .is_some_and(|t| SERIALS.contains(&t));
            let calls_volatile = rest.windows(2).any(|w| {
                w[1] == Token::Punct('(') && w[0].name().is_some_and(|f| VOLATILE.contains(&f))
            }) && rest.iter().any(|t| t.is("DEFAULT"));
            let stored = rest.iter().any(|t| t.is("STORED"));
            if serial || calls_volatile || stored {
                hits.push(Hit::on(
                    table.clone(),
                    format!("adding {table}.{column} computes a value for every row: the table is rewritten under an ACCESS EXCLUSIVE lock; to avoid it, add the column without a default (or with a constant one), SET DEFAULT after, and backfill the existing rows in batches"),
                ));
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::rules::test::findings;

    const ID: &str = "volatile-default";

    #[test]
    fn flags_per_row_values() {
        assert_eq!(
            findings(
                "ALTER TABLE t ADD COLUMN id uuid DEFAULT gen_random_uuid()",
                true
            ),
            [ID]
        );
        assert_eq!(findings("ALTER TABLE t ADD n bigserial", true), [ID]);
    }

    #[test]
    fn passes_constant_and_stable_defaults() {
        assert!(findings("ALTER TABLE t ADD COLUMN n int DEFAULT 0 NOT NULL", true).is_empty());
        assert!(findings("ALTER TABLE t ADD at timestamptz DEFAULT now()", true).is_empty());
    }

    #[test]
    fn respects_allow() {
        let text = "-- strata:allow volatile-default the table holds a few rows\nALTER TABLE t ADD n serial";
        assert!(findings(text, true).is_empty());
    }
}
