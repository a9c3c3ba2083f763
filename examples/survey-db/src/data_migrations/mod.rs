//! The central registry: every schema's data migrations, in the order they run.

pub mod questions;
pub mod responses;

use strata::data::Registry;

/// The registry handed to `strata::cli::run`. SQL migrations in `data-migrations/` are found on
/// disk too; including them here compiles them into the binary, so a deploy needs no files.
pub fn registry() -> Registry {
    Registry::from([
        ("questions", questions::all()),
        ("responses", responses::all()),
        (
            "analytics",
            vec![strata::sql_migration!("analytics", "0001_launch_event")],
        ),
    ])
}
