//! Tracking tables recognised by their shape, not only their name.
//!
//! strata's tracking tables (the schema history and its rollback records, the data migrations'
//! table, Drizzle Kit's history) live in user schemas and are left out of every catalog. A common name such as
//! `public.data_migrations` may just as well be an application's own table: leaving that out
//! would lose it without a word. So a table at a tracking table's name is only left out when its
//! columns are those of a tracking table; otherwise every command stops and says how to move
//! strata's table elsewhere.

use strata_core::catalog::{QualName, Table};

use crate::Error;

/// A tracking table's columns: those it always has, and those a version of strata or of the
/// seed's scripts may have added.
struct Shape {
    required: &'static [&'static str],
    optional: &'static [&'static str],
}

const SHAPES: &[Shape] = &[
    // strata's schema history (`[migrations] table`).
    Shape {
        required: &["version", "name", "checksum", "applied_at"],
        optional: crate::apply::history::COLUMNS,
    },
    // strata's rollback records, beside the schema history (`<table>_rollbacks`).
    Shape {
        required: &["id", "version", "name", "checksum", "rolled_back_at"],
        optional: &[
            "applied_at",
            "applied_by",
            "rolled_back_by",
            "execution_ms",
            "status",
            "statements_done",
            "progress_checksum",
            "error",
            "backend_pid",
        ],
    },
    // The seed's data_migrations, with the columns strata adds (`[data] table`).
    Shape {
        required: &["id", "name", "schema", "applied_at"],
        optional: &["execution_ms", "applied_by", "checksum", "inputs"],
    },
    // Drizzle Kit's `__drizzle_migrations`.
    Shape {
        required: &["id", "hash", "created_at"],
        optional: &[],
    },
    // Prisma Migrate's `_prisma_migrations`, kept after `strata import prisma`.
    Shape {
        required: &["id", "checksum", "migration_name", "started_at"],
        optional: &[
            "finished_at",
            "logs",
            "rolled_back_at",
            "applied_steps_count",
        ],
    },
    // sqlx's `_sqlx_migrations`, kept after `strata import sqlx`.
    Shape {
        required: &["version", "description", "success", "checksum"],
        optional: &["installed_on", "execution_time"],
    },
];

/// Whether `table` has the columns of one of the tracking tables.
pub(super) fn is_tracking_table(table: &Table) -> bool {
    SHAPES.iter().any(|shape| {
        shape
            .required
            .iter()
            .all(|r| table.columns.iter().any(|c| c.name == *r))
            && table.columns.iter().all(|c| {
                shape.required.contains(&c.name.as_str())
                    || shape.optional.contains(&c.name.as_str())
            })
    })
}

/// The error for a user's table at a tracking table's name.
pub(super) fn clash(name: &QualName, table: &Table) -> Error {
    let columns: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    Error::Invalid(format!(
        "{name} (columns {}) is not a tracking table of strata or of the seed's scripts: it is a table of your own, \
         and strata uses that name for its tracking table. Set `[data] table` or `[migrations] table` in strata.toml \
         (whichever says \"{name}\") to a free name, e.g. \"{}.strata_{}\"",
        columns.join(", "),
        name.schema,
        name.name
    ))
}

#[cfg(test)]
mod tests {
    use strata_core::catalog::Column;

    use super::*;

    fn table(columns: &[&str]) -> Table {
        Table {
            columns: columns
                .iter()
                .map(|c| Column {
                    name: (*c).to_owned(),
                    data_type: "text".into(),
                    ..Column::default()
                })
                .collect(),
            ..Table::default()
        }
    }

    #[test]
    fn shapes_of_tracking_tables() {
        // The seed's table, and with strata's columns added.
        assert!(is_tracking_table(&table(&[
            "id",
            "name",
            "schema",
            "applied_at"
        ])));
        assert!(is_tracking_table(&table(&[
            "id",
            "name",
            "schema",
            "applied_at",
            "execution_ms",
            "applied_by",
            "checksum",
            "inputs"
        ])));
        assert!(is_tracking_table(&table(&[
            "version",
            "name",
            "checksum",
            "applied_at",
            "catalog_hash"
        ])));
        // The history as strata creates it today, and its rollback records.
        assert!(is_tracking_table(&table(&[
            "version",
            "name",
            "checksum",
            "applied_at",
            "execution_ms",
            "applied_by",
            "catalog_hash",
            "status",
            "statements_done",
            "progress_checksum",
            "error",
            "backend_pid"
        ])));
        assert!(is_tracking_table(&table(&[
            "id",
            "version",
            "name",
            "checksum",
            "applied_at",
            "applied_by",
            "rolled_back_at",
            "rolled_back_by",
            "execution_ms",
            "status",
            "statements_done",
            "progress_checksum",
            "error",
            "backend_pid"
        ])));
        assert!(is_tracking_table(&table(&["id", "hash", "created_at"])));
        // An application's own tables.
        assert!(!is_tracking_table(&table(&["id", "name", "applied_at"])));
        assert!(!is_tracking_table(&table(&[
            "id",
            "name",
            "schema",
            "applied_at",
            "owner_id"
        ])));
        let error = clash(
            &QualName::new("public", "data_migrations"),
            &table(&["id", "title"]),
        )
        .to_string();
        assert!(
            error.contains("`[data] table`")
                && error.contains("`[migrations] table`")
                && error.contains("columns id, title"),
            "{error}"
        );
    }
}
