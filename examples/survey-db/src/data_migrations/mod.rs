//! The central registry: every schema's data migrations, in the order they run.

pub mod questions;
pub mod responses;

use strata::data::Registry;

/// Where a data file of the package is read from: `$SURVEY_DATA_URL/<file>` (e.g.
/// `s3://survey-data/v1`), else the copy shipped in the crate's `data/` folder.
pub fn data_url(file: &str) -> String {
    match std::env::var("SURVEY_DATA_URL") {
        Ok(base) if !base.is_empty() => format!("{}/{file}", base.trim_end_matches('/')),
        _ => format!("file://{}/data/{file}", env!("CARGO_MANIFEST_DIR")),
    }
}

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
