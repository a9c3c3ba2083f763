//! The rules, one per file, each with its tests.

use super::Rule;
use crate::words::{TableName, Token, Words, top_level_parts};

mod blocking_index_build;
mod column_type_change;
mod concurrently_in_transaction;
mod constraint_without_not_valid;
mod drops_data;
mod missing_lock_timeout;
mod rename_breaks_code;
mod set_not_null_scan;
mod transaction_control;
mod unique_without_index;
mod validate_in_transaction;
mod volatile_default;

/// Every rule, in the order findings are listed.
pub static RULES: &[&dyn Rule] = &[
    &blocking_index_build::BlockingIndexBuild,
    &unique_without_index::UniqueWithoutIndex,
    &set_not_null_scan::SetNotNullScan,
    &constraint_without_not_valid::ConstraintWithoutNotValid,
    &validate_in_transaction::ValidateInTransaction,
    &column_type_change::ColumnTypeChange,
    &volatile_default::VolatileDefault,
    &drops_data::DropsData,
    &rename_breaks_code::RenameBreaksCode,
    &missing_lock_timeout::MissingLockTimeout,
    &concurrently_in_transaction::ConcurrentlyInTransaction,
    &transaction_control::TransactionControl,
];

/// `ALTER TABLE [IF EXISTS] [ONLY] t action, action…`: the table and its actions.
pub(super) fn alter_table(statement: &[Token]) -> Option<(TableName, Vec<&[Token]>)> {
    let mut w = Words::new(statement);
    if !w.eat(&["ALTER", "TABLE"]) {
        return None;
    }
    w.eat(&["IF", "EXISTS"]);
    w.eat(&["ONLY"]);
    let table = w.table()?;
    Some((table, top_level_parts(w.rest())))
}

/// The column an `ALTER [COLUMN] c …` action alters, and the words after its name.
pub(super) fn altered_column(action: &[Token]) -> Option<(String, &[Token])> {
    let mut a = Words::new(action);
    if !a.eat(&["ALTER"]) {
        return None;
    }
    a.eat(&["COLUMN"]);
    let column = a.name()?.pop()?;
    Some((column, a.rest()))
}

#[cfg(test)]
pub(super) mod test {
    //! Running one rule on a migration's text.

    use crate::lint::{Knowledge, Seen, lint_text};

    /// The ids of the findings on `text` (run in a transaction when `transactional`).
    pub fn findings(text: &str, transactional: bool) -> Vec<&'static str> {
        let mut seen = Seen {
            transactional,
            ..Seen::default()
        };
        lint_text("m.sql", text, &mut seen, &Knowledge::default())
            .expect("directives read")
            .into_iter()
            .map(|f| f.rule)
            .collect()
    }
}
